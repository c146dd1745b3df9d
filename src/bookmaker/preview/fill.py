"""Filling the page map in the background: `start_fill` runs `python -m bookmaker.preview.fill
BOOK_DIR`, which lays the whole book out once, as the build does, and records every chapter's span.

It lives in preview/ because it runs the build's stages (transform.book.load_book,
backends.pdf.printing.print_book, and pipeline.record_page_map, which records as a build does):
cache/pagemap.py stays the store and locator they import. Those stages are imported only by the
program itself, so starting it stays cheap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..cache import pagemap
from ..core.errors import BookError


def lock_path(root: Path) -> Path:
    """The file a running fill holds its process id in."""
    return pagemap.cache_path(root).with_suffix(".filling")


def filling(root: Path) -> bool:
    """Is a background fill for this book running?"""
    try:
        pid = int(lock_path(root).read_text())
        os.kill(pid, 0)
        return True
    except (OSError, ValueError):
        return False


def start_fill(root: Path, detach: bool = False) -> subprocess.Popen[bytes] | None:
    """Start `python -m bookmaker.preview.fill ROOT` unless one runs already; never waits for it.

    `detach` lets it outlive the command that started it (the one-shot `bookmaker preview`).
    Its messages go to the map's `.log` file beside it.
    """
    if filling(root):
        return None
    path = pagemap.cache_path(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".log"), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bookmaker.preview.fill", str(root.resolve())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=detach,
            )
        lock_path(root).write_text(str(proc.pid))
    except OSError:  # no cache folder to write in: previews stay provisional, nothing breaks
        return None
    return proc


def fill(root: Path) -> pagemap.PageMap:
    """Lay out the whole book once, as the build does, and record every span. Slow; run it aside."""
    from ..backends.pdf.paginate import print_book
    from ..core.context import BuildContext, build_timestamp
    from ..core.errors import Reporter
    from ..pipeline import record_page_map
    from ..transform.book import load_book

    read_at = time.time()
    book = load_book(root, Reporter(), with_cover=False)
    printed = print_book(BuildContext(book, build_timestamp(), Reporter()))
    return record_page_map(book, printed, read_at)


def _main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bookmaker.preview.fill BOOK_DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    from ..core.process import collector_paused

    try:
        with collector_paused():  # this program owns its process, as the build command does
            recorded = fill(root)
    except BookError as exc:
        for d in exc.diagnostics:
            print(str(d), file=sys.stderr)
        return exc.exit_code
    finally:
        try:
            if lock_path(root).read_text() == str(os.getpid()):
                lock_path(root).unlink()
        except OSError:
            pass
    print(f"page map: {len(recorded.spans)} chapters recorded in {pagemap.cache_path(root)}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
