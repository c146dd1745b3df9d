"""Cross-references and index marks in the text, and the one statement of their markup.

A cross-reference is `[@id]` (pandoc-crossref's form): a chapter's, figure's, heading's or any
element's id. The Markdown render writes a placeholder link, which the book-wide pass
(transform/references.py) fills with the target's name once every chapter's ids are known:

    <a class="xref" href="#photo-14">[@photo-14]</a>

An index mark is a bracketed span with the class `index` (pandoc's span syntax, read by
mdit-py-plugins' attrs plugin): `[Pyongyang]{.index}` indexes its text; `term="Pyongyang!subway"`
indexes another term, `!` leading to a sub-entry; `see="…"` and `seealso="…"` add cross-references
to other entries. The text stays as written; the mark is a span with an anchor:

    <span class="index-mark" id="mark-ch-x-1" data-index="Pyongyang!subway">the subway</span>

transform/index reads these spans back (`read_marks`), makes the Index page, and takes the
`data-*` attributes off again: they are for the book-wide pass, not for readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape
from typing import Any, Sequence

from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

XREF_ID = r"[A-Za-z][\w.:-]*"
_XREF_SOURCE = re.compile(r"\[@(" + XREF_ID + r")\]")
# The placeholder written by the render, and the link the book-wide pass makes of it
XREF = re.compile(r'<a class="xref" href="#(?P<id>' + XREF_ID + r')">\[@(?P=id)\]</a>')
INDEX_CLASS = "index"
_SPAN_KEEP = ("id", "class", "lang", "dir")  # a plain span keeps what XHTML allows; key=value pairs go
MARK = re.compile(r'<span class="index-mark" id="(?P<id>[^"]+)"(?P<attrs>(?: data-[a-z]+="[^"]*")*)>')
_DATA = re.compile(r' data-([a-z]+)="([^"]*)"')


@dataclass(frozen=True)
class Mark:
    """One index mark as the rendered chapter holds it."""

    anchor: str
    term: str  # "Pyongyang!subway": `!` separates the levels of an entry
    see: str | None = None
    see_also: str | None = None


def xref_rule(state: StateInline, silent: bool) -> bool:
    """`[@id]`, unless it opens a link (`[@id](…)`, `[@id][…]`) or a span (`[@id]{…}`)."""
    if state.src[state.pos] != "[":
        return False
    m = _XREF_SOURCE.match(state.src, state.pos)
    if not m or (m.end() < state.posMax and state.src[m.end()] in "([{"):
        return False
    if not silent:
        token = state.push("xref", "", 0)
        token.meta = {"id": m.group(1)}
        token.content = m.group(0)
    state.pos = m.end()
    return True


def xref_placeholder(ident: str) -> str:
    return f'<a class="xref" href="#{ident}">[@{ident}]</a>'


def mark_open(anchor: str, term: str, see: str | None, see_also: str | None) -> str:
    attrs = f' data-index="{escape(term)}"'
    attrs += f' data-see="{escape(see)}"' if see else ""
    attrs += f' data-seealso="{escape(see_also)}"' if see_also else ""
    return f'<span class="index-mark" id="{anchor}"{attrs}>'


def span_text(tokens: Sequence[Token], idx: int) -> str:
    """The text inside the span that opens at `idx` (its children up to the matching close)."""
    depth, text = 0, []
    for t in tokens[idx + 1:]:
        if t.type == "span_open":
            depth += 1
        elif t.type == "span_close":
            if depth == 0:
                break
            depth -= 1
        elif t.type in ("text", "code_inline"):
            text.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            text.append(" ")
    return re.sub(r"\s+", " ", "".join(text)).strip()


def plain_span_open(token: Token) -> str:
    attrs = "".join(f' {k}="{escape(str(token.attrGet(k)))}"' for k in _SPAN_KEEP if token.attrGet(k) is not None)
    return f"<span{attrs}>"


def is_index_span(token: Token) -> bool:
    return INDEX_CLASS in str(token.attrGet("class") or "").split()


def index_span(tokens: Sequence[Token], idx: int, env: Any) -> str:
    """An index mark's opening tag, with its anchor: `mark-<chapter id>-<k>`, k from 1 in the chapter
    (not `ch-…`: a name of its own, apart from the chapters' anchors)."""
    token = tokens[idx]
    env["index_marks"] = env.get("index_marks", 0) + 1
    anchor = f"mark-{env['docId']}-{env['index_marks']}"
    term = str(token.attrGet("term") or "") or span_text(tokens, idx)
    see, see_also = token.attrGet("see"), token.attrGet("seealso")
    return mark_open(anchor, term, str(see) if see else None, str(see_also) if see_also else None)


def read_marks(html: str) -> list[Mark]:
    """The index marks of a block, in order."""
    marks = []
    for m in MARK.finditer(html):
        data = {k: unescape(v) for k, v in _DATA.findall(m.group("attrs"))}
        if data.get("index", "").strip():
            marks.append(Mark(m.group("id"), data["index"], data.get("see"), data.get("seealso")))
    return marks


def strip_mark_data(html: str) -> str:
    """The marks without their `data-*` attributes (what readers get)."""
    return MARK.sub(lambda m: f'<span class="index-mark" id="{m.group("id")}">', html)
