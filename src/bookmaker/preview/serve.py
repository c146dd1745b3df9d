"""`bookmaker serve`: a local preview server that rebuilds what a save changed and reloads the page.

Threads, each with one job:

- HTTP (stdlib `ThreadingHTTPServer` on 127.0.0.1 only): the index, a page per chapter, the files
  in OUT/preview/, and `/events`, a server-sent-event stream per open page (web.py; the open
  pages' queues are hub.py's);
- the watcher (watchfiles) over the book folder and layouts/: it only tells the builder (here);
- the builder owns the `Workspace`: after each batch of changes it re-reads what changed, and for
  each chapter someone has open (or asks for) rebuilds the EPUB page only if its inputs changed
  (its text and front matter, its number, book.toml, the chapter file names, the ids of the
  chapters, layouts/, the images it shows), then tells the open pages (builder.py);
- the printer lays chapters out for print (WeasyPrint, one at a time, never in the builder's way)
  and pictures their pages; a chapter is laid out again only if its inputs or its first folio
  changed. Folios come from the page map (pagemap.py); when it lacks spans, a background process
  lays the whole book out once and open pages update when it is done (printer.py).

A chapter that fails shows its `path:line: error: …` lines in its page; the server keeps running
and the next save that fixes it brings the chapter back.

This module wires them: `PreviewServer` starts and stops the threads, and runs the watcher.
"""

from __future__ import annotations

import threading
import urllib.parse
from pathlib import Path
from typing import Any, Callable

from .builder import Builder
from .chapter import PREVIEW_DIR
from .hub import Hub
from .web import HOST, Handler, PreviewHTTPServer

__all__ = ["HOST", "Builder", "Hub", "PreviewServer"]


class PreviewServer:
    """The server: `start()` runs it in background threads, `stop()` ends them all."""

    def __init__(self, root: Path, out_dir: Path, port: int = 8000, watch: bool = True) -> None:
        self.root = root.resolve()
        self.out = (out_dir / PREVIEW_DIR).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.hub = Hub()
        self._httpd = PreviewHTTPServer((HOST, port), Handler)
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
        self._spawn(self.builder.printer.run, "bookmaker-printer")
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
        self.builder.printer.wake()
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
