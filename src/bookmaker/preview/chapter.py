"""One chapter as it will be in the EPUB and in print, without building the whole book.

`bookmaker preview CHAPTER` loads every chapter's front matter (numbering, titles, links) but
renders only the chapter asked for (`pipeline.load_book(only=…)`), settles its ids and links
against the other chapters' ids as the full build does (crossref.py), then writes into
`OUT/preview/`:

- `<slug>.xhtml`: the chapter's EPUB page, byte for byte what the EPUB holds, with `css/` and
  `images/` beside it, so it reflows in a browser with the EPUB stylesheet;
- with `--pdf`, `<slug>.pdf`: the chapter alone through the print layout, opening on its folio in
  the full book (from the page map, see pagemap.py) with the book's gutter. Links to other
  chapters point at their preview PDFs beside it (the server points them at its chapter pages).

The server calls the same `write_html` (builder.py) and `write_pdf` (printer.py).
"""

from __future__ import annotations

import difflib
import html
import re
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..cache.pagemap import Folio
from ..core.errors import BookError, Diagnostic, Reporter, SourceLocation
from ..core.model import Book, Chapter, HtmlBlock
from ..transform.crossref import IdCache, settle_in_book
from .fill import start_fill

if TYPE_CHECKING:
    from ..backends.pdf.backend import PrintFonts
    from ..core.context import BuildContext
    from ..render.layout import Page, Rendered

PREVIEW_DIR = "preview"
LinkFor = Callable[[Chapter, str], str]  # (other chapter, fragment) -> URL of it in print


class NoSuchChapter(BookError):
    """CHAPTER names no chapter of the book: a command-line mistake."""

    exit_code = 2


@dataclass(frozen=True)
class HtmlPreview:
    chapter: Chapter  # rendered
    path: Path  # OUT/preview/<slug>.xhtml
    written: tuple[Path, ...]  # files whose bytes changed (page, stylesheets, images)


@dataclass(frozen=True)
class PdfPreview:
    chapter: Chapter
    path: Path  # OUT/preview/<slug>.pdf
    data: bytes
    pages: int
    folio: Folio


# --- which chapter ---------------------------------------------------------------------------


def chapter_matcher(root: Path, query: str) -> Callable[[Chapter], bool]:
    """CHAPTER as a file path, a file name, a slug or the chapter's number in the book."""
    from ..core.text import slugify
    from ..source.config import load_config
    from ..source.manuscript import chapter_files, chapter_slug

    config = load_config(root)
    files = chapter_files(config)
    as_path = Path(query)
    given = as_path.resolve() if as_path.suffix == ".md" and as_path.is_file() else None
    for f in files:
        if query in (f.name, f.stem, chapter_slug(f)) or (given is not None and given == f.resolve()):
            return lambda ch, f=f: ch.path == f  # the very path load_chapters gives the chapter
    if query.isdigit():
        number = int(query)
        return lambda ch: ch.number == number
    close = difflib.get_close_matches(slugify(Path(query).stem), [chapter_slug(f) for f in files], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; give a chapter file, its slug or its number"
    raise NoSuchChapter(Diagnostic(SourceLocation(config.root / "chapters"), f"no chapter '{query}'{hint}"))


def load_one(root: Path, query: str, reporter: Reporter) -> tuple[Book, Chapter]:
    """The book with only the chapter `query` names rendered, and that chapter."""
    from ..transform.book import load_book

    matches = chapter_matcher(root, query)
    book = load_book(root, reporter, only=matches, with_cover=False)
    chosen = [ch for ch in book.chapters if matches(ch)]
    if len(chosen) != 1:
        numbers = [str(ch.number) for ch in book.chapters if ch.number]
        span = f"{numbers[0]}–{numbers[-1]}" if numbers else "none"
        raise NoSuchChapter(Diagnostic(SourceLocation(book.config.root / "chapters"), f"no chapter numbered {query} (numbers: {span})"))
    cache = IdCache.for_book(book.config.root)
    book, chapter = settle_in_book(book, chosen[0], cache, reporter)  # ids and links as the full build leaves them
    cache.save()
    return book, chapter


# --- writing ---------------------------------------------------------------------------------


def _put(path: Path, data: bytes, written: list[Path]) -> None:
    """Write atomically, and only when the bytes differ (the server's watchers stay quiet)."""
    from ..core.paths import write_atomic

    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(path, data)
    written.append(path)


def with_page_breaks(book: Book, chapter: Chapter, page: Page) -> Page:
    """The page with the print page breaks the EPUB would give it, when the last print build's
    are still valid (cache/pagebreaks.py): a preview never lays the book out for them."""
    from ..cache import pagebreaks
    from ..render.layout import mark_chapter_page
    from ..render.pagelist import by_page, placed, print_pages

    starts = pagebreaks.load(book) if book.config.page_list != "none" else None
    if not starts:
        return page
    marks = by_page(placed(print_pages(starts, book.chapters))).get(chapter.id)
    return mark_chapter_page(book, chapter, page, marks) if marks else page


def write_html(book: Book, chapter: Chapter, out: Path) -> HtmlPreview:
    """The chapter's EPUB page (the same bytes the EPUB holds), its stylesheets and images."""
    from ..render.layout import has_notes, render_chapter_page, stylesheets

    page = with_page_breaks(book, chapter, render_chapter_page(book, chapter, "epub"))
    written: list[Path] = []
    for sheet in stylesheets(book.config, "epub", notes=has_notes(chapter)):
        _put(out / sheet.href, sheet.data, written)
    for img in book.images:
        _put(out / img.href, img.data, written)
    path = out / page.href
    _put(path, page.content.encode("utf-8"), written)
    return HtmlPreview(chapter, path, tuple(written))


def file_links(out: Path) -> LinkFor:
    """Links to other chapters, for a PDF on disk: their preview PDFs beside it."""
    return lambda other, fragment: (out / f"{other.slug}.pdf").resolve().as_uri() + f"#{fragment}"


def _relink(book: Book, chapter: Chapter, link: LinkFor) -> Chapter:
    """Links to other chapters leave the one-chapter document (inside it they would go nowhere)."""
    from ..render.layout import (
        CHAPTER_LINK,  # the print document's own pattern for links between chapters
    )

    others = {ch.slug: ch for ch in book.chapters if ch.id != chapter.id}

    def sub(m: re.Match[str]) -> str:
        other = others.get(m.group(1))
        if other is None:
            return m.group(0)
        return f'href="{html.escape(link(other, m.group(2) or other.id))}"'

    blocks = tuple(replace(b, html=CHAPTER_LINK.sub(sub, b.html)) if isinstance(b, HtmlBlock) else b for b in chapter.blocks)
    return replace(chapter, blocks=blocks)


def _with_links(book: Book) -> Book:
    """A preview PDF keeps its links even under a printer's profile that strips them."""
    config = book.config
    profile = replace(config.print.profile, annotations=True)
    return replace(book, config=replace(config, print=replace(config.print, profile=profile)))


def _print_bytes(rendered: Rendered, ctx: BuildContext, fonts: PrintFonts | None) -> tuple[bytes, int]:
    """The PDF and its page count; with `fonts`, laid out with its kept font configuration."""
    from ..backends.pdf.backend import PdfBackend

    backend = PdfBackend()
    with fonts.hold(rendered) if fonts is not None else nullcontext() as font_config:  # writing reads the fonts too
        document = backend.lay_out(rendered, ctx, font_config=font_config)
        return backend.write_document(document, ctx), len(document.pages)


def write_pdf(book: Book, chapter: Chapter, out: Path, reporter: Reporter, link: LinkFor | None = None,
              fonts: PrintFonts | None = None) -> PdfPreview:
    """The chapter alone through the print layout, on its folios in the full book; records its span.

    A process that prints again and again (the server) passes the `PrintFonts` it keeps.
    """
    from ..backends.pdf.probe import opens_recto
    from ..cache import pagemap
    from ..core.context import BuildContext, build_timestamp
    from ..core.paths import write_atomic
    from ..core.resources import layouts_for
    from ..render.glyphs import check_chapter, print_chains
    from ..render.printed import PrintDocument, render_print

    check_chapter(chapter, reporter, print_chains(layouts_for(book.config)))  # letters no print font has, as a full build warns
    known = pagemap.load(book.config.root)
    folio = pagemap.locate(known, book, chapter)
    printable = _with_links(book)
    alone = _relink(book, chapter, link or file_links(out))
    rendered = render_print(printable, PrintDocument.chapter(alone, folio.first, folio.gutter))
    ctx = BuildContext(printable, build_timestamp(), reporter)
    if book.config.print.profile.colour == "cmyk":  # images as the printer gets them
        from ..backends.pdf.paginate import cmyk_assets

        rendered = cmyk_assets(rendered, ctx)
    data, pages = _print_bytes(rendered, ctx, fonts)
    path = out / f"{chapter.slug}.pdf"
    write_atomic(path, data)
    if "gutter" not in folio.unknown:  # measured with the book's own gutter: a true span
        pagemap.record_chapter(book, chapter, pages, folio.gutter, opens_recto(book, folio.gutter, known))
    return PdfPreview(chapter, path, data, pages, folio)


def page_images(data: bytes, folder: Path, stem: str, scale: float = 1.5) -> tuple[Path, ...]:
    """PNG pictures of a PDF's pages (pypdfium2), for the server's print view."""
    import pypdfium2 as pdfium

    written: list[Path] = []
    paths = []
    doc = pdfium.PdfDocument(data)
    try:
        for n in range(len(doc)):
            import io

            image = doc[n].render(scale=scale).to_pil()
            buf = io.BytesIO()
            image.save(buf, format="PNG", compress_level=1)
            path = folder / f"{stem}-{n + 1}.png"
            _put(path, buf.getvalue(), written)
            paths.append(path)
    finally:
        doc.close()
    for stale in folder.glob(f"{stem}-*.png"):
        if stale not in paths and re.fullmatch(rf"{re.escape(stem)}-\d+\.png", stale.name):
            stale.unlink(missing_ok=True)
    return tuple(paths)


def preview(root: Path, query: str, out_dir: Path, pdf: bool = False, reporter: Reporter | None = None,
            fill: bool = True) -> tuple[HtmlPreview, PdfPreview | None]:
    """`bookmaker preview`: the chapter's page, and its PDF with `pdf`.

    When the page map cannot give the chapter's first folio exactly, the PDF is still written at
    once (counted with the last known spans, and the caller is told it is provisional), and with
    `fill` a background process lays the whole book out once so the next preview is exact.
    """
    reporter = reporter or Reporter()
    out = out_dir / PREVIEW_DIR
    book, chapter = load_one(root, query, reporter)
    page = write_html(book, chapter, out)
    printed = None
    if pdf:
        printed = write_pdf(book, chapter, out, reporter)
        if fill and not printed.folio.exact:

            start_fill(book.config.root, detach=True)
    return page, printed
