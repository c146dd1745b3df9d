"""Where each chapter starts in the print book, remembered between runs: the page map.

A one-chapter print preview opens on the folio the chapter has in the full book. Laying out the
whole book to learn it is what a preview must not do, so bookmaker keeps, per chapter, how many
pages it takes in the book (its *span*: its own pages plus the blank page that makes the next
chapter open on the right):

- `bookmaker build` records every span from the PDF it wrote (`record_build`, reading the PDF's
  named destinations);
- each one-chapter print preview records the span of the chapter it has just laid out
  (`record_chapter`). A chapter lays out the same alone as in the book: it opens on a right-hand
  page, its notes are its own, and it is laid out with the book's gutter;
- `fill` lays out the whole book once; `start_fill` runs it in a background process when spans are
  missing, and previews never wait for it.

A span stays valid while the chapter (front matter, text, number, chapter label, being last) and
the images it used are unchanged; the whole map while book.toml, the layout files print uses (the
book's own or the built-in ones, `resources.feeds`) and the bookmaker and WeasyPrint versions are.
A chapter's first folio is exact when every span before it is valid (`locate`); otherwise it is
marked provisional, counted with the last known spans.

The map is a small JSON file per book in the user's cache folder (`BOOKMAKER_CACHE_DIR`, else
`$XDG_CACHE_HOME/bookmaker`, else `~/.cache/bookmaker`), so the build's outputs stay exactly
`<slug>.epub` and `<slug>.pdf`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

from ..core.design import opens_on, plate_of
from ..core.digest import digest
from ..core.model import Book, BookConfig, Chapter, FigureBlock, HtmlBlock
from ..core.paths import user_cache_dir, write_atomic
from .keys import code_key

CACHE_VERSION = 1
_IMG_SRC = re.compile(r'<img\b[^>]*\bsrc="([^"]+)"')


@dataclass(frozen=True)
class Span:
    key: str  # chapter_key() when measured
    pages: int  # pages from this chapter's first page to the next chapter's
    images: tuple[tuple[str, str], ...] = ()  # (src, image_signature) of the images it used
    at: float = 0.0  # when the chapter was read for this measurement (time.time())


@dataclass(frozen=True)
class PageMap:
    layout: str = ""  # layout_key() when measured
    gutter: float | None = None  # margin_inside the book was laid out with (inches)
    recto: bool | None = None  # chapters open on right-hand pages (None: not known yet)
    front: tuple[str, int] | None = None  # (front_key(), pages before the first chapter)
    spans: Mapping[str, Span] = field(default_factory=dict)  # by chapter id


@dataclass(frozen=True)
class Folio:
    """Where a chapter opens in the print book and the gutter to lay it out with."""

    first: int  # the page counter on the chapter's first page (arabic from the first body chapter)
    exact: bool
    gutter: float
    unknown: tuple[str, ...] = ()  # chapter ids (or "front matter") whose span is missing or stale


# --- keys ------------------------------------------------------------------------------------


def _sha(*parts: object) -> str:
    return digest(*parts, size=24)


def layout_key(config: BookConfig) -> str:
    """Everything besides the chapters that decides where pages break: among it, each layout file
    print uses, the book's own where it has one (editing an EPUB-only file keeps the map)."""
    from ..core.resources import layouts_for

    files = []
    for name, path in layouts_for(config).feeding("print").items():
        st = path.stat()
        files.append((name, str(path), st.st_size, st.st_mtime_ns))  # the path: a book's own copy is another file
    toml = config.root / "book.toml"
    raw = toml.read_bytes() if toml.is_file() else b""
    return _sha(CACHE_VERSION, code_key("pagemap"), digest(raw), files)


def chapter_key(chapter: Chapter, book: Book) -> str:
    last = bool(book.chapters) and book.chapters[-1].id == chapter.id
    return _sha(chapter.title, chapter.subtitle, chapter.kind, chapter.number, book.config.chapter_label, chapter.source, last)


def front_key(book: Book) -> str:
    """The contents page lists every chapter: its length follows their titles and numbers."""
    return _sha([(ch.id, ch.title, ch.number, ch.kind) for ch in book.chapters])


def image_signature(root: Path, src: str) -> str:
    try:
        st = (root / src).stat()
    except (OSError, ValueError):
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def chapter_images(book: Book, chapter: Chapter) -> tuple[str, ...]:
    """The sources of the images a rendered chapter shows, figures and inline images."""
    by_href = {img.href: img.src for img in book.images}
    srcs: list[str] = []
    for block in chapter.blocks:
        if isinstance(block, FigureBlock):
            srcs.append(block.figure.src)
        elif isinstance(block, HtmlBlock):
            srcs.extend(by_href.get(href, href) for href in _IMG_SRC.findall(block.html))
    return tuple(dict.fromkeys(srcs))



# --- the file --------------------------------------------------------------------------------


def cache_dir() -> Path:
    return user_cache_dir()


def cache_path(root: Path) -> Path:
    ident = digest(str(root.resolve()), size=16)
    return cache_dir() / f"pagemap-{ident}.json"


def load(root: Path) -> PageMap:
    """The book's page map, or an empty one (missing, unreadable, other version: all the same)."""
    try:
        raw = json.loads(cache_path(root).read_text(encoding="utf-8"))
        if raw.get("version") != CACHE_VERSION:
            return PageMap()
        front = raw.get("front")
        return PageMap(
            layout=str(raw["layout"]),
            gutter=None if raw.get("gutter") is None else float(raw["gutter"]),
            recto=raw.get("recto"),
            front=(str(front[0]), int(front[1])) if front else None,
            spans={cid: Span(str(s["key"]), int(s["pages"]), tuple((str(a), str(b)) for a, b in s.get("images", ())), float(s.get("at", 0)))
                   for cid, s in raw.get("spans", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return PageMap()


def save(root: Path, pagemap: PageMap) -> None:
    """Written atomically; a cache that cannot be written is not an error."""
    data = {
        "version": CACHE_VERSION, "root": str(root.resolve()), "layout": pagemap.layout, "gutter": pagemap.gutter,
        "recto": pagemap.recto, "front": list(pagemap.front) if pagemap.front else None,
        "spans": {cid: {"key": s.key, "pages": s.pages, "images": [list(i) for i in s.images], "at": s.at} for cid, s in pagemap.spans.items()},
    }
    path = cache_path(root)
    try:  # atomic, like the outputs, but without their fsync: it is only a cache
        write_atomic(path, json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"), durable=False)
    except OSError:
        pass


# --- reading it --------------------------------------------------------------------------------


def _valid_span(pagemap: PageMap, book: Book, chapter: Chapter) -> Span | None:
    span = pagemap.spans.get(chapter.id)
    if span is None or span.key != chapter_key(chapter, book):
        return None
    root = book.config.root
    if any(image_signature(root, src) != sig for src, sig in span.images):
        return None
    return span


def locate(pagemap: PageMap, book: Book, chapter: Chapter) -> Folio:
    """The chapter's first folio in the full book, from the map; exact or provisional.

    Body chapters count from the first body chapter's folio 1; chapters before it count from the
    first page (the front matter's length is in the map too). A span that is missing or stale
    makes the folio provisional, counted with the span last known (or the least possible). When
    the printer's gutter grows with the page count, every span must be known to be sure of it.
    """
    chapters = book.chapters
    index = next(i for i, ch in enumerate(chapters) if ch.id == chapter.id)
    map_ok = pagemap.layout == layout_key(book.config) and pagemap.gutter is not None
    fixed = book.config.print.gutter_is_fixed()
    min_span = 2 if pagemap.recto in (True, None) else 1
    opening = next((i for i, ch in enumerate(chapters) if ch.kind == "body"), None)
    in_body = opening is not None and index >= opening
    before = range(opening, index) if in_body and opening is not None else range(index)
    looked_at = before if fixed else range(len(chapters))
    valid = {i: _valid_span(pagemap, book, chapters[i]) if map_ok else None for i in looked_at}

    def pages(i: int) -> int:
        span = valid.get(i) or pagemap.spans.get(chapters[i].id)
        return span.pages if span is not None else min_span

    front_ok = map_ok and pagemap.front is not None and pagemap.front[0] == front_key(book)
    front = pagemap.front[1] if pagemap.front is not None else 0
    unknown = [] if in_body or front_ok else ["front matter"]
    unknown += [chapters[i].id for i in before if valid[i] is None]
    first = (1 if in_body else front + 1) + sum(pages(i) for i in before)
    if fixed:
        gutter = book.config.print.gutter_for(0)
    else:
        content = front + sum(pages(i) for i in range(len(chapters)))
        gutter = pagemap.gutter if map_ok and pagemap.gutter is not None else book.config.print.gutter_for(content)
        all_known = front_ok and all(v is not None for v in valid.values())
        if not all_known or abs(book.config.print.gutter_for(content) - gutter) > 1e-9:
            unknown.append("gutter")
    return Folio(first=first, exact=not unknown, gutter=gutter, unknown=tuple(unknown))


def missing(pagemap: PageMap, book: Book) -> bool:
    """True when some chapter's folio could not be given exactly: a `fill` would help."""
    if pagemap.layout != layout_key(book.config) or pagemap.gutter is None:
        return True
    return any(_valid_span(pagemap, book, ch) is None for ch in book.chapters)


# --- recording ---------------------------------------------------------------------------------


def _span_for(book: Book, chapter: Chapter, pages: int, at: float) -> Span:
    root = book.config.root
    images = tuple((src, image_signature(root, src)) for src in chapter_images(book, chapter))
    return Span(chapter_key(chapter, book), pages, images, at)


def record_build(book: Book, pdf: bytes, gutter: float, content_pages: int, read_at: float,
                 starts: Sequence[int] | None = None) -> PageMap:
    """Every chapter's span from the full book's PDF (its named destinations), saved.

    `book` is the fully rendered book the PDF was made from, read at `read_at` (time.time()),
    `gutter` the inside margin it was laid out with and `content_pages` its pages before any
    filler pages; `starts`, each chapter's first page when the build knows them (a book laid out in
    parts), saves reading them from the PDF. A chapter measured by a preview after `read_at` keeps
    that newer measurement.
    Never raises: a page map that cannot be read or written only makes the next preview provisional.
    """
    try:
        return _record_build(book, pdf, gutter, content_pages, read_at, starts)
    except Exception:  # noqa: BLE001 - a cache must never fail a build
        return PageMap()


def _record_build(book: Book, pdf: bytes, gutter: float, content_pages: int, read_at: float,
                  known: Sequence[int] | None) -> PageMap:
    starts = list(known) if known is not None else _chapter_starts(pdf, [ch.id for ch in book.chapters])
    if not starts:
        return PageMap()
    root = book.config.root
    old = load(root)
    key = layout_key(book.config)
    spans = {}
    for i, ch in enumerate(book.chapters):
        end = starts[i + 1] if i + 1 < len(starts) else content_pages
        span = _span_for(book, ch, max(1, end - starts[i]), read_at)
        newer = old.spans.get(ch.id) if old.layout == key and old.gutter == gutter else None
        spans[ch.id] = newer if newer is not None and newer.at > read_at and newer.key != span.key else span
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    recto = False if any(g % 2 for g in gaps) else (old.recto if old.layout == key else None)
    pagemap = PageMap(layout=key, gutter=gutter, recto=recto, front=(front_key(book), starts[0]), spans=spans)
    save(root, pagemap)
    return pagemap


def _chapter_starts(pdf: bytes, ids: Sequence[str]) -> list[int] | None:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument(pdf)
    try:
        starts = []
        for cid in ids:
            dest = raw.FPDF_GetNamedDestByName(doc.raw, cid.encode("utf-8"))
            if not dest:
                return None
            starts.append(int(raw.FPDFDest_GetDestPageIndex(doc.raw, dest)))
        return starts
    finally:
        doc.close()


def record_chapter(book: Book, chapter: Chapter, pages: int, gutter: float, recto: bool) -> PageMap:
    """A chapter laid out alone in `pages` pages with `gutter` (its preview: with its plate and the
    blank page before it when it opens facing, core/design.py): its span in the book, saved.

    A span runs from the chapter's first text page to the next chapter's: the chapter's text,
    then the next chapter's plate, and a blank page when the next chapter must open on a
    right-hand page and the text ends on one."""
    root = book.config.root
    pagemap = load(root)
    key = layout_key(book.config)
    if pagemap.layout != key or pagemap.gutter is None or abs(pagemap.gutter - gutter) > 1e-9:
        pagemap = PageMap(layout=key, gutter=gutter)  # measured under other settings: start again
    index = next(i for i, ch in enumerate(book.chapters) if ch.id == chapter.id)
    after = book.chapters[index + 1] if index + 1 < len(book.chapters) else None
    span = pages - (2 if plate_of(book.config, chapter) else 0)
    if after is not None:
        span += 1 if plate_of(book.config, after) else 0
        span += span % 2 if recto and opens_on(book.config, after) == "right" else 0
    known = _valid_span(pagemap, book, chapter)
    if known is not None and known.pages == span and pagemap.recto == recto:
        return pagemap  # nothing new: most previews of a chapter leave its length alone
    pagemap = replace(pagemap, recto=recto, spans={**pagemap.spans, chapter.id: _span_for(book, chapter, span, time.time())})
    save(root, pagemap)
    return pagemap


# --- filling it in the background ----------------------------------------------------------------


