"""load -> transform -> size images -> layout -> back end. Used by build and preview."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, Sequence

from . import markdown
from .buildcache import BuildCache
from .config import load_config
from .errors import BookError, Diagnostic, ManuscriptError, OutputError, PreflightError, Reporter, SourceLocation, StrictError
from .images import load_cover, load_images
from .links import check_links, line_of
from .manuscript import load_chapters
from .model import Book, BookConfig, Chapter, Image, ImageRef, PrintedBook
from .paths import write_atomic

if TYPE_CHECKING:
    from .backends import BuildContext

Transform = Callable[[Book], Book]


def number_chapters(book: Book) -> Book:
    """Body chapters are numbered from 1; front and back matter are not."""
    n = 0
    chapters = []
    for ch in book.chapters:
        if ch.kind == "body":
            n += 1
            ch = replace(ch, number=n)
        chapters.append(ch)
    return replace(book, chapters=tuple(chapters))


TRANSFORMS: tuple[Transform, ...] = (number_chapters,)


def _check_unique_ids(parsed: Sequence[markdown.Parsed], chapters: Sequence[Chapter]) -> None:
    """Ids live in one document in print: a figure id used twice would break links there."""
    seen: dict[str, Path] = {ch.id: ch.path for ch in chapters}
    problems = []
    for p in parsed:
        for fig in p.figures:
            if fig.id in seen:
                problems.append(Diagnostic(SourceLocation(p.path, fig.line), f"id '{fig.id}' is already used in {seen[fig.id].name}"))
            seen.setdefault(fig.id, p.path)
    if problems:
        raise ManuscriptError(*problems)


ImageLoader = Callable[[BookConfig, Iterable[ImageRef], Reporter], "tuple[Image, ...]"]


def load_book(
    root: Path,
    reporter: Reporter,
    transforms: Iterable[Transform] = TRANSFORMS,
    only: Callable[[Chapter], bool] | None = None,
    with_cover: bool = True,
    cache: BuildCache | None = None,
) -> Book:
    """Everything loaded and validated, nothing written.

    Every chapter's front matter is read (numbering, titles and links need the whole book), but
    with `only`, just the chapters it selects are rendered and have their images sized: the others
    keep empty `blocks`. Preview uses this to stay fast on long books.
    """
    config = load_config(root)
    book = Book(config=config, chapters=load_chapters(config))
    for transform in transforms:
        book = transform(book)
    loader: ImageLoader = load_images if cache is None else partial(load_images, cache=cache)
    return render_chapters(book, reporter, only=only, with_cover=with_cover, image_loader=loader, cache=cache)


def render_chapters(
    book: Book,
    reporter: Reporter,
    only: Callable[[Chapter], bool] | None = None,
    with_cover: bool = True,
    image_loader: ImageLoader = load_images,
    cache: BuildCache | None = None,  # for the cover; the chapters' images go through `image_loader`
) -> Book:
    """The second half of `load_book`: render the selected chapters' Markdown and size their images.

    `book` has every chapter's front matter, numbered. The preview server calls this with the
    chapters it keeps between saves and an `image_loader` that remembers images it has sized.
    """
    config = book.config
    label = config.chapter_label
    selected = [ch for ch in book.chapters if only is None or only(ch)]
    parsed = [
        markdown.parse(ch.path, ch.source, ch.body_line, ch.id, f"{label} {ch.number}" if ch.number else ch.title)
        for ch in selected
    ]
    _check_unique_ids(parsed, selected)
    images = image_loader(config, (ref for p in parsed for ref in p.images), reporter)
    by_src = {img.src: img for img in images}
    chapter_hrefs = {ch.path.name: ch.href for ch in book.chapters}
    columns = None  # the printed width of code, for the wrap warnings: measured only when there is code
    if any(t.type in ("fence", "code_block") for p in parsed for t in p.tokens):
        from .layout import code_columns

        columns = code_columns(config)
    rendered = {
        ch.id: replace(ch, blocks=markdown.render(p, by_src, chapter_hrefs, warn=lambda line, msg, path=ch.path: reporter.warn(path, line, msg),
                                                  code_columns=columns),
                       headings=p.headings)
        for ch, p in zip(selected, parsed)
    }
    chapters = tuple(rendered.get(ch.id, ch) for ch in book.chapters)
    cover = load_cover(config, cache) if with_cover else None
    book = replace(book, chapters=chapters, images=images, cover=cover)
    if only is None:  # ids and links can be checked only when every chapter is rendered
        book = check_links(book, lambda ch, needle, msg: reporter.warn(ch.path, line_of(ch, needle), msg))
    return book


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


class Target(Protocol):
    """An output format: `make` renders the book for it and has its back end package it."""

    name: str

    def make(self, ctx: BuildContext, jobs: int | None, progress: Callable[[str], None]) -> Made: ...


class EpubTarget:
    name = "epub"

    def make(self, ctx: BuildContext, jobs: int | None, progress: Callable[[str], None]) -> Made:
        from .backends.epub import EpubBackend
        from .layout import render_epub

        progress("laying out and packaging the EPUB")
        return Made(self.name, EpubBackend().write(render_epub(ctx.book), ctx))


class PdfTarget:
    name = "pdf"

    def make(self, ctx: BuildContext, jobs: int | None, progress: Callable[[str], None]) -> Made:
        from .printing import print_book

        progress(f"laying out the PDF (WeasyPrint, profile {ctx.book.config.print.profile.name})")
        printed = print_book(ctx, jobs=jobs)
        return Made(self.name, printed.data, printed)


TARGETS: dict[str, Target] = {t.name: t for t in (EpubTarget(), PdfTarget())}
FORMATS = tuple(TARGETS)


def target(root: Path, fmt: str) -> Target:
    try:
        return TARGETS[fmt]
    except KeyError:
        raise OutputError.at(root, None, f"unknown format '{fmt}' (known: {', '.join(FORMATS)})") from None


def preflight_of(made: Made, config: BookConfig) -> Any:
    """The print preflight of a made PDF (preflight.PreflightReport), measured on its own layout."""
    from .preflight import preflight

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
) -> list[Output]:
    """Build every format in memory, then write them all. A failure writes nothing, except that
    a PDF refused by its print preflight does not keep the other formats from being written:
    they are, and the PreflightError is raised after them (its `outputs` lists them).

    `jobs`: processes laying out a long book's PDF in parts (default: every core); the PDF's bytes
    never depend on it.
    """
    from .backends import BuildContext, build_timestamp

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
    printed = None
    refused: PreflightError | None = None  # the PDF failed its preflight: the other outputs are still written
    for fmt in formats:
        made = target(root, fmt).make(ctx, jobs, progress)
        if made.printed is not None and check:
            progress("preflight")
            report = preflight_of(made, book.config)
            if not report.passed:
                refused = PreflightError(*report.diagnostics(out_dir / f"{book.config.slug}.{fmt}"))
                continue
        printed = made.printed or printed
        results.append((fmt, out_dir / f"{book.config.slug}.{fmt}", made.data))
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
        from .pagemap import record_build

        record_build(book, printed.data, printed.margin_inside, printed.pages - printed.fillers, read_at, printed.chapter_starts)
    return outputs


__all__ = ["BookError", "Output", "build", "load_book", "render_chapters", "write_atomic"]
