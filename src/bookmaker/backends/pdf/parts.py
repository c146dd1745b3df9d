"""A book's body in parts, each laid out on its own and put together (paginate.py runs them):
how the book is cut, what a laid-out part carries, and the build cache's part entries.

A part begins with a chapter that opens on a right-hand page (core/design.py: `right`, or `facing`,
whose plate on the left-hand page before it ends the part before), so a run of chapters has the
same pages wherever it falls in the book: only the folios printed in its running heads depend on
what comes before. A chapter that opens on any page never begins a part. A book
whose body comes to at least two parts of about `PART_PAGES` estimated pages is cut into parts (the
cut depends on the manuscript alone, never on the number of processes, so every `--jobs` gives the
same bytes). Each part but the last ends on a left-hand page (a part-end marker opens one more
right-hand page, which is dropped), so the next part opens on the right as the chapter would in one
document. Links between parts are taken out of the part and put back by the merge (merge.py).
Parts an earlier build laid out come from the build cache (cache/build.py) when their first folio
has not moved.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from ...core.context import BuildContext
from ...core.design import opens_on
from ...core.errors import Diagnostic
from ...core.model import Book, Chapter, FigureBlock, HtmlBlock, PageContent, PageStart
from ...render.layout import Asset, Rendered
from ...render.printed import PrintDocument, render_print
from .backend import PdfBackend
from .wp_internals import layout_summary, page_starts

PART_PAGES = 80  # estimated pages a body part aims at; a shorter book is laid out as one document
WORDS_A_PAGE = 300  # estimates only: a wrong guess costs balance, never correctness


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def warm_up(ctx: BuildContext) -> None:
    """Import WeasyPrint and set a line in the book's fonts here, before forking, not once per process.

    WeasyPrint's import, Pango's and fontconfig's first use of the book's fonts and the first
    document's style caches cost 0.3-0.9 s in a fresh process.
    """
    PdfBackend().lay_out(render_print(ctx.book, PrintDocument.font_specimen()), ctx)


def estimate_pages(chapter: Chapter) -> float:
    figures = sum(isinstance(block, FigureBlock) for block in chapter.blocks)
    words = len(chapter.source.split()) or sum(len(re.sub(r"<[^>]*>", " ", b.html).split())  # a page bookmaker makes
                                               for b in chapter.blocks if isinstance(b, HtmlBlock))
    return 1.0 + words / WORDS_A_PAGE + 0.7 * figures


def split_parts(book: Book) -> tuple[tuple[Chapter, ...], list[tuple[Chapter, ...]]]:
    """(front chapters, body parts): the leading front chapters, then runs of about PART_PAGES.

    No body parts when the body would make fewer than two: one document is faster then.
    """
    chapters = list(book.chapters)
    n_front = 0
    while n_front < len(chapters) and chapters[n_front].kind == "front":
        n_front += 1
    front, rest = tuple(chapters[:n_front]), chapters[n_front:]
    if not rest:
        return front, []
    weights = [estimate_pages(ch) for ch in rest]
    count = min(len(rest), math.ceil(sum(weights) / PART_PAGES))
    if count < 2:
        return front, []
    share = sum(weights) / count
    parts: list[tuple[Chapter, ...]] = []
    current: list[Chapter] = []
    done = 0.0
    for ch, weight in zip(rest, weights):
        cut = opens_on(book.config, ch) == "right"  # a part opens on a right-hand page, as its first chapter must
        if cut and current and done + weight / 2 > share * (len(parts) + 1) and len(parts) < count - 1:
            parts.append(tuple(current))
            current = []
        current.append(ch)
        done += weight
    parts.append(tuple(current))
    return front, parts


@dataclass(frozen=True)
class CrossLink:
    page: int  # in the part
    rect: tuple[float, float, float, float]  # PDF points, as WeasyPrint places its own links
    anchor: str
    position: int = 0  # among the page's links as WeasyPrint made them: the merge puts it back there


@dataclass(frozen=True)
class LaidOutPart:
    pages: int
    starts: tuple[int, ...]  # each chapter's first page in the part (0-based)
    first_folio: int
    pdf: bytes = field(repr=False)
    layout: list[PageContent] = field(repr=False)  # preflight's per-page boxes
    cross_links: tuple[CrossLink, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    anchors: tuple[tuple[str, int], ...] = ()  # (anchor, page in the part) of the anchors asked for
    page_starts: tuple[PageStart, ...] = ()  # where each page begins, for the EPUB's page-list


def _take_cross_links(pages: Sequence[Any]) -> tuple[CrossLink, ...]:
    """Remove the internal links whose anchor is in another part; return them for the merge."""
    anchors = {name for page in pages for name in page.anchors}
    taken = []
    for index, page in enumerate(pages):
        kept = []
        for position, link in enumerate(page.links):
            kind, target, rect = link[0], link[1], link[2]
            if kind == "internal" and target not in anchors:
                x1, y1, x2, y2 = rect
                h = page.height
                taken.append(CrossLink(index, (x1 * 0.75, (h - y1) * 0.75, x2 * 0.75, (h - y2) * 0.75), target, position))
            else:
                kept.append(link)
        page.links = kept
    return tuple(taken)


def anchor_pages(pages: Sequence[Any], wanted: frozenset[str]) -> tuple[tuple[str, int], ...]:
    """(anchor, page index) of each wanted anchor, from WeasyPrint's laid-out pages (`Page.anchors`)."""
    if not wanted:
        return ()
    found: dict[str, int] = {}
    for index, page in enumerate(pages):
        for name in page.anchors:
            if name in wanted and name not in found:
                found[name] = index
    return tuple(sorted(found.items()))


UNDATED = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)  # the metadata date of parts after the front one


@dataclass(frozen=True)
class Finished:
    """A laid-out document's pages written: the PDF, preflight's boxes, links to other parts, where
    each page begins, and the pages of the anchors asked for (index marks, references' targets)."""

    pdf: bytes = field(repr=False)
    layout: list[PageContent] = field(repr=False)
    cross_links: tuple[CrossLink, ...]
    page_starts: tuple[PageStart, ...]
    anchors: tuple[tuple[str, int], ...] = ()


def finish(document: Any, ctx: BuildContext, drops_last: bool, pages_from: int = 0, pages_to: int | None = None,
           wanted: frozenset[str] = frozenset(), dated: bool = False) -> Finished:
    pages = list(document.pages)
    starts = page_starts(pages)  # every page: an element's text may begin on a page left out
    if drops_last:
        pages, starts = pages[:-1], starts[:-1]
    pages, starts = pages[pages_from:pages_to], starts[pages_from:pages_to]
    document = document.copy(pages)
    cross = _take_cross_links(document.pages)
    backend = PdfBackend()
    # Only the front part's metadata reaches the book (merge.py): the others are written undated, so
    # a cached part's bytes depend on its content alone, not on when it was first laid out.
    written = backend.write_document(document, ctx if dated else replace(ctx, timestamp=UNDATED))
    return Finished(written, layout_summary(document), cross, starts,
                    anchor_pages(document.pages, wanted))


def render_part(ctx: BuildContext, parts: Sequence[tuple[Chapter, ...]], index: int, gutter: float, assets: tuple[Asset, ...] | None,
                folios: Mapping[str, str] | None = None, last: bool = True) -> Rendered:
    """Part `index`; `last`: the book's last part (a part before the Index ends on a left page too)."""
    final = last and index == len(parts) - 1
    after = parts[index + 1][0] if index + 1 < len(parts) else None  # its plate ends this part
    rendered = render_print(ctx.book, PrintDocument.part(parts[index], gutter, last=final, folios=folios, after=after))
    return replace(rendered, assets=assets) if assets is not None else rendered


def ends_on_verso(rendered: Rendered) -> bool:
    """The part ends with the part-end marker (print.html.j2): its last page is dropped."""
    return '<div class="part-end"></div>\n</body>' in rendered.pages[0].content


class PassAbandoned(Exception):
    """The gutter the pass was laid out with is not the one its page count asks for."""

    def __init__(self, content_pages: int) -> None:
        super().__init__(content_pages)
        self.content_pages = content_pages


def _assets_key(assets: Sequence[Asset]) -> str:
    from ...cache.build import entry_key

    return entry_key(*(part for a in assets for part in (a.href, a.media_type, a.data)))


def part_keys(ctx: BuildContext, rendered: Sequence[Rendered], *extra: str) -> list[str | None]:
    if ctx.cache is None or not rendered:
        return [None] * len(rendered)
    from ...cache.build import entry_key
    from ...cache.keys import code_key
    from ...core.resources import layouts_for
    from ...render.glyphs import print_font_files

    fonts = (f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in print_font_files(layouts_for(ctx.book.config)))  # a font update lays out again
    common = entry_key(code_key("parts"), _assets_key(rendered[0].assets), repr(ctx.book.config.print.profile),
                    ctx.book.config.identifier, *fonts, *extra)
    return [entry_key(common, r.pages[0].content) for r in rendered]


def cached_part(ctx: BuildContext, key: str | None) -> LaidOutPart | None:
    if key is None or ctx.cache is None:
        return None
    hit = ctx.cache.get("parts", key)
    if hit is None:
        return None
    meta, pdf = hit
    try:
        from ...core.errors import Diagnostic, SourceLocation

        layout = [PageContent([tuple(t) for t in text], [tuple(i) for i in images]) for text, images in meta["layout"]]
        cross = tuple(CrossLink(page, tuple(rect), anchor) for page, rect, anchor in meta["cross"])  # type: ignore[arg-type]
        warnings = tuple(Diagnostic(SourceLocation(Path(path), line), message, "warning") for path, line, message in meta["warnings"])
        anchors = tuple((str(name), int(page)) for name, page in meta["anchors"])
        starts = tuple(PageStart(region, where, int(unit)) for region, where, unit in meta["page_starts"])
        return LaidOutPart(int(meta["pages"]), tuple(meta["starts"]), int(meta["first_folio"]), pdf, layout, cross, warnings,
                           anchors, starts)
    except (KeyError, TypeError, ValueError):
        return None


def cache_part(ctx: BuildContext, key: str | None, part: LaidOutPart) -> None:
    if key is None or ctx.cache is None:
        return
    ctx.cache.put("parts", key, {
        "pages": part.pages, "starts": list(part.starts), "first_folio": part.first_folio,
        "layout": [[page.text, page.images] for page in part.layout],
        "cross": [[c.page, list(c.rect), c.anchor] for c in part.cross_links],
        "warnings": [[str(w.location.path), w.location.line, w.message] for w in part.warnings],
        "anchors": [list(a) for a in part.anchors],
        "page_starts": [[s.region, s.where, s.unit] for s in part.page_starts],
    }, part.pdf)


