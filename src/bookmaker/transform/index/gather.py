"""The Index page: every index mark of the book gathered into sorted entries, on a generated
back-matter chapter at the very end of the book (after the Notes page, when there is one).

Like the Notes page (transform/notes/gather.py), the page is a Chapter of its own, `role` "index",
so it has its place in the spine, the navigation, the printed contents and the print layout. Its
content is one IndexBlock, set by layouts/_index.j2: links to the marks in the EPUB, page numbers
in print. `term="a!b"` makes `b` a sub-entry of `a`; `see="x"` gives the entry a "see x" and is not
a place of its own; `seealso="x"` adds a "see also x". A see or see-also naming a term that no
mark makes is a warning at the mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ...core.model import (
    Book,
    Chapter,
    HtmlBlock,
    IndexBlock,
    IndexEntry,
    IndexGroup,
    IndexLocator,
)
from ...core.text import slugify, unique
from ...core.words import words_for
from ..links import Warn
from ..markdown.marks import Mark, read_marks, strip_mark_data
from ..pages import generated_page, page_slug
from ..references import chapter_name
from .sorting import letter_of, sort_key

Path_ = tuple[str, ...]  # an entry's terms from the top: ("Pyongyang", "subway")


@dataclass
class _Node:
    term: str
    locators: list[IndexLocator] = field(default_factory=list)
    see: list[str] = field(default_factory=list)
    see_also: list[str] = field(default_factory=list)
    children: dict[str, _Node] = field(default_factory=dict)


def levels(term: str) -> Path_:
    return tuple(t.strip() for t in term.split("!") if t.strip())


def has_index(book: Book) -> bool:
    return any(ch.role == "index" for ch in book.chapters)


def _marks(book: Book) -> list[tuple[Chapter, Mark]]:
    return [(ch, mark) for ch in book.chapters for b in ch.blocks
            if isinstance(b, HtmlBlock) and "index-mark" in b.html for mark in read_marks(b.html)]


def _tree(book: Book, marks: list[tuple[Chapter, Mark]]) -> dict[str, _Node]:
    top: dict[str, _Node] = {}
    for ch, mark in marks:
        path = levels(mark.term)
        node: _Node | None = None
        for term in path:
            siblings = top if node is None else node.children
            node = siblings.setdefault(term, _Node(term))
        if node is None:
            continue
        if mark.see:
            node.see.extend(s for s in [mark.see] if s not in node.see)
        else:
            node.locators.append(IndexLocator(mark.anchor, ch.href, chapter_name(book.config, ch)))
        if mark.see_also and mark.see_also not in node.see_also:
            node.see_also.append(mark.see_also)
    return top


def _ids(top: dict[str, _Node]) -> dict[Path_, str]:
    taken: set[str] = set()
    ids: dict[Path_, str] = {}

    def walk(nodes: dict[str, _Node], above: Path_) -> None:
        for term in sorted(nodes, key=sort_key):
            path = (*above, term)
            ids[path] = unique("ix-" + (slugify("-".join(path)) or "entry"), taken)
            walk(nodes[term].children, path)

    walk(top, ())
    return ids


def _entries(nodes: dict[str, _Node], above: Path_, ids: dict[Path_, str], refer: dict[str, tuple[str, str]]) -> tuple[IndexEntry, ...]:
    out = []
    for term in sorted(nodes, key=sort_key):
        node, path = nodes[term], (*above, term)
        see = tuple(refer[s] for s in node.see if s in refer)
        also = tuple(refer[s] for s in node.see_also if s in refer)
        out.append(IndexEntry(term, ids[path], tuple(node.locators), see, also, _entries(node.children, path, ids, refer)))
    return tuple(out)


def _check_refs(marks: list[tuple[Chapter, Mark]], ids: dict[Path_, str], warn: Warn) -> dict[str, tuple[str, str]]:
    """The see and see-also targets that are entries: (shown as, entry id), by the text written."""
    refer = {}
    for ch, mark in marks:
        for kind, target in (("see", mark.see), ("seealso", mark.see_also)):
            if not target:
                continue
            path = levels(target)
            if path in ids:
                refer[target] = (", ".join(path), ids[path])
            else:
                warn(ch, f'{kind}="{target}"', f"index: {kind} '{target}' names no entry of the index (no mark makes that term)")
    return refer


def make_index(book: Book, warn: Warn) -> Book:
    """The book with its Index page last, when the text marks index terms; the marks' data
    attributes taken off the text."""
    marks = _marks(book)
    if not marks:
        return book
    top = _tree(book, marks)
    ids = _ids(top)
    refer = _check_refs(marks, ids, warn)
    entries = _entries(top, (), ids, refer)
    groups: dict[str, list[IndexEntry]] = {}
    for entry in entries:
        groups.setdefault(letter_of(entry.term), []).append(entry)
    block = IndexBlock(tuple(IndexGroup(letter, f"ix-group-{slugify(letter) or n}", tuple(found))
                             for n, (letter, found) in enumerate(groups.items(), 1)))
    chapters = [replace(ch, blocks=tuple(replace(b, html=strip_mark_data(b.html)) if isinstance(b, HtmlBlock) and "index-mark" in b.html
                                          else b for b in ch.blocks)) for ch in book.chapters]
    page = _index_page(book, (block,))
    return replace(book, chapters=(*chapters, page))


def index_anchors(book: Book) -> set[str]:
    """The anchors of every index mark (their pages are what the printed index shows)."""
    return {loc.anchor for ch in book.chapters for b in ch.blocks if isinstance(b, IndexBlock)
            for e in _walk(b) for loc in e.locators}


def _walk(block: IndexBlock) -> list[IndexEntry]:
    out: list[IndexEntry] = []

    def down(entries: tuple[IndexEntry, ...]) -> None:
        for e in entries:
            out.append(e)
            down(e.subentries)

    for g in block.groups:
        down(g.entries)
    return out



_MARK_SOURCE = re.compile(r"\]\{[^}]*\.index\b")


def with_index_page(book: Book) -> Book:
    """A book rendered in part (a preview): its Index page, empty, where the build puts it when
    some chapter marks a term (read from the Markdown), so the contents list it as the build's do."""
    if has_index(book) or not any(_MARK_SOURCE.search(ch.source) for ch in book.chapters):
        return book
    page = _index_page(book, ())
    return replace(book, chapters=(*book.chapters, page))


def _index_page(book: Book, blocks: tuple[IndexBlock, ...]) -> Chapter:
    return generated_page(book.config, page_slug("index", book.chapters), words_for(book.config.language).index, "index", blocks)
