"""How each kind of token is written as XHTML (note calls, inline images, formulas, code,
tables, task boxes, fenced divs, links between chapters), and the one markdown-it instance,
its plugins and these rules registered (`markdown_it`)."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any, Sequence

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

from ...core.model import Image
from ...core.text import WIDE_TABLE
from .attributes import ID_OK, FenceInfo, div_classes, fence_info
from .marks import (
    index_span,
    is_index_span,
    plain_span_open,
    xref_placeholder,
    xref_rule,
)
from .notes import note_id, ref_id

MATH_TOKENS = ("math_inline", "math_inline_double", "math_block", "math_block_label")
# Fenced divs (pandoc, Quarto): `::: note` or `::: {.warning #id}`. Callout kinds become asides.
_CALLOUTS = {"note", "tip", "warning", "caution", "important", "danger", "aside", "sidebar"}


def _fn_ref(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A note's call: its number (from `first_note`, the notes of the chapters before with
    note_numbers = "book"), linking to the note (notes.py renders the notes themselves). Set aside
    from the sanitiser, so the print layout finds it as written here (transform/notes)."""
    index = tokens[idx].meta["id"]
    ident = note_id(env["docId"], index)
    refid = ref_id(env["docId"], index, tokens[idx].meta.get("subId", 0))
    n = env.get("first_note", 1) + index
    return _trusted(env, f'<a href="#{ident}" id="{refid}" class="noteref" epub:type="noteref" '
                         f'role="doc-noteref"><sup>{n}</sup></a>')


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
        ident = f' id="{escape(token.info)}"' if token.type == "math_block_label" and ID_OK.match(token.info) else ""
        return _trusted(env, f'<div class="math-display"{ident}>{mathml}</div>\n')
    return _trusted(env, mathml)


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A code block, highlighted by its language (code.highlight): one span per line, so print can
    break long lines with a mark (code.wrap_for_print)."""
    from ..code import highlight

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


def _div(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting == -1:
        return f"</{token.meta.get('tag', 'div')}>\n"
    classes, ident = div_classes(token.info)
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


def _xref(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """`[@id]`: a placeholder link the book-wide pass names (transform/references.py)."""
    return _trusted(env, xref_placeholder(tokens[idx].meta["id"]))


def _span_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """`[text]{.index …}` is an index mark (marks.py); any other span keeps only its id, class,
    lang and dir (other key=value pairs are not XHTML attributes)."""
    token = tokens[idx]
    if is_index_span(token):
        token.meta["index"] = True
        _close_of(tokens, idx).meta["index"] = True
        return _trusted(env, index_span(tokens, idx, env))
    return plain_span_open(token)


def _span_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _trusted(env, "</span>") if tokens[idx].meta.get("index") else "</span>"


def _scene_break(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A thematic break (`***`, `---`) is a scene break: the book's ornament, centred
    (book.toml `scene_break`; book.css keeps it off a page's first and last line)."""
    ornament = escape(env.get("scene_break", "\u2042"), quote=False)
    return _trusted(env, f'<div class="scene-break" role="separator"><span aria-hidden="true">{ornament}</span></div>\n')


def _drop_cap(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A chapter's first letter as a drop cap (rendering._with_drop_cap)."""
    return _trusted(env, f'<span class="drop-cap">{escape(tokens[idx].content, quote=False)}</span>')


def _close_of(tokens: Sequence[Token], idx: int) -> Token:
    depth = 0
    for t in tokens[idx + 1:]:
        if t.type == "span_open":
            depth += 1
        elif t.type == "span_close":
            if depth == 0:
                return t
            depth -= 1
    return tokens[idx]


@lru_cache(maxsize=1)
def markdown_it() -> MarkdownIt:
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
    # {…} after images; pandoc's bracketed spans `[text]{.index term="…"}` (index marks: marks.py)
    md.use(attrs_plugin, after=("image",), spans=True)
    md.inline.ruler.before("link", "xref", xref_rule)  # [@id] cross-references
    md.add_render_rule("footnote_ref", _fn_ref)  # the notes themselves: notes.py
    md.add_render_rule("image", _image)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    md.add_render_rule("task_box", _task_box)
    md.add_render_rule("xref", _xref)
    md.add_render_rule("span_open", _span_open)
    md.add_render_rule("span_close", _span_close)
    for name in MATH_TOKENS:
        md.add_render_rule(name, _math)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("hr", _scene_break)
    md.add_render_rule("drop_cap", _drop_cap)
    md.add_render_rule("code_block", _fence)
    return md
