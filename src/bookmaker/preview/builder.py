"""The preview server's builder: keeps the book between saves and rebuilds what a save changed.

The builder thread runs `Builder.run` and alone owns the `Workspace`, the views of the chapters
and the background page-map layout. After each batch of pokes (the watcher's changes, a page
opened, a page asked for, the printer's results) it re-reads what changed; for each chapter
someone has open (or asks for) it rebuilds the EPUB page only if its inputs changed (its text and
front matter, its number, book.toml, the chapter file names, the ids of the chapters, layouts/,
the images it shows), gives the printer a job if its print inputs or first folio changed, then
tells the open pages. Other threads only poke it (`poke`, `ensure`) and read the last state it
published (`state`).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..core.digest import digest
from ..core.errors import BookError, Reporter
from .chapter import write_html
from .fill import start_fill
from .hub import Hub
from .printer import PrintDone, Printer, PrintJob
from .ui import ChapterState, error_lines
from .workspace import Snapshot, Workspace, file_sig


@dataclass
class _View:
    """The builder's bookkeeping for one chapter (builder thread only)."""

    html_key: str = ""
    html_version: int = 0
    images: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    print_key: str = ""  # inputs of the last print job scheduled
    print_version: int = 0
    print_pages: tuple[str, ...] = ()
    print_errors: tuple[str, ...] = ()
    first_folio: int | None = None
    folio_exact: bool = False
    folio_unknown: tuple[str, ...] = ()
    recto: bool = True


def _sha(*parts: object) -> str:
    return digest(*parts, size=20)


class Builder:
    """Owns the workspace; rebuilds what changed for the chapters that are open or asked for."""

    def __init__(self, root: Path, out: Path, hub: Hub, link: Callable[[Any, str], str]) -> None:
        self.root = root
        self.out = out
        self.hub = hub
        self.link = link
        self.workspace = Workspace(root)
        self.snapshot: Snapshot = self.workspace.snapshot
        self._views: dict[str, _View] = {}
        self._rendered: dict[str, tuple[Any, Any]] = {}  # slug -> (book, chapter) of its last good render
        self._pokes: queue.Queue[object] = queue.Queue()
        self._waiters: list[tuple[str, threading.Event]] = []
        self._waiters_lock = threading.Lock()
        self.stopping = threading.Event()
        self.printer = Printer(root, out, link, self.poke, self.stopping)  # PreviewServer starts its thread
        self._fill: Any = None  # subprocess.Popen of the background page-map layout
        self._fill_for = ""
        self._layouts_sig = ""
        self._print_layouts_sig = ""
        self._ids_sig = ""
        self._states: dict[str, ChapterState] = {}
        self._states_lock = threading.Lock()

    # --- called from other threads ------------------------------------------------------

    def poke(self, reason: object = None) -> None:
        self._pokes.put(reason)

    def ensure(self, slug: str, timeout: float = 60.0) -> None:
        """Block until the builder has considered `slug` (its page is built, or its errors known)."""
        done = threading.Event()
        with self._waiters_lock:
            self._waiters.append((slug, done))
        self.poke(("ensure", slug))
        done.wait(timeout)

    def state(self, slug: str) -> ChapterState | None:
        with self._states_lock:
            return self._states.get(slug)

    # --- the builder thread -------------------------------------------------------------

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                batch = [self._pokes.get(timeout=0.5)]
            except queue.Empty:
                self._check_fill()
                continue
            while True:  # one pass for a whole batch of changes
                try:
                    batch.append(self._pokes.get_nowait())
                except queue.Empty:
                    break
            if "stop" in batch:
                break
            for item in batch:
                if isinstance(item, PrintDone):
                    self._apply_print(item)
            try:
                self._pass()
            except Exception:  # noqa: BLE001 - a bug must not kill the server's builder
                import traceback

                traceback.print_exc()
                self._release_waiters()
            self._check_fill()

    def _layouts_signatures(self) -> tuple[str, str]:
        """(what the EPUB page is made of, what only print uses) in the book's layouts: its own
        files and the built-in ones it falls back to (`resources.feeds` says which feeds which).
        A broken book.toml names no folder of its own: its pages wait for the fix anyway."""
        from ..core.resources import Layouts, feeds, layouts_for

        book = self.snapshot.book
        layouts = layouts_for(book.config) if book is not None else Layouts.builtin()
        files = [(name, str(path), file_sig(path)) for name, path in layouts.files().items()]
        epub = [f for f in files if "epub" in feeds(f[0])]
        return _sha(epub), _sha([f for f in files if f not in epub])

    def _pass(self) -> None:
        old = self.snapshot
        self.snapshot = snap = self.workspace.refresh()
        if snap.version != old.version:
            self.hub.publish_book(snap.version)
        self._layouts_sig, self._print_layouts_sig = self._layouts_signatures()
        self._ids_sig = self.workspace.ids_signature(snap)
        with self._waiters_lock:
            wanted = {slug for slug, _ in self._waiters if slug}
        slugs = self.hub.open_slugs() | wanted
        for slug in sorted(slugs):
            self._html(snap, slug)
        self._release_waiters()
        for slug in sorted(self.hub.open_slugs()):
            self._schedule_print(snap, slug)
        for slug in slugs:
            self._publish(slug)

    def _release_waiters(self) -> None:
        with self._waiters_lock:
            waiters, self._waiters = self._waiters, []
        for _, done in waiters:
            done.set()

    def _html_key(self, snap: Snapshot, slug: str, view: _View) -> str:
        entry = snap.entry(slug)
        chapter = snap.chapter(slug)
        chapter_part = None if chapter is None else (chapter.title, chapter.subtitle, chapter.kind, chapter.number, chapter.source, chapter.body_line)
        images = [(src, file_sig(self.root / src)) for src in view.images]
        return _sha(
            [str(d) for d in snap.errors], [str(d) for d in entry.errors] if entry else None, chapter_part,
            file_sig(self.root / "book.toml"), snap.names_key, self._layouts_sig, self._ids_sig, images,
        )

    def _html(self, snap: Snapshot, slug: str) -> None:
        view = self._views.setdefault(slug, _View())
        key = self._html_key(snap, slug, view)
        if key == view.html_key:
            return
        from ..cache import pagemap

        reporter = Reporter()
        try:
            book, chapter = self.workspace.render(snap, slug, reporter)
            write_html(book, chapter, self.out)
            view.images = pagemap.chapter_images(book, chapter)
            view.errors = ()
            view.html_version += 1
            self._rendered[slug] = (book, chapter)
        except BookError as exc:
            view.errors = error_lines(exc)
            self._rendered.pop(slug, None)
        view.warnings = tuple(str(w) for w in reporter.warnings)
        view.html_key = self._html_key(snap, slug, view)  # with the images it uses now

    def _schedule_print(self, snap: Snapshot, slug: str) -> None:
        from ..cache import pagemap

        view = self._views.get(slug)
        rendered = self._rendered.get(slug)
        if view is None or rendered is None or view.errors:
            return
        book, chapter = rendered
        folio = pagemap.locate(pagemap.load(self.root), book, chapter)
        key = _sha(view.html_key, self._print_layouts_sig, folio.first, folio.exact, folio.gutter)
        if not folio.exact:
            self._start_fill(snap)
        if key == view.print_key:
            return
        view.print_key = key
        self.printer.submit(PrintJob(slug, key, book, chapter))

    def _publish(self, slug: str) -> None:
        view = self._views.get(slug)
        entry = self.snapshot.entry(slug)
        if view is None:
            return
        busy = self.printer.busy(slug)
        state = ChapterState(
            slug=slug, title=entry.title if entry else slug, number=entry.number if entry else None,
            errors=view.errors, warnings=view.warnings, html_version=view.html_version,
            print_version=view.print_version, print_pages=view.print_pages, print_errors=view.print_errors,
            print_busy=busy, first_folio=view.first_folio, folio_exact=view.folio_exact,
            folio_unknown=view.folio_unknown, recto=view.recto, filling=self._fill is not None,
        )
        with self._states_lock:
            self._states[slug] = state
        self.hub.publish_chapter(slug, state.as_json())

    def _apply_print(self, done: PrintDone) -> None:
        """The printer's result (`Printer.run` pokes it), in the builder thread, where the views are."""
        view = self._views.get(done.slug)
        if view is None or done.key != view.print_key:
            return  # superseded by a newer job
        view.print_pages = done.pages
        view.print_errors = done.errors
        view.first_folio, view.folio_exact, view.folio_unknown, view.recto = done.first_folio, done.exact, done.unknown, done.recto
        view.print_version += 1

    # --- the background page-map layout --------------------------------------------------------

    def _start_fill(self, snap: Snapshot) -> None:
        from ..cache import pagemap

        if self._fill is not None or snap.book is None:
            return
        state = _sha(pagemap.layout_key(snap.book.config), [(ch.id, ch.source, ch.title, ch.kind) for ch in snap.book.chapters])
        if state == self._fill_for:
            return  # tried for this very book already (it may be broken): wait for a change
        self._fill_for = state
        self._fill = start_fill(self.root)

    def _check_fill(self) -> None:
        """When the background layout ends, folios may have changed: compare and relay out."""
        if self._fill is not None and self._fill.poll() is not None:
            self._fill = None
            self._pass()

    def stop_fill(self) -> None:
        if self._fill is not None and self._fill.poll() is None:
            self._fill.terminate()
            try:
                self._fill.wait(5)
            except Exception:  # noqa: BLE001
                self._fill.kill()
        self._fill = None
