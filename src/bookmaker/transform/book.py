"""The book as loaded: chapter files read, the Book -> Book passes applied, Markdown rendered,
images sized. Build and preview both load through here."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..cache.build import BuildCache
from ..core.design import opening_of
from ..core.errors import Diagnostic, ManuscriptError, Reporter, SourceLocation
from ..core.model import Book, BookConfig, Chapter, Image, ImageRef
from ..source.config import load_config
from ..source.manuscript import load_chapters
from . import markdown
from .images import load_cover, load_images
from .index import make_index
from .index.gather import with_index_page
from .links import check_links, line_of
from .notes import gather
from .references import resolve_references

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


def apply_transforms(book: Book, transforms: Iterable[Transform] = TRANSFORMS) -> Book:
    """The Book -> Book passes, in order, on the chapters' front matter (the preview server's too)."""
    for transform in transforms:
        book = transform(book)
    return book


FigureAt = tuple[Path, str, int]  # (chapter file, figure id, line)


def figure_id_clashes(chapters: Iterable[Chapter], figures: Iterable[FigureAt]) -> list[Diagnostic]:
    """Ids live in one document in print: a figure id that is a chapter's id, or an earlier
    figure's, would break links there. `figures` in book order; the first use keeps the id.

    The one-chapter preview (crossref.settle) passes the earlier chapters' figures and its own.
    """
    seen: dict[str, Path] = {ch.id: ch.path for ch in chapters}
    problems = []
    for path, fid, line in figures:
        if fid in seen:
            problems.append(Diagnostic(SourceLocation(path, line), f"id '{fid}' is already used in {seen[fid].name}"))
        seen.setdefault(fid, path)
    return problems


def _check_unique_ids(parsed: Sequence[markdown.Parsed], chapters: Sequence[Chapter]) -> None:
    """The figure ids of the chapters rendered together (every chapter, in a build)."""
    problems = figure_id_clashes(chapters, ((p.path, fig.id, fig.line) for p in parsed for fig in p.figures))
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
    book = apply_transforms(Book(config=config, chapters=load_chapters(config)), transforms)
    loader: ImageLoader = load_images if cache is None else partial(load_images, cache=cache)
    return render_chapters(book, reporter, only=only, with_cover=with_cover, image_loader=loader, cache=cache)


def plate_src(config: BookConfig, chapter: Chapter, parsed: markdown.Parsed) -> str | None:
    """The image a facing chapter opens with, set alone on its page (core/design.py plate_of):
    sized for the plate, not for a figure in the text."""
    if opening_of(config, chapter) != "facing" or not parsed.figures or not markdown.is_figure(parsed.tokens, 0):
        return None
    return parsed.figures[0].src


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
    plates = {src for ch, p in zip(selected, parsed) if (src := plate_src(config, ch, p))}
    images = image_loader(config, (replace(ref, plate=True) if ref.src in plates else ref for p in parsed for ref in p.images), reporter)
    by_src = {img.src: img for img in images}
    chapter_hrefs = {ch.path.name: ch.href for ch in book.chapters}
    columns = None  # the printed width of code, for the wrap warnings: measured only when there is code
    if any(t.type in ("fence", "code_block") for p in parsed for t in p.tokens):
        from .code import code_columns

        columns = code_columns(config)
    first_notes = _first_notes(book, dict(zip((ch.id for ch in selected), parsed)))
    rendered = {
        ch.id: replace(ch, blocks=markdown.render(p, by_src, chapter_hrefs, warn=lambda line, msg, path=ch.path: reporter.warn(path, line, msg),
                                                  code_columns=columns, first_note=first_notes[ch.id],
                                                  scene_break=config.scene_break, drop_cap=config.lead_in == "drop-cap"),
                       headings=p.headings)
        for ch, p in zip(selected, parsed)
    }
    chapters = tuple(rendered.get(ch.id, ch) for ch in book.chapters)
    cover = load_cover(config, cache) if with_cover else None
    book = replace(book, chapters=chapters, images=images, cover=cover)
    if only is None:  # ids and links can be checked only when every chapter is rendered
        def warn(ch: Chapter, needle: str, msg: str) -> None:
            reporter.warn(ch.path, line_of(ch, needle), msg)

        book = resolve_references(book, warn)  # [@id] named and linked, then checked as every link is
        book = check_links(book, warn)
        book = gather(book)  # notes = "book": onto the Notes page, once their links are checked in their chapters
        book = make_index(book, warn)  # the Index page, last, with the marks wherever gather left them
    else:
        book = with_index_page(book)  # the contents list the Index as the build's do
    return book


def _first_notes(book: Book, parsed: dict[str, markdown.Parsed]) -> dict[str, int]:
    """Each chapter's first note number: 1, or with note_numbers = "book" one more than the notes
    of the chapters before (counted from their Markdown when they are not rendered: a preview)."""
    if book.config.note_numbers != "book":
        return {ch.id: 1 for ch in book.chapters}
    firsts, n, wanted = {}, 1, set(parsed)
    for ch in book.chapters:
        if not wanted:
            break  # the chapters after the last one rendered count for nothing
        firsts[ch.id] = n
        wanted.discard(ch.id)
        p = parsed.get(ch.id)
        n += markdown.count_notes(p.tokens) if p is not None else markdown.notes_in(ch.source)
    return firsts
