"""Tokens -> XHTML blocks: figures kept structured for the layouts, the rest rendered, and a
run that holds the author's own HTML sanitised, with what was removed warned at its line."""

from __future__ import annotations

import copy
import re
from html import escape
from typing import Any, Callable, Iterator, Mapping, Sequence

from markdown_it.token import Token

from ...core.model import Block, FigureBlock, HtmlBlock, Image
from .attributes import FenceInfo, fence_info
from .notes import notes_block, split_notes
from .parsing import Parsed, is_figure
from .rules import markdown_it

_BLOCK_START = re.compile(r"^\s*<(pre|figure|div|p)[\s>]")


def render(
    parsed: Parsed,
    images: Mapping[str, Image],
    chapter_hrefs: Mapping[str, str],
    warn: Callable[[int, str], None] | None = None,
    code_columns: int | None = None,
    first_note: int = 1,
    scene_break: str = "\u2042",
    drop_cap: bool = False,
) -> tuple[Block, ...]:
    """Tokens -> XHTML blocks; figures stay structured for the layouts to place, and the notes
    are one last block (notes.py), numbered from `first_note`.

    Raw HTML in the source goes through the sanitiser; what it removes is reported to `warn`
    at the line of the tag or attribute. What this renderer writes itself is set aside while the
    sanitiser runs (`rules._trusted`), so it is never stripped.
    """
    env: dict[str, Any] = {"docId": parsed.doc_id, "images": images, "chapters": chapter_hrefs, "first_note": first_note,
                           "scene_break": scene_break}
    for line, message in parsed.warnings:
        if warn is not None:
            warn(line, message)
    tokens = list(parsed.tokens)
    if code_columns and warn is not None:  # each block with lines too long for the printed page, once
        _warn_overlong_code(parsed, tokens, code_columns, warn)
    _size_inline_images(tokens, images)
    if drop_cap:
        tokens = _with_drop_cap(tokens)
    text, notes = split_notes(tokens)
    figures = iter(parsed.figures)
    blocks: list[Block] = []
    for part in _runs(text):
        blocks.append(FigureBlock(next(figures)) if part is None else _html_block(parsed, part, env, warn))
    block = notes_block(notes, parsed.doc_id, first_note, lambda note: _html_block(parsed, note, env, warn).html)
    if block is not None:
        blocks.append(block)
    return tuple(b for b in blocks if not isinstance(b, HtmlBlock) or b.html.strip())


def parsed_line(parsed: Parsed, body_index: int) -> int:
    """A body line index back to the file's line number."""
    return parsed.body_line + body_index


def _warn_overlong_code(parsed: Parsed, tokens: Sequence[Token], code_columns: int, warn: Callable[[int, str], None]) -> None:
    """One warning for each code block with lines too long for the printed page (code.wrap_warning)."""
    from ..code import overlong_lines, wrap_warning

    for t in tokens:
        if t.type in ("fence", "code_block") and t.map:
            info = fence_info(t.info) if t.type == "fence" else FenceInfo()
            message = wrap_warning(overlong_lines(t.content, code_columns, line_numbers=info.numbered,
                                                  first_line=info.first_line), code_columns)
            if message:
                warn(parsed_line(parsed, t.map[0]), message)


def _size_inline_images(tokens: Sequence[Token], images: Mapping[str, Image]) -> None:
    """Declared sizes of inline images, completed from the image's own aspect."""
    for t in tokens:
        for child in t.children or []:
            decl = child.meta.get("size_decl") if child.type == "image" else None
            if decl and (img := images.get(str(child.attrGet("src")))) is not None:
                w, h = decl
                w = w if w is not None else h * img.width_px / img.height_px
                h = h if h is not None else w * img.height_px / img.width_px
                child.meta["size"] = (round(w), round(h))


_INITIAL = re.compile(r"^([\"'\u2018\u201c\u00ab\u201e(\[]*\w)", re.UNICODE)


def _with_drop_cap(tokens: list[Token]) -> list[Token]:
    """The chapter's first paragraph with its first letter (and the quotation mark before it) in
    a `drop_cap` token (book.toml lead_in = "drop-cap"; rules._drop_cap): a floated span, the
    same in both outputs. WeasyPrint sets a floated ::first-letter over the first line's text."""
    for i, token in enumerate(tokens):
        if token.type != "paragraph_open" or token.level != 0 or is_figure(tokens, i):
            continue
        inline = tokens[i + 1]
        children = list(inline.children or [])
        if not children or children[0].type != "text" or not (m := _INITIAL.match(children[0].content)):
            return tokens
        cap, rest = copy.copy(children[0]), copy.copy(children[0])
        cap.type, cap.content, rest.content = "drop_cap", m.group(1), children[0].content[m.end():]
        lead = copy.copy(inline)
        lead.children = [cap, rest, *children[1:]]
        return [*tokens[:i + 1], lead, *tokens[i + 2:]]
    return tokens


def _runs(tokens: list[Token]) -> Iterator[list[Token] | None]:
    """The runs of tokens between figures, in order, and None where each figure stands (its
    paragraph's three tokens)."""
    start = 0
    i = 0
    while i < len(tokens):
        if is_figure(tokens, i):
            if i > start:
                yield tokens[start:i]
            yield None
            i += 3
            start = i
        else:
            i += 1
    if start < len(tokens):
        yield tokens[start:]


def _html_block(parsed: Parsed, part: list[Token], env: dict[str, Any], warn: Callable[[int, str], None] | None) -> HtmlBlock:
    """A run of tokens as XHTML; one with the author's own HTML in it goes through the sanitiser."""
    md = markdown_it()
    if not (parsed.raw_html and any(_is_raw_html(t) for t in part)):
        return HtmlBlock(md.renderer.render(part, md.options, env))
    return HtmlBlock(_sanitised(parsed, part, env, warn))


def _sanitised(parsed: Parsed, part: list[Token], env: dict[str, Any], warn: Callable[[int, str], None] | None) -> str:
    """The run rendered with the renderer's own HTML set aside (`rules._trusted`), cleaned, what
    was removed warned at its lines, and the set-aside HTML put back."""
    from ...core.digest import content_name
    from ..sanitize import clean

    md = markdown_it()
    images: Mapping[str, Image] = env["images"]
    stash: list[str] = []
    key = "bm-keep-" + content_name("".join(t.content for t in part).encode("utf-8"), 12)
    html = md.renderer.render(part, md.options, {**env, "stash": stash, "stash_key": key})
    cleaned = clean(html, {img.href for img in images.values()}, images, keep=key)
    if cleaned.removed and warn is not None:
        raw = sorted({n for t in part if t.map and _is_raw_html(t) for n in range(t.map[0], t.map[1])})
        for at, items in sorted(_removed_lines(parsed, raw, cleaned.removed).items()):
            warn(parsed_line(parsed, at), "raw HTML not allowed in a book was removed: " + ", ".join(items))

    def put_back(m: re.Match[str]) -> str:
        kept = stash[int(m.group(1))]
        return _phrasing_form(kept) if m.group(2) else kept

    return re.sub(r'<span class="' + key + r'-(\d+)( inline)?"\s*(?:/>|></span>)', put_back, cleaned.xhtml)


def _is_raw_html(token: Token) -> bool:
    """The author's own HTML: a block of it, or inline tags in a paragraph."""
    return token.type == "html_block" or any(c.type == "html_inline" for c in token.children or [])


def _removed_lines(parsed: Parsed, candidates: Sequence[int], removed: Sequence[str]) -> dict[int, list[str]]:
    """The file lines each removed tag or attribute stands on: every line of the author's HTML
    (`candidates`, body line indexes) where it is written."""
    by_line: dict[int, list[str]] = {}
    lines = parsed.source_lines
    for item in removed:
        name = item.split(" ", 1)[0]
        if m := re.match(r"<img src='([^']*)'>", item):
            needle = re.compile(re.escape(m.group(1)))
        elif name.startswith("<"):
            needle = re.compile(r"<\s*" + re.escape(name.strip("<>").split("=")[0]) + r"\b", re.IGNORECASE)
        else:
            needle = re.compile(r"\s" + re.escape(name.rstrip("=")) + r"\s*=", re.IGNORECASE)
        found = [n for n in candidates if n < len(lines) and needle.search(lines[n])] or list(candidates[:1])
        for at in found:
            by_line.setdefault(at, []).append(item)
    return by_line


def _phrasing_form(html: str) -> str:
    """What the renderer made, fitted into phrasing content (the author's unclosed `<p>` or
    `<span>` has swallowed a block): a display formula becomes its `<math>`, a code block its text
    as `<code>` with line breaks. Nothing is lost; the EPUB stays valid."""
    if not _BLOCK_START.match(html):
        return html
    from lxml import etree

    root = etree.fromstring(html.strip().encode("utf-8"))
    math = next(root.iter("{http://www.w3.org/1998/Math/MathML}math"), None)
    if math is not None and root.get("class") == "math-display":
        return etree.tostring(math, encoding="unicode")
    lines = [("".join(line.itertext())) for line in root.iter("span") if line.get("class") == "line"]
    text = lines if lines else "".join(root.itertext()).split("\n")
    return '<code class="code-inline-block">' + "<br/>".join(escape(t, quote=False) for t in text) + "</code>"
