"""The Jinja2 environment over the book's layouts and the pages it renders for a target.

One set of templates feeds every target. `target` ("epub", "print", "preview") changes only which
stylesheet is linked and a few flags; the chapter partial is the same for all. The templates,
stylesheets and fonts are the book's own where it has them (book.toml `layouts`), file by file,
else the built-in ones (core/resources.py `Layouts`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

import jinja2
from lxml import etree

from ..core.design import design_of, opens_on, plate_of
from ..core.errors import LayoutError
from ..core.model import Book, BookConfig, Chapter, HtmlBlock, Image
from ..core.resources import Layouts, builtin_layouts_dir, layouts_for
from ..core.words import words_for
from .index import epub_locators, print_pages
from .pagelist import plate_units

if TYPE_CHECKING:
    from .pagelist import PrintPage

Target = Literal["epub", "print", "preview"]
PageKind = Literal["cover", "titlepage", "copyright", "toc", "chapter", "document"]


@dataclass(frozen=True)
class Page:
    """One XHTML (EPUB, preview) or HTML (print) document, ready to package."""

    href: str
    title: str
    kind: PageKind
    content: str
    linear: bool = True
    properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Asset:
    """A file a page refers to: stylesheet, font or image."""

    href: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Rendered:
    target: Target
    pages: tuple[Page, ...]
    assets: tuple[Asset, ...]
    page_list: bool = False  # the EPUB's pages carry the print edition's page breaks, its nav their page-list


@dataclass(frozen=True)
class TocEntry:
    label: str  # "1", "ii", "" …
    title: str
    href: str  # EPUB href; the print layout uses the fragment
    anchor: str
    kind: str


class _LayoutsLoader(jinja2.FileSystemLoader):
    """Templates and `{% include %}`s from the first folder that has the file. A loaded template is
    also stale when another folder's file now wins: a book that adds or removes its own copy while
    `bookmaker serve` runs gets it at the next render (Jinja2 alone checks only the file's mtime)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        return source, filename, lambda: uptodate() and self._winner(template) == filename

    def _winner(self, template: str) -> str | None:
        pieces = jinja2.loaders.split_template_path(template)
        for folder in self.searchpath:
            path = os.path.join(folder, *pieces)
            if os.path.isfile(path):
                return path
        return None


@lru_cache(maxsize=4)
def environment(folders: tuple[Path, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_LayoutsLoader([str(f) for f in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["inches"] = lambda v: f"{float(v):.4f}".rstrip("0").rstrip(".") + "in"
    return env


_SEMANTICS = {
    "introduction": "introduction", "preface": "preface", "foreword": "foreword",
    "prologue": "prologue", "epilogue": "epilogue", "afterword": "afterword",
    "acknowledgments": "acknowledgments", "acknowledgements": "acknowledgments",
    "appendix": "appendix", "conclusion": "conclusion", "glossary": "glossary",
}


def semantics(chapter: Chapter) -> str:
    """The epub:type / doc-* role of a chapter's section: a generated page's own (the Notes page),
    else from its kind and title."""
    if chapter.role:
        return chapter.role
    if chapter.kind != "body":
        return _SEMANTICS.get(chapter.title.strip().lower(), "chapter")
    return "chapter"


def toc_entries(book: Book) -> tuple[TocEntry, ...]:
    return tuple(
        TocEntry(label=str(ch.number) if ch.number else "", title=ch.title, href=ch.href, anchor=ch.id, kind=ch.kind)
        for ch in book.chapters
    )


def _render(layouts: Layouts, template: str, context: dict[str, Any]) -> str:
    try:
        return environment(layouts.folders).get_template(template).render(**context)
    except jinja2.TemplateNotFound as exc:
        where = " or ".join(str(f) for f in layouts.folders)
        raise LayoutError.at(layouts.folders[0] / str(exc.name), None, f"template '{exc.name}' not found in {where}") from None
    except jinja2.TemplateSyntaxError as exc:
        path = Path(exc.filename) if exc.filename else _template_path(layouts, template)
        raise LayoutError.at(path, exc.lineno, f"template syntax: {exc.message}") from None
    except jinja2.TemplateError as exc:
        path, line = _template_frame(exc)
        raise LayoutError.at(path or _template_path(layouts, template), line, f"template error: {exc}") from None


def _template_path(layouts: Layouts, template: str) -> Path:
    """The file a template comes from (the book's or the built-in one), for messages."""
    try:
        return layouts.find(template)
    except LayoutError:
        return layouts.folders[0] / template


def _template_frame(exc: BaseException) -> tuple[Path | None, int | None]:
    """The template file and line deepest in the traceback: an included partial's, when it failed."""
    tb = exc.__traceback__
    path, line = None, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            path, line = Path(tb.tb_frame.f_code.co_filename), tb.tb_lineno
        tb = tb.tb_next
    return path, line


_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def check_well_formed(page: Page, made_by: Path | None = None) -> None:
    """Every page we hand a back end must be well-formed XML: catches layout mistakes early.
    `made_by` is the template the page was rendered from, where the error is reported."""
    try:
        etree.fromstring(page.content.encode("utf-8"), _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise LayoutError.at(made_by or builtin_layouts_dir(), None, f"{page.href} is not well-formed XHTML: {exc}") from None


def _context(book: Book, target: Target) -> dict[str, Any]:
    return {
        "book": book,
        "config": book.config,
        "target": target,
        "images": {img.src: img for img in book.images},
        "toc": toc_entries(book),
        "semantics": semantics,
        "words": words_for(book.config.language),
        "index_locators": epub_locators,
        "index_pages": lambda entry: print_pages(entry, {}),
        "page_notes": False,  # the page links notes.css (the EPUB's chapter pages with notes, the Notes page)
        "page_list": (),  # the nav's page-list: {label, href} of every print page's marker (render_epub)
        "plate_of": lambda chapter: plate_of(book.config, chapter),  # core/design.py: how chapters open
        "opens_on": lambda chapter: opens_on(book.config, chapter),
        "plate_figure": False,  # _figure.j2: the figure a facing chapter opens with (its plate, _plate.j2)
        "plate_units": plate_units,  # render/pagelist.py: where a print section's count starts after its plate
    }


def _stylesheet(layouts: Layouts, name: str) -> Asset:
    return Asset(f"css/{name}", "text/css", layouts.read_bytes(name))


@lru_cache(maxsize=8)
def _code_css(target: str, palette: str) -> bytes:
    from ..transform import code

    mono = '"DejaVu Sans Mono", monospace' if target == "print" else "monospace"
    return (code.block_css(target, mono_family=mono) + "\n" + code.stylesheet(palette, panel=target == "epub")).encode("utf-8")


def code_palette(config: BookConfig) -> str:
    """The colours of highlighted code in print: greys on a black-and-white interior (tokens stay
    apart by tone, bold and italic), colour otherwise; in device CMYK under a CMYK profile."""
    cmyk = config.print.profile.colour == "cmyk"
    if config.print.interior == "colour":
        return "cmyk" if cmyk else "rgb"
    return "cmyk-grey" if cmyk else "grey"


def stylesheets(config: BookConfig, target: Target, notes: bool = False) -> tuple[Asset, ...]:
    """Every stylesheet a target's pages link (layouts/_head.j2, print.html.j2), in one place.
    `notes`: the EPUB has pages with notes, which link notes.css (print.css sets print's notes)."""
    layouts = layouts_for(config)
    design = Asset("css/design.css", "text/css", layouts.read_bytes(design_of(config).stylesheet))  # after the target's own
    if target == "print":
        sheets = (_stylesheet(layouts, "book.css"), _stylesheet(layouts, "print.css"), design,
                  Asset("css/code.css", "text/css", _code_css("print", code_palette(config))))
        return sheets + ((_stylesheet(layouts, "print-cmyk.css"),) if config.print.profile.colour == "cmyk" else ())
    sheets = (_stylesheet(layouts, "book.css"), _stylesheet(layouts, "epub.css"), design,
              Asset("css/code.css", "text/css", _code_css("epub", "rgb")))
    return sheets + ((_stylesheet(layouts, "notes.css"),) if notes else ())


def has_notes(chapter: Chapter) -> bool:
    """Whether the chapter's page calls or shows notes: its own, after its text, or the book's (the Notes page)."""
    return chapter.role == "endnotes" or any(isinstance(b, HtmlBlock) and (b.notes or 'class="noteref"' in b.html)
                                             for b in chapter.blocks)


def _image_assets(book: Book) -> tuple[Asset, ...]:
    """The book's images and its own cover image (a typographic cover has no bytes here: the EPUB
    back end draws it, backends/pdf/cover_image.py; print sets it in the cover wrap)."""
    images: list[Image] = list(book.images)
    if book.cover is not None and not book.cover.placeholder:
        images.insert(0, book.cover)
    return tuple(Asset(img.href, img.media_type, img.data) for img in images)


def render_chapter_page(book: Book, chapter: Chapter, target: Target, ctx: dict[str, Any] | None = None) -> Page:
    """One chapter's page; `ctx` (the book's context) is shared when rendering many chapters."""
    ctx = ctx or _context(book, target)
    layouts = layouts_for(book.config)
    content = _render(layouts, "chapter.xhtml.j2", {**ctx, "chapter": chapter, "page_notes": has_notes(chapter)})
    page = Page(chapter.href, chapter.title, "chapter", content, properties=_properties(content))
    check_well_formed(page, _template_path(layouts, "chapter.xhtml.j2"))
    return page


def _properties(content: str) -> tuple[str, ...]:
    props = []
    if re.search(r"<(svg:)?svg[\s>]", content):
        props.append("svg")
    if re.search(r"<(m:)?math[\s>]", content):
        props.append("mathml")
    return tuple(props)


def render_epub(book: Book, print_pages: Sequence[PrintPage] = ()) -> Rendered:
    """The EPUB's pages; with `print_pages` (pagelist.print_pages), each print page's marker in
    them and the nav's page-list, in reading order."""
    from . import pagelist

    ctx = _context(book, "epub")
    layouts = layouts_for(book.config)
    chapters = [render_chapter_page(book, ch, "epub", ctx) for ch in book.chapters]  # each checked there
    marks = pagelist.by_page(pagelist.placed(print_pages)) if print_pages else {}
    if marks:
        chapters = [mark_chapter_page(book, ch, page, marks.get(ch.id, ())) for ch, page in zip(book.chapters, chapters)]
    listed = [entry for page in chapters for entry in pagelist.marker_hrefs(page.content, page.href)]
    pages: list[Page] = []
    front: tuple[tuple[str, str, str, PageKind], ...] = (
        ("cover.xhtml.j2", "cover.xhtml", "Cover", "cover"),
        ("titlepage.xhtml.j2", "titlepage.xhtml", "Title Page", "titlepage"),
        ("copyright.xhtml.j2", "copyright.xhtml", "Copyright", "copyright"),
        ("nav.xhtml.j2", "nav.xhtml", "Contents", "toc"),
    )
    for template, href, title, kind in front:
        labels = [label for _, label in marks.get(href, ())]
        before = [entry for page in pages for entry in pagelist.marker_hrefs(page.content, page.href)]
        own = [(label, f"{href}#{pagelist.marker_id(label, set())}") for label in labels]  # what mark_front names them
        for _ in range(2):  # once more if an id of the page itself made mark_front name a marker otherwise
            entries = [{"label": label, "href": h} for label, h in before + own + listed] if marks else []
            content = pagelist.mark_front(_render(layouts, template, {**ctx, "page_list": entries}), labels)
            named = pagelist.marker_hrefs(content, href)
            if named == own or not marks:
                break
            own = named
        page = Page(href, title, kind, content, properties=_properties(content))
        check_well_formed(page, _template_path(layouts, template))
        pages.append(page)
    pages.extend(chapters)
    assets = stylesheets(book.config, "epub", notes=any(has_notes(ch) for ch in book.chapters)) + _image_assets(book)
    return Rendered("epub", tuple(pages), assets, page_list=bool(marks))


def mark_chapter_page(book: Book, chapter: Chapter, page: Page, marks: Sequence[tuple[int, str]]) -> Page:
    """A chapter's EPUB page with the markers of the print pages that begin in it (pagelist.py)."""
    from dataclasses import replace

    from . import pagelist

    floated = pagelist.notes_floated(chapter, book.config.notes)
    return replace(page, content=pagelist.mark_chapter(page.content, chapter, marks, floated))


CHAPTER_LINK = re.compile(r'href="([A-Za-z0-9_.\-]+)\.xhtml(?:#([^"]*))?"')
