"""Markdown -> tokens, with what the chapter declares found on the way: figures, images (in
Markdown and in the author's HTML), headings with their ids, formulas typeset, warnings at their
file lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from markdown_it.token import Token

from ...core.model import FigureRef, Heading, ImageRef
from ...core.text import slugify, unique
from .attributes import (
    HEADING_ATTRS,
    declared_size,
    explicit_id,
    fence_info,
    parse_art,
    parse_aspect,
)
from .notes import count_notes
from .rules import MATH_TOKENS, markdown_it

_TITLE_BLOCK = re.compile(r"\A(?:%[^\n]*\n)+")
_RAW_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_RAW_ATTR = re.compile(r"""\s([a-zA-Z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


@dataclass(frozen=True)
class Parsed:
    path: Path
    doc_id: str
    body_line: int
    tokens: tuple[Token, ...]
    figures: tuple[FigureRef, ...]
    images: tuple[ImageRef, ...]
    headings: tuple[Heading, ...]
    raw_html: bool = False  # the source has HTML of its own: sanitise what it renders to
    source_lines: tuple[str, ...] = ()  # the body's lines, to place raw-HTML warnings on the tag's own line
    warnings: tuple[tuple[int, str], ...] = ()  # (file line, message) found while parsing, reported by render()


@dataclass
class _Found:
    """What `parse` gathers from a chapter's tokens, in the order it meets them."""

    path: Path
    doc_id: str
    label: str
    warnings: list[tuple[int, str]]
    figures: list[FigureRef] = field(default_factory=list)
    images: list[ImageRef] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)  # ids given so far
    raw_html: bool = False
    empty: list[int] = field(default_factory=list)  # indexes of the empty headings' opening tokens

    def author_html(self, html: str, line: int) -> None:
        """The author's HTML is in the chapter: its `<img>`s are the chapter's images too."""
        self.raw_html = True
        self.images.extend(ImageRef(src=src, path=self.path, line=at, alt=alt, label=self.label) for src, alt, at in _raw_images(html, line))


def parse(path: Path, source: str, body_line: int, doc_id: str, label: str) -> Parsed:
    """Parse a chapter body. `body_line` maps token lines back to the file."""
    warnings: list[tuple[int, str]] = []
    source = _title_block(source, body_line, warnings)
    env: dict[str, Any] = {"docId": doc_id}
    tokens = markdown_it().parse(source, env)
    _demote_headings(tokens)
    found = _Found(path, doc_id, label, warnings)
    for i, token in enumerate(tokens):
        line = body_line + (token.map[0] if token.map else 0)
        _block(token, line, found)
        if token.type == "heading_open":
            _heading(tokens, i, line, found)
        elif token.type == "inline":
            _inline(tokens, i, line, found)
    _uncalled_notes(env, source, body_line, found)
    tokens = [t for j, t in enumerate(tokens) if not any(j in range(k, k + 3) for k in found.empty)]
    return Parsed(path, doc_id, body_line, tuple(tokens), tuple(found.figures), tuple(found.images), tuple(found.headings),
                  found.raw_html, tuple(source.split("\n")), tuple(warnings))


def _uncalled_notes(env: dict[str, Any], source: str, body_line: int, found: _Found) -> None:
    """A note defined (`[^label]: …`) and never called is left out of both outputs, as
    mdit-py-plugins does: said at its definition's line. A call written in a figure's caption (the
    image's title, plain text) is no call: the warning says so."""
    refs = env.get("footnotes", {}).get("refs", {})
    captions = " ".join(f.caption for f in found.figures)
    for key, index in refs.items():
        if index != -1:
            continue
        label = key[1:]
        m = re.search(rf"^[ ]{{0,3}}\[\^{re.escape(label)}\]:", source, re.M)
        line = body_line + (source.count("\n", 0, m.start()) if m else 0)
        where = (" (a figure's caption is plain text: a note cannot be called there; call it in the text)"
                 if f"[^{label}]" in captions else "")
        found.warnings.append((line, f"note [^{label}] is never called; it is left out{where}"))


@lru_cache(maxsize=4096)
def notes_in(source: str) -> int:
    """How many notes a chapter's Markdown has, without rendering it (a preview numbering notes
    on through the book counts those of the chapters before)."""
    return count_notes(markdown_it().parse(source, {"docId": ""}))


def _block(token: Token, line: int, found: _Found) -> None:
    """A block token: a formula typeset (a ```math fence is one), a code block's language
    checked, a block of the author's HTML noted with its images."""
    if token.type == "fence" and token.info.strip().lower() == "math":
        token.type = "math_block"
    if token.type in MATH_TOKENS:
        _typeset(token, line, found.warnings)
    elif token.type == "fence":
        from ..code import known_language

        lang = fence_info(token.info).lang
        if lang and not known_language(lang):
            found.warnings.append((line, f"code block: unknown language '{lang}', set as plain text"))
    if token.type == "html_block":
        found.author_html(token.content, line)


def _heading(tokens: Sequence[Token], i: int, line: int, found: _Found) -> None:
    """A heading gets its id (its `{#id}`, else one made from its text); an empty one is left out."""
    token = tokens[i]
    text = tokens[i + 1].content
    had_attrs = bool(HEADING_ATTRS.search(tokens[i + 1].content))
    explicit = explicit_id(tokens[i + 1])
    if had_attrs:
        text = tokens[i + 1].content
    if explicit:
        found.taken.add(explicit)
    if not text.strip():
        found.warnings.append((line, "an empty heading was left out (a heading needs text: screen readers list every heading)"))
        found.empty.append(i)
        return
    hid = explicit or unique(f"{found.doc_id}-{slugify(text) or 'section'}", found.taken)
    token.attrSet("id", str(hid))
    found.headings.append(Heading(level=int(token.tag[1]), text=text, id=str(hid)))


def _inline(tokens: Sequence[Token], i: int, line: int, found: _Found) -> None:
    """A paragraph's (or heading's, cell's …) text: formulas, task boxes, the author's inline HTML
    and images, each at its own file line."""
    figure_here = is_figure(tokens, i - 1) if i else False
    solo = not figure_here and i and _alone(tokens, i - 1)
    for child, at in _inline_lines(tokens[i], line):
        if child.type in MATH_TOKENS:
            _typeset(child, at, found.warnings)
        if child.type == "html_inline":
            if child.content.startswith('<input class="task-list-item-checkbox"'):
                child.type, child.meta = "task_box", {"done": 'checked="checked"' in child.content}
                continue
            found.author_html(child.content, at)
        if child.type == "image":
            _image_ref(child, at, figure_here, bool(solo), found)


def _image_ref(child: Token, at: int, figure_here: bool, solo: bool, found: _Found) -> None:
    """An image: a figure when it stands alone in its paragraph, else set in the text (alone in a
    list item or a quote: `solo`); its attributes are read off it."""
    path = found.path
    src = str(child.attrGet("src") or "")
    alt = "".join(c.content for c in child.children or [])
    aspect = parse_aspect(path, at, child.attrs.pop("aspect", None))  # type: ignore[arg-type]
    pending = parse_art(path, at, child.attrs.pop("art", None))  # type: ignore[arg-type]
    declared = declared_size(path, at, child, found.warnings)
    if figure_here:
        fid = str(child.attrGet("id") or unique(f"{found.doc_id}-fig", found.taken))
        found.taken.add(fid)
        caption = str(child.attrGet("title") or "") or alt  # pandoc: no title, the alt text is the caption
        found.figures.append(FigureRef(id=fid, src=src, alt=alt, caption=caption, aspect=aspect, line=at))
    else:
        if declared:
            child.meta["size_decl"] = declared
        if solo:
            child.meta["solo"] = True
    found.images.append(ImageRef(src=src, path=path, line=at, alt=alt, label=found.label, aspect=aspect, pending=pending))


def is_figure(tokens: Sequence[Token], i: int) -> bool:
    if tokens[i].type != "paragraph_open" or tokens[i].level != 0 or i + 2 >= len(tokens):
        return False
    inline = tokens[i + 1]
    children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    return inline.type == "inline" and len(children) == 1 and children[0].type == "image"


def _alone(tokens: Sequence[Token], i: int) -> bool:
    """An image alone in a paragraph that is not a figure (in a list, a quote): set as a block."""
    if tokens[i].type != "paragraph_open" or i + 1 >= len(tokens):
        return False
    children = [c for c in tokens[i + 1].children or [] if not (c.type == "text" and not c.content.strip())]
    return len(children) == 1 and children[0].type == "image"


def _title_block(source: str, body_line: int, warnings: list[tuple[int, str]]) -> str:
    """A pandoc `% title` block is not read: the front matter gives the title. Its lines are kept
    blank (line numbers stay right) and named in a warning, so nothing disappears unseen."""
    m = _TITLE_BLOCK.match(source)
    if not m:
        return source
    lines = m.group(0).count("\n")
    warnings.append((body_line, f"a pandoc title block ('%' lines) is not read; the chapter's title comes from its front matter"
                                f" ('title:'); {lines} line{'s' if lines > 1 else ''} left out"))
    return "\n" * lines + source[m.end():]


def _inline_lines(inline: Token, line: int) -> list[tuple[Token, int]]:
    """Each child of an inline token with the file line it stands on."""
    out = []
    for child in inline.children or []:
        out.append((child, line))
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        else:
            line += child.content.count("\n") if child.type in ("text", "html_inline", "code_inline") else 0
    return out


def _raw_images(html: str, line: int) -> list[tuple[str, str, int]]:
    """(src, alt, line) of each `<img>` in the author's own HTML."""
    found = []
    for m in _RAW_IMG.finditer(html):
        attrs = {a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or "" for a in _RAW_ATTR.finditer(m.group(0))}
        if attrs.get("src"):
            found.append((attrs["src"], attrs.get("alt", ""), line + html.count("\n", 0, m.start())))
    return found


def _typeset(token: Token, line: int, warnings: list[tuple[int, str]]) -> None:
    """MathML for a formula token (cached by content), or a warning at its line."""
    from ..formula import FormulaError, to_mathml

    display = token.type != "math_inline"
    try:
        token.meta["mathml"] = to_mathml(token.content, display)
    except FormulaError as exc:
        warnings.append((line, f"{exc.message}; its TeX is printed as it is"))


def _demote_headings(tokens: Sequence[Token]) -> None:
    """Body headings nest under the chapter title (h1): the shallowest becomes h2, and none
    skips a level (a `###` after the title becomes h2, a `####` after an h2 becomes h3)."""
    levels = sorted({int(t.tag[1]) for t in tokens if t.type == "heading_open"})
    rank = {level: min(6, i + 2) for i, level in enumerate(levels)}
    previous = 1
    for i, t in enumerate(tokens):
        if t.type not in ("heading_open", "heading_close"):
            continue
        if t.type == "heading_open":
            level = min(rank[int(t.tag[1])], previous + 1)
            previous = level
            t.tag = f"h{level}"
            for close in tokens[i + 1:]:
                if close.type == "heading_close":
                    close.tag = t.tag
                    break
