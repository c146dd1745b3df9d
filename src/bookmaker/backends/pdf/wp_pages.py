"""Where each laid-out print page begins, for the EPUB's page-list (render/pagelist.py).

`page_starts(page_boxes)` walks WeasyPrint's boxes of every page in layout order, in normal flow
only: not the margin boxes (running heads, folios), not the footnote area (notes are after the
chapter's text in the EPUB), not generated content (`::before`, note calls and markers, list
markers). A page begins at its first text box with a counted character, or at its first picture.
That box's element and how many counted characters of the element's own text earlier boxes
held (a hyphen WeasyPrint added at a line's end is not the element's) give a place in the print
document; the units of the chapter's text before that place (counted on the print document's
elements with render/pagelist's rules) are what the EPUB's page is marked with.

The functions receive page boxes (wp_internals.page_box) and are run where the document was laid
out, a forked worker too: only the small PageStart values leave the process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ...core.model import PageRegion, PageStart
from ...render.pagelist import OBJECTS, skipped, stripped, units

_FRONT: dict[str, PageRegion] = {"half-title": "halftitle", "titlepage": "titlepage", "copyright": "copyright",
                                 "print-toc": "toc"}  # the print front matter's classes (print.html.j2)


def _flow(page_box: Any) -> Iterator[Any]:
    """The boxes of a page in layout order, without margin boxes, notes or generated content."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox, MarginBox

    stack = [child for child in reversed(page_box.children) if not isinstance(child, (MarginBox, FootnoteAreaBox))]
    while stack:
        box = stack.pop()
        if box.element_tag and "::" in box.element_tag:
            continue
        yield box
        children = getattr(box, "children", None)
        if children:
            stack.extend(reversed(children))


class _Own:
    """Each element's own text (its text and its children's tails), counted characters only."""

    def __init__(self) -> None:
        self.texts: dict[int, str] = {}

    def of(self, element: Any) -> str:
        text = self.texts.get(id(element))
        if text is None:
            text = stripped((element.text or "") + "".join(child.tail or "" for child in element))
            self.texts[id(element)] = text
        return text


def _laid_out(box: Any, own: str, done: int) -> int:
    """Counted characters of the element's own text that a text box holds: without the hyphen
    WeasyPrint adds where it breaks a word at a line's end."""
    text = stripped(box.text)
    if own[done:done + len(text)].lower() == text.lower():
        return len(text)
    hyphen = stripped(str(box.style["hyphenate_character"] or ""))
    if hyphen and text.endswith(hyphen) and own[done:done + len(text) - len(hyphen)].lower() == text[:-len(hyphen)].lower():
        return len(text) - len(hyphen)
    return len(text)


def first_boxes(page_boxes: Sequence[Any]) -> list[tuple[Any, int | None] | None]:
    """Each page's first element in flow and, for text, the counted characters of its own text
    that earlier pages and boxes held (None: a picture)."""
    from weasyprint.formatting_structure.boxes import ReplacedBox, TextBox

    own, done = _Own(), dict[int, int]()
    firsts: list[tuple[Any, int | None] | None] = []
    for page_box in page_boxes:
        first: tuple[Any, int | None] | None = None
        for box in _flow(page_box):
            element = box.element
            if element is None:
                continue
            if isinstance(box, TextBox):
                before = done.get(id(element), 0)
                count = _laid_out(box, own.of(element), before)
                if count and first is None:
                    first = (element, before)
                done[id(element)] = before + count
            elif first is None and isinstance(box, ReplacedBox):
                first = (element, None)
        firsts.append(first)
    return firsts


class _Document:
    """The print document's elements: parents, and the units before and after each element of a
    chapter's section."""

    def __init__(self, root: Any) -> None:
        self.parents = {child: parent for parent in root.iter() for child in parent}
        self.starts: dict[int, int] = {}
        self.ends: dict[int, int] = {}
        self.sections: set[int] = set()

    def region(self, element: Any) -> tuple[PageRegion, Any]:
        """The page region an element is in, and the element that makes it (a facing chapter's
        plate, layouts/_plate.j2, is outside its section, maybe in another part's document)."""
        node = element
        while node is not None:
            classes = (node.get("class") or "").split()
            if node.tag == "section" and "chapter" in classes:
                return "chapter", node
            if "plate" in classes and node.get("data-chapter"):
                return "plate", node
            for name in classes:
                if name in _FRONT:
                    return _FRONT[name], node
            node = self.parents.get(node)
        return "blank", None

    def count(self, section: Any) -> None:
        if id(section) in self.sections:
            return
        self.sections.add(id(section))
        at = int(section.get("data-plate-units") or 0)  # a plate's picture and caption come first in the EPUB
        stack: list[tuple[Any, bool]] = [(section, False)]
        while stack:
            element, closing = stack.pop()
            if closing:
                self.ends[id(element)] = at
                at += units(element.tail or "") if element is not section else 0
                continue
            self.starts[id(element)] = at
            if not isinstance(element.tag, str) or skipped(element.get("class")):
                self.ends[id(element)] = at
                at += units(element.tail or "")
                continue
            if element.tag in OBJECTS:
                at += 1
                self.ends[id(element)] = at
                at += units(element.tail or "")
                continue
            at += units(element.text or "")
            stack.append((element, True))
            stack.extend((child, False) for child in reversed(list(element)))

    def unit(self, section: Any, element: Any, offset: int | None) -> int:
        """Units of the section before `offset` counted characters of `element`'s own text (before
        the element, for a picture)."""
        self.count(section)
        node = element
        while id(node) not in self.starts:  # inside an element counted in neither output
            node = self.parents[node]
        at = self.starts[id(node)]
        if node is not element or offset is None or skipped(element.get("class")):
            return at
        text = units(element.text or "")
        if offset < text:
            return at + offset
        offset, at = offset - text, at + text
        for child in element:
            at = self.ends[id(child)]
            tail = units(child.tail or "")
            if offset < tail:
                return at + offset
            offset, at = offset - tail, at + tail
        return at


def page_starts(page_boxes: Sequence[Any]) -> tuple[PageStart, ...]:
    """Where each page begins (model.PageStart), for laid-out page boxes of one document."""
    if not page_boxes:
        return ()
    firsts = first_boxes(page_boxes)
    root = next((box.children[0].element for box in page_boxes if box.children and box.children[0].element is not None), None)
    if root is None:
        return tuple(PageStart("blank") for _ in page_boxes)
    document = _Document(root)
    starts = []
    for first in firsts:
        if first is None:
            starts.append(PageStart("blank"))
            continue
        element, offset = first
        region, node = document.region(element)
        if region == "plate":
            starts.append(PageStart("plate", node.get("data-chapter") or ""))
        elif region == "chapter":
            starts.append(PageStart("chapter", node.get("id") or "", document.unit(node, element, offset)))
        else:
            starts.append(PageStart(region))
    return tuple(starts)
