"""The page map's background program: `python -m bookmaker.pagemap_fill BOOK_DIR` lays the whole
book out once, as the build does, and records every chapter's span (pagemap.start_fill starts it).

A module of its own because it runs the build's stages (pipeline.load_book, printing.print_book),
which themselves record into the page map: pagemap.py stays the store and locator they import.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import pagemap
from .backends import BuildContext, build_timestamp
from .errors import BookError, Reporter
from .pipeline import load_book
from .printing import print_book


def fill(root: Path) -> pagemap.PageMap:
    """Lay out the whole book once, as the build does, and record every span. Slow; run it aside."""
    read_at = time.time()
    book = load_book(root, Reporter(), with_cover=False)
    printed = print_book(BuildContext(book, build_timestamp(), Reporter()))
    return pagemap.record_build(book, printed.data, printed.margin_inside, printed.pages - printed.fillers, read_at)


def _main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bookmaker.pagemap_fill BOOK_DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    try:
        recorded = fill(root)
    except BookError as exc:
        for d in exc.diagnostics:
            print(str(d), file=sys.stderr)
        return exc.exit_code
    finally:
        try:
            if pagemap.lock_path(root).read_text() == str(os.getpid()):
                pagemap.lock_path(root).unlink()
        except OSError:
            pass
    print(f"page map: {len(recorded.spans)} chapters recorded in {pagemap.cache_path(root)}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
