"""load -> transform -> size images -> layout -> back end. Used by build and preview."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from .cache.build import BuildCache
from .core.errors import (
    BookError,
    OutputError,
    PreflightError,
    Reporter,
    StrictError,
)
from .core.model import Book, BookConfig, PrintedBook
from .core.paths import write_atomic
from .transform.book import load_book

if TYPE_CHECKING:
    from .cache.pagemap import PageMap
    from .core.context import BuildContext
    from .core.cover import CoverGeometry
    from .render.pagelist import PrintPage

@dataclass(frozen=True)
class Output:
    format: str
    path: Path
    size: int


# -- Targets: the one registry `build` and `check` loop over --------------------------------------


@dataclass(frozen=True)
class Made:
    """One output made in memory by its target: its bytes and, for print, the laid-out book
    (PrintedBook: page count, gutter, the boxes preflight measures, chapter starts)."""

    format: str
    data: bytes
    printed: PrintedBook | None = None
    laid_out: PrintedBook | None = None  # the print laid out for this output (the EPUB's page-list), not written
    cover: CoverGeometry | None = None  # the cover wrap's geometry (its preflight measures against it)


class Target(Protocol):
    """An output format: `make` renders the book for it and has its back end package it.
    `printed`: the print PDF this build made before it, if any (the EPUB's page-list is read from it)."""

    name: str

    def make(self, ctx: BuildContext, jobs: int | None, progress: Callable[[str], None],
             printed: PrintedBook | None = None) -> Made: ...


class EpubTarget:
    name = "epub"

    def make(self, ctx: BuildContext, jobs: int | None, progress: Callable[[str], None],
             printed: PrintedBook | None = None) -> Made:
        from .backends.epub import EpubBackend
        from .backends.epub_images import screen_assets
        from .render.layout import render_epub

        pages, laid_out = page_list_for(ctx, jobs, progress, printed)
        progress("laying out and packaging the EPUB")
        rendered = screen_assets(render_epub(ctx.book, pages), ctx)
        _cover_advice(ctx)
        return Made(self.name, EpubBackend().write(rendered, ctx), laid_out=laid_out)


def _cover_advice(ctx: BuildContext) -> None:
    """The stores' recommendations for the book's own cover image, as warnings at its book.toml line."""
    from .checks.stores import cover_advice

    cover, config = ctx.book.cover, ctx.book.config
    if cover is None or cover.placeholder:
        return  # the typographic cover is drawn at the stores' size
    from .core.stores import screen_bound

    size = screen_bound(config.ebook_stores).scaled(cover.width_px, cover.height_px)
    for advice in cover_advice(config, *size):
        ctx.reporter.warn(config.root / "book.toml", config.cover_line, f"cover image '{config.cover}': {advice}")


def page_list_for(ctx: BuildContext, jobs: int | None, progress: Callable[[str], None],
                  printed: PrintedBook | None) -> tuple[tuple[PrintPage, ...], PrintedBook | None]:
    """The print pages the EPUB's page-list gives (render/pagelist.py), by book.toml `page_list`:
    "print" (the default) takes them from this build's PDF, else from the last print build's when
    the manuscript and the layouts are unchanged (cache/pagebreaks.py), else lays the print out
    (the PDF is not written; its layout is returned to be recorded); "reuse" never lays out, and
    without a valid record leaves the page-list out with a warning; "none" has no page-list."""
    from .cache import pagebreaks
    from .render.pagelist import print_pages

    book, config = ctx.book, ctx.book.config
    if config.page_list == "none":
        return (), None
    laid_out = None
    starts = printed.page_starts if printed is not None and printed.page_starts else pagebreaks.load(book)
    if starts is None and config.page_list == "reuse":
        ctx.reporter.warn(config.root / "book.toml", config.page_list_line,
                          'page_list = "reuse", but no print build of this manuscript is recorded (or a chapter, '
                          'a layout or book.toml changed since): the EPUB has no page-list; build the PDF with it, '
                          'or set page_list = "print"')
        return (), None
    if starts is None:
        from .backends.pdf.paginate import print_book

        progress("laying out the print edition for the EPUB's page-list (the PDF is not written)")
        laid_out = print_book(ctx, jobs=jobs)
        starts = laid_out.page_starts
    return print_pages(starts, book.chapters), laid_out


class PdfTarget:
    name = "pdf"

    def make(self, ctx: BuildContext, jobs: int | None, progress: Callable[[str], None],
             printed: PrintedBook | None = None) -> Made:
        from .backends.pdf.paginate import print_book

        progress(f"laying out the PDF (WeasyPrint, profile {ctx.book.config.print.profile.name})")
        printed = print_book(ctx, jobs=jobs)
        return Made(self.name, printed.data, printed)


class CoverTarget:
    """The paperback's cover wrap (backends/pdf/cover.py), sized from the interior's page count:
    the PrintedBook of the same build when the PDF was made before it, else laid out to count it."""

    name = "cover"

    def make(self, ctx: BuildContext, jobs: int | None, progress: Callable[[str], None],
             printed: PrintedBook | None = None) -> Made:
        from .backends.pdf.cover import geometry_for, interior_pages, print_cover

        geometry_for(ctx, 1)  # a profile without a cover fails before the interior is laid out
        if printed is None:
            progress("laying out the PDF to count its pages for the cover's spine")
        pages = printed.pages if printed is not None else interior_pages(ctx, jobs)
        progress(f"laying out the cover wrap ({pages} pages)")
        cover = print_cover(ctx, pages)
        return Made(self.name, cover.data, cover=cover.geometry)


TARGETS: dict[str, Target] = {t.name: t for t in (EpubTarget(), PdfTarget(), CoverTarget())}
FORMATS = ("epub", "pdf")  # what `build` makes by default; "all" adds the cover under a print profile
ALL = "all"


def expand_formats(formats: Sequence[str], config: BookConfig) -> tuple[str, ...]:
    """`formats` with "all" replaced by the EPUB, the PDF and, under a print profile, the cover."""
    from .core.cover import rules_for

    every = FORMATS + (("cover",) if rules_for(config.print.profile.name) is not None else ())
    return tuple(dict.fromkeys(f for fmt in formats for f in (every if fmt == ALL else (fmt,))))


def output_path(out_dir: Path, slug: str, fmt: str) -> Path:
    return out_dir / (f"{slug}-cover.pdf" if fmt == "cover" else f"{slug}.{fmt}")


def target(root: Path, fmt: str) -> Target:
    try:
        return TARGETS[fmt]
    except KeyError:
        raise OutputError.at(root, None, f"unknown format '{fmt}' (known: {', '.join(TARGETS)})") from None


def preflight_of(made: Made, config: BookConfig) -> Any:
    """The preflight of a made output (preflight.PreflightReport): a PDF's print profile, measured
    on its own layout; the cover wrap's printer; an EPUB's stores (checks/stores.py)."""
    from .checks.preflight import preflight

    if made.format == "epub":
        from .checks.stores import check_stores

        return check_stores(made.data, config)

    if made.cover is not None:
        from .checks.cover import preflight_cover

        return preflight_cover(made.data, config, made.cover)
    return preflight(made.data, config, made.printed.layout if made.printed is not None else None)


def build(
    root: Path,
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    strict: bool = False,
    check: bool = True,
    reporter: Reporter | None = None,
    progress: Callable[[str], None] = lambda _: None,
    jobs: int | None = None,
    proof: bool = False,
) -> list[Output]:
    """Build every format in memory, then write them all. A failure writes nothing, except that
    an output refused by its preflight (a PDF by its print profile, an EPUB by its stores) does not
    keep the other formats from being written:
    they are, and the PreflightError is raised after them (its `outputs` lists them).

    `proof`: with the cover, a PNG of it with its trim, spine and safe lines drawn (cover_proof).
    `jobs`: processes laying out a long book's PDF in parts (default: every core); the PDF's bytes
    never depend on it.
    """
    from .core.context import BuildContext, build_timestamp

    reporter = reporter or Reporter()
    timestamp = build_timestamp()
    progress("loading the manuscript")
    read_at = time.time()  # the page map's spans are as old as this read
    cache = BuildCache.under(out_dir)
    book = load_book(root, reporter, cache=cache)
    if strict and reporter.warnings:
        raise StrictError(*(replace(w, level="error") for w in reporter.warnings))
    ctx = BuildContext(book=book, timestamp=timestamp, reporter=reporter, cache=cache)
    results: list[tuple[str, Path, bytes]] = []
    printed = None  # the print laid out in this build: its folios and page breaks are recorded
    refused: PreflightError | None = None  # the PDF failed its preflight: the other outputs are still written
    ordered = expand_formats(formats, book.config)
    # the print first: the EPUB's page-list is read from it, the cover's spine counts its pages
    for fmt in sorted(ordered, key=lambda f: f != "pdf"):
        made = target(root, fmt).make(ctx, jobs, progress, printed)
        path = output_path(out_dir, book.config.slug, fmt)
        printed = made.printed or made.laid_out or printed
        if check and (made.format == "epub" or made.printed is not None or made.cover is not None):
            progress("preflight")
            report = preflight_of(made, book.config)
            if not report.passed:
                refused = PreflightError(*(refused.diagnostics if refused else ()), *report.diagnostics(path))
                continue
        results.append((fmt, path, made.data))
        if proof and made.cover is not None:
            from .backends.pdf.cover_proof import cover_proof

            results.append(("cover-proof", path.with_name(path.stem + "-proof.png"), cover_proof(made.data, made.cover)))
    order = [*ordered, "cover-proof"]
    results.sort(key=lambda r: order.index(r[0]))  # written in the order asked for
    if strict and reporter.warnings:
        raise StrictError(*(replace(w, level="error") for w in reporter.warnings))
    outputs = []
    for fmt, path, data in results:
        try:
            write_atomic(path, data)
        except OSError as exc:
            raise OutputError.at(path, None, f"cannot write: {exc.strerror or exc}") from None
        outputs.append(Output(fmt, path, len(data)))
    if refused is not None:
        refused.outputs = tuple(outputs)  # what was written all the same, for the CLI to say
        raise refused
    cache.flush()  # only after the outputs: a failed build leaves the cache as it was
    if printed is not None:  # one-chapter print previews open on the folios of this build (pagemap.py)
        record_page_map(book, printed, read_at)
    return outputs


def record_page_map(book: Book, printed: PrintedBook, read_at: float) -> PageMap:
    """Every chapter's span in the whole book's PDF, for the one-chapter previews' folios, and where
    each page begins, for the page-list of an EPUB built alone and of the previews (pagebreaks.py):
    the build's and the preview's background layout (preview/fill.py) record the same way."""
    from .cache import pagebreaks
    from .cache.pagemap import record_build

    pagebreaks.record(book, printed.page_starts)
    content_pages = printed.pages - printed.fillers  # filler pages end the book after its last chapter
    return record_build(book, printed.data, printed.margin_inside, content_pages, read_at, printed.chapter_starts)


__all__ = ["BookError", "Output", "build", "load_book"]
