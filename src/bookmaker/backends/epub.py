"""EPUB 3 packaging with ebooklib 0.20, around its known traps.

- Our pages are complete XHTML documents: `_Page.get_content` returns them verbatim, so ebooklib's
  lxml HTML re-parse never lowercases `viewBox`, drops `<body>` attributes, bare text or `<style>`.
- The nav document is our own (layouts/nav.xhtml.j2) with toc and landmarks; ebooklib's generated
  nav and its page-list (which takes any element with `epub:type` and `id`) are not used.
- The cover page is an ordinary linear page listed in the landmarks (`set_cover` would make it
  non-linear: OPF-096); the image has `properties="cover-image"` and an EPUB 2 `<meta name="cover">`.
  A book with no `cover` image gets the typographic cover the print front shows, drawn from the
  same template (backends/pdf/cover_image.py, cached by content).
- svg/mathml manifest properties come from the layout's scan of each page (OPF-014).
- The NCX is kept (omitting `EpubNcx` breaks ebooklib's spine) for EPUB 2 reading systems.
- `<package>` gets `xml:lang`; `dcterms:modified` and every zip entry's time come from the build
  timestamp, so the same manuscript and SOURCE_DATE_EPOCH give the same bytes.
- The archive is written to memory and validated for emptiness first: ebooklib raises inside
  `write_epub` on empty content and leaves a partial file.
- The people credited, the series and the subjects are written by `_metadata`, not `add_author`
  (whose `file_as` meta gets `scheme="marc:relators"`, a scheme for roles, not for names).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from ebooklib import epub

from ..core.context import BuildContext
from ..core.errors import OutputError
from ..core.model import MARC_RELATORS, BookConfig
from ..render.layout import Asset, Page, Rendered

_XML_NS = "http://www.w3.org/XML/1998/namespace"
_PACKED = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".woff", ".woff2")


TESTED_EBOOKLIB = (0, 20)
"""The ebooklib version whose writer's private methods `_Writer` overrides and calls (`_get_nav`,
`_write_opf_file`, `_write_container`, `_write_opf`, `_write_items`): this module is the only
one that touches ebooklib's internals, and only on this version."""


class EbooklibVersionError(OutputError):
    """The installed ebooklib is not the version `_Writer` was written for."""


def check_ebooklib() -> None:
    import ebooklib

    found = tuple(getattr(ebooklib, "VERSION", ())[:2])
    if found != TESTED_EBOOKLIB:
        tested = ".".join(map(str, TESTED_EBOOKLIB))
        raise EbooklibVersionError.at(
            Path(ebooklib.__file__).parent, None,
            f"bookmaker needs ebooklib {tested} (it overrides its EPUB writer's internals: backends/epub.py), "
            f"but ebooklib {'.'.join(map(str, found)) or '?'} is installed here: pip install 'ebooklib=={tested}'")


class _Page(epub.EpubHtml):
    """An XHTML page that ebooklib stores exactly as rendered."""

    def __init__(self, page: Page, uid: str) -> None:
        super().__init__(uid=uid, file_name=page.href, title=page.title)
        self.content = page.content.encode("utf-8")
        self.properties = list(page.properties)
        self.is_linear = page.linear

    def get_content(self, default: Any = None) -> bytes:
        return self.content


class _Nav(epub.EpubNav):
    def __init__(self, page: Page) -> None:
        super().__init__(uid="nav", file_name=page.href, title=page.title)
        self.content = page.content.encode("utf-8")
        self.properties = list(page.properties)

    def get_content(self, default: Any = None) -> bytes:
        return self.content


class _FixedTimeZip:
    """The subset of ZipFile ebooklib uses, with every entry's time and mode fixed."""

    def __init__(self, out: zipfile.ZipFile, when: dt.datetime) -> None:
        self._out = out
        self._date_time = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))

    def writestr(self, name: str, data: bytes | str, compress_type: int | None = None) -> None:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        if compress_type is None:  # JPEG, PNG, GIF and WebP are compressed already: store them
            compress_type = zipfile.ZIP_STORED if name.lower().endswith(_PACKED) else zipfile.ZIP_DEFLATED
        info.compress_type = compress_type
        info.external_attr = 0o100644 << 16
        info.create_system = 3
        self._out.writestr(info, data, compresslevel=9 if info.compress_type == zipfile.ZIP_DEFLATED else None)

    def close(self) -> None:
        self._out.close()


class _Writer(epub.EpubWriter):
    def __init__(self, target: io.BytesIO, book: epub.EpubBook, when: dt.datetime, language: str) -> None:
        super().__init__(target, book, {"epub3_pages": False, "epub2_guide": True, "mtime": when})
        self._when = when
        self._language = language

    def _get_nav(self, item: epub.EpubNav) -> bytes:
        return item.get_content()

    def _write_opf_file(self, root: Any) -> None:
        root.set(f"{{{_XML_NS}}}lang", self._language)
        super()._write_opf_file(root)

    def write(self) -> None:
        self.out = _FixedTimeZip(zipfile.ZipFile(self.file_name, "w"), self._when)
        self.out.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        self._write_container()
        self._write_opf()
        self._write_items()
        self.out.close()


def _accessibility(book: epub.EpubBook, summary: str, source: str | None = None) -> None:
    """The accessibility metadata; with `source` (the print edition's identifier), the page
    breaks and the page-list the print edition gave (render/pagelist.py) are declared too."""
    def meta(prop: str, value: str) -> None:
        book.add_metadata(None, "meta", value, {"property": prop})

    meta("schema:accessMode", "textual")
    meta("schema:accessMode", "visual")
    meta("schema:accessModeSufficient", "textual")
    meta("schema:accessModeSufficient", "textual,visual")
    features = ["alternativeText", "displayTransformability", "readingOrder", "structuralNavigation", "tableOfContents"]
    if source is not None:
        features[2:2] = ["pageBreakMarkers", "pageNavigation"]
        book.add_metadata("DC", "source", source, {"id": "print-source"})
        meta("pageBreakSource", source)  # EPUB 3.3's own property (Ace reads it; schema.org has none)
    for feature in features:
        meta("schema:accessibilityFeature", feature)
    meta("schema:accessibilityHazard", "none")
    meta("schema:accessibilitySummary", summary)
    meta("dcterms:conformsTo", "EPUB Accessibility 1.1 - WCAG 2.1 Level AA")


def _metadata(book: epub.EpubBook, config: BookConfig) -> None:
    """Who made the book, its series and its subjects, in the OPF as EPUB 3.3 and calibre read them.

    - Each author a `<dc:creator>`, everyone else credited a `<dc:contributor>`, in book.toml's
      order; each refined by its roles (MARC relator codes, core/model.MARC_RELATORS) and its
      `file-as`. A book that credits its authors alone keeps the plain `<dc:creator>` it always
      had (a creator without a role is the author, to EPUB reading systems and to calibre): the
      roles are written once they tell people apart, or an author has a `file-as`.
    - The series: `belongs-to-collection` refined by `collection-type` "series" and
      `group-position`, and calibre's own `calibre:series` and `calibre:series_index` (EPUB 2
      `<meta name content>`, which calibre reads in EPUB 3 packages too).
    - The subjects: a BISAC code is a `<dc:subject>` refined by `authority` "BISAC" and its `term`
      (the subject's text is the heading's name, or the code); a keyword a plain `<dc:subject>`.
    """
    def refine(uid: str, prop: str, value: str, scheme: str | None = None) -> None:
        attributes = {"refines": f"#{uid}", "property": prop}
        if scheme:
            attributes["scheme"] = scheme
        book.add_metadata(None, "meta", value, attributes)

    people = config.contributors
    roles = any(not p.is_author or p.roles != ("author",) or p.file_as for p in people)
    authors = [p for p in people if p.is_author]
    others = [p for p in people if not p.is_author]
    for name, group, prefix in (("creator", authors, "creator"), ("contributor", others, "contributor")):
        for i, person in enumerate(group):
            uid = f"{prefix}{i}"
            book.add_metadata("DC", name, person.name, {"id": uid})
            if person.file_as:
                refine(uid, "file-as", person.file_as)
            if roles:
                for role in person.roles:
                    refine(uid, "role", MARC_RELATORS[role], "marc:relators")
    if config.series:
        book.add_metadata(None, "meta", config.series, {"property": "belongs-to-collection", "id": "series"})
        refine("series", "collection-type", "series")
        if config.series_index is not None:
            refine("series", "group-position", _number(config.series_index))
        book.add_metadata(None, "meta", "", {"name": "calibre:series", "content": config.series})
        if config.series_index is not None:
            book.add_metadata(None, "meta", "", {"name": "calibre:series_index", "content": _number(config.series_index)})
    for i, subject in enumerate(config.subjects):
        if subject.code is None:
            book.add_metadata("DC", "subject", subject.text)
            continue
        book.add_metadata("DC", "subject", subject.text, {"id": f"subject{i}"})
        refine(f"subject{i}", "authority", "BISAC")
        refine(f"subject{i}", "term", subject.code)


def _number(value: int | float) -> str:
    """A series number as written: 2, 1.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class EpubBackend:
    name = "epub"
    suffix = ".epub"

    def write(self, rendered: Rendered, ctx: BuildContext) -> bytes:
        check_ebooklib()
        config = ctx.book.config
        if not any(p.kind == "chapter" and p.content.strip() for p in rendered.pages):
            raise OutputError.at(config.root, None, "the book has no chapter content to package")
        book = epub.EpubBook()
        book.set_identifier(config.identifier)
        book.set_title(config.title)
        book.set_language(config.language)
        _metadata(book, config)
        if config.publisher:
            book.add_metadata("DC", "publisher", config.publisher)
        if config.date:
            book.add_metadata("DC", "date", config.date)
        if config.rights:
            book.add_metadata("DC", "rights", config.rights)
        if config.description:
            book.add_metadata("DC", "description", config.description)
        _accessibility(book, config.accessibility_summary or _default_summary(ctx), page_source(config) if rendered.page_list else None)

        cover = ctx.book.cover
        for n, asset in enumerate(_typographic_cover(ctx) + rendered.assets):
            if cover is not None and asset.href == cover.href:
                item: epub.EpubItem = epub.EpubCover(uid="cover-image", file_name=asset.href)
                item.media_type = asset.media_type
                item.content = asset.data
                book.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
            elif asset.media_type.startswith("image/"):
                item = epub.EpubImage(uid=f"img{n:04d}", file_name=asset.href, media_type=asset.media_type, content=asset.data)
            else:
                item = epub.EpubItem(uid=f"res{n:04d}", file_name=asset.href, media_type=asset.media_type, content=asset.data)
            book.add_item(item)

        spine: list[Any] = []
        toc: list[Any] = []
        for n, page in enumerate(rendered.pages):
            if page.kind == "toc":
                nav = _Nav(page)
                book.add_item(nav)
                spine.append(nav)
                continue
            item = _Page(page, uid=f"page{n:04d}")
            book.add_item(item)
            spine.append(item)
            if page.kind == "chapter":
                toc.append(epub.Link(page.href, page.title, uid=f"nav{n:04d}"))
        book.add_item(epub.EpubNcx())
        book.toc = toc
        book.spine = spine
        for kind, guide_type in (("cover", "cover"), ("toc", "toc")):
            page = next(p for p in rendered.pages if p.kind == kind)
            book.guide.append({"type": guide_type, "href": page.href, "title": page.title})
        first_chapter = next(p for p in rendered.pages if p.kind == "chapter")
        book.guide.append({"type": "text", "href": first_chapter.href, "title": "Start of Content"})

        out = io.BytesIO()
        _Writer(out, book, ctx.timestamp, config.language).write()  # type: ignore[arg-type]
        return out.getvalue()


def _typographic_cover(ctx: BuildContext) -> tuple[Asset, ...]:
    """The cover image of a book that gives none (its `cover` is a placeholder, without bytes): the
    print front's design (layouts/_cover_front.j2) laid out and drawn by the PDF back end."""
    cover = ctx.book.cover
    if cover is None or not cover.placeholder:
        return ()
    from ..render.cover import EPUB_COVER_IN
    from .pdf.cover_image import cover_image

    size = (cover.width_px, cover.height_px)  # 1600 x 2560, or less for a store's pixel bound (load_cover)
    return (Asset(cover.href, cover.media_type, cover_image(ctx, size, dpi=size[0] / EPUB_COVER_IN[0])),)


def page_source(config: BookConfig) -> str:
    """The print edition the page breaks come from: its ISBN when book.toml gives one ([print]
    isbn, else the one isbn), else the book's identifier, which the PDF of the same build carries
    (its PDF identifier)."""
    return f"urn:isbn:{config.print_isbn}" if config.print_isbn else config.identifier


def _default_summary(ctx: BuildContext) -> str:
    placeholders = sum(1 for img in ctx.book.images if img.placeholder)
    text = (
        "This publication meets WCAG 2.1 Level AA. It has a navigable table of contents, "
        "a logical reading order and headings that structure each chapter; every image has a text "
        "alternative and its caption, and the text can be resized and restyled."
    )
    if placeholders:
        text += f" {placeholders} of its images are placeholders that show where a picture belongs."
    return text
