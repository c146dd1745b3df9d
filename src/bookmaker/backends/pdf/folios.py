"""The folios of anchors, learnt from laid-out pages, for what prints them: the contents, the
cross-references (`[@id]`) and the Index (render/printed.PrintDocument.folios).

A book laid out as one document needs them only for its Index (its references use
`target-counter`): a first layout gives every mark's page, a second sets the Index with them.
A book laid out in parts lays its Index out last, as the front part, once every part is counted
and its marks' pages are known; a cross-reference to an anchor in another part prints the folio
an earlier layout found (an estimate the first time), and the pass is repeated while a folio
printed that way is not the one the layout gave (paginate.py).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from ...core.model import Book, Chapter, HtmlBlock
from ...transform.index.gather import index_anchors
from .parts import estimate_pages

_XREF = re.compile(r'<a class="xref" href="([^"#]*)#([^"]+)"')
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def roman(n: int) -> str:
    """Lower-case roman numerals (the front matter's folios, print.css `lower-roman`)."""
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def references(chapters: Iterable[Chapter]) -> list[tuple[str, str]]:
    """(page, anchor) of each cross-reference in the chapters; page "" for one inside its chapter."""
    return [(m.group(1), m.group(2)) for ch in chapters for b in ch.blocks if isinstance(b, HtmlBlock) and "xref" in b.html
            for m in _XREF.finditer(b.html)]


def wanted_anchors(book: Book) -> frozenset[str]:
    """The anchors whose pages a layout reports: the index marks and the cross-references' targets."""
    return frozenset(index_anchors(book)) | {anchor for _, anchor in references(book.chapters)}


def remote_references(chapters: Sequence[Chapter]) -> set[str]:
    """The anchors the chapters' cross-references name in chapters laid out elsewhere."""
    here = {ch.href for ch in chapters}
    return {anchor for page, anchor in references(chapters) if page and page not in here}


def estimated_folios(book: Book, anchors: Iterable[str]) -> dict[str, str]:
    """A first guess at each anchor's folio, its chapter's estimated first page: about the width
    the real folio will have, before any layout has counted the pages."""
    pages: dict[str, str] = {}
    at = 1.0
    for ch in book.chapters:
        if ch.kind != "front":
            pages[ch.href] = str(int(at))
            at += estimate_pages(ch)
    where = {anchor: page for page, anchor in references(book.chapters) if page}
    return {a: pages.get(where.get(a, ""), "1") for a in anchors}


def document_folios(pages: Sequence[Any], opening: int | None, wanted: frozenset[str]) -> dict[str, str]:
    """Each wanted anchor's folio in a document laid out whole: roman before the first body
    chapter's page `opening`, arabic from 1 there (print.html.j2 resets the counter)."""
    found: dict[str, str] = {}
    for index, page in enumerate(pages):
        for name in page.anchors:
            if name in wanted and name not in found:
                found[name] = roman(index + 1) if opening is None or index < opening else str(index - opening + 1)
    return found


def part_folios(anchors: Iterable[tuple[str, int]], first_folio: int) -> dict[str, str]:
    return {name: str(first_folio + page) for name, page in anchors}


def front_folios(anchors: Iterable[tuple[str, int]]) -> dict[str, str]:
    return {name: roman(page + 1) for name, page in anchors}


def stale(used: Mapping[str, str], actual: Mapping[str, str], anchors: Iterable[str]) -> list[str]:
    """The anchors whose folio printed (`used`) is not the one the layout gave."""
    return sorted(a for a in anchors if a in actual and used.get(a) != actual[a])
