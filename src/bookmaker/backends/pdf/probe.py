"""Probes that lay a little out to learn how the print book behaves."""

from __future__ import annotations

from dataclasses import replace

from ...cache.pagemap import PageMap, layout_key, load
from ...core.model import Book


def opens_recto(book: Book, gutter: float, pagemap: PageMap | None = None) -> bool:
    """Do chapters open on right-hand pages? Lays out two empty chapters and counts (cached)."""
    pagemap = pagemap if pagemap is not None else load(book.config.root)
    if pagemap.recto is not None and pagemap.layout == layout_key(book.config):
        return pagemap.recto
    from ...core.context import BuildContext, build_timestamp
    from ...core.errors import Reporter
    from ...render.printed import PrintDocument, render_print
    from .backend import PdfBackend

    stubs = [replace(ch, blocks=(), headings=()) for ch in book.chapters[:2]]
    if len(stubs) < 2:
        return True
    probe = replace(book, chapters=tuple(stubs), images=())
    document = PdfBackend().lay_out(render_print(probe, PrintDocument.chapters_only(stubs, gutter)), BuildContext(probe, build_timestamp(), Reporter()))
    return len(document.pages) > 2


