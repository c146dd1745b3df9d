"""A note cut into what print's floats may hold (printed.py): its blocks as pieces, a paragraph's
content or a block made of spans (WeasyPrint's HTML parser would end the calling paragraph at a
note's `<p>`, `<ul>`, `<div>`…), its white space collapsed, and a long note grouped into floats
of at most a given length, after paragraphs and, in a paragraph that long, after sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Callable

from lxml import etree

from ..markdown.notes import BACKLINK, CALL, LEAD

EPUB_NS = "http://www.idpf.org/2007/ops"
_WRAP = f'<div xmlns:epub="{EPUB_NS}">'
# What a note's block elements become inside its float, which sits in a paragraph: an HTML parser
# (WeasyPrint's) would end the paragraph at a <p>, <div>, <ul>… Spans of a class say what they were.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "col", "colgroup", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
_VOID = frozenset({"br", "img", "wbr", "col"})
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\n\r\f]+")
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019\u00bb)\]]*\s+(?=[\"'\u201c\u2018\u00ab(\[]?[A-Z0-9\u00c0-\u024f])")
Code = Callable[[str], str]  # code blocks as print sets them (layout: code.for_print)


@dataclass(frozen=True)
class Piece:
    html: str  # a paragraph's content, or a whole block (spans: `_spanned`)
    length: int  # characters of text
    paragraph: bool


def text_length(html: str) -> int:
    return len(_TAG.sub("", html))


def note_pieces(html: str, code: Code | None) -> list[Piece]:
    """A note's blocks, as what its float may hold: paragraphs by their content, any other block
    made of spans. Its number and ways back go (the float's marker is the number); a call of
    another note inside it stays as its number (the other note follows this one: `floats`)."""
    html = BACKLINK.sub("", LEAD.sub("", html))
    html = CALL.sub(lambda m: f'<sup class="note-call">{m["n"]}</sup>', html)
    if code is not None and "<pre" in html:
        html = code(html)
    root = etree.fromstring((_WRAP + html + "</div>").encode("utf-8"))
    _collapse_spaces(root)
    pieces = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        length = len("".join(child.itertext()))
        if child.tag == "p" and not length and not len(child):
            continue  # the number's own paragraph (`note-lead`), now empty
        if child.tag == "p":
            pieces.append(Piece(_inner(child), length, True))
        else:
            _spanned(child)
            pieces.append(Piece(_outer(child), length, False))
    return pieces


def _collapse_spaces(root: etree._Element) -> None:
    """White space collapsed as CSS would (outside code blocks): WeasyPrint 70 collapses the white
    space of the box tree after it has taken the notes out of it, so a note's line breaks in the
    Markdown would stay line breaks at the foot of the page."""
    keep = {id(el) for pre in root.iter("pre") for el in pre.iter()}
    for el in root.iter():
        if id(el) not in keep and el.text:
            el.text = _SPACES.sub(" ", el.text)
        if el.tail and (el.getparent() is None or id(el.getparent()) not in keep):
            el.tail = _SPACES.sub(" ", el.tail)
    for block in root:  # a paragraph's first and last spaces are not set either
        if isinstance(block.tag, str) and block.text:
            block.text = block.text.lstrip()
        last = block[-1] if len(block) else None
        if last is not None and last.tail:
            last.tail = last.tail.rstrip()
        elif last is None and block.text:
            block.text = block.text.rstrip()


def _spanned(element: etree._Element) -> None:
    """Every block element inside `element` (and itself) as a span classed `note-<tag>`, so that it
    stays inside the float's paragraph; empty spans written open and closed (HTML has no `<span/>`)."""
    for el in element.iter():
        if not isinstance(el.tag, str) or el.tag.startswith("{"):
            continue  # MathML, SVG: their own
        if el.tag in _BLOCKS:
            el.set("class", f"{el.get('class', '')} note-{el.tag}".strip())
            el.tag = "span"
        if el.tag not in _VOID and el.text is None and not len(el):
            el.text = ""


def _outer(element: etree._Element) -> str:
    tail, element.tail = element.tail, None
    html = etree.tostring(element, encoding="unicode")
    element.tail = tail
    return html.replace(f' xmlns:epub="{EPUB_NS}"', "")


def _inner(element: etree._Element) -> str:
    for child in element:
        _spanned(child)
    text = escape(element.text or "", quote=False)
    return text + "".join(_outer(child) + escape(child.tail or "", quote=False) for child in element)


@dataclass(frozen=True)
class Part(Piece):
    continued: bool = False  # the rest of the paragraph the piece before began


def grouped(pieces: list[Piece], limit: int) -> list[tuple[bool, list[Piece]]]:
    """The note's pieces grouped into floats: whole blocks while they fit in `limit`; a paragraph
    longer than that cut after sentences into inline floats of its own."""
    if sum(p.length for p in pieces) <= limit:
        return [(False, pieces)]
    chunks: list[tuple[bool, list[Piece]]] = []
    current: list[Piece] = []
    size = 0
    for piece in pieces:
        if piece.paragraph and piece.length > limit:
            if current:
                chunks.append((False, current))
                current, size = [], 0
            chunks.extend((True, [part]) for part in _sentences(piece, limit))
            continue
        if current and size + piece.length > limit:
            chunks.append((False, current))
            current, size = [], 0
        current.append(piece)
        size += piece.length
    if current:
        chunks.append((False, current))
    return chunks


def _sentences(piece: Piece, limit: int) -> list[Piece]:
    """A paragraph's content cut after sentences (outside any inline element) into parts of about
    `limit` characters at most; a paragraph without such a place stays whole."""
    cuts, length, last, depth = [], 0, 0, 0
    for m in re.finditer(r"<[^>]*>|[^<]+", piece.html):
        token = m.group(0)
        if token.startswith("<"):
            depth += -1 if token.startswith("</") else (0 if token.endswith("/>") else 1)
            continue
        if depth == 0:
            for end in _SENTENCE_END.finditer(token):
                at = length + end.end()
                if at - last >= limit * 0.6:
                    cuts.append(m.start() + end.end())
                    last = at
        length += len(token)
    if not cuts:
        return [piece]
    bounds = [0, *cuts, len(piece.html)]
    parts = [piece.html[a:b] for a, b in zip(bounds, bounds[1:]) if piece.html[a:b].strip()]
    return [Part(p, text_length(p), True, continued=i > 0) for i, p in enumerate(parts)]
