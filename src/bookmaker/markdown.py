"""Markdown -> XHTML blocks, headings and image references. Pure: no file access.

Two steps, so images can be sized between them without parsing twice:
``parse()`` finds figures and images; ``render()`` turns the tokens into XHTML blocks.

An image alone in its paragraph is a figure: ``![alt](src "caption"){#id aspect="2:3"}``;
``art="pending"`` says its art is still to come (a placeholder, listed in the build summary).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.footnote import footnote_plugin

from .errors import ManuscriptError
from .model import Block, FigureBlock, FigureRef, Heading, HtmlBlock, Image, ImageRef
from .text import slugify, unique

_ASPECT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:/x]\s*(\d+(?:\.\d+)?)\s*$")


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


def _a(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return str(self.rules["footnote_anchor_name"](tokens, idx, options, env))


def _fn_name(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"{env['docId']}-{tokens[idx].meta['id'] + 1}"


def _refid(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """The id of one reference to a note; a note referenced twice gets `-1`, `-2` … suffixes."""
    ident = _a(self, tokens, idx, options, env)
    sub = tokens[idx].meta.get("subId", -1)
    return f"{ident}-{sub}" if sub > 0 else ident


def _fn_ref(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    ident = _a(self, tokens, idx, options, env)
    refid = _refid(self, tokens, idx, options, env)
    n = tokens[idx].meta["id"] + 1
    return (
        f'<a href="#fn-{ident}" id="fnref-{refid}" class="noteref" epub:type="noteref" '
        f'role="doc-noteref"><sup>{n}</sup></a>'
    )


def _fn_block_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return '<section class="footnotes" epub:type="endnotes" role="doc-endnotes">\n<ol>\n'


def _fn_block_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "</ol>\n</section>\n"


def _fn_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f'<li id="fn-{_a(self, tokens, idx, options, env)}">'  # epub:type endnote is deprecated (OPF-086b)


def _fn_anchor(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    refid = _refid(self, tokens, idx, options, env)
    return f' <a href="#fnref-{refid}" class="backlink" role="doc-backlink" aria-label="Back to text">\u21a9\ufe0e</a>'


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    image: Image = env["images"][token.attrGet("src")]
    alt = self.renderInlineAsText(token.children or [], options, env)
    return (
        f'<img src="{escape(image.href)}" alt="{escape(alt)}" '
        f'width="{image.width_px}" height="{image.height_px}" />'
    )


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    target, _, fragment = href.partition("#")
    chapter_href = env["chapters"].get(target)
    if chapter_href is not None:
        token.attrSet("href", chapter_href + (f"#{fragment}" if fragment else ""))
    return str(self.renderToken(tokens, idx, options, env))


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"xhtmlOut": True, "html": True, "typographer": True})
    md.enable(["table", "strikethrough", "replacements", "smartquotes"])
    md.use(footnote_plugin)
    md.use(attrs_plugin, after=("image",))
    md.add_render_rule("footnote_anchor_name", _fn_name)
    md.add_render_rule("footnote_ref", _fn_ref)
    md.add_render_rule("footnote_block_open", _fn_block_open)
    md.add_render_rule("footnote_block_close", _fn_block_close)
    md.add_render_rule("footnote_open", _fn_open)
    md.add_render_rule("footnote_anchor", _fn_anchor)
    md.add_render_rule("image", _image)
    md.add_render_rule("link_open", _link_open)
    return md


def _aspect(path: Path, line: int, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = _ASPECT.match(value)
    if not m or float(m.group(1)) <= 0 or float(m.group(2)) <= 0:
        raise ManuscriptError.at(path, line, f"aspect must look like '3:2' or '2:3', got {value!r}")
    w, h = float(m.group(1)), float(m.group(2))
    scale = 1000 if (w % 1 or h % 1) else 1
    return int(w * scale), int(h * scale)


def _art(path: Path, line: int, value: str | None) -> bool:
    """`art="pending"`: the image is still to come; its placeholder is expected, not warned about."""
    if value is None:
        return False
    if value.strip().lower() != "pending":
        raise ManuscriptError.at(path, line, f"art can only be \"pending\" (the image is still to come), got {value!r}")
    return True


def _is_raw_html(token: Token) -> bool:
    """The author's own HTML: a block of it, or inline tags in a paragraph."""
    return token.type == "html_block" or any(c.type == "html_inline" for c in token.children or [])


_HEADING_ID = re.compile(r"\s*\{#([A-Za-z][\w.-]*)\}\s*$")


def _explicit_id(inline: Token) -> str | None:
    """`## Title {#my-id}`: the id is taken off the heading's text and given to the heading."""
    m = _HEADING_ID.search(inline.content)
    children = inline.children or []
    if not m or not children or children[-1].type != "text" or not _HEADING_ID.search(children[-1].content):
        return None
    inline.content = inline.content[: m.start()]
    children[-1].content = _HEADING_ID.sub("", children[-1].content)
    return m.group(1)


def _is_figure(tokens: Sequence[Token], i: int) -> bool:
    if tokens[i].type != "paragraph_open" or tokens[i].level != 0 or i + 2 >= len(tokens):
        return False
    inline = tokens[i + 1]
    children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    return inline.type == "inline" and len(children) == 1 and children[0].type == "image"


def parse(path: Path, source: str, body_line: int, doc_id: str, label: str) -> Parsed:
    """Parse a chapter body. `body_line` maps token lines back to the file."""
    env: dict[str, Any] = {"docId": doc_id}
    tokens = _md().parse(source, env)
    figures: list[FigureRef] = []
    images: list[ImageRef] = []
    headings: list[Heading] = []
    taken: set[str] = set()
    raw_html = False
    for i, token in enumerate(tokens):
        if _is_raw_html(token):
            raw_html = True
        line = body_line + (token.map[0] if token.map else 0)
        if token.type == "heading_open":
            text = tokens[i + 1].content
            explicit = _explicit_id(tokens[i + 1])
            if explicit:
                text = tokens[i + 1].content
                taken.add(explicit)
            hid = explicit or unique(f"{doc_id}-{slugify(text) or 'section'}", taken)
            token.attrSet("id", str(hid))
            headings.append(Heading(level=int(token.tag[1]), text=text, id=str(hid)))
        if token.type != "inline":
            continue
        figure_here = _is_figure(tokens, i - 1) if i else False
        for child in token.children or []:
            if child.type != "image":
                continue
            src = str(child.attrGet("src") or "")
            alt = "".join(c.content for c in child.children or [])
            aspect = _aspect(path, line, child.attrs.pop("aspect", None))  # type: ignore[arg-type]
            pending = _art(path, line, child.attrs.pop("art", None))  # type: ignore[arg-type]
            if figure_here:
                fid = str(child.attrGet("id") or unique(f"{doc_id}-fig", taken))
                taken.add(fid)
                caption = str(child.attrGet("title") or "")
                figures.append(FigureRef(id=fid, src=src, alt=alt, caption=caption, aspect=aspect, line=line))
            images.append(ImageRef(src=src, path=path, line=line, alt=alt, label=label, aspect=aspect, pending=pending))
    return Parsed(path, doc_id, body_line, tuple(tokens), tuple(figures), tuple(images), tuple(headings), raw_html)


def render(
    parsed: Parsed,
    images: Mapping[str, Image],
    chapter_hrefs: Mapping[str, str],
    warn: Callable[[int, str], None] | None = None,
) -> tuple[Block, ...]:
    """Tokens -> XHTML blocks; figures stay structured for the layouts to place.

    Raw HTML in the source goes through the sanitiser; what it removes is reported to `warn`
    with the line of the block it came from.
    """
    md = _md()
    env = {"docId": parsed.doc_id, "images": images, "chapters": chapter_hrefs}
    tokens = list(parsed.tokens)
    figures = iter(parsed.figures)
    hrefs = {img.href for img in images.values()}
    blocks: list[Block] = []

    def html_block(part: list[Token]) -> None:
        html = md.renderer.render(part, md.options, env)
        if parsed.raw_html and any(_is_raw_html(t) for t in part):
            from .sanitize import clean

            cleaned = clean(html, hrefs)
            if cleaned.removed and warn is not None:
                line = next((t.map[0] for t in part if t.map and (t.type == "html_block" or t.type == "inline")), 0)
                warn(parsed_line(parsed, line), "raw HTML not allowed in a book was removed: " + ", ".join(cleaned.removed))
            html = cleaned.xhtml
        blocks.append(HtmlBlock(html))

    start = 0
    i = 0
    while i < len(tokens):
        if _is_figure(tokens, i):
            if i > start:
                html_block(tokens[start:i])
            blocks.append(FigureBlock(next(figures)))
            i += 3
            start = i
        else:
            i += 1
    if start < len(tokens):
        html_block(tokens[start:])
    return tuple(b for b in blocks if not isinstance(b, HtmlBlock) or b.html.strip())


def parsed_line(parsed: Parsed, body_index: int) -> int:
    """A body line index back to the file's line number."""
    return parsed.body_line + body_index
