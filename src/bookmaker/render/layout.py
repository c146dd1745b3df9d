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
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

import jinja2
from lxml import etree

from ..core.errors import LayoutError
from ..core.model import Book, BookConfig, Chapter, HtmlBlock, Image
from ..core.resources import Layouts, builtin_layouts_dir, layouts_for
from ..core.words import words_for
from ..transform.code import code_columns
from .index import epub_locators, print_pages

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
    if target == "print":
        sheets = (_stylesheet(layouts, "book.css"), _stylesheet(layouts, "print.css"),
                  Asset("css/code.css", "text/css", _code_css("print", code_palette(config))))
        return sheets + ((_stylesheet(layouts, "print-cmyk.css"),) if config.print.profile.colour == "cmyk" else ())
    sheets = (_stylesheet(layouts, "book.css"), _stylesheet(layouts, "epub.css"),
              Asset("css/code.css", "text/css", _code_css("epub", "rgb")))
    return sheets + ((_stylesheet(layouts, "notes.css"),) if notes else ())


def has_notes(chapter: Chapter) -> bool:
    """Whether the chapter's page calls or shows notes: its own, after its text, or the book's (the Notes page)."""
    return chapter.role == "endnotes" or any(isinstance(b, HtmlBlock) and (b.notes or 'class="noteref"' in b.html)
                                             for b in chapter.blocks)


def _image_assets(book: Book) -> tuple[Asset, ...]:
    images: list[Image] = list(book.images)
    if book.cover is not None:
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


@dataclass(frozen=True)
class PrintGeometry:
    """What the print layout computes from book.toml and the profile, in inches."""

    margin_inside: float
    head_gap: float  # between the text block and the running head
    foot_gap: float  # between the text block and a foot folio


def print_geometry(config: BookConfig, margin_inside: float | None = None) -> PrintGeometry:
    """Running heads and folios sit as far from the text as the printer's safe margin allows."""
    p = config.print
    line = 0.2  # an 8.5pt line (line-height 1) with the font's full ascent and descent
    head = min(0.22, max(0.08, p.margin_top - p.profile.min_margin - line))
    foot = min(0.25, max(0.08, p.margin_bottom - p.profile.min_margin - line))
    return PrintGeometry(margin_inside if margin_inside is not None else p.margin_inside, round(head, 4), round(foot, 4))


@dataclass(frozen=True)
class PrintDocument:
    """Which print document to render: one value for every use (the whole book, a part of it, the
    front part, filler pages, one chapter's preview, a font specimen), made by the constructors
    below rather than by combining flags.

    `chapters` None is the whole book with its front matter; otherwise those chapters only, the
    first opening on folio `first_folio` as it does in the full book. `margin_inside` is the gutter
    for the page count (None: the book's own); `fillers` blank pages end the document; `folios` are
    the printed folios of anchors learnt from a layout (by anchor id: a chapter's, a mark's, any
    id's): the contents and cross-references print them for anchors laid out in another document
    (a book in parts), the index prints them for every mark (render/index.py);
    `end_on_verso` adds one last page the caller drops, so a part ends on a left-hand page;
    `specimen` sets a line in the book's fonts on a filler page (to warm up a process).
    """

    chapters: tuple[Chapter, ...] | None = None
    first_folio: int = 1
    margin_inside: float | None = None
    fillers: int = 0
    front_matter: bool = True
    folios: tuple[tuple[str, str], ...] = ()
    end_on_verso: bool = False
    specimen: bool = False

    @classmethod
    def whole(cls, margin_inside: float | None = None, fillers: int = 0) -> PrintDocument:
        return cls(None, margin_inside=margin_inside, fillers=fillers)

    def with_folios(self, folios: Mapping[str, str | int]) -> PrintDocument:
        from dataclasses import replace

        return replace(self, folios=tuple(sorted((k, str(v)) for k, v in folios.items())))

    @classmethod
    def part(cls, chapters: Sequence[Chapter], margin_inside: float, *, last: bool,
             folios: Mapping[str, str | int] | None = None) -> PrintDocument:
        """A run of body chapters laid out on its own (parallel.py), from folio 1; `folios`: those of
        other parts' anchors its cross-references name, as an earlier layout found them."""
        return cls(tuple(chapters), margin_inside=margin_inside, front_matter=False, end_on_verso=not last).with_folios(folios or {})

    @classmethod
    def front(cls, chapters: Sequence[Chapter], margin_inside: float, folios: Mapping[str, str | int]) -> PrintDocument:
        """Half title, title page, contents (with the body's folios) and the front chapters."""
        return cls(tuple(chapters), margin_inside=margin_inside, front_matter=True, end_on_verso=True).with_folios(folios)

    @classmethod
    def back(cls, chapters: Sequence[Chapter], margin_inside: float, first_folio: int, folios: Mapping[str, str | int]) -> PrintDocument:
        """The Index, laid out after the rest of the book is counted, on its folios, with every mark's."""
        return cls(tuple(chapters), first_folio=first_folio, margin_inside=margin_inside, front_matter=False).with_folios(folios)

    @classmethod
    def filler_pages(cls, count: int, margin_inside: float | None = None) -> PrintDocument:
        """`count` blank pages and nothing else (and the print assets: stylesheets, fonts, images)."""
        return cls((), margin_inside=margin_inside, fillers=count, front_matter=False)

    @classmethod
    def chapter(cls, chapter: Chapter, first_folio: int, margin_inside: float | None) -> PrintDocument:
        """One chapter alone on its folios in the full book (a print preview)."""
        return cls((chapter,), first_folio=first_folio, margin_inside=margin_inside, front_matter=False)

    @classmethod
    def chapters_only(cls, chapters: Sequence[Chapter], margin_inside: float | None) -> PrintDocument:
        """Some chapters from folio 1, no front matter (pagemap's layout probe)."""
        return cls(tuple(chapters), margin_inside=margin_inside, front_matter=False)

    @classmethod
    def assets_only(cls) -> PrintDocument:
        """No page content: the document's assets (stylesheets, fonts, images), to convert them once."""
        return cls((), front_matter=False)

    @classmethod
    def font_specimen(cls) -> PrintDocument:
        """One page with a line in the book's regular, italic and bold: a process's fonts warmed up."""
        return cls((), fillers=1, front_matter=False, specimen=True)


def render_print(book: Book, document: PrintDocument = PrintDocument()) -> Rendered:
    """One HTML document for WeasyPrint: the `document` of `book` (by default the whole book)."""
    ctx = _context(book, "print")
    layouts = layouts_for(book.config)
    whole = document.chapters is None
    selected = _print_notes(book, tuple(book.chapters if document.chapters is None else document.chapters), document.margin_inside)
    body = [ch for ch in selected if ch.kind == "body"] if whole else list(selected)
    margin_inside = document.margin_inside
    profile = book.config.print.profile
    folios = dict(document.folios)
    here = {ch.id for ch in selected}
    content = _render(layouts, "print.html.j2", {
        **ctx, "chapters": selected, "front_matter": document.front_matter,
        "opening_id": body[0].id if body else "", "first_folio": document.first_folio,
        "profile": profile, "geometry": print_geometry(book.config, margin_inside), "fillers": document.fillers,
        "folios": {a: f for a, f in folios.items() if a not in here}, "end_on_verso": document.end_on_verso,
        "specimen": document.specimen, "index_pages": lambda entry: print_pages(entry, folios),
    })
    anchors = {ch.href.removesuffix(".xhtml"): ch.id for ch in book.chapters}

    def local(m: re.Match[str]) -> str:  # links between chapter files become links inside the document
        target = m.group(2) or anchors.get(m.group(1), "")
        return f'href="#{target}"'

    content = CHAPTER_LINK.sub(local, content)
    if folios and 'class="xref"' in content:
        content = xref_folios(content, folios)
    if "<pre" in content:  # long code lines broken at the printed width, with a mark; print's fewer boxes (code.py)
        from ..transform.code import for_print

        columns = code_columns(book.config, print_geometry(book.config, margin_inside).margin_inside)
        content = for_print(content, columns, code_palette(book.config))  # type: ignore[arg-type]
    formulas: dict[str, bytes] = {}
    if "<math" in content:  # WeasyPrint has no MathML: every formula is drawn as vector outlines,
        from ..transform.formula import (
            print_math,  # one SVG file a formula (CMYK books convert them with the images)
        )

        content = print_math(content, book.config.print.font_size_pt, files=formulas)
    page = Page("book.html", book.config.title, "document", content)
    check_well_formed(page, _template_path(layouts, "print.html.j2"))
    fonts = tuple(Asset(name, "font/ttf", path.read_bytes()) for name, path in _font_files(layouts).items())
    assets = stylesheets(book.config, "print") + fonts + _image_assets(book)
    assets += (Asset("css/note-rule.svg", "image/svg+xml", layouts.read_bytes("note-rule.svg")),)  # print.css: the notes' rule
    assets += tuple(Asset(href, "image/svg+xml", data) for href, data in sorted(formulas.items()))
    if profile.colour == "cmyk":
        assets += (Asset("icc/cmyk.icc", "application/vnd.iccprofile", cmyk_profile(book.config).read_bytes()),)
    return Rendered("print", (page,), assets)


_XREF_LINK = re.compile(r'<a class="xref" href="#([^"]+)"')
_IDS = re.compile(r'\sid="([^"]+)"')


def xref_folios(content: str, folios: Mapping[str, str]) -> str:
    """Cross-references to anchors laid out in another document carry the folio an earlier layout
    found (`data-folio`, printed by print.css); those inside the document keep `target-counter`."""
    local = set(_IDS.findall(content))

    def folio(m: re.Match[str]) -> str:
        anchor = m.group(1)
        return m.group(0) + f' data-folio="{folios[anchor]}"' if anchor not in local and anchor in folios else m.group(0)

    return _XREF_LINK.sub(folio, content)


def xref_anchors(content: str) -> list[str]:
    """The anchors a print document's cross-references name."""
    return _XREF_LINK.findall(content)


def _print_notes(book: Book, chapters: tuple[Chapter, ...], margin_inside: float | None) -> tuple[Chapter, ...]:
    """The chapters with their notes as print sets them (transform/notes/printed.py): at the foot of
    the page, or where they are without their ways back; code in a note wrapped as in the text."""
    from ..transform import notes

    if not any(isinstance(b, HtmlBlock) and ("noteref" in b.html or b.notes) for ch in chapters for b in ch.blocks):
        return chapters

    def code(html: str) -> str:
        from ..transform.code import for_print

        columns = code_columns(book.config, print_geometry(book.config, margin_inside).margin_inside)
        return for_print(html, columns, code_palette(book.config))  # type: ignore[arg-type]

    limits = notes.note_limits(book.config)
    return tuple(notes.for_print(ch, book.config.notes, limits, code) for ch in chapters)


def _font_files(layouts: Layouts) -> dict[str, Path]:
    """The fonts the print stylesheet can name (`../fonts/x.ttf`), by their href: the book's own
    fonts/ beside the built-in ones, the book's winning a name both have."""
    return {name: path for name, path in layouts.files().items()
            if name.startswith("fonts/") and name.count("/") == 1 and name.endswith(".ttf")}


def cmyk_profile(config: BookConfig) -> Path:
    """Ghostscript's CMYK ICC profile: a real output intent for PDF/X (Debian: ghostscript)."""
    import glob

    for pattern in ("/usr/share/ghostscript/*/iccprofiles/default_cmyk.icc", "/usr/share/color/icc/ghostscript/default_cmyk.icc"):
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[-1])
    raise LayoutError.at(config.root / "book.toml", None, f"print profile '{config.print.profile.name}' needs a CMYK ICC profile: install Ghostscript (Debian: apt-get install ghostscript)")
