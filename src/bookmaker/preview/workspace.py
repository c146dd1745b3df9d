"""The book as the preview server keeps it between saves.

`bookmaker build` reads everything every time. The server cannot afford that after each save on a
500-chapter book, so it keeps what it has read and re-reads only files whose size or modification
time changed: book.toml, each chapter's front matter, each image it sized (placeholders are slow
to draw), each chapter's ids. A chapter that breaks keeps its last good front matter for the others' numbering, and
reports its own errors; a broken book.toml or chapter order breaks every page until fixed.

Not thread-safe: the server's builder thread owns it. `Snapshot`s are immutable and shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..core.digest import digest
from ..core.errors import (
    BookError,
    ConfigError,
    Diagnostic,
    ManuscriptError,
    Reporter,
    SourceLocation,
)
from ..core.model import Book, BookConfig, Chapter, Image, ImageRef
from ..source.config import load_config
from ..source.manuscript import (
    CHAPTERS_DIR,
    chapter_files,
    chapter_slug,
    duplicate_slugs,
    found_files,
    load_chapter,
)
from ..transform.book import apply_transforms, render_chapters
from ..transform.crossref import IdCache, settle_in_book
from ..transform.images import figure_box, load_image, load_images

Sig = tuple[int, int] | None  # (size, mtime_ns) or missing


def file_sig(path: Path) -> Sig:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)




@dataclass(frozen=True)
class Entry:
    """One chapter file as the index shows it, broken or not."""

    slug: str
    path: Path
    title: str
    number: int | None
    kind: str
    errors: tuple[Diagnostic, ...] = ()  # its own: front matter, encoding, duplicate id


@dataclass(frozen=True)
class Snapshot:
    version: int
    book: Book | None  # every chapter's front matter, numbered, nothing rendered; None if book.toml is broken
    errors: tuple[Diagnostic, ...]  # book-wide: book.toml, the chapter order
    entries: tuple[Entry, ...]
    names_key: str = ""  # the chapter file names (links between chapters resolve against them)

    def entry(self, slug: str) -> Entry | None:
        return next((e for e in self.entries if e.slug == slug), None)

    def chapter(self, slug: str) -> Chapter | None:
        if self.book is None:
            return None
        return next((ch for ch in self.book.chapters if ch.slug == slug), None)


@dataclass
class _Loaded:
    sig: Sig
    chapter: Chapter | None
    errors: tuple[Diagnostic, ...]
    last_good: Chapter | None


@dataclass
class ImageCache:
    """`transform.book.ImageLoader` that remembers each image it sized or drew, and its warnings.

    The build's `load_images` does the loading (one image per src, every error at once, names
    that clash); this only stands a memo in front of its `load_image`.
    """

    root: Path
    _images: dict[tuple[object, ...], tuple[Image, tuple[str, ...], bool]] = field(default_factory=dict)

    def load(self, config: BookConfig, refs: Iterable[ImageRef], reporter: Reporter) -> tuple[Image, ...]:
        return load_images(config, refs, reporter, load=self._load_one)

    def _load_one(self, config: BookConfig, ref: ImageRef, reporter: Reporter) -> Image:
        """`load_image`, or what it gave for the same figure and file: its warnings are said again here."""
        profile = config.print.profile
        # What load_image reads besides the figure: the file, the book's pending art, the print
        # box, whether remote images are fetched, and the profile (a CMYK one warns of gradients).
        key = (ref.src, ref.aspect, ref.label, ref.alt, ref.pending, config.pending_images,
               file_sig(self.root / ref.src) if ref.src else None, figure_box(config),
               config.allow_remote_images, profile.name, profile.colour)
        hit = self._images.get(key)
        if hit is None:
            own = Reporter()
            image = load_image(config, ref, own)  # an ImageError is not remembered: the next save tries again
            hit = (image, tuple(w.message for w in own.warnings), bool(own.pending))
            if len(self._images) > 4096:
                self._images.clear()
            self._images[key] = hit
        image, warnings, pending = hit
        for message in warnings:  # load_image says each at the figure's line
            reporter.warn(ref.path, ref.line, message)
        if pending:
            reporter.pending_art(ref.src, ref.path, ref.line)
        return image


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._config_sig: Sig = None
        self._config: BookConfig | None = None
        self._config_errors: tuple[Diagnostic, ...] = ()
        self._loaded: dict[Path, _Loaded] = {}
        self._version = 0
        self.images = ImageCache(root)
        self.ids = IdCache()  # the other chapters' ids, by chapter (crossref.py)
        self.snapshot = Snapshot(0, None, (), ())

    def _refresh_config(self) -> None:
        toml = self.root / "book.toml"
        sig = file_sig(toml)
        if sig == self._config_sig and (self._config is not None or self._config_errors):
            return
        self._config_sig = sig
        try:
            self._config = load_config(self.root)
            self._config_errors = ()
        except ConfigError as exc:
            self._config, self._config_errors = None, exc.diagnostics

    def refresh(self) -> Snapshot:
        """Re-read what changed on disk; a new snapshot if anything did, else the same one."""
        self._refresh_config()
        config = self._config
        if config is None:
            return self._publish(None, self._config_errors, ())
        book_errors: list[Diagnostic] = []
        try:
            files = chapter_files(config)
        except ManuscriptError as exc:
            book_errors.extend(exc.diagnostics)
            files = found_files(config)
        for path in files:
            sig = file_sig(path)
            loaded = self._loaded.get(path)
            if loaded is not None and loaded.sig == sig:
                continue
            last_good = loaded.last_good if loaded is not None else None
            try:
                chapter = load_chapter(path)
                self._loaded[path] = _Loaded(sig, chapter, (), chapter)
            except ManuscriptError as exc:
                self._loaded[path] = _Loaded(sig, None, exc.diagnostics, last_good)
            except OSError as exc:  # deleted between the listing and the read
                self._loaded[path] = _Loaded(sig, None, (Diagnostic(SourceLocation(path), f"cannot read: {exc.strerror or exc}"),), last_good)
        for gone in set(self._loaded) - set(files):
            del self._loaded[gone]
        # The book for numbering and links: broken chapters keep their last good front matter.
        errors_by_path: dict[Path, list[Diagnostic]] = {p: list(self._loaded[p].errors) for p in files}
        readable = [ch for ch in (self._loaded[p].chapter or self._loaded[p].last_good for p in files) if ch is not None]
        clashes = duplicate_slugs(readable)
        for clash in clashes:  # the build's error, on the later file: it leaves the book until renamed
            errors_by_path[clash.location.path].append(clash)
        dropped = {clash.location.path for clash in clashes}
        chapters = tuple(ch for ch in readable if ch.path not in dropped)
        book = apply_transforms(Book(config=config, chapters=chapters))
        by_path = {ch.path: ch for ch in book.chapters}
        entries = []
        for path in files:
            ch = by_path.get(path)
            slug = ch.slug if ch is not None else chapter_slug(path)
            entries.append(Entry(slug, path, ch.title if ch else path.name, ch.number if ch else None, ch.kind if ch else "body",
                                 tuple(errors_by_path[path])))
        return self._publish(book, tuple(book_errors), tuple(entries))

    def _publish(self, book: Book | None, errors: tuple[Diagnostic, ...], entries: tuple[Entry, ...]) -> Snapshot:
        names = digest([e.path.name for e in entries], size=16)
        old = self.snapshot
        if old.book == book and old.errors == errors and old.entries == entries:
            return old
        self._version += 1
        self.snapshot = Snapshot(self._version, book, errors, entries, names)
        return self.snapshot

    def render(self, snapshot: Snapshot, slug: str, reporter: Reporter) -> tuple[Book, Chapter]:
        """The snapshot's book with chapter `slug` rendered and its images sized.

        Raises the book's errors first (book.toml, order), then the chapter's own, then what
        rendering finds (Markdown attributes, images, templates).
        """
        if snapshot.book is None or snapshot.errors:
            raise BookError(*(snapshot.errors or (Diagnostic(SourceLocation(self.root / "book.toml"), "not loaded"),)))
        entry = snapshot.entry(slug)
        if entry is None:
            raise ManuscriptError.at(self.root / CHAPTERS_DIR, None, f"no chapter '{slug}' (renamed or deleted?)")
        if entry.errors:
            raise ManuscriptError(*entry.errors)
        book = render_chapters(snapshot.book, reporter, only=lambda ch: ch.slug == slug, with_cover=False, image_loader=self.images.load)
        chapter = next(ch for ch in book.chapters if ch.slug == slug)
        return settle_in_book(book, chapter, self.ids, reporter)

    def ids_signature(self, snapshot: Snapshot) -> str:
        """Every chapter's ids: a chapter's links and ids are settled against them."""
        if snapshot.book is None:
            return ""
        book = snapshot.book
        return digest([(i.figures, i.html, i.headings) for i in (self.ids.get(book, ch) for ch in book.chapters)], size=16)
