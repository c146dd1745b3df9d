"""The print PDF under a profile: lay out, count, adjust the gutter and the fill.

The gutter a printer requires grows with the page count, and the page count depends on the
gutter, so the book is laid out, counted and laid out again until both agree (twice at most for
a real book; bounded at four passes). Blank filler pages reach the printer's page multiple.

`_settle` is that loop, written once. A pass lays the book out either as one WeasyPrint document
(`_document_pass`: short books, `--one-document`) or in parts (`_parts_pass`: the body cut by
parts.split_parts, laid out by workers.lay_out_parts and put together by merge.merge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from ...core.context import BuildContext
from ...core.errors import OutputError
from ...core.model import Book, Chapter, PrintedBook
from ...render.layout import Asset, PrintDocument, Rendered, cmyk_profile, render_print
from .backend import PdfBackend, missing_libraries
from .merge import merge
from .parts import (
    LaidOutPart,
    PassAbandoned,
    cache_part,
    cached_part,
    default_jobs,
    finish,
    part_keys,
    split_parts,
)
from .workers import lay_out_parts
from .wp_internals import chapter_starts, layout_summary, page_side

MAX_PASSES = 4


def print_book(ctx: BuildContext, jobs: int | None = None, one_document: bool = False) -> PrintedBook:
    """The book's print PDF: in parts laid out by up to `jobs` processes (default: every core the
    process may use), or with `one_document` as one WeasyPrint document in this process.

    Both give the same pages (tests/test_parallel.py); the bytes differ, since each part embeds
    its own font subsets. Which of the two a book gets never depends on `jobs`.
    """
    from ...render.glyphs import check_glyphs

    check_glyphs(ctx.book, ctx.reporter)  # a letter no print font has: a located warning, not an empty box
    book = ctx.book
    jobs = jobs or default_jobs()
    missing_libraries(ctx.reporter)  # said here too: worker processes' notes stay in the workers
    front, body = split_parts(book)
    if _has_math(book):  # ziamath is slow pure Python: the book's formulas drawn on every core first
        from ...transform.formula import draw_ahead

        draw_ahead(_block_texts(book), book.config.print.font_size_pt, jobs)
    if one_document or not body:
        return _settle(book, _DocumentPass(ctx))
    converted = cmyk_assets(render_print(book, PrintDocument.assets_only()), ctx).assets if book.config.print.profile.colour == "cmyk" else None

    def in_parts(gutter: float, fillers: int) -> Pass:  # the parts pass counts its own filler pages
        try:
            printed = _parts_pass(ctx, front, body, jobs, gutter, converted)
        except PassAbandoned as exc:
            return Pass(exc.content_pages)
        return Pass(printed.pages - printed.fillers, printed)

    return _settle(book, in_parts)


@dataclass(frozen=True)
class Pass:
    """What one layout of the book gave: its pages before filler pages, and the finished PDF when
    the gutter it was laid out with and its filler pages are the ones that page count asks for."""

    content: int
    printed: PrintedBook | None = None


def _settle(book: Book, lay_out: Callable[[float, int], Pass]) -> PrintedBook:
    """Lay out with a gutter and a number of filler pages until the page count agrees with both."""
    settings = book.config.print
    gutter, fillers = settings.margin_inside, 0
    for passes in range(1, MAX_PASSES + 1):
        result = lay_out(gutter, fillers)
        if result.printed is not None:
            return replace(result.printed, passes=passes)
        gutter, fillers = settings.gutter_for(result.content), settings.profile.fill(result.content)
    raise OutputError.at(book.config.root / "book.toml", None,
                         f"the page count and the gutter did not settle after {MAX_PASSES} layouts; widen margin_inside")


class _DocumentPass:
    """The whole book as one WeasyPrint document, its filler pages in it."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx, self.backend = ctx, PdfBackend()
        self.converted: tuple[Asset, ...] | None = None

    def __call__(self, gutter: float, fillers: int) -> Pass:
        ctx, book = self.ctx, self.ctx.book
        settings, profile = book.config.print, book.config.print.profile
        rendered = render_print(book, PrintDocument.whole(gutter, fillers))
        if profile.colour == "cmyk":  # converted once, whatever the number of passes
            self.converted = self.converted or cmyk_assets(rendered, ctx).assets
            rendered = replace(rendered, assets=self.converted)
        document = self.backend.lay_out(rendered, ctx)
        total = len(document.pages)
        content = total - fillers
        if not settings.gutter_holds(gutter, content):
            return Pass(content)
        want = profile.fill(content)
        if want > fillers:
            extra = _blank_pages(document, total, want - fillers)
            if extra is not None:
                document = document.copy(list(document.pages) + extra)
                total, fillers = total + len(extra), want
        if want != fillers:
            return Pass(content)
        return Pass(content, PrintedBook(self.backend.write_document(document, ctx), total, fillers, gutter, 1, layout_summary(document)))


def _parts_pass(ctx: BuildContext, front: tuple[Chapter, ...], parts: Sequence[tuple[Chapter, ...]], jobs: int,
                gutter: float, converted: tuple[Asset, ...] | None) -> PrintedBook:
    """One pass over `split_parts`, with the filler pages the profile asks for; PassAbandoned as soon
    as the page count shows the gutter is wrong.

    The front part (half title, title page, copyright, contents, front chapters, roman folios) is
    laid out last, here, once every body chapter's folio is known, so the contents print real
    numbers. The printer's filler pages come from a small document of blank filler pages.
    """
    book = ctx.book
    settings = book.config.print
    profile = settings.profile
    backend = PdfBackend()
    done: dict[str, Any] = {}

    def with_assets(rendered: Rendered) -> Rendered:
        return replace(rendered, assets=converted) if converted is not None else rendered

    def on_counted(counts: list[int], starts: list[tuple[int, ...]]) -> None:
        folios, first = {}, 1
        for chapters, part_starts, count in zip(parts, starts, counts):
            folios.update({ch.id: first + s for ch, s in zip(chapters, part_starts)})
            first += count
        rendered = with_assets(render_print(book, PrintDocument.front(front, gutter, folios)))
        # the front part's PDF gives the book its metadata, build time included
        (key,) = part_keys(ctx, [rendered], "front", ctx.timestamp.isoformat())
        part = cached_part(ctx, key)
        document = None
        if part is None:
            document = backend.lay_out(rendered, ctx)
            front_pages = len(document.pages) - 1
        else:
            front_pages = part.pages
        content = front_pages + sum(counts)
        fillers = profile.fill(content)
        if not settings.gutter_holds(gutter, content):
            raise PassAbandoned(content)
        if document is not None:
            front_starts = chapter_starts(document.pages, [ch.id for ch in front])
            pdf, layout, cross = finish(document, ctx, drops_last=True)
            part = LaidOutPart(front_pages, front_starts, 1, pdf, layout, cross)
            cache_part(ctx, key, part)
        done.update(front=part, content=content, fillers=fillers)

    laid_out = lay_out_parts(ctx, parts, gutter, jobs, converted, on_counted)
    for part in laid_out:
        for warning in part.warnings:
            if warning not in ctx.reporter.warnings:
                ctx.reporter.warnings.append(warning)
    content, fillers = done["content"], done["fillers"]
    filler_part = None
    if fillers:
        rendered = with_assets(render_print(book, PrintDocument.filler_pages(fillers + 1, gutter)))
        document = backend.lay_out(rendered, ctx)
        skip = 0 if (content + 1) % 2 else 1  # the first filler page's side
        pdf, layout, cross = finish(document, ctx, drops_last=False, pages_from=skip, pages_to=skip + fillers)
        filler_part = LaidOutPart(fillers, (), 0, pdf, layout, cross)
    return _joined(book, done["front"], laid_out, filler_part, gutter)


def _joined(book: Book, front: LaidOutPart, body: Sequence[LaidOutPart], fillers: LaidOutPart | None, gutter: float) -> PrintedBook:
    """The parts merged in order, with each chapter's first page and preflight's boxes."""
    profile = book.config.print.profile
    pieces = [front, *body, *([fillers] if fillers is not None else [])]
    offsets, at = [], 0
    for piece in pieces:
        offsets.append(at)
        at += piece.pages
    cross_links = [(offset + link.page, link) for piece, offset in zip(pieces, offsets) for link in piece.cross_links]
    data = merge([p.pdf for p in pieces], cross_links, profile.bookmarks, profile.annotations)
    starts_by_page = list(front.starts)
    for piece, offset in zip(body, offsets[1:]):
        starts_by_page.extend(offset + s for s in piece.starts)
    layout = [page for piece in pieces for page in piece.layout]
    return PrintedBook(data, at, fillers.pages if fillers is not None else 0, gutter, 1, layout, tuple(starts_by_page))


def _blank_pages(document: Any, total: int, count: int) -> list[Any] | None:
    """`count` blank pages to follow page `total`, taken from the book's own blank pages.

    A blank page that opens no chapter carries nothing (no head, no folio) and has the bleed of its
    side, so the same page can end the book again: no second layout is needed. None when the
    book has no blank page of a side that is needed.
    """
    blanks: dict[str, Any] = {}
    for page in document.pages:
        side, blank = page_side(page)
        if blank:
            blanks.setdefault(side, page)
    pages = []
    for position in range(total + 1, total + count + 1):
        side = "right" if position % 2 else "left"
        if side not in blanks:
            return None
        pages.append(blanks[side])
    return pages


def cmyk_assets(rendered: Rendered, ctx: BuildContext) -> Rendered:
    """Colour images converted to CMYK for a CMYK printer; grey ones and other assets kept."""
    from ...transform.images import to_cmyk

    icc = cmyk_profile(ctx.book.config).read_bytes()
    assets = []
    for asset in rendered.assets:
        if asset.media_type.startswith("image/"):
            converted = to_cmyk(asset.data, icc)
            if converted is not asset.data:
                asset = Asset(asset.href, asset.media_type if asset.media_type == "image/svg+xml" else "image/jpeg", converted)
        assets.append(asset)
    return replace(rendered, assets=tuple(assets))


def _block_texts(book: Book) -> Iterator[str]:
    """Every string of every block of the book (the HTML the print document is made of)."""
    for chapter in book.chapters:
        for block in chapter.blocks:
            for f in fields(block):
                value = getattr(block, f.name)
                if isinstance(value, str):
                    yield value


def _has_math(book: Book) -> bool:
    return any("<math" in text for text in _block_texts(book))
