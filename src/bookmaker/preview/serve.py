"""`bookmaker serve`: a local preview server that rebuilds what a save changed and reloads the page.

Threads, each with one job:

- HTTP (stdlib `ThreadingHTTPServer` on 127.0.0.1 only): the index, a page per chapter, the files
  in OUT/preview/, and `/events`, a server-sent-event stream per open page;
- the watcher (watchfiles) over the book folder and layouts/: it only tells the builder;
- the builder owns the `Workspace`: after each batch of changes it re-reads what changed, and for
  each chapter someone has open (or asks for) rebuilds the EPUB page only if its inputs changed
  (its text and front matter, its number, book.toml, the chapter file names, the ids of the
  chapters, layouts/, the images it shows), then tells the open pages;
- the printer lays chapters out for print (WeasyPrint, one at a time, never in the builder's way)
  and pictures their pages; a chapter is laid out again only if its inputs or its first folio
  changed. Folios come from the page map (pagemap.py); when it lacks spans, a background process
  lays the whole book out once and open pages update when it is done.

A chapter that fails shows its `path:line: error: …` lines in its page; the server keeps running
and the next save that fixes it brings the chapter back.
"""

from __future__ import annotations

import json
import mimetypes
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from ..backends.pdf.backend import PrintFonts
from ..core.digest import digest
from ..core.errors import BookError, Reporter
from . import ui as serve_ui
from .chapter import PREVIEW_DIR, page_images, write_html, write_pdf
from .fill import start_fill
from .ui import ChapterState
from .workspace import Snapshot, Workspace, file_sig

HOST = "127.0.0.1"
_TYPES = {".xhtml": "application/xhtml+xml; charset=utf-8", ".css": "text/css; charset=utf-8", ".pdf": "application/pdf",
          ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}


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


@dataclass(frozen=True)
class _PrintJob:
    slug: str
    key: str
    book: Any  # Book with the chapter rendered
    chapter: Any


@dataclass(frozen=True)
class _PrintDone:
    slug: str
    key: str
    pages: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    first_folio: int | None = None
    exact: bool = False
    unknown: tuple[str, ...] = ()
    recto: bool = True


def _lines(exc: BookError) -> tuple[str, ...]:
    return tuple(str(d) for d in exc.diagnostics)


def _sha(*parts: object) -> str:
    return digest(*parts, size=20)


class Hub:
    """The open pages: one queue per `/events` stream, by chapter slug ("" for the index)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, tuple[str, queue.Queue[tuple[str, str]]]] = {}
        self._next = 0
        self._last: dict[str, str] = {}  # slug -> last chapter state JSON

    def subscribe(self, slug: str) -> tuple[int, queue.Queue[tuple[str, str]]]:
        q: queue.Queue[tuple[str, str]] = queue.Queue()
        with self._lock:
            self._next += 1
            self._subscribers[self._next] = (slug, q)
            if slug and slug in self._last:
                q.put(("chapter", self._last[slug]))
            return self._next, q

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    def open_slugs(self) -> set[str]:
        with self._lock:
            return {slug for slug, _ in self._subscribers.values() if slug}

    def publish_chapter(self, slug: str, data: str) -> None:
        with self._lock:
            if self._last.get(slug) == data:
                return
            self._last[slug] = data
            for s, q in self._subscribers.values():
                if s == slug:
                    q.put(("chapter", data))

    def publish_book(self, version: int) -> None:
        with self._lock:
            for _, q in self._subscribers.values():
                q.put(("book", json.dumps({"version": version})))


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
        self._print_jobs: dict[str, _PrintJob] = {}
        self._print_lock = threading.Condition()
        self._printing: str | None = None
        # One font configuration for every layout: a new one per layout stayed in memory (Pango
        # keeps its fontconfig config, ~0.25 MB), so the server grew at every save (backends/pdf.PrintFonts).
        self._fonts = PrintFonts()
        self._fill: Any = None  # subprocess.Popen of the background page-map layout
        self._fill_for = ""
        self._layouts_sig = ""
        self._print_layouts_sig = ""
        self._ids_sig = ""
        self._states: dict[str, ChapterState] = {}
        self._states_lock = threading.Lock()
        self.stopping = threading.Event()

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
                if isinstance(item, _PrintDone):
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
            view.errors = _lines(exc)
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
        with self._print_lock:
            self._print_jobs[slug] = _PrintJob(slug, key, book, chapter)
            self._print_lock.notify()

    def _publish(self, slug: str) -> None:
        view = self._views.get(slug)
        entry = self.snapshot.entry(slug)
        if view is None:
            return
        with self._print_lock:
            busy = slug in self._print_jobs or self._printing == slug
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

    def print_done(self, done: _PrintDone) -> None:
        """From the printer thread: takes effect in the builder thread."""
        self.poke(done)

    def _apply_print(self, done: _PrintDone) -> None:
        view = self._views.get(done.slug)
        if view is None or done.key != view.print_key:
            return  # superseded by a newer job
        view.print_pages = done.pages
        view.print_errors = done.errors
        view.first_folio, view.folio_exact, view.folio_unknown, view.recto = done.first_folio, done.exact, done.unknown, done.recto
        view.print_version += 1

    # --- the printer thread ----------------------------------------------------------------

    def run_printer(self) -> None:
        import pypdfium2  # noqa: F401 - imported here, once, before the first save needs them

        from ..backends.pdf.backend import import_weasyprint

        import_weasyprint()

        while not self.stopping.is_set():
            with self._print_lock:
                while not self._print_jobs and not self.stopping.is_set():
                    self._print_lock.wait(0.5)
                if self.stopping.is_set():
                    return
                slug = next(iter(self._print_jobs))
                job = self._print_jobs.pop(slug)
                self._printing = slug
            self.poke()  # the page shows "laying out…"
            done = self._print(job)
            with self._print_lock:
                self._printing = None
            self.print_done(done)

    def _print(self, job: _PrintJob) -> _PrintDone:
        from ..cache import pagemap

        reporter = Reporter()
        try:
            printed = write_pdf(job.book, job.chapter, self.out, reporter, link=self.link, fonts=self._fonts)
            pictures = page_images(printed.data, self.out / "print", job.slug)
            recto = pagemap.load(self.root).recto
            urls = tuple(f"/{PREVIEW_DIR}/print/{p.name}" for p in pictures)
            f = printed.folio
            return _PrintDone(job.slug, job.key, urls, (), f.first, f.exact, f.unknown, recto is not False)
        except BookError as exc:
            return _PrintDone(job.slug, job.key, errors=_lines(exc))
        except Exception as exc:  # noqa: BLE001 - WeasyPrint failures show in the page, the server goes on
            return _PrintDone(job.slug, job.key, errors=(f"{job.chapter.path}: error: print layout failed: {exc}",))

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


class PreviewServer:
    """The server: `start()` runs it in background threads, `stop()` ends them all."""

    def __init__(self, root: Path, out_dir: Path, port: int = 8000, watch: bool = True) -> None:
        self.root = root.resolve()
        self.out = (out_dir / PREVIEW_DIR).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.hub = Hub()
        self._httpd = _HTTPServer((HOST, port), _Handler)
        self._httpd.app = self
        self.port = self._httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self.builder = Builder(self.root, self.out, self.hub, self._link)
        self._watch = watch
        self._threads: list[threading.Thread] = []
        self._watch_stop = threading.Event()
        self._started = False
        self._serving = False

    def _link(self, other: Any, fragment: str) -> str:
        return f"{self.url}chapter/{urllib.parse.quote(other.slug)}#{urllib.parse.quote(fragment)}"

    def start(self) -> "PreviewServer":
        if self._started:
            return self
        self._started = True
        self._spawn(self.builder.run, "bookmaker-builder")
        self._spawn(self.builder.run_printer, "bookmaker-printer")
        if self._watch:
            ready = threading.Event()
            self._spawn(lambda: self._run_watcher(ready), "bookmaker-watcher")
            ready.wait(10)
        self.builder.poke()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `stop()` (from another thread) or Ctrl-C."""
        self.start()
        self._serving = True
        self._httpd.serve_forever(poll_interval=0.25)

    def start_http(self) -> "PreviewServer":
        """Everything in background threads, the HTTP server too (tests, benchmarks)."""
        self.start()
        self._serving = True
        self._spawn(lambda: self._httpd.serve_forever(poll_interval=0.1), "bookmaker-http")
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _run_watcher(self, ready: threading.Event) -> None:
        from watchfiles import DefaultFilter, watch

        from ..core.resources import builtin_layouts_dir

        out = self.out.parent

        class BookFilter(DefaultFilter):  # type: ignore[misc]
            def __call__(self, change: Any, path: str) -> bool:
                p = Path(path)
                return super().__call__(change, path) and not (p == out or out in p.parents)

        # The book's own layouts folder needs no watch of its own: config.py keeps it inside the
        # book folder (symbolic links resolved), and a book.toml edited later can name no other.
        paths = [self.root, builtin_layouts_dir()]
        ready.set()
        try:
            for changes in watch(*paths, watch_filter=BookFilter(), stop_event=self._watch_stop, step=30, debounce=400,
                                 rust_timeout=500, yield_on_timeout=False):
                self.builder.poke(("changed", tuple(sorted(p for _, p in changes))))
        except Exception:  # noqa: BLE001 - without a watcher the server still serves; say so
            import traceback

            traceback.print_exc()

    def stop(self) -> None:
        """Stop watching, building and serving; end the background layout if one runs."""
        self._watch_stop.set()
        self.builder.stopping.set()
        self.builder.poke("stop")
        with self.builder._print_lock:
            self.builder._print_lock.notify_all()
        if self._serving:
            self._httpd.shutdown()
        self._httpd.server_close()
        self.builder.stop_fill()
        for t in self._threads:
            t.join(10)

    def __enter__(self) -> "PreviewServer":
        return self.start_http()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    app: PreviewServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is the author's
        pass

    @property
    def app(self) -> PreviewServer:
        return self.server.app

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        app = self.app
        host = (self.headers.get("Host") or "").lower()
        if host not in (f"{HOST}:{app.port}", f"localhost:{app.port}"):
            return self._send(HTTPStatus.MISDIRECTED_REQUEST, b"wrong Host\n", "text/plain", head)
        raw_path = self.path.split("?", 1)[0].split("#", 1)[0]
        query = urllib.parse.parse_qs(self.path.split("?", 1)[1]) if "?" in self.path else {}
        if raw_path in ("/", "/index.html"):
            if not app.builder.snapshot.version:
                app.builder.ensure("", timeout=30)
            return self._send(HTTPStatus.OK, serve_ui.index_page(app.builder.snapshot).encode("utf-8"), "text/html; charset=utf-8", head)
        if raw_path == "/events":
            return self._events(query.get("chapter", [""])[0])
        if raw_path.startswith("/chapter/"):
            slug = urllib.parse.unquote(raw_path[len("/chapter/"):]).strip("/")
            if not _safe_name(slug):
                return self._send(HTTPStatus.NOT_FOUND, b"no such chapter\n", "text/plain", head)
            if app.builder.snapshot.entry(slug) is None:
                app.builder.ensure("")  # the chapter may be new: one pass over the book first
            if app.builder.snapshot.entry(slug) is not None:
                app.builder.ensure(slug)
            state = app.builder.state(slug)
            if state is None or app.builder.snapshot.entry(slug) is None:
                return self._send(HTTPStatus.NOT_FOUND, serve_ui.not_found_page(app.builder.snapshot, slug).encode("utf-8"), "text/html; charset=utf-8", head)
            return self._send(HTTPStatus.OK, serve_ui.chapter_page(app.builder.snapshot, state).encode("utf-8"), "text/html; charset=utf-8", head)
        if raw_path.startswith(f"/{PREVIEW_DIR}/"):
            return self._file(raw_path[len(PREVIEW_DIR) + 2:], head)
        return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head)

    def _file(self, rel: str, head: bool) -> None:
        """A file of OUT/preview/, and nothing outside it (no `..`, encoded or not)."""
        app = self.app
        name = urllib.parse.unquote(rel)
        parts = name.split("/")
        if not all(_safe_name(p) for p in parts):
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head)
        if len(parts) == 1 and name.endswith(".xhtml") and app.builder.snapshot.entry(name[: -len(".xhtml")]):
            app.builder.ensure(name[: -len(".xhtml")])  # a link from another chapter: build it now
        path = (app.out / name).resolve()
        if not path.is_relative_to(app.out) or not path.is_file():
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head)
        ctype = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return self._send(HTTPStatus.OK, path.read_bytes(), ctype, head)

    def _events(self, slug: str) -> None:
        app = self.app
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        token, q = app.hub.subscribe(slug)
        app.builder.poke(("open", slug))
        try:
            self.wfile.write(b"retry: 500\n\n")
            self.wfile.flush()
            last = time.monotonic()
            while not app.builder.stopping.is_set():
                try:
                    event, data = q.get(timeout=0.25)
                except queue.Empty:
                    if time.monotonic() - last > 10:
                        self.wfile.write(b": ping\n\n")
                        self.wfile.flush()
                        last = time.monotonic()
                    continue
                self.wfile.write(f"event: {event}\ndata: {data}\n\n".encode("utf-8"))
                self.wfile.flush()
                last = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            app.hub.unsubscribe(token)
            self.close_connection = True

    def _send(self, status: HTTPStatus, body: bytes, ctype: str, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _safe_name(part: str) -> bool:
    """One path segment that cannot leave its folder: no `..`, no dot-files, no separators."""
    return bool(part) and not part.startswith(".") and not any(c in part for c in "/\\\x00")
