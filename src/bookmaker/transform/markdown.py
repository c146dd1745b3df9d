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
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from ..core.errors import ManuscriptError
from ..core.model import (
    Block,
    FigureBlock,
    FigureRef,
    Heading,
    HtmlBlock,
    Image,
    ImageRef,
)
from ..core.text import WIDE_TABLE, slugify, unique

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
    source_lines: tuple[str, ...] = ()  # the body's lines, to place raw-HTML warnings on the tag's own line
    warnings: tuple[tuple[int, str], ...] = ()  # (file line, message) found while parsing, reported by render()


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


def _trusted(env: Any, html: str) -> str:
    """HTML this renderer made, kept out of the raw-HTML sanitiser's way (see `render`).

    In a block that holds the author's own HTML, the sanitiser sees a marker element in its place;
    the HTML is put back after it, so what the renderer writes (MathML, highlighted code, sized
    images) is never stripped with a warning the author cannot act on.
    """
    stash = env.get("stash")
    if stash is None:
        return html
    stash.append(html)
    return f'<span class="{env["stash_key"]}-{len(stash) - 1}"></span>'


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """An image in running text (figures are placed by the layouts): scaled to the line, or to
    its declared size, never wider than the text (layouts/book.css `img.inline`)."""
    token = tokens[idx]
    image: Image = env["images"][token.attrGet("src")]
    alt = self.renderInlineAsText(token.children or [], options, env)
    kind = "solo" if token.meta.get("solo") else "inline"
    size = token.meta.get("size")
    if size:
        kind = "sized"
        width, height = size
    else:
        width, height = image.width_px, image.height_px
    return _trusted(env, f'<img class="{kind}" src="{escape(image.href)}" alt="{escape(alt)}" '
                         f'width="{width}" height="{height}" />')


_MATH_TOKENS = ("math_inline", "math_inline_double", "math_block", "math_block_label")


def _math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A formula: MathML made at parse time (formula.to_mathml), or, when it did not parse, its
    source set as code (warned at its line by parse)."""
    token = tokens[idx]
    block = token.type in ("math_block", "math_block_label")
    mathml = token.meta.get("mathml")
    if mathml is None:
        delim = "$$" if token.type != "math_inline" else "$"
        code = f'<code class="math-source">{escape(delim + token.content.strip() + delim)}</code>'
        return _trusted(env, f'<p class="math-display">{code}</p>\n' if block else code)
    if block:
        ident = f' id="{escape(token.info)}"' if token.type == "math_block_label" and _ID_OK.match(token.info) else ""
        return _trusted(env, f'<div class="math-display"{ident}>{mathml}</div>\n')
    return _trusted(env, mathml)


_ID_OK = re.compile(r"^[A-Za-z][\w.-]*$")


_FENCE_ATTRS = re.compile(r"\{([^}]*)\}\s*$")
_FENCE_KEY = re.compile(r"""([\w-]+)=(?:"([^"]*)"|'([^']*)'|(\S+))""")


@dataclass(frozen=True)
class FenceInfo:
    """What a code fence's info string asks for: ```python {#lst-1 .numberLines startFrom="10" caption="…"}"""

    lang: str | None = None
    ident: str | None = None
    numbered: bool = False
    first_line: int = 1
    caption: str | None = None


def fence_info(info: str) -> FenceInfo:
    """pandoc's and Quarto's fence attributes: `.lang` or a leading word, `#id`, `.numberLines`
    (or `linenos`, `number-lines`), `startFrom=`/`start-from=`, `caption=`/`title=`."""
    info = info.strip()
    attrs = ""
    if m := _FENCE_ATTRS.search(info):
        attrs, info = m.group(1), info[: m.start()].strip()
    words = info.split()
    lang = words[0].lstrip(".") if words else None
    ident = None
    numbered = False
    first = 1
    caption = None
    for key, v1, v2, v3 in _FENCE_KEY.findall(attrs):
        value = v1 or v2 or v3
        if key in ("startFrom", "start-from", "start") and value.isdigit():
            first, numbered = max(1, int(value)), True
        elif key in ("caption", "title", "lst-cap"):
            caption = value
    bare = _FENCE_KEY.sub(" ", attrs).split()
    for word in bare:
        if word.startswith("#") and _ID_OK.match(word[1:]):
            ident = word[1:]
        elif word in (".numberLines", ".number-lines", "numberLines", "linenos", ".linenos", "number-lines"):
            numbered = True
        elif word.startswith(".") and lang is None:
            lang = word[1:]
    return FenceInfo(lang or None, ident, numbered, first, caption)


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A code block, highlighted by its language (code.highlight): one span per line, so print can
    break long lines with a mark (code.wrap_for_print)."""
    from .code import highlight

    token = tokens[idx]
    info = fence_info(token.info) if token.type == "fence" else FenceInfo()
    return _trusted(env, highlight(token.content, info.lang, line_numbers=info.numbered, first_line=info.first_line,
                                   caption=info.caption, block_id=info.ident) + "\n")


def _table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    columns = 0
    for t in tokens[idx + 1:]:
        if t.type in ("th_open", "td_open"):
            columns += 1
        elif t.type == "tr_close":
            break
    if columns >= WIDE_TABLE:
        tokens[idx].attrJoin("class", "wide")
    return str(self.renderToken(tokens, idx, options, env))


def _cell_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Table column alignment as a class: a `style=` would be stripped in a chapter with raw HTML."""
    token = tokens[idx]
    style = str(token.attrGet("style") or "")
    if style.startswith("text-align:"):
        token.attrs.pop("style", None)
        token.attrJoin("class", f"align-{style.split(':', 1)[1].strip()}")
    return str(self.renderToken(tokens, idx, options, env))


def _task_box(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    done = tokens[idx].meta.get("done", False)
    label = "done" if done else "to do"
    return _trusted(env, f'<span class="task-box{" done" if done else ""}" role="img" aria-label="{label}"></span>')


# Fenced divs (pandoc, Quarto): `::: note` or `::: {.warning #id}`. Callout kinds become asides.
_CALLOUTS = {"note", "tip", "warning", "caution", "important", "danger", "aside", "sidebar"}
_DIV_ATTRS = re.compile(r"^\{(.*)\}$")


def _div_classes(info: str) -> tuple[list[str], str | None]:
    info = info.strip()
    m = _DIV_ATTRS.match(info)
    words = (m.group(1) if m else info).split()
    classes, ident = [], None
    for w in words:
        if w.startswith("#") and ident is None:
            ident = w[1:]
        elif w.startswith("."):
            classes.append(w[1:])
        elif "=" not in w and not m:
            classes.append(w)
    classes = [c.removeprefix("callout-") for c in classes if re.fullmatch(r"[A-Za-z][\w-]*", c)]
    return classes, ident if ident and re.fullmatch(r"[A-Za-z][\w.-]*", ident) else None


def _div(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting == -1:
        return f"</{token.meta.get('tag', 'div')}>\n"
    classes, ident = _div_classes(token.info)
    callout = next((c for c in classes if c in _CALLOUTS), None)
    tag = "aside" if callout else "div"
    token.meta["tag"] = tag
    # the closing token is found by nesting: remember the tag there too
    depth = 0
    for close in tokens[idx + 1:]:
        if close.type == token.type:
            depth += 1
        elif close.type == token.type.replace("_open", "_close"):
            if depth == 0:
                close.meta["tag"] = tag
                break
            depth -= 1
    attrs = f' id="{escape(ident)}"' if ident else ""
    if classes:
        attrs += f' class="{escape(" ".join(["callout"] * bool(callout) + classes))}"'
    if callout:
        attrs += ' role="note"'
    return f"<{tag}{attrs}>\n"


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
    md.use(deflist_plugin)  # pandoc definition lists: "Term" then ": definition"
    md.use(tasklists_plugin)  # "- [x] done"; the checkbox is re-rendered as a drawn box (_task_box)
    md.use(sub_plugin)  # H~2~O
    md.use(superscript_plugin)  # 2^10^
    md.use(container_plugin, name="div", validate=lambda params, *_: True, render=_div)  # ::: fenced divs
    # $…$ and $$…$$ as pandoc reads them: no space inside the dollars, no digit after the closing
    # one, so "$5 and $10" stays text; $$…$$ inside a paragraph is a display formula too.
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True, allow_labels=True)
    md.use(attrs_plugin, after=("image",))
    md.add_render_rule("footnote_anchor_name", _fn_name)
    md.add_render_rule("footnote_ref", _fn_ref)
    md.add_render_rule("footnote_block_open", _fn_block_open)
    md.add_render_rule("footnote_block_close", _fn_block_close)
    md.add_render_rule("footnote_open", _fn_open)
    md.add_render_rule("footnote_anchor", _fn_anchor)
    md.add_render_rule("image", _image)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    md.add_render_rule("task_box", _task_box)
    for name in _MATH_TOKENS:
        md.add_render_rule(name, _math)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _fence)
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


# pandoc's heading attributes: {#id}, {#id .class}, {.unnumbered}, {-}; key=value pairs are read past.
_HEADING_ATTRS = re.compile(r"\s*\{((?:\s*(?:#[A-Za-z][\w.-]*|\.[A-Za-z][\w-]*|-|[\w-]+=(?:\"[^\"]*\"|\S+)))+)\s*\}\s*$")


def _explicit_id(inline: Token) -> str | None:
    """`## Title {#my-id .unnumbered}`: the attributes are taken off the heading's text and the id
    given to the heading (headings are not numbered, so `.unnumbered` and `-` ask for what is done)."""
    m = _HEADING_ATTRS.search(inline.content)
    children = inline.children or []
    if not m or not children or children[-1].type != "text" or not _HEADING_ATTRS.search(children[-1].content):
        return None
    inline.content = inline.content[: m.start()]
    children[-1].content = _HEADING_ATTRS.sub("", children[-1].content)
    ident = next((w[1:] for w in re.findall(r"#[A-Za-z][\w.-]*", m.group(1))), None)
    return ident


def _is_figure(tokens: Sequence[Token], i: int) -> bool:
    if tokens[i].type != "paragraph_open" or tokens[i].level != 0 or i + 2 >= len(tokens):
        return False
    inline = tokens[i + 1]
    children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    return inline.type == "inline" and len(children) == 1 and children[0].type == "image"


_TITLE_BLOCK = re.compile(r"\A(?:%[^\n]*\n)+")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|in|cm|mm|pt)?\s*$")
_PX_PER = {"px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 96 / 72}
_RAW_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_RAW_ATTR = re.compile(r"""\s([a-zA-Z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _declared_size(path: Path, line: int, token: Token, warnings: list[tuple[int, str]]) -> tuple[float | None, float | None] | None:
    """`{width=… height=…}` on an image (pandoc's syntax): CSS pixels, or None where not given."""
    sides: list[float | None] = []
    for side in ("width", "height"):
        value = token.attrs.pop(side, None)
        if value is None:
            sides.append(None)
            continue
        m = _SIZE.match(str(value))
        if not m or float(m.group(1)) <= 0:
            warnings.append((line, f"image {side} {value!r} is not used: give it in px, in, cm, mm or pt (e.g. {side}=\"1.5in\")"))
            sides.append(None)
            continue
        sides.append(float(m.group(1)) * _PX_PER[m.group(2) or "px"])
    return None if sides == [None, None] else (sides[0], sides[1])


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
    from .formula import FormulaError, to_mathml

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


def parse(path: Path, source: str, body_line: int, doc_id: str, label: str) -> Parsed:
    """Parse a chapter body. `body_line` maps token lines back to the file."""
    warnings: list[tuple[int, str]] = []
    source = _title_block(source, body_line, warnings)
    env: dict[str, Any] = {"docId": doc_id}
    tokens = _md().parse(source, env)
    _demote_headings(tokens)
    figures: list[FigureRef] = []
    images: list[ImageRef] = []
    headings: list[Heading] = []
    taken: set[str] = set()
    raw_html = False
    empty: list[int] = []
    for i, token in enumerate(tokens):
        line = body_line + (token.map[0] if token.map else 0)
        if token.type == "fence" and token.info.strip().lower() == "math":
            token.type = "math_block"
        if token.type in _MATH_TOKENS:
            _typeset(token, line, warnings)
        elif token.type == "fence":
            from .code import known_language

            lang = fence_info(token.info).lang
            if lang and not known_language(lang):
                warnings.append((line, f"code block: unknown language '{lang}', set as plain text"))
        if token.type == "html_block":
            raw_html = True
            images.extend(ImageRef(src=src, path=path, line=at, alt=alt, label=label) for src, alt, at in _raw_images(token.content, line))
        if token.type == "heading_open":
            text = tokens[i + 1].content
            had_attrs = bool(_HEADING_ATTRS.search(tokens[i + 1].content))
            explicit = _explicit_id(tokens[i + 1])
            if had_attrs:
                text = tokens[i + 1].content
            if explicit:
                taken.add(explicit)
            if not text.strip():
                warnings.append((line, "an empty heading was left out (a heading needs text: screen readers list every heading)"))
                empty.append(i)
                continue
            hid = explicit or unique(f"{doc_id}-{slugify(text) or 'section'}", taken)
            token.attrSet("id", str(hid))
            headings.append(Heading(level=int(token.tag[1]), text=text, id=str(hid)))
        if token.type != "inline":
            continue
        figure_here = _is_figure(tokens, i - 1) if i else False
        solo = not figure_here and i and _alone(tokens, i - 1)
        for child, at in _inline_lines(token, line):
            if child.type in _MATH_TOKENS:
                _typeset(child, at, warnings)
            if child.type == "html_inline":
                if child.content.startswith('<input class="task-list-item-checkbox"'):
                    child.type, child.meta = "task_box", {"done": 'checked="checked"' in child.content}
                    continue
                raw_html = True
                images.extend(ImageRef(src=src, path=path, line=at, alt=alt, label=label) for src, alt, at in _raw_images(child.content, at))
            if child.type != "image":
                continue
            src = str(child.attrGet("src") or "")
            alt = "".join(c.content for c in child.children or [])
            aspect = _aspect(path, at, child.attrs.pop("aspect", None))  # type: ignore[arg-type]
            pending = _art(path, at, child.attrs.pop("art", None))  # type: ignore[arg-type]
            declared = _declared_size(path, at, child, warnings)
            if figure_here:
                fid = str(child.attrGet("id") or unique(f"{doc_id}-fig", taken))
                taken.add(fid)
                caption = str(child.attrGet("title") or "") or alt  # pandoc: no title, the alt text is the caption
                figures.append(FigureRef(id=fid, src=src, alt=alt, caption=caption, aspect=aspect, line=at))
            else:
                if declared:
                    child.meta["size_decl"] = declared
                if solo:
                    child.meta["solo"] = True
            images.append(ImageRef(src=src, path=path, line=at, alt=alt, label=label, aspect=aspect, pending=pending))
    tokens = [t for j, t in enumerate(tokens) if not any(j in range(k, k + 3) for k in empty)]
    return Parsed(path, doc_id, body_line, tuple(tokens), tuple(figures), tuple(images), tuple(headings), raw_html,
                  tuple(source.split("\n")), tuple(warnings))


def _alone(tokens: Sequence[Token], i: int) -> bool:
    """An image alone in a paragraph that is not a figure (in a list, a quote): set as a block."""
    if tokens[i].type != "paragraph_open" or i + 1 >= len(tokens):
        return False
    children = [c for c in tokens[i + 1].children or [] if not (c.type == "text" and not c.content.strip())]
    return len(children) == 1 and children[0].type == "image"


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


_BLOCK_START = re.compile(r"^\s*<(pre|figure|div|p)[\s>]")


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


def render(
    parsed: Parsed,
    images: Mapping[str, Image],
    chapter_hrefs: Mapping[str, str],
    warn: Callable[[int, str], None] | None = None,
    code_columns: int | None = None,
) -> tuple[Block, ...]:
    """Tokens -> XHTML blocks; figures stay structured for the layouts to place.

    Raw HTML in the source goes through the sanitiser; what it removes is reported to `warn`
    at the line of the tag or attribute. What this renderer writes itself is set aside while the
    sanitiser runs (`_trusted`), so it is never stripped.
    """
    from ..core.digest import content_name

    md = _md()
    env: dict[str, Any] = {"docId": parsed.doc_id, "images": images, "chapters": chapter_hrefs}
    for line, message in parsed.warnings:
        if warn is not None:
            warn(line, message)
    tokens = list(parsed.tokens)
    if code_columns and warn is not None:  # each block with lines too long for the printed page, once
        from .code import overlong_lines, wrap_warning

        for t in tokens:
            if t.type in ("fence", "code_block") and t.map:
                info = fence_info(t.info) if t.type == "fence" else FenceInfo()
                message = wrap_warning(overlong_lines(t.content, code_columns, line_numbers=info.numbered,
                                                      first_line=info.first_line), code_columns)
                if message:
                    warn(parsed_line(parsed, t.map[0]), message)
    for t in tokens:  # declared sizes of inline images, completed from the image's own aspect
        for child in t.children or []:
            decl = child.meta.get("size_decl") if child.type == "image" else None
            if decl and (img := images.get(str(child.attrGet("src")))) is not None:
                w, h = decl
                w = w if w is not None else h * img.width_px / img.height_px
                h = h if h is not None else w * img.height_px / img.width_px
                child.meta["size"] = (round(w), round(h))
    figures = iter(parsed.figures)
    blocks: list[Block] = []

    def html_block(part: list[Token]) -> None:
        if not (parsed.raw_html and any(_is_raw_html(t) for t in part)):
            blocks.append(HtmlBlock(md.renderer.render(part, md.options, env)))
            return
        from .sanitize import clean

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

        html = re.sub(r'<span class="' + key + r'-(\d+)( inline)?"\s*(?:/>|></span>)', put_back, cleaned.xhtml)
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
