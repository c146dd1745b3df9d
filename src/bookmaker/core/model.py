"""The book as plain, frozen data. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .profiles import PROFILES, PrintProfile

ChapterKind = Literal["front", "body", "back"]
CHAPTER_KINDS: tuple[ChapterKind, ...] = ("front", "body", "back")
# Where a chapter's notes go (book.toml `notes`): the foot of the page they are called on in print
# (pop-up footnotes in the EPUB), the chapter's end, or one Notes page at the end of the book.
NotePlacement = Literal["foot", "chapter", "book"]
NOTE_PLACEMENTS: tuple[NotePlacement, ...] = ("foot", "chapter", "book")
PageListSource = Literal["print", "reuse", "none"]
PAGE_LIST_SOURCES: tuple[PageListSource, ...] = ("print", "reuse", "none")
# How notes are numbered (book.toml `note_numbers`): from 1 in each chapter, or on through the book.
NoteNumbering = Literal["chapter", "book"]
NOTE_NUMBERINGS: tuple[NoteNumbering, ...] = ("chapter", "book")
# How a chapter opens in print (book.toml `opening`, per chapter kind; a chapter's own `opening:`):
# on a right-hand page, on the next page, or with its opening figure alone on the left-hand page
# facing its title and text on the right (core/design.py).
Opening = Literal["right", "any", "facing"]
OPENINGS: tuple[Opening, ...] = ("right", "any", "facing")
# A facing chapter's figure (its plate): inside the text block, or to the trim's edges and bleed.
Plates = Literal["text-block", "bleed"]
PLATES: tuple[Plates, ...] = ("text-block", "bleed")
# A chapter opening's first line: small capitals, a drop cap, or as the rest of the text.
LeadIn = Literal["small-caps", "drop-cap", "none"]
LEAD_INS: tuple[LeadIn, ...] = ("small-caps", "drop-cap", "none")
# What a person credited in book.toml (`authors`, `contributors`) did, and its MARC relator code,
# which the EPUB writes (`<meta refines="#…" property="role" scheme="marc:relators">`). The codes
# are the Library of Congress's MARC Code List for Relators (https://www.loc.gov/marc/relators/,
# terms: relaterm.html, codes: relacode.html). "wfw" (writer of foreword) and "win" (writer of
# introduction) are the codes LC gives since its technical notice of 2025-04-03
# (https://www.loc.gov/marc/relators/tn250403rel.html), which deprecated "aui" (author of
# introduction, etc.); "aft" is "author of afterword, colophon, etc.".
MARC_RELATORS: dict[str, str] = {
    "author": "aut",
    "editor": "edt",
    "translator": "trl",
    "illustrator": "ill",
    "foreword": "wfw",  # writer of foreword
    "introduction": "win",  # writer of introduction
    "preface": "wpr",  # writer of preface
    "afterword": "aft",  # author of afterword, colophon, etc.
    "photographer": "pht",
    "cover-designer": "cov",
    "narrator": "nrt",
}
CONTRIBUTOR_ROLES: tuple[str, ...] = tuple(MARC_RELATORS)


@dataclass(frozen=True)
class Contributor:
    """A person book.toml credits: an author (`authors`) or a contributor (`contributors`)."""

    name: str
    roles: tuple[str, ...] = ("author",)  # CONTRIBUTOR_ROLES; "author" makes them one of the book's authors
    file_as: str | None = None  # the name as a catalogue sorts it: "Le Guin, Ursula K."

    @property
    def is_author(self) -> bool:
        return "author" in self.roles


@dataclass(frozen=True)
class Subject:
    """One of book.toml's `subjects`: a BISAC subject heading (its code, and its name when given)
    or a free keyword (no code)."""

    text: str  # what the subject says: the keyword, the heading's name, or its code when no name is given
    code: str | None = None  # a BISAC code: 3 capital letters and 6 digits, "PHO000000"


@dataclass(frozen=True)
class Openings:
    """How chapters of each kind open in print (`Opening`)."""

    front: Opening = "right"
    body: Opening = "right"
    back: Opening = "right"

    def of(self, kind: ChapterKind) -> Opening:
        return getattr(self, kind)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PrintSettings:
    """Physical page geometry, all lengths in inches."""

    trim_width: float = 6.0
    trim_height: float = 9.0
    margin_top: float = 0.75
    margin_bottom: float = 0.85
    margin_inside: float = 0.875
    margin_outside: float = 0.625
    font_size_pt: float = 10.5
    # The tallest a figure may be placed, as a share of the text block's height.
    figure_max_height: float = 0.55
    profile: PrintProfile = PROFILES["proof"]
    interior: str = "black-and-white"  # or "colour": how code is highlighted in print (layout.code_palette)
    paper: str = "white"  # the interior's paper (core/cover.PAPERS): the cover's spine width
    spine_direction: str | None = None  # the spine's text, turned (core/cover.SPINE_DIRECTIONS); None: by language
    plates: Plates = "text-block"  # a facing chapter's figure: in the text block or to the bleed
    isbn: str | None = None  # the print edition's own ISBN ([print] isbn; 13 digits, checked): BookConfig.print_isbn

    @property
    def text_width(self) -> float:
        return self.trim_width - self.margin_inside - self.margin_outside

    @property
    def text_height(self) -> float:
        return self.trim_height - self.margin_top - self.margin_bottom

    def gutter_for(self, content_pages: int) -> float:
        """The inside margin of a book of `content_pages` pages: `margin_inside`, or the profile's
        minimum gutter for the pages printed (the content and the filler pages the profile adds),
        whichever is wider. The one statement of the gutter rule (printing, parallel, pagemap)."""
        return max(self.margin_inside, self.profile.min_gutter(content_pages + self.profile.fill(content_pages)))

    def gutter_holds(self, gutter: float, content_pages: int) -> bool:
        """Is `gutter` the one a book of `content_pages` pages needs (the test every layout pass makes)?"""
        return abs(self.gutter_for(content_pages) - gutter) < 1e-9

    def gutter_is_fixed(self) -> bool:
        """True when the gutter does not depend on the page count (one band, or margin_inside wins)."""
        bands = [inches for _, inches in self.profile.gutter]
        return max(self.margin_inside, min(bands)) == max(self.margin_inside, max(bands))


@dataclass(frozen=True)
class BookConfig:
    root: Path
    title: str
    authors: tuple[str, ...]
    language: str
    identifier: str
    publisher: str
    date: str  # YYYY-MM-DD
    rights: str
    description: str
    subtitle: str | None = None
    chapter_label: str = "Chapter"
    order: tuple[str, ...] | None = None
    cover: str | None = None
    cover_line: int | None = field(default=None, compare=False)  # where book.toml names the cover, for messages
    credits: tuple[str, ...] = ()
    accessibility_summary: str | None = None
    edition: str | None = None
    isbn: str | None = None  # the ebook's ISBN (13 digits, checked); the identifier's when book.toml gives none
    allow_remote_images: bool = False  # http(s) images are fetched only when the book says so
    pending_images: tuple[str, ...] = ()  # glob patterns of art still to come: placeholders without a warning
    layouts: Path | None = None  # the book's own layouts folder (resolved, inside the book); None: the built-in ones only
    notes: NotePlacement = "foot"
    note_numbers: NoteNumbering = "chapter"
    page_list: PageListSource = "print"  # where the EPUB's print page numbers come from (render/pagelist.py)
    page_list_line: int | None = field(default=None, compare=False)  # where book.toml sets it, for messages
    back_cover: str | None = None  # the cover wrap's blurb (Markdown)
    # The book's design (core/design.py DESIGNS: its stylesheet and the defaults of the settings
    # below, each of which book.toml may set on its own).
    design: str = "classic"
    opening: Openings = field(default_factory=Openings)
    lead_in: LeadIn = "none"
    scene_break: str = "\u2042"  # the ornament a scene break (*** or a thematic break) is set as
    # [ebook] store: the stores the EPUB is made for (core/stores.py); "generic" is no store's rules
    ebook_stores: tuple[str, ...] = ("generic",)
    ebook_store_line: int | None = field(default=None, compare=False)
    print: PrintSettings = field(default_factory=PrintSettings)
    # Metadata for stores and e-readers (the EPUB's OPF: backends/epub.py). Every person credited,
    # in book.toml's order, the authors first (`authors` holds the names of those whose roles
    # include "author"); the series and the book's number in it; the subjects.
    contributors: tuple[Contributor, ...] = ()
    series: str | None = None
    series_index: int | float | None = None  # 2, or 1.5 for a book between 1 and 2
    subjects: tuple[Subject, ...] = ()

    @property
    def print_isbn(self) -> str | None:
        """The print edition's ISBN (the cover's barcode, the EPUB's page-break source): [print]
        isbn, else the book's one `isbn`, which then serves both editions."""
        return self.print.isbn or self.isbn

    @property
    def slug(self) -> str:
        from .text import slugify

        return slugify(self.title) or "book"


@dataclass(frozen=True)
class FigureRef:
    """An image alone in its paragraph: becomes a figure with a caption."""

    id: str
    src: str
    alt: str
    caption: str
    aspect: tuple[int, int] | None
    line: int


@dataclass(frozen=True)
class ImageRef:
    """Any image the manuscript names, with where it is named."""

    src: str
    path: Path  # the chapter file
    line: int
    alt: str
    label: str
    aspect: tuple[int, int] | None = None
    pending: bool = False  # `art="pending"`: the art is still to come, a placeholder is expected
    plate: bool = False  # a facing chapter's opening figure, alone on its page (core/design.py): sized to the plate


@dataclass(frozen=True)
class Image:
    """An image ready for both back ends: `data` at full resolution for print; the EPUB gets its
    screen-sized derivative (transform/images/screen.py) in `epub_media_type`, under `href`."""

    src: str  # as written in the manuscript
    href: str  # path inside the outputs, e.g. "images/photo-01.png"
    media_type: str
    data: bytes = field(repr=False)
    width_px: int
    height_px: int
    placed_width_in: float  # size in the print layout
    placed_height_in: float
    placeholder: bool
    # The media type the EPUB carries it in (transform/images/screen.py), which `href`'s suffix
    # follows; None: `media_type`. Print gets `data` as it is.
    screen_type: str | None = None

    @property
    def epub_media_type(self) -> str:
        return self.screen_type or self.media_type

    @property
    def effective_dpi(self) -> float:
        return self.width_px / self.placed_width_in if self.placed_width_in else 0.0


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str


@dataclass(frozen=True)
class HtmlBlock:
    html: str
    # The chapter's notes (transform/markdown/notes.py), after its text: one aside a note, moved to
    # the foot of the page or to the Notes page by the print layout and transform/notes.
    notes: bool = False


@dataclass(frozen=True)
class FigureBlock:
    figure: FigureRef


@dataclass(frozen=True)
class IndexLocator:
    """One place an index term is marked: the mark's anchor id and the page (EPUB href) it is on."""

    anchor: str
    href: str  # the chapter page, e.g. "05-the-subway.xhtml"
    label: str  # what the EPUB's link says: the chapter's name ("Photo 5", or its title)


@dataclass(frozen=True)
class IndexEntry:
    """One entry of the back-of-book index, with its sub-entries, sorted (transform/index)."""

    term: str
    id: str  # the entry's own id on the index page (see and see-also lead there)
    locators: tuple[IndexLocator, ...] = ()  # in book order
    see: tuple[tuple[str, str], ...] = ()  # (term, entry id) of "see" cross-references
    see_also: tuple[tuple[str, str], ...] = ()
    subentries: tuple[IndexEntry, ...] = ()


@dataclass(frozen=True)
class IndexGroup:
    """The entries under one letter heading ("A", "B", …; "0–9" for numbers, "#" for the rest)."""

    letter: str
    id: str
    entries: tuple[IndexEntry, ...]


@dataclass(frozen=True)
class IndexBlock:
    """The generated index page's content: set by layouts/_index.j2 for each target (links in the
    EPUB, page numbers with ranges in print: render/index.print_pages)."""

    groups: tuple[IndexGroup, ...]


Block = HtmlBlock | FigureBlock | IndexBlock


@dataclass(frozen=True)
class Chapter:
    path: Path
    slug: str
    title: str
    kind: ChapterKind
    source: str  # Markdown body, without front matter
    body_line: int  # line in the file where the body starts (1-based)
    subtitle: str | None = None
    number: int | None = None
    blocks: tuple[Block, ...] = ()
    headings: tuple[Heading, ...] = ()
    # The page's semantics when bookmaker makes it (the Notes page: "endnotes", the Index: "index");
    # else from its title.
    role: str | None = None
    opening: Opening | None = None  # the chapter's own front matter `opening:`; None: its kind's (core/design.py)

    @property
    def id(self) -> str:
        return f"ch-{self.slug}"

    @property
    def href(self) -> str:
        return f"{self.slug}.xhtml"


@dataclass(frozen=True)
class Book:
    config: BookConfig
    chapters: tuple[Chapter, ...]
    images: tuple[Image, ...] = ()
    cover: Image | None = None

    def image(self, src: str) -> Image:
        for img in self.images:
            if img.src == src:
                return img
        raise KeyError(src)


@dataclass
class PageContent:
    """What the print preflight measures on one page: text boxes (bbox in PDF points, font size)
    and image boxes (bbox, pixels; 0 x 0 for an SVG, drawn as vectors). Made by the PDF back end
    from its layout (backends/wp_internals.layout_summary) or read from a PDF (preflight)."""

    text: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    images: list[tuple[float, float, float, float, int, int]] = field(default_factory=list)


PageRegion = Literal["chapter", "plate", "halftitle", "titlepage", "copyright", "toc", "blank"]


@dataclass(frozen=True)
class PageStart:
    """Where one print page begins, in terms the EPUB shares (backends/pdf/wp_pages.py measures it,
    render/pagelist.py marks it): in a chapter (`where` its id), after `unit` units of the
    chapter's text (render/pagelist.units); or on a facing chapter's plate (`where` the chapter's
    id: the EPUB marks it before the section, whose first content is the plate's picture); or on
    a front-matter page; or "blank", a page with no text of its own."""

    region: PageRegion
    where: str = ""
    unit: int = 0


@dataclass(frozen=True)
class PrintedBook:
    """The print PDF as made (printing.print_book): its bytes and what the checks and the page
    map read from its layout."""

    data: bytes
    pages: int
    fillers: int
    margin_inside: float  # inches, the gutter actually used
    passes: int
    layout: list[PageContent] | None = field(default=None, repr=False, compare=False)  # per page boxes, for preflight
    chapter_starts: tuple[int, ...] | None = None  # each chapter's first page (0-based), when laid out in parts
    page_starts: tuple[PageStart, ...] = field(default=(), repr=False)  # where each page begins (the EPUB's page-list)
