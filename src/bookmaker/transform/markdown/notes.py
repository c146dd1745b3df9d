"""A chapter's notes as XHTML, after its text: one `<aside epub:type="footnote">` a note.

mdit-py-plugins' footnote plugin gathers every note (`[^label]` with its `[^label]: …` definition,
and `^[inline]` notes) at the end of the token stream, numbered in the order they are first
called. They are rendered here, one note at a time, into one block marked `notes`
(`HtmlBlock.notes`), the same for every target:

    <div class="footnotes">
    <aside id="fn-ch-x-1" class="footnote" epub:type="footnote" role="doc-footnote">
    <p><a class="note-number" href="#fnref-ch-x-1" role="doc-backlink" aria-label="…">1</a> The note.</p>
    </aside>
    </div>

The call in the text is `<a class="noteref" epub:type="noteref" role="doc-noteref"
href="#fn-ch-x-1" id="fnref-ch-x-1"><sup>1</sup></a>` (rules._fn_ref). Reading systems show
such an aside as a pop-up from its call and leave it out of the linear text (Apple Books, Kobo,
Kindle's pop-up footnotes): nothing hides it with CSS. The note's number leads back to the call
(KDP asks for links both ways); a note called more than once has one more back link for each
further call. The print layout moves each note to the foot of its call's page, or keeps it at the
chapter's end, and transform/notes makes the book's Notes page from these blocks: each reads
the markup above, so it is written in one place, here.

Ids are per chapter (`fn-<chapter id>-<k>`, k from 1), whatever the numbering: with
`note_numbers = "book"` only the number shown runs on (`first`, from the notes of the chapters
before).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from markdown_it.token import Token

from ...core.model import HtmlBlock

RenderTokens = Callable[[list[Token]], str]
NOTES_OPEN, NOTES_CLOSE = '<div class="footnotes">\n', "</div>\n"
_ASIDE = '<aside id="{id}" class="footnote" epub:type="footnote" role="doc-footnote">\n'
_ASIDE_CLOSE = "\n</aside>\n"
_ASIDE_OPEN = re.compile(re.escape(_ASIDE).replace(r"\{id\}", '(?P<id>[^"]+)'))
# The note's number, which leads back to its first call, and the way back from each further call
LEAD = re.compile(r'<a class="note-number" href="(?P<href>[^"]*)" role="doc-backlink" aria-label="[^"]*">(?P<n>\d+)</a> ?')
BACKLINK = re.compile(r' ?<a class="backlink" href="[^"]*" role="doc-backlink" aria-label="[^"]*">\u21a9\ufe0e</a>')
CALL = re.compile(r'<a href="#(?P<id>fn-[^"]+)" id="(?P<ref>[^"]+)" class="noteref" epub:type="noteref" '
                  r'role="doc-noteref"><sup>(?P<n>\d+)</sup></a>')


@dataclass(frozen=True)
class Note:
    """One note as the notes block holds it: its id, its number and its XHTML, which opens with the
    number leading back to the call (`LEAD`) and may end with more ways back (`BACKLINK`)."""

    id: str
    number: int
    html: str


def read_notes(html: str) -> list[Note]:
    """The notes of a notes block (`notes_block`), in order."""
    body = html.removeprefix(NOTES_OPEN).removesuffix(NOTES_CLOSE)
    starts = list(_ASIDE_OPEN.finditer(body))
    notes = []
    for m, after in zip(starts, starts[1:] + [None]):
        inner = body[m.end(): after.start() if after else len(body)].removesuffix(_ASIDE_CLOSE)
        lead = LEAD.search(inner)
        notes.append(Note(m.group("id"), int(lead.group("n")) if lead else 0, inner))
    return notes


def note_id(doc_id: str, index: int) -> str:
    """The id of the chapter's note `index` (0-based, in the order the notes are first called)."""
    return f"fn-{doc_id}-{index + 1}"


def ref_id(doc_id: str, index: int, sub: int = 0) -> str:
    """The id of a call of that note: its first call, then `-1`, `-2` … for the others."""
    base = f"fnref-{doc_id}-{index + 1}"
    return f"{base}-{sub}" if sub > 0 else base


def split_notes(tokens: Sequence[Token]) -> tuple[list[Token], list[list[Token]]]:
    """The chapter's tokens before its notes, and each note's tokens (footnote_open … footnote_close)."""
    start = next((i for i, t in enumerate(tokens) if t.type == "footnote_block_open"), len(tokens))
    notes: list[list[Token]] = []
    for token in tokens[start:]:
        if token.type == "footnote_open":
            notes.append([token])
        elif notes and token.type not in ("footnote_block_close",):
            notes[-1].append(token)
    return list(tokens[:start]), notes


def count_notes(tokens: Sequence[Token]) -> int:
    return sum(t.type == "footnote_open" for t in tokens)


def notes_block(notes: Sequence[list[Token]], doc_id: str, first: int, render: RenderTokens) -> HtmlBlock | None:
    """The chapter's notes, numbered from `first`; `render` turns a note's own tokens into XHTML
    (sanitised like the text when the chapter has HTML of its own)."""
    if not notes:
        return None
    asides = [_aside(note, doc_id, first, render) for note in notes]
    return HtmlBlock(NOTES_OPEN + "".join(asides) + NOTES_CLOSE, notes=True)


def _aside(note: list[Token], doc_id: str, first: int, render: RenderTokens) -> str:
    index = int(note[0].meta["id"])
    number = first + index
    calls = sorted(int(t.meta.get("subId", 0)) for t in note if t.type == "footnote_anchor") or [0]
    body = render([t for t in note[1:] if t.type not in ("footnote_anchor", "footnote_close")]).strip()
    lead = (f'<a class="note-number" href="#{ref_id(doc_id, index)}" role="doc-backlink" '
            f'aria-label="Note {number}, back to the text">{number}</a>')
    # a further call of the note: one more way back, after the note's text
    again = "".join(f' <a class="backlink" href="#{ref_id(doc_id, index, sub)}" role="doc-backlink" '
                    f'aria-label="Back to the text, call {sub + 1}">\u21a9\ufe0e</a>' for sub in calls if sub > 0)
    body = _lead(body, lead)
    if again:
        body = body[:-4] + again + "</p>" if body.endswith("</p>") else body + f'\n<p class="note-backlinks">{again.strip()}</p>'
    return _ASIDE.format(id=note_id(doc_id, index)) + body + _ASIDE_CLOSE


def _lead(body: str, lead: str) -> str:
    """The note's number at the start of its first paragraph, or in a paragraph of its own when the
    note opens with a list, a quote or code."""
    if body.startswith("<p>"):
        return f"<p>{lead} {body[3:]}"
    return f'<p class="note-lead">{lead}</p>\n{body}' if body else f'<p class="note-lead">{lead}</p>'
