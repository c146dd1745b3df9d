"""Switches of the whole Python process, flipped only by the programs that own the process."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one command, collected once at its end.

    WeasyPrint builds millions of small objects for a long book; the collector, walking them again
    and again while they are all alive, costs 10-20% of its layout. Pausing it is a switch of the
    whole process, so only the process's owner flips it: the one-shot commands (cli.py), the
    page map's background program (preview/fill.py) and the layout workers (backends/pdf/workers.py),
    processes of bookmaker's own. The library and the
    long-running preview server leave the collector alone.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()
