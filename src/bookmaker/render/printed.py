"""The print document: the one HTML page WeasyPrint lays out for the whole book, a part of it, the
front matter, filler pages, a one-chapter preview or a font specimen (`PrintDocument`), rendered
from the same chapter XHTML as the EPUB (render/layout.py) with what print needs swapped in:
notes at the foot of the page, formulas drawn, code wrapped at the printed width, the folios of
anchors laid out in other parts (cross-references, the contents)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ..core.errors import LayoutError
from ..core.model import Book, BookConfig, Chapter, HtmlBlock
from ..core.resources import Layouts, layouts_for
from ..transform.code import code_columns
from .index import print_pages
from .layout import (
    CHAPTER_LINK,
    Asset,
    Page,
    Rendered,
    _context,
    _image_assets,
    _render,
    _template_path,
    check_well_formed,
    code_palette,
    stylesheets,
)


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

    A facing chapter's plate is on the left-hand page before its section, so a book cut into
    parts is cut between the two: a part after the first leaves its first chapter's plate out
    (`lead_plate` False) and the part before it ends with it (`tail_plate`). Every part still opens
    on a right-hand page.
    """

    chapters: tuple[Chapter, ...] | None = None
    first_folio: int = 1
    margin_inside: float | None = None
    fillers: int = 0
    front_matter: bool = True
    folios: tuple[tuple[str, str], ...] = ()
    end_on_verso: bool = False
    specimen: bool = False
    lead_plate: bool = True  # the first chapter's plate (core/design.py) opens the document
    tail_plate: Chapter | None = None  # a chapter of the next part whose plate ends this document

    @classmethod
    def whole(cls, margin_inside: float | None = None, fillers: int = 0) -> PrintDocument:
        return cls(None, margin_inside=margin_inside, fillers=fillers)

    def with_folios(self, folios: Mapping[str, str | int]) -> PrintDocument:
        from dataclasses import replace

        return replace(self, folios=tuple(sorted((k, str(v)) for k, v in folios.items())))

    @classmethod
    def part(cls, chapters: Sequence[Chapter], margin_inside: float, *, last: bool,
             folios: Mapping[str, str | int] | None = None, after: Chapter | None = None) -> PrintDocument:
        """A run of body chapters laid out on its own (parallel.py), from folio 1; `folios`: those of
        other parts' anchors its cross-references name, as an earlier layout found them; `after`:
        the chapter opening the next part (its plate ends this one)."""
        return cls(tuple(chapters), margin_inside=margin_inside, front_matter=False, end_on_verso=not last,
                   lead_plate=False, tail_plate=after).with_folios(folios or {})

    @classmethod
    def front(cls, chapters: Sequence[Chapter], margin_inside: float, folios: Mapping[str, str | int],
              after: Chapter | None = None) -> PrintDocument:
        """Half title, title page, contents (with the body's folios) and the front chapters."""
        return cls(tuple(chapters), margin_inside=margin_inside, front_matter=True, end_on_verso=True,
                   tail_plate=after).with_folios(folios)

    @classmethod
    def back(cls, chapters: Sequence[Chapter], margin_inside: float, first_folio: int, folios: Mapping[str, str | int]) -> PrintDocument:
        """The Index, laid out after the rest of the book is counted, on its folios, with every mark's."""
        return cls(tuple(chapters), first_folio=first_folio, margin_inside=margin_inside, front_matter=False,
                   lead_plate=False).with_folios(folios)

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
        "lead_plate": document.lead_plate, "tail_plate": document.tail_plate,
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
    fonts = tuple(Asset(name, "font/ttf", path.read_bytes()) for name, path in font_files(layouts).items())
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


def font_files(layouts: Layouts) -> dict[str, Path]:
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
