"""Notes as the print layout sets them: `for_print(chapter, …)`, called by render/printed.render_print on
each chapter it lays out, as code and formulas are (one Markdown render, print's own shape here).

With book.toml `notes = "foot"`, each note goes where it is first called, as a `span.foot-note` that
WeasyPrint floats to the foot of the page (`float: footnote`, layouts/print.css): its call and its
number come from `data-n` (the numbers are the Markdown render's, so they run on across the parts
of a book laid out in parts). The notes block at the chapter's end goes. With "chapter" and
"book" the notes stay where they are (the chapter's end, the Notes page). In every case the ways
back to the text are taken out: a page has no "↩" to tap, and the number is plain text.

WeasyPrint's limits worked around here (README, "Notes"; tests/test_notes_print.py), besides the
white space of notes (pieces.py) and two patches (backends/pdf/wp_internals.py):

- WeasyPrint never splits a note: one taller than the space a page has overflows the page. A note
  longer than `NoteLimits.piece` (about a third of a page of notes) is cut into pieces, at its
  paragraphs and, in a paragraph that long, after sentences (pieces.py). The first piece stays
  with the call (`footnote-policy: line` moves the call's line on to the next page rather than
  part them); the others follow without a call of their own and run on to the next page when
  this one is full, as a long note does in a book (`note-more`; the footnote area's `max-height`
  makes WeasyPrint carry on what does not fit). A paragraph's pieces are set inline, so on one
  page they read as one paragraph.
- A note called inside another note (its float inside a float) is laid out by WeasyPrint before
  the note that calls it, a page early, and the page after the call is left empty: the inner note
  is taken out of the outer one and set right after it, its number kept as the call inside.
- Pieces that run on past a chapter's last line go onto the next page WeasyPrint makes, which is
  the next chapter's opening page, or a blank page (later reused as a filler page), or the page a
  part of the book drops at its end (backends/pdf/parts.py): lost. A chapter with such a long note
  near its end closes with empty marks (`notes-end`), each itself a note with
  `footnote-policy: line`: while pieces wait for a page, a mark takes its empty line to the next
  page with them, one page a mark, so they stay in the chapter.

Pure: Chapters in and out; the note's markup is transform/markdown/notes.py's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ...core.model import BookConfig, Chapter, HtmlBlock
from ..markdown.notes import BACKLINK, CALL, LEAD, Note, read_notes
from .pieces import Code, Part, Piece, grouped, note_pieces, text_length

NOTE_SCALE = 0.85  # the notes' size, of the text's (layouts/print.css .footnote)
_END_MARK = ('<p class="notes-end">\u200b<span class="foot-note note-more notes-end-mark" data-n=""></span></p>\n')


@dataclass(frozen=True)
class NoteLimits:
    """How much note the foot of a page takes, in characters, estimated from the print geometry."""

    piece: int  # the longest piece of a note: about a third of a page set in notes
    tail: int  # text after a long note's call, at most, for its chapter to close with `notes-end` marks
    page: int  # the notes a page holds (print.css: the footnote area is at most 60% of the page)


def note_limits(config: BookConfig) -> NoteLimits:
    """An average letter is about half an em wide; notes are set at NOTE_SCALE, 1.3 lines apart."""
    p = config.print
    note = p.font_size_pt * NOTE_SCALE
    note_page = (p.text_width * 72 / (note * 0.5)) * (p.text_height * 72 / (note * 1.3))
    text_page = (p.text_width * 72 / (p.font_size_pt * 0.5)) * (p.text_height * 72 / (p.font_size_pt * 1.38))
    return NoteLimits(piece=int(note_page / 3), tail=int(3 * text_page), page=int(note_page * 0.6))


def for_print(chapter: Chapter, placement: str, limits: NoteLimits, code: Code | None = None) -> Chapter:
    """The chapter as the print layout sets its notes (see the module's docstring)."""
    if not any(isinstance(b, HtmlBlock) and (b.notes or "doc-backlink" in b.html or "noteref" in b.html) for b in chapter.blocks):
        return chapter
    if placement == "foot" and chapter.role is None:
        return _at_the_foot(chapter, limits, code)
    return replace(chapter, blocks=tuple(replace(b, html=unlinked(b.html)) if isinstance(b, HtmlBlock) else b
                                         for b in chapter.blocks))


def unlinked(html: str) -> str:
    """The notes' ways back to the text taken out: the number stays, as text."""
    html = LEAD.sub(lambda m: f'<span class="note-number">{m["n"]}</span> ', html)
    return BACKLINK.sub("", html).replace('<p class="note-backlinks"></p>', "")


# -- At the foot of the page ------------------------------------------------------------------------


def _at_the_foot(chapter: Chapter, limits: NoteLimits, code: Code | None) -> Chapter:
    placer = _Placer({n.id: n for b in chapter.blocks if isinstance(b, HtmlBlock) and b.notes for n in read_notes(b.html)},
                     limits, code)
    blocks = [b for b in chapter.blocks if not (isinstance(b, HtmlBlock) and b.notes)]
    lengths = [text_length(b.html) if isinstance(b, HtmlBlock) else 0 for b in blocks]
    after = sum(lengths)  # the chapter's text after the block at hand
    out = []
    for block, length in zip(blocks, lengths):
        after -= length
        if isinstance(block, HtmlBlock) and "noteref" in block.html:
            block = replace(block, html=placer.calls(block.html, after))
        out.append(block)
    left = [nid for nid in placer.notes if nid not in placer.placed]  # called only from inside themselves
    if left:
        out.append(HtmlBlock('<p class="notes-end">\u200b' + "".join(placer.floats(nid) for nid in left) + "</p>\n"))
    marks = max((_marks(length, limits) for after, length in placer.late if after <= limits.tail), default=0)
    if marks:
        out.append(HtmlBlock(_END_MARK * marks))
    return replace(chapter, blocks=tuple(out))


@dataclass
class _Placer:
    """The chapter's notes put in place of their first calls, in the order of the text."""

    notes: dict[str, Note]
    limits: NoteLimits
    code: Code | None
    placed: set[str] = field(default_factory=set)
    late: list[tuple[int, int]] = field(default_factory=list)  # each long note: (text after its call, its length)

    def calls(self, html: str, after: int) -> str:
        """A block's calls: a note's first call becomes its floats, a further call its number."""

        def call(m: re.Match[str]) -> str:
            nid = m["id"]
            if nid not in self.notes:
                return m.group(0)
            if nid in self.placed:
                return f'<a class="noteref" href="#{nid}"><sup>{m["n"]}</sup></a>'
            longs = len(self.late)
            made = self.floats(nid)
            following = after + text_length(html[m.end():])
            self.late[longs:] = [(following, length) for _, length in self.late[longs:]]
            return made

        return CALL.sub(call, html)

    def floats(self, nid: str, inner: bool = False) -> str:
        """The note's floats, then those of the notes first called inside it (`inner`: their call
        is the number in the note, not a second call in the text)."""
        self.placed.add(nid)
        note = self.notes[nid]
        pieces = note_pieces(note.html, self.code)
        chunks = grouped(pieces, self.limits.piece)
        if len(chunks) > 1:
            self.late.append((0, sum(p.length for p in pieces)))
        called = [m["id"] for m in CALL.finditer(note.html)]
        return _floats(note, chunks, inner) + "".join(self.floats(i, inner=True) for i in called
                                                      if i in self.notes and i not in self.placed)


def _marks(length: int, limits: NoteLimits) -> int:
    """End marks enough to carry a long note's pieces over the pages they may still need: each
    mark takes them one page on (a mark that starts a page stays there)."""
    return 1 + -(-length // max(1, limits.page // 2))


def _floats(note: Note, chunks: list[tuple[bool, list[Piece]]], inner: bool = False) -> str:
    """The note as its floats: the first with the note's id; the others `note-more`. The last
    inline piece of a paragraph is `note-last`: what follows it starts a line; the first of a
    paragraph after the note's first is `note-para`, indented."""
    out = []
    for i, (inline, chunk) in enumerate(chunks):
        following = chunks[i + 1] if i + 1 < len(chunks) else None
        classes = "foot-note" + (" note-more" if i else " note-inner" if inner else "") + (" note-inline" if inline else "")
        if inline and (following is None or not following[0] or not isinstance(following[1][0], Part)
                       or not following[1][0].continued):
            classes += " note-last"
        if inline and i and not (isinstance(chunk[0], Part) and chunk[0].continued):
            classes += " note-para"  # a paragraph after the note's first: indented
        ident = f' id="{note.id}"' if i == 0 else ""
        out.append(f'<span class="{classes}"{ident} data-n="{note.number}">{_joined(chunk)}</span>')
    return "".join(out)


def _joined(chunk: list[Piece]) -> str:
    """A float's content: its first paragraph as running text after the marker, the next ones as
    block spans (`note-p`), other blocks as they were made (`_spanned`)."""
    if not chunk:
        return ""  # a note with no text: its number alone
    first, *rest = chunk
    return first.html + "".join(f'<span class="note-p">{p.html}</span>' if p.paragraph else p.html for p in rest)


