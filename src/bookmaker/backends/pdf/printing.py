"""The print PDF under a profile: lay out, count, adjust the gutter and the fill, check.

The gutter a printer requires grows with the page count, and the page count depends on the
gutter, so the book is laid out, counted and laid out again until both agree (twice at most for
a real book; bounded at four passes). Blank filler pages reach the printer's page multiple.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, replace
from typing import Any

from ...core.context import BuildContext
from ...core.errors import OutputError
from ...core.model import PrintedBook
from ...render.layout import Asset, PrintDocument, Rendered, cmyk_profile, render_print
from .backend import PdfBackend, missing_libraries
from .wp_internals import layout_summary, page_side

MAX_PASSES = 4



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


def print_book(ctx: BuildContext, jobs: int | None = None, one_document: bool = False) -> PrintedBook:
    """The book's print PDF: in parts laid out by up to `jobs` processes (default: every core the
    process may use), or with `one_document` as one WeasyPrint document in this process.

    Both give the same pages (tests/test_parallel.py); the bytes differ, since each part embeds
    its own font subsets. Which of the two a book gets never depends on `jobs`.
    """
    from ...render.glyphs import check_glyphs

    check_glyphs(ctx.book, ctx.reporter)  # a letter no print font has: a located warning, not an empty box
    import gc

    from .parallel import default_jobs, split_parts

    settings = ctx.book.config.print
    profile = settings.profile
    backend = PdfBackend()
    missing_libraries(ctx.reporter)  # said here too: worker processes' notes stay in the workers
    # WeasyPrint builds millions of small objects; the cyclic collector, walking them again and
    # again while they are all alive, costs 10-20% of a long book's layout. Collect once at the end.
    gc.disable()
    try:
        front, parts = split_parts(ctx.book)
        if _has_math(ctx.book):  # ziamath is slow pure Python: the book's formulas drawn on every core first
            from ...transform.formula import draw_ahead

            draw_ahead(_block_texts(ctx.book), settings.font_size_pt, jobs or default_jobs())
        if one_document or not parts:
            return _print_book(ctx, backend, settings, profile)
        return _print_in_parts(ctx, settings, profile, front, parts, jobs or default_jobs())
    finally:
        gc.enable()
        gc.collect()


def _block_texts(book: Any) -> Iterator[str]:
    """Every string of every block of the book (the HTML the print document is made of)."""
    for chapter in book.chapters:
        for block in chapter.blocks:
            for f in fields(block):
                value = getattr(block, f.name)
                if isinstance(value, str):
                    yield value


def _has_math(book: Any) -> bool:
    return any("<math" in text for text in _block_texts(book))


def _print_in_parts(ctx: BuildContext, settings: Any, profile: Any, front: Any, parts: Any, jobs: int) -> PrintedBook:
    from .parallel import PassAbandoned, print_in_parts

    book = ctx.book
    gutter = settings.margin_inside
    converted = cmyk_assets(render_print(book, PrintDocument.assets_only()), ctx).assets if profile.colour == "cmyk" else None
    for passes in range(1, MAX_PASSES + 1):
        try:
            return replace(print_in_parts(ctx, front, parts, jobs, gutter, converted), passes=passes)
        except PassAbandoned as exc:
            content = exc.content_pages
            gutter = settings.gutter_for(content)
    raise _unsettled(book)


def _unsettled(book: Any) -> OutputError:
    return OutputError.at(book.config.root / "book.toml", None,
                          f"the page count and the gutter did not settle after {MAX_PASSES} layouts; widen margin_inside")


def _print_book(ctx: BuildContext, backend: PdfBackend, settings: Any, profile: Any) -> PrintedBook:
    book = ctx.book
    gutter = settings.margin_inside
    fillers = 0
    converted: tuple[Asset, ...] | None = None
    for passes in range(1, MAX_PASSES + 1):
        rendered = render_print(book, PrintDocument.whole(gutter, fillers))
        if profile.colour == "cmyk":  # converted once, whatever the number of passes
            converted = converted or cmyk_assets(rendered, ctx).assets
            rendered = replace(rendered, assets=converted)
        document = backend.lay_out(rendered, ctx)
        total = len(document.pages)
        content = total - fillers
        want_fillers = profile.fill(content)
        want_gutter = settings.gutter_for(content)
        if abs(want_gutter - gutter) < 1e-9 and want_fillers > fillers:
            extra = _blank_pages(document, total, want_fillers - fillers)
            if extra is not None:
                document = document.copy(list(document.pages) + extra)
                total, fillers = total + len(extra), want_fillers
        if want_fillers == fillers and abs(want_gutter - gutter) < 1e-9:

            data = backend.write_document(document, ctx)
            return PrintedBook(data, total, fillers, gutter, passes, layout_summary(document))
        fillers, gutter = want_fillers, want_gutter
    raise _unsettled(book)
