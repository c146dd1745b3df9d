"""Cross-references (`[@id]`, transform/markdown/marks.py) named and linked, book-wide.

What a reference prints depends on what it points at:

- a chapter: its label and number ("Photo 14"), or, unnumbered, its title in quotes;
- a heading: its text in quotes;
- a figure: its chapter's name, as figures carry no number of their own ("Photo 14"); in a chapter
  with several figures, "Photo 14, figure 2" (the words by the book's language: core/words.py);
- a table (a `<table>` with the id, or an element with the id around one): the same, "…, table 2";
- any other id (a listing, a fenced div, an index mark…): its chapter's name.

The EPUB gets a link; print adds the target's page after it, "Photo 14 (page 27)", from
layouts/print.css (`target-counter`, or the folio learnt from an earlier layout when the target
is in another part of a book laid out in parts: render/layout.py). A reference to an id that is
nowhere in the book is a warning at its line, and is printed as written.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import escape

from ..core.model import Book, BookConfig, Chapter, FigureBlock, HtmlBlock
from ..core.words import Words, words_for
from .links import Warn
from .markdown.marks import XREF

_ID_TAG = re.compile(r'<(?P<tag>[a-zA-Z][\w-]*)\b[^>]*?\sid="(?P<id>[^"]+)"[^>]*>(?P<next>\s*<table\b)?')
_TABLE = re.compile(r"<table\b")


def chapter_name(config: BookConfig, chapter: Chapter) -> str:
    """"Photo 14" (the book's chapter_label and the number), or an unnumbered chapter's title in quotes."""
    if chapter.number:
        return f"{config.chapter_label} {chapter.number}"
    w = words_for(config.language)
    return f"{w.open_quote}{chapter.title}{w.close_quote}"


def _chapter_targets(config: BookConfig, ch: Chapter, words: Words) -> dict[str, str]:
    """What a reference to each id of the chapter prints."""
    name = chapter_name(config, ch)
    found = {ch.id: name, f"{ch.id}-title": name}
    figures = [b.figure.id for b in ch.blocks if isinstance(b, FigureBlock)]
    for k, fid in enumerate(figures, 1):
        found.setdefault(fid, name if len(figures) == 1 else f"{name}, {words.figure} {k}")
    html = "".join(b.html for b in ch.blocks if isinstance(b, HtmlBlock))
    tables = len(_TABLE.findall(html))
    for m in _ID_TAG.finditer(html):
        ident = m.group("id")
        if m.group("tag") == "table" or m.group("next"):
            k = len(_TABLE.findall(html, 0, m.start("next") if m.group("next") else m.start())) + 1
            found.setdefault(ident, name if tables == 1 else f"{name}, {words.table} {k}")
        else:
            found.setdefault(ident, name)
    for h in ch.headings:  # after the tags: a heading's id names the heading, not the chapter
        if h.text:  # (a preview knows only the other chapters' heading ids: crossref.Ids)
            found[h.id] = f"{words.open_quote}{h.text}{words.close_quote}"
    return found


def reference_targets(book: Book) -> dict[str, tuple[str, str]]:
    """Every id of the book: (the page it is on, what a reference to it prints); the first one
    of an id used twice (links.check_links removes the others)."""
    words = words_for(book.config.language)
    targets: dict[str, tuple[str, str]] = {}
    for ch in book.chapters:
        for ident, text in _chapter_targets(book.config, ch, words).items():
            targets.setdefault(ident, (ch.href, text))
    return targets


def has_references(book: Book) -> bool:
    return any(isinstance(b, HtmlBlock) and 'class="xref"' in b.html for ch in book.chapters for b in ch.blocks)


def resolve_references(book: Book, warn: Warn) -> Book:
    """Each `[@id]` named and linked to its target; a missing id warned at its line."""
    if not has_references(book):
        return book
    targets = reference_targets(book)
    chapters = []
    for ch in book.chapters:
        def name(m: re.Match[str], ch: Chapter = ch) -> str:
            ident = m.group("id")
            if ident not in targets:
                warn(ch, f"[@{ident}]", f"cross-reference to '{ident}': no such id in the book; printed as written")
                return f"[@{escape(ident)}]"
            href, text = targets[ident]
            page = "" if href == ch.href else href
            return f'<a class="xref" href="{page}#{ident}">{escape(text, quote=False)}</a>'

        blocks = tuple(replace(b, html=XREF.sub(name, b.html)) if isinstance(b, HtmlBlock) and "xref" in b.html else b
                       for b in ch.blocks)
        chapters.append(replace(ch, blocks=blocks))
    return replace(book, chapters=tuple(chapters))
