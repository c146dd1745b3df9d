"""book.toml `notes = "book"`: the notes of every chapter on one generated page at the end of the
book, "Notes", grouped by chapter under the chapter's label and title.

The page is a back-matter Chapter of its own (`role` "endnotes"), so it has its place in the
spine, the EPUB's navigation, the printed contents and the print layout's parts like any chapter.
Its markup is what EPUBCheck 5 and Ace accept without a message (README, "Notes"): the page's
section is `epub:type="endnotes" role="doc-endnotes"` (layouts/_chapter.j2), each chapter's
notes an `<ol>` whose items carry only their id. The item-level terms `endnote`/`rearnote`
(and DPUB-ARIA's `doc-endnote`) are deprecated: EPUBCheck reports OPF-086b for them.

It runs after the book-wide link check (links.check_links), while each note is still in its
chapter, so a broken link inside a note is reported at its chapter's line; moving the notes then
rewrites the links that cross the page boundary: each call leads to the Notes page, each way back
to the chapter page, and a note's links inside its chapter (`#id`) gain the chapter's page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from html import escape

from ...core.model import Book, BookConfig, Chapter, HtmlBlock
from ...core.words import words_for
from ..markdown.notes import Note, read_notes
from ..pages import generated_page, page_slug

_LOCAL_HREF = re.compile(r'\shref="#([^"]*)"')
_ID = re.compile(r'\sid="([^"]*)"')


def notes_page_slug(chapters: Iterable[Chapter]) -> str:
    """"notes", unless a chapter file already makes a page of that name."""
    return page_slug("notes", chapters)


def move_out(chapter: Chapter, notes_href: str) -> tuple[Chapter, list[Note]]:
    """The chapter without its notes block, its calls (and any link to a note) leading to the
    Notes page at `notes_href`; and its notes, their links made to work from that page."""
    notes: list[Note] = []
    blocks = []
    for block in chapter.blocks:
        if isinstance(block, HtmlBlock) and block.notes:
            notes.extend(read_notes(block.html))
        else:
            blocks.append(block)
    if not notes:
        return chapter, []
    ids = {note.id for note in notes} | {i for note in notes for i in _ID.findall(note.html)}  # a call inside a note too

    def call(m: re.Match[str]) -> str:
        return f' href="{notes_href}#{m.group(1)}"' if m.group(1) in ids else m.group(0)

    def away(m: re.Match[str]) -> str:  # inside a note: other notes (and calls in them) are on the Notes page too
        return m.group(0) if m.group(1) in ids else f' href="{chapter.href}#{m.group(1)}"'

    blocks = [replace(b, html=_LOCAL_HREF.sub(call, b.html)) if isinstance(b, HtmlBlock) else b for b in blocks]
    moved = [replace(note, html=_LOCAL_HREF.sub(away, note.html)) for note in notes]
    return replace(chapter, blocks=tuple(blocks)), moved


def gather(book: Book) -> Book:
    """With notes = "book", the chapters' notes moved onto the Notes page, the last page of the
    book; the book as it is otherwise, or when no chapter has a note."""
    if book.config.notes != "book":
        return book
    slug = notes_page_slug(book.chapters)
    href = f"{slug}.xhtml"
    chapters, groups = [], []
    for chapter in book.chapters:
        chapter, notes = move_out(chapter, href)
        chapters.append(chapter)
        if notes:
            groups.append(_group(book.config, chapter, notes))
    if not groups:
        return book
    page = generated_page(book.config, slug, words_for(book.config.language).notes, "endnotes", groups)
    return replace(book, chapters=(*chapters, page))


def _group(config: BookConfig, chapter: Chapter, notes: list[Note]) -> HtmlBlock:
    """One chapter's notes: a heading that leads to the chapter, and the notes as a numbered list
    (`start`: the first number, when note_numbers = "book" runs on from earlier chapters)."""
    label = f"{config.chapter_label} {chapter.number}" if chapter.number else ""
    title = (f'<span class="notes-label">{escape(label)}</span> ' if label else "") + escape(chapter.title)
    head = f"notes-{chapter.id}"
    start = f' start="{notes[0].number}"' if notes[0].number > 1 else ""
    items = "".join(f'<li id="{note.id}">{note.html}</li>\n' for note in notes)
    return HtmlBlock(f'<section class="notes-group" aria-labelledby="{head}">\n'
                     f'<h2 id="{head}"><a href="{chapter.href}">{title}</a></h2>\n'
                     f'<ol class="endnotes"{start}>\n{items}</ol>\n</section>\n')

