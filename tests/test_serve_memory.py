"""`bookmaker serve` keeps a steady size however many times a chapter is saved.

It once grew by about 0.27 MB a save (each print layout left a fontconfig configuration behind in
native memory, see backends/pdf.PrintFonts), which no Python-level check sees: this test reads the
server process's resident size from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from .conftest import EPOCH
from .test_preview import Events, _write

WARM_UP = 30
SAVES = 200
MAX_GROWTH_MB = 15.0  # before the fix: 70 MB for these 200 saves (163 MB -> 233 MB); after: flat, within a few MB


def rss_mb(pid: int) -> float:
    """The process's resident set size (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.fixture
def serve_process(tiny_book: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`bookmaker serve` in its own process (its size is the server's alone) and its port."""
    env = {**os.environ, "BOOKMAKER_CACHE_DIR": str(tmp_path / "cache"), "SOURCE_DATE_EPOCH": EPOCH}
    proc = subprocess.Popen([sys.executable, "-m", "bookmaker", "serve", str(tiny_book), "-o", str(tmp_path / "out"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "serving … at http://127.0.0.1:PORT/ (Ctrl-C stops)"
        assert "http://127.0.0.1:" in line, proc.stderr.read() if proc.stderr else line
        yield proc, int(line.split("http://127.0.0.1:")[1].split("/")[0])
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Saver:
    """Saves one chapter with a new word each time and waits until its page and print pages are rebuilt."""

    def __init__(self, events: Events, path: Path) -> None:
        self.events = events
        self.path = path
        self.saves = 0
        self.state = events.wait(lambda s: s["html_version"] and s["print_version"] and not s["print_busy"])

    def save(self) -> None:
        self.saves += 1
        html, printed = self.state["html_version"], self.state["print_version"]
        _write(self.path, f"---\ntitle: One\n---\n\nFirst chapter text, save number {self.saves}.\n")
        self.events.wait(lambda s: s["html_version"] > html)
        self.state = self.events.wait(lambda s: s["print_version"] > printed and not s["print_busy"])
        assert not self.state["errors"] and not self.state["print_errors"], self.state


def test_rss_stays_flat_over_hundreds_of_saves(serve_process: tuple[Any, int], tiny_book: Path) -> None:
    proc, port = serve_process
    events = Events(port, "01-one")
    try:
        saver = Saver(events, tiny_book / "chapters" / "01-one.md")
        for _ in range(WARM_UP):
            saver.save()
        warm = rss_mb(proc.pid)
        started = time.monotonic()
        for _ in range(SAVES):
            saver.save()
        after = rss_mb(proc.pid)
    finally:
        events.close()
    per_save = (after - warm) / SAVES
    assert after - warm < MAX_GROWTH_MB, (
        f"RSS {warm:.1f} MB after {WARM_UP} saves, {after:.1f} MB after {SAVES} more "
        f"({per_save * 1000:.0f} kB a save, {time.monotonic() - started:.0f} s)")


def test_the_kept_font_configuration_is_renewed_only_when_the_fonts_may_change() -> None:
    """The server's one configuration must learn what a fresh one would: a new one when a
    stylesheet, a font file or an inline @font-face changes, the same one when only text or images do."""
    from bookmaker.backends.pdf.backend import PrintFonts
    from bookmaker.render.layout import Asset, Page, Rendered

    def rendered(body: str, css: bytes = b"p { color: black }", image: bytes = b"<svg/>") -> Rendered:
        page = Page("book.html", "Tiny", "document", f"<html><head></head><body>{body}</body></html>")
        return Rendered("print", (page,), (Asset("css/print.css", "text/css", css), Asset("fonts/a.ttf", "font/ttf", b"font"),
                                           Asset("images/f.svg", "image/svg+xml", image)))

    fonts = PrintFonts()
    with fonts.hold(rendered("<p>One</p>")) as first:
        pass
    with fonts.hold(rendered("<p>Two</p>", image=b"<svg><path/></svg>")) as same:
        assert same is first  # a save of the text, a new formula
    with fonts.hold(rendered("<p>Two</p>", css=b'@font-face { font-family: "A"; src: url("../fonts/a.ttf") }')) as new_css:
        assert new_css is not first
    inline = '<style>@font-face { font-family: "B"; src: url("fonts/a.ttf") }</style><p>Two</p>'
    with fonts.hold(rendered(inline, css=b'@font-face { font-family: "A"; src: url("../fonts/a.ttf") }')) as new_inline:
        assert new_inline is not new_css
