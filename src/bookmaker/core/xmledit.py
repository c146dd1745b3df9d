"""In-place edits of lxml trees that keep every character of text where it was.

lxml gives an element's following text (its `tail`) to the element, so removing an element
naively removes the text after it too. Used by the SVG cleaner (svg/sanitise.py) and by print's
code flattening (code/printed.py)."""

from __future__ import annotations

from typing import Any


def drop(el: Any, unwrap: bool = False) -> None:
    """Remove `el` (or with `unwrap`, only its tag: its text and children take its place),
    keeping the text around it in its order."""
    parent = el.getparent()
    if parent is None:
        raise ValueError("the root element cannot be dropped")
    index = parent.index(el)
    children = list(el) if unwrap else []
    carried = (el.text or "") if unwrap else ""
    tail = el.tail or ""
    before = parent[index - 1] if index > 0 else None
    parent.remove(el)  # lxml takes the tail away with the element

    def append_text(after: Any, text: str) -> None:
        if not text:
            return
        if after is None:
            parent.text = (parent.text or "") + text
        else:
            after.tail = (after.tail or "") + text

    append_text(before, carried)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    append_text(children[-1] if children else before, tail)
