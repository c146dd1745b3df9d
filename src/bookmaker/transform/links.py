"""A book-wide pass over the rendered chapters: ids unique across the book, links that resolve.

EPUBCheck rejects a duplicate id (RSC-005), a link to a fragment that does not exist (RSC-012)
and a link to a file that is not in the book (RSC-007); the print document, where every chapter
shares one HTML file, needs ids unique across the whole book. Each fix is a warning with the
chapter's line, so the author can mend the source.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from ..core.model import Book, Chapter, FigureBlock, HtmlBlock

_ID = re.compile(r'\sid="([^"]*)"')
_HREF = re.compile(r'\shref="([^"]*)"')
_EXTERNAL = ("http://", "https://", "mailto:")

Warn = Callable[[Chapter, str, str], None]  # chapter, text to find its line by, message


def html_ids(ch: Chapter) -> list[str]:
    """The ids in the chapter's XHTML blocks, in order (headings, notes, raw HTML); figures' are their FigureRef's."""
    return [i for block in ch.blocks if isinstance(block, HtmlBlock) for i in _ID.findall(block.html)]


def link_targets(ch: Chapter) -> set[str]:
    """The files the chapter's links name, as written: another chapter's source (`02-two.md`) or page, or ''."""
    return {href.partition("#")[0] for block in ch.blocks if isinstance(block, HtmlBlock) for href in _HREF.findall(block.html)}


def _reserved_ids(ch: Chapter) -> set[str]:
    """Ids the chapter has by construction: its page, its title and its figures; never removed."""
    return {ch.id, f"{ch.id}-title"} | {b.figure.id for b in ch.blocks if isinstance(b, FigureBlock)}


def _own_ids(ch: Chapter) -> set[str]:
    return _reserved_ids(ch) | {h.id for h in ch.headings} | set(html_ids(ch))


def _dedupe_ids(ch: Chapter, seen: set[str], warn: Warn) -> Chapter:
    seen.update(_reserved_ids(ch))
    blocks = []
    for block in ch.blocks:
        if isinstance(block, HtmlBlock):
            def drop(m: re.Match[str]) -> str:
                value = m.group(1)
                if value in seen:
                    warn(ch, f'id="{value}"', f"id '{value}' is used more than once in the book; this one was removed")
                    return ""
                seen.add(value)
                return m.group(0)

            block = replace(block, html=_ID.sub(drop, block.html))
        blocks.append(block)
    return replace(ch, blocks=tuple(blocks))


def check_links(book: Book, warn: Warn) -> Book:
    """Unique ids across the book and links that resolve; needs every chapter rendered."""
    seen: set[str] = set()
    chapters = [_dedupe_ids(ch, seen, warn) for ch in book.chapters]
    ids = {ch.href: _own_ids(ch) for ch in chapters}
    by_source = {ch.path.name: ch.href for ch in chapters}
    fixed = []
    for ch in chapters:
        def resolve(m: re.Match[str], ch: Chapter = ch) -> str:
            href = m.group(1)
            if href.lower().startswith(_EXTERNAL):
                return m.group(0)
            target, _, fragment = href.partition("#")
            if not target and fragment in ids[ch.href]:
                return m.group(0)  # a link inside the chapter stays as written
            target = by_source.get(target, target) if target else ch.href
            if target not in ids:
                warn(ch, href, f"link to '{href}' leads to nothing in the book; the link was removed")
                return ""
            if fragment and fragment not in ids[target]:
                warn(ch, f"#{fragment}", f"link to '{href}': no '#{fragment}' in that chapter; it now leads to the chapter's start")
                return f' href="{target}"'
            return f' href="{target}' + (f"#{fragment}" if fragment else "") + '"'

        blocks = tuple(replace(b, html=_HREF.sub(resolve, b.html)) if isinstance(b, HtmlBlock) else b for b in ch.blocks)
        fixed.append(replace(ch, blocks=blocks))
    return replace(book, chapters=tuple(fixed))


def line_of(ch: Chapter, needle: str) -> int:
    """The file line where `needle` first appears in the chapter's body, or where the body starts."""
    index = ch.source.find(needle)
    if index < 0 and needle.startswith(("#", 'id="')):
        index = ch.source.find(needle.split('"')[1] if needle.startswith("id=") else needle[1:])
    return ch.body_line + (ch.source.count("\n", 0, index) if index >= 0 else 0)
