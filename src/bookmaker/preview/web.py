"""The preview server's HTTP layer: stdlib `ThreadingHTTPServer` on 127.0.0.1 only.

It serves the index, a page per chapter, the files in OUT/preview/ (and nothing outside it), and
`/events`, a server-sent-event stream per open page. Each request runs in an HTTP thread of its
own: it reads the builder's snapshot and states, asks the builder for what it needs (`ensure`,
`poke`) and drains its stream's queue in the hub; it builds nothing itself.
"""

from __future__ import annotations

import mimetypes
import queue
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import ui as serve_ui
from .chapter import PREVIEW_DIR

if TYPE_CHECKING:
    from .builder import Builder
    from .hub import Hub

HOST = "127.0.0.1"
_TYPES = {".xhtml": "application/xhtml+xml; charset=utf-8", ".css": "text/css; charset=utf-8", ".pdf": "application/pdf",
          ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}


class App(Protocol):
    """What the handler uses of the server (`serve.PreviewServer`)."""

    port: int
    out: Path  # OUT/preview/, resolved
    hub: Hub
    builder: Builder


class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    app: App


class Handler(BaseHTTPRequestHandler):
    server: PreviewHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is the author's
        pass

    @property
    def app(self) -> App:
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
