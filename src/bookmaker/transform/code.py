"""Code blocks: Pygments highlighting to XHTML, the stylesheets for it, and wrapping for print.

Why a module of its own: a code block is the one place where the EPUB and the print book need
different shapes of the same text. The EPUB reflows, so long lines wrap inside the block by CSS;
the printed page is a fixed width, where a line that runs past the text block is lost, so
`wrap_for_print` breaks each long line at a known column and marks the continuation. Everything
here is pure (strings in, strings out) and deterministic, so it can sit in the Markdown stage
(`highlight`, `known_language`, `overlong_lines`) and in the print layout (`wrap_for_print`).

The markup `highlight` writes, and that the CSS of `stylesheet` and `block_css` styles::

    <figure class="listing" id="ID">                      (only with a caption)
      <figcaption>Caption</figcaption>
      <pre class="code [numbered]" data-lang="python"><code class="language-python">
        <span class="line"><span class="ln" aria-hidden="true" data-n=" 9"></span>...</span>
        ...one span.line per source line, joined by newlines...
      </code></pre>
    </figure>

Inside a line, tokens are `<span class="k">` and so on: Pygments' short class names
(`pygments.token.STANDARD_TYPES`). Line numbers are generated content (`.ln::before`, from
`data-n`), so they are never selected or copied with the code, and `aria-hidden` keeps screen
readers from reading them. `wrap_for_print` adds `<span class="cont" aria-hidden="true">` marks,
each holding the line break, the gutter's width of spaces and the mark itself.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from ..core.model import BookConfig
from ..core.resources import layouts_for
from ..core.xmledit import drop

Colour = Literal["rgb", "grey", "cmyk", "cmyk-grey"]
Target = Literal["epub", "print"]

STYLE = "default"
"""Pygments' default style: every token colour has at least 4.5:1 contrast on white (WCAG AA),
and it marks keywords bold and comments italic, so tokens stay apart once printed in grey."""

TAB_SIZE = 4
"""Tab stops in code: CSS `tab-size` in the EPUB, spaces in print (where columns are counted)."""

CODE_FONT_SCALE = 0.8
"""A code block's font size, relative to the text around it (the print body size in print)."""

MONO_ADVANCE_EM = 0.6
"""Advance width of every glyph of the print's monospace font, in em. Measured with fontTools on
Noto Sans Mono Regular (what `monospace` resolves to on these machines: 600/1000); DejaVu Sans
Mono gives 1233/2048 = 0.602 and Liberation Mono 1229/2048 = 0.600. `font_advance_em` measures
a shipped font."""

CONTINUATION_MARK = "\u2192"
"""→: Charis SIL, Noto Sans Mono, DejaVu Sans Mono and Liberation Mono all have it (↪ is only in
DejaVu), so the mark never falls back to another font and stays one column wide."""

MARK_COLUMNS = 2  # the mark and one space
BREAK_LOOKBACK = 15  # columns back from the edge where a break after a space or punctuation is preferred

_PLAIN = frozenset({"text", "plain", "plaintext", "txt", "none", "nohighlight"})
_BREAK_AFTER = frozenset(" ,;:.)]}>([{</\\|&=+-*%!?^~@#$")
_GREY_UI = "666666"  # line numbers and continuation marks (5.7:1 on white)
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
_PRE = re.compile(r"<pre\b.*?</pre>", re.S)
_VOID = frozenset({"br", "img", "hr", "wbr"})  # HTML's empty elements stay <br/>


# -- Languages ----------------------------------------------------------------------------------


def _lang_name(lang: str | None) -> str | None:
    """A fence's language as looked up: the first word, lower-case; None when there is none."""
    words = _XML_INVALID.sub("", lang or "").split()
    return words[0].lower() if words else None


@lru_cache(maxsize=256)
def _lexer(name: str) -> Lexer | None:
    """The lexer for a name, or None for a plain-text or unknown name.

    `stripnl=False` keeps a block's leading and trailing blank lines, `tabsize=0` keeps tabs (the
    EPUB copies them; print expands them), `ensurenl` gives every line its newline.
    """
    if name in _PLAIN:
        return None
    try:
        return get_lexer_by_name(name, stripnl=False, stripall=False, ensurenl=True, tabsize=0)
    except ClassNotFound:
        return None


def known_language(lang: str | None) -> bool:
    """False only for a language name that Pygments does not know: the caller warns at the fence.

    No language, and the plain-text names (text, txt, plain, plaintext, none, nohighlight), are
    known: they are plain on purpose.
    """
    name = _lang_name(lang)
    return name is None or name in _PLAIN or _lexer(name) is not None


# -- Source lines and widths --------------------------------------------------------------------


def source_lines(source: str) -> list[str]:
    """A block's lines as they are set: newlines normalised, characters XML cannot carry replaced
    by U+FFFD, the one final newline of a fenced block dropped. Splits on newlines only (not on
    form feed or U+2028, as `str.splitlines` would)."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    text = _XML_INVALID.sub("\ufffd", text)
    return text.removesuffix("\n").split("\n")


def _char_width(ch: str) -> int:
    """Columns a character takes in a monospace font: 0 for combining and format characters,
    2 for East Asian wide ones (their fallback glyphs are about 1.7 columns), else 1."""
    if " " <= ch <= "~":
        return 1
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width(text: str) -> int:
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _expand_tabs(text: str, column: int = 0) -> tuple[str, int]:
    """`text` with tabs as spaces to the next stop, starting at `column`; and the column after it."""
    if "\t" not in text:
        return text, column + _width(text)
    out = []
    for ch in text:
        if ch == "\t":
            spaces = TAB_SIZE - column % TAB_SIZE
            out.append(" " * spaces)
            column += spaces
        else:
            out.append(ch)
            column += _char_width(ch)
    return "".join(out), column


def _gutter_digits(first_line: int, count: int) -> int:
    return max(len(str(first_line)), len(str(first_line + max(count, 1) - 1)))


# -- Highlighting -------------------------------------------------------------------------------


def _css_class(ttype: Any) -> str:
    """Pygments' short class of a token type, or of its nearest standard ancestor (so a lexer's own
    subtype is styled like its parent); '' for plain text and whitespace, which get no span."""
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    cls = STANDARD_TYPES[ttype]
    return "" if cls == "w" else cls


def _plain_lines(lines: list[str]) -> list[list[tuple[str, str]]]:
    return [[("", line)] if line else [] for line in lines]


def _token_lines(lines: list[str], lexer: Lexer | None) -> list[list[tuple[str, str]]]:
    """Each line as (class, text) runs. Falls back to plain text if the lexer's tokens do not add
    up to the source (a lexer that drops or adds text would otherwise lose characters)."""
    if lexer is None:
        return _plain_lines(lines)
    text = "\n".join(lines) + "\n"
    tokens = list(lexer.get_tokens(text))
    if "".join(value for _, value in tokens) != text:
        return _plain_lines(lines)
    out: list[list[tuple[str, str]]] = [[]]
    for ttype, value in tokens:
        cls = _css_class(ttype)
        for i, part in enumerate(value.split("\n")):
            if i:
                out.append([])
            if part:
                out[-1].append((cls, part))
    return out[: len(lines)]


def _append_text(parent: etree._Element, text: str) -> None:
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _line_element(runs: Sequence[tuple[str, str]], number: str | None) -> etree._Element:
    line = etree.Element("span", {"class": "line"})
    if number is not None:
        etree.SubElement(line, "span", {"class": "ln", "aria-hidden": "true", "data-n": number})
    span: etree._Element | None = None
    for cls, text in runs:
        if not cls:
            _append_text(line, text)
            span = None
        elif span is not None and span.get("class") == cls and not span.tail:
            span.text = (span.text or "") + text
        else:
            span = etree.SubElement(line, "span", {"class": cls})
            span.text = text
    return line


def _serialise(element: etree._Element) -> str:
    """XHTML that html5lib (WeasyPrint's parser) reads the same way: no `<span/>`, which it would
    take for an opening tag swallowing the rest of the block."""
    for el in element.iter():
        if el.text is None and not len(el) and el.tag not in _VOID:
            el.text = ""
    return etree.tostring(element, encoding="unicode")


def highlight(
    source: str,
    lang: str | None,
    *,
    line_numbers: bool = False,
    first_line: int = 1,
    caption: str | None = None,
    block_id: str | None = None,
) -> str:
    """A fenced block as XHTML: `<pre class="code">`, one `span.line` per source line.

    An unknown or missing language gives plain (escaped) text; ask `known_language` to warn.
    With `caption`, the block is a `<figure class="listing">` with that caption (plain text) and
    `block_id` on the figure; without, `block_id` goes on the `pre`.
    """
    name = _lang_name(lang)
    lexer = _lexer(name) if name else None
    lines = source_lines(source)
    pre = etree.Element("pre", {"class": "code numbered" if line_numbers else "code"})
    if name:
        pre.set("data-lang", lexer.aliases[0] if lexer is not None and lexer.aliases else name)
    code = etree.SubElement(pre, "code", {"class": f"language-{name}"} if name else {})
    digits = _gutter_digits(first_line, len(lines))
    if line_numbers:
        pre.set("data-digits", str(digits))  # the EPUB's hanging indent is as wide as the gutter
    previous: etree._Element | None = None
    for i, runs in enumerate(_token_lines(lines, lexer)):
        number = str(first_line + i).rjust(digits) if line_numbers else None
        line = _line_element(runs, number)
        if previous is not None:
            previous.tail = "\n"  # the newline between two lines is the code's text, not a line's
        code.append(line)
        previous = line
    block_id = _XML_INVALID.sub("", block_id) if block_id else None
    if caption is None:
        if block_id:
            pre.set("id", block_id)
        return _serialise(pre)
    figure = etree.Element("figure", {"class": "listing"})
    if block_id:
        figure.set("id", block_id)
    etree.SubElement(figure, "figcaption").text = _XML_INVALID.sub("\ufffd", caption)
    figure.append(pre)
    return _serialise(figure)


# -- Stylesheets --------------------------------------------------------------------------------


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    if not re.fullmatch(r"[0-9a-fA-F]{6}", h):
        raise ValueError(f"not a hex colour: {hex_colour!r}")
    return int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _encoded(y: float) -> float:
    return 12.92 * y if y <= 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055


def luminance(hex_colour: str) -> float:
    """Relative luminance (sRGB, WCAG 2): what a grey must match to read as light or dark."""
    r, g, b = _rgb(hex_colour)
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def _grey(hex_colour: str) -> float:
    """The sRGB grey level (0 black, 1 white) of the same luminance."""
    return _encoded(luminance(hex_colour))


def _num(x: float) -> str:
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def css_colour(hex_colour: str, colour: Colour) -> str:
    """A style's colour written for one colouring of the book.

    rgb: as is. grey: the grey of the same luminance. cmyk: `device-cmyk()` by the naive
    conversion (K = 1 - max(R, G, B)), so a neutral grey is K alone. cmyk-grey: K alone for the
    grey of the same luminance (a black-and-white interior of a CMYK printer).
    """
    if colour == "rgb":
        r, g, b = (round(c * 255) for c in _rgb(hex_colour))
        return f"#{r:02x}{g:02x}{b:02x}"
    if colour == "grey":
        v = round(_grey(hex_colour) * 255)
        return f"#{v:02x}{v:02x}{v:02x}"
    if colour == "cmyk-grey":
        return f"device-cmyk(0 0 0 {_num(1 - _grey(hex_colour))})"
    if colour == "cmyk":
        r, g, b = _rgb(hex_colour)
        k = 1 - max(r, g, b)
        if k >= 1:
            return "device-cmyk(0 0 0 1)"
        c, m, y = ((1 - x - k) / (1 - k) for x in (r, g, b))
        return f"device-cmyk({_num(c)} {_num(m)} {_num(y)} {_num(k)})"
    raise ValueError(f"unknown colouring {colour!r}: rgb, grey, cmyk or cmyk-grey")


def _declarations(spec: dict[str, Any], colour: Colour) -> list[str]:
    out = []
    if spec["color"]:
        out.append(f"color: {css_colour(spec['color'], colour)}")
    if spec["bgcolor"]:
        out.append(f"background-color: {css_colour(spec['bgcolor'], colour)}")
    if spec["bold"]:
        out.append("font-weight: bold")
    if spec["italic"]:
        out.append("font-style: italic")
    if spec["underline"]:
        out.append("text-decoration: underline")
    return out  # a style's `border` (Error tokens) is left out: no red boxes in a book


def stylesheet(colour: Colour, *, style: str = STYLE, panel: bool = False) -> str:
    """The token colours of a Pygments style for one colouring, and the colour of line numbers
    and continuation marks. All of the colour is here; `block_css` has none.

    `colour`: "rgb" (EPUB, RGB print), "grey" (a black-and-white interior: each colour the grey
    of the same luminance; bold and italic kept), "cmyk" (a CMYK printer: `device-cmyk()` only,
    which WeasyPrint reads but e-readers do not: never give it to the EPUB), "cmyk-grey" (a
    black-and-white interior of a CMYK printer: `device-cmyk(0 0 0 k)`). `panel` gives the block
    the style's background and a black text colour (for the EPUB: a reader's night mode then
    still shows dark code on a light panel, never dark on dark).
    """
    css_colour("000000", colour)  # refuses an unknown colouring up front
    pygments_style = get_style_by_name(style)
    rules = [f"/* bookmaker.code: Pygments style {style!r}, {colour} */"]
    if panel:
        background = css_colour(pygments_style.background_color, colour)
        rules.append(f"pre.code {{ color: {css_colour('000000', colour)}; background-color: {background}; }}")
    by_class: dict[str, list[str]] = {}
    for ttype, spec in pygments_style:
        cls = STANDARD_TYPES.get(ttype, "")
        if cls and cls != "w":
            declarations = _declarations(spec, colour)
            if declarations:
                by_class[cls] = declarations
    rules.extend(f"pre.code .{cls} {{ {'; '.join(by_class[cls])}; }}" for cls in sorted(by_class))
    rules.append(f"pre.code .ln, pre.code .cont {{ color: {css_colour(_GREY_UI, colour)}; }}")
    return "\n".join(rules) + "\n"


_COMMON_CSS = f"""\
pre.code {{ font-family: {{mono}}; font-size: {CODE_FONT_SCALE}em; line-height: 1.35; text-align: left;
  text-indent: 0; hyphens: manual; tab-size: {TAB_SIZE}; margin: 0.8em 0; white-space: pre-wrap;
  overflow-wrap: anywhere; }}
pre.code > code {{ font-family: inherit; font-size: inherit; white-space: inherit; }}
pre.code .ln::before {{ content: attr(data-n) " "; }}
pre.code .cont {{ font-style: normal; font-weight: normal; text-decoration: none; }}
figure.listing {{ text-align: left; margin: 0.8em 0; break-inside: auto; page-break-inside: auto; }}
figure.listing > figcaption {{ text-align: left; margin: 0 0 0.4em; max-width: none; break-after: avoid; page-break-after: avoid; }}
figure.listing > pre.code {{ margin: 0; }}
"""

_EPUB_CSS = f"""\
/* E-readers reflow: a long line wraps inside the block (old readers: word-wrap). */
pre.code {{ word-wrap: break-word; -epub-hyphens: manual; -webkit-hyphens: manual; -moz-tab-size: {TAB_SIZE}; padding: 0.5em 0.75em; }}
pre.code .ln {{ -webkit-user-select: none; user-select: none; }}
/* Each line a full-width box: a line the reader wraps hangs {MARK_COLUMNS} columns past the code (and the
   gutter). Copying still gives one newline a line: the newlines are the text between the boxes. */
pre.code .line {{ display: inline-block; width: 100%; box-sizing: border-box; vertical-align: top;
  padding-left: {MARK_COLUMNS}ch; text-indent: -{MARK_COLUMNS}ch; }}
""" + "".join(
    f'pre.code[data-digits="{d}"] .line {{ padding-left: {d + 1 + MARK_COLUMNS}ch; text-indent: -{d + 1 + MARK_COLUMNS}ch; }}\n'
    for d in range(1, 7)
)

_PRINT_CSS = """\
/* Print: wrap_for_print has broken every long line with a mark; pre-wrap only catches what a
   narrower box (a list, a quotation) still overflows. Long blocks may break across pages. */
pre.code { orphans: 3; widows: 3; }
"""


def block_css(target: Target, *, mono_family: str = "monospace") -> str:
    """The layout of code blocks for one target: font, wrapping, gutter, marks, listings. No colour.

    `mono_family` is the CSS font-family list of the code font: the generic `monospace` is
    whatever fontconfig picks on the machine, so a print book should name (or ship) one."""
    if target not in ("epub", "print"):
        raise ValueError(f"unknown target {target!r}: epub or print")
    common = _COMMON_CSS.replace("{mono}", mono_family)
    return common + (_EPUB_CSS if target == "epub" else _PRINT_CSS)


# -- Print wrapping -----------------------------------------------------------------------------


def print_columns(text_width_in: float, font_size_pt: float, advance_em: float) -> int:
    """How many monospace columns fit the text width: the `columns` of `wrap_for_print`."""
    if text_width_in <= 0 or font_size_pt <= 0 or advance_em <= 0:
        raise ValueError("text width, font size and advance must be positive")
    return max(1, math.floor(text_width_in * 72 / (font_size_pt * advance_em) + 1e-9))


def font_advance_em(font_file: Path, char: str = "0") -> float:
    """The advance width of `char` in a font file, in em (fontTools, which WeasyPrint requires)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(font_file), lazy=True) as font:
        glyph = font.getBestCmap()[ord(char)]
        return float(font["hmtx"][glyph][0]) / float(font["head"].unitsPerEm)


def overlong_lines(source: str, columns: int, *, line_numbers: bool = False, first_line: int = 1) -> list[int]:
    """0-based indexes of the lines of `source` that `wrap_for_print` breaks at `columns` (with
    the same `line_numbers` and `first_line` given to `highlight`)."""
    lines = source_lines(source)
    gutter = _gutter_digits(first_line, len(lines)) + 1 if line_numbers else 0
    budget = max(1, columns - gutter)
    return [i for i, line in enumerate(lines) if _width(_expand_tabs(line)[0].rstrip()) > budget]


def wrap_warning(overlong: Sequence[int], columns: int) -> str | None:
    """The one warning for a block with long lines (at the fence's line), or None."""
    if not overlong:
        return None
    n = len(overlong)
    what = "1 line is" if n == 1 else f"{n} lines are"
    return (f"code block: {what} longer than the {columns} characters a printed line holds and "
            f"{'wraps' if n == 1 else 'wrap'} with a {CONTINUATION_MARK} mark (first: line {overlong[0] + 1} of the block)")


def _classes(el: etree._Element) -> list[str]:
    return (el.get("class") or "").split() if isinstance(el.tag, str) else []


def _is_mark(el: etree._Element) -> bool:
    return "cont" in _classes(el) or "ln" in _classes(el)


def _slots(line: etree._Element) -> list[tuple[etree._Element, str]]:
    """The line's text places in reading order: (element, "text" or "tail"), leaving out the text
    of line numbers and marks (their tails are code)."""
    slots: list[tuple[etree._Element, str]] = []

    def visit(el: etree._Element) -> None:
        slots.append((el, "text"))
        for child in el:
            if isinstance(child.tag, str) and not _is_mark(child):
                visit(child)
            slots.append((child, "tail"))

    visit(line)
    return slots


def _get(slot: tuple[etree._Element, str]) -> str:
    return getattr(slot[0], slot[1]) or ""


def _set(slot: tuple[etree._Element, str], text: str) -> None:
    setattr(slot[0], slot[1], text or None)


def _remove_marks(line: etree._Element) -> bool:
    """Takes out the marks of an earlier wrap, so wrapping again at other columns is right."""
    marks = [el for el in line.iter("span") if "cont" in _classes(el)]
    for mark in marks:
        parent, previous = mark.getparent(), mark.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + (mark.tail or "")
        else:
            parent.text = (parent.text or "") + (mark.tail or "")
        parent.remove(mark)
    return bool(marks)


def _expand_line_tabs(line: etree._Element) -> bool:
    column, changed = 0, False
    for slot in _slots(line):
        text = _get(slot)
        expanded, column = _expand_tabs(text, column)
        if expanded != text:
            _set(slot, expanded)
            changed = True
    return changed


def _preferred_break(text: str, start: int, limit: int) -> int:
    """Where a visual line that must end by `limit` ends: after the last space or punctuation in
    the last BREAK_LOOKBACK columns (not before a space), else at `limit`."""
    back, k = 0, limit
    while k > start + 1 and back < BREAK_LOOKBACK:
        if text[k - 1] in _BREAK_AFTER and not text[k].isspace() and _char_width(text[k]):
            return k
        k -= 1
        back += _char_width(text[k])
    return limit


def _break_points(text: str, first: int, rest: int) -> list[int]:
    """Offsets in `text` where continuations start: the first visual line holds `first` columns,
    each continuation `rest`. Trailing whitespace never forces a break."""
    end = len(text.rstrip())
    if _width(text[:end]) <= first:
        return []
    points: list[int] = []
    start, budget = 0, max(1, first)
    while True:
        i, column = start, 0
        while i < end and column + _char_width(text[i]) <= budget:
            column += _char_width(text[i])
            i += 1
        if i >= end:
            return points
        if i == start:  # one character wider than the line: it goes alone
            i += 1
            while i < end and not _char_width(text[i]):
                i += 1
            if i >= end:
                return points
        start = _preferred_break(text, start, i)
        points.append(start)
        budget = max(1, rest)


def _mark(gutter: int, glyph: str) -> etree._Element:
    mark = etree.Element("span", {"class": "cont", "aria-hidden": "true"})
    mark.text = "\n" + " " * gutter + glyph + " "
    return mark


def _insert_mark(line: etree._Element, offset: int, gutter: int, glyph: str) -> None:
    position = 0
    for slot in _slots(line):
        text = _get(slot)
        if position <= offset < position + len(text):
            i = offset - position
            mark = _mark(gutter, glyph)
            mark.tail = text[i:]
            _set(slot, text[:i])
            el, attr = slot
            if attr == "text":
                el.insert(0, mark)
            else:
                parent = el.getparent()
                parent.insert(parent.index(el) + 1, mark)
            return
        position += len(text)
    raise AssertionError(f"offset {offset} is past the line's text")


def _gutter(line: etree._Element) -> int:
    for el in line:
        if "ln" in _classes(el):
            return len(el.get("data-n") or "") + 1
    return 0


def _wrap_line(line: etree._Element, columns: int, glyph: str) -> bool:
    changed = _remove_marks(line)
    changed = _expand_line_tabs(line) or changed
    gutter = _gutter(line)
    text = "".join(_get(slot) for slot in _slots(line))
    points = _break_points(text, columns - gutter, columns - gutter - MARK_COLUMNS)
    for offset in reversed(points):
        _insert_mark(line, offset, gutter, glyph)
    return changed or bool(points)


def _code_block(segment: str) -> etree._Element | None:
    """The `pre.code` element `segment` is, or None: not ours (say, inside a comment)."""
    try:
        pre = etree.fromstring(segment, _PARSER)
    except etree.XMLSyntaxError:
        return None
    return pre if pre.tag == "pre" and "code" in _classes(pre) else None


def _wrap_pre(pre: etree._Element, columns: int, glyph: str) -> bool:
    """Every long line of `pre` broken at `columns`, in place; whether anything changed."""
    lines = [el for el in pre.iter("span") if "line" in _classes(el)]
    return any([_wrap_line(line, columns, glyph) for line in lines])


def _wrap_block(segment: str, columns: int, glyph: str) -> str:
    pre = _code_block(segment)
    if pre is None:
        return segment  # left as it is
    return _serialise(pre) if _wrap_pre(pre, columns, glyph) else segment


def wrap_for_print(xhtml: str, columns: int, *, mark: str = CONTINUATION_MARK) -> str:
    """`xhtml` (a fragment or a whole page) with every long line of every `pre.code` broken at
    `columns`, each continuation starting with a mark; tabs become spaces.

    The break goes after a space or punctuation within the last BREAK_LOOKBACK columns where
    there is one. Highlight spans are kept whole: a mark is put inside the span it cuts. Only the
    `pre.code` blocks are re-serialised; the rest of `xhtml` is returned byte for byte. Wrapping
    again (at the same or other columns) replaces the earlier marks. `mark` is one character
    one column wide in the code font (↪ once the book ships DejaVu Sans Mono, which has it).
    """
    _check_wrap(columns, mark)
    if "<pre" not in xhtml:
        return xhtml
    return _PRE.sub(lambda m: _wrap_block(m.group(0), columns, mark), xhtml)


def _check_wrap(columns: int, mark: str) -> None:
    if columns < 1:
        raise ValueError("columns must be at least 1")
    if len(mark) != 1 or _char_width(mark) != 1:
        raise ValueError(f"the continuation mark must be one narrow character, got {mark!r}")


# -- Print: as few boxes as the look needs ------------------------------------------------------


@lru_cache(maxsize=16)
def print_styles(colour: Colour, style: str = STYLE) -> dict[str, tuple[str, ...]]:
    """Each token class that `stylesheet(colour, style=style)` gives a rule, and its declarations."""
    css_colour("000000", colour)
    styles: dict[str, tuple[str, ...]] = {}
    for ttype, spec in get_style_by_name(style):
        cls = STANDARD_TYPES.get(ttype, "")
        if cls and cls != "w":
            declarations = _declarations(spec, colour)
            if declarations:
                styles[cls] = tuple(declarations)
    return styles


def _flatten_block(pre: etree._Element, styles: dict[str, tuple[str, ...]]) -> None:
    """Print's shape of a highlighted block: the same text and the same look in fewer boxes.

    WeasyPrint lays out and draws every span as an inline box of its own, and a highlighted
    line is a dozen of them: the `span.line` wrappers (styled only in the EPUB), the tokens the
    print colours leave unstyled (names, punctuation) and runs of tokens printed alike (in grey,
    a keyword and a builtin), with only spaces between them, cost layout time and add nothing.
    Line numbers and marks stay."""
    for el in list(pre.iter("span")):
        classes = _classes(el)
        if "ln" in classes or "cont" in classes:
            continue
        if "line" in classes or not any(c in styles for c in classes):
            drop(el, unwrap=True)
    for parent in list(pre.iter()):
        previous: etree._Element | None = None
        for el in list(parent):
            classes = _classes(el)
            look = styles.get(classes[0]) if len(classes) == 1 and el.tag == "span" else None
            between = previous.tail or "" if previous is not None else ""
            if (look is not None and previous is not None and styles.get(_classes(previous)[0]) == look
                    and (not between or (between.isspace() and "\n" not in between
                                         and not any(d.startswith("text-decoration") for d in look)))):
                joined = between + (el.text or "")  # spaces between two runs alike: the same width in a monospace font
                if len(previous):
                    previous[-1].tail = (previous[-1].tail or "") + joined
                else:
                    previous.text = (previous.text or "") + joined
                for child in list(el):
                    previous.append(child)
                previous.tail = el.tail
                el.tail = None
                parent.remove(el)
                continue
            previous = el if look is not None else None


def _print_block(segment: str, columns: int, glyph: str, styles: dict[str, tuple[str, ...]]) -> str:
    pre = _code_block(segment)  # parsed once: wrapped, then flattened
    if pre is None:
        return segment
    _wrap_pre(pre, columns, glyph)
    _flatten_block(pre, styles)
    return _serialise(pre)


def for_print(xhtml: str, columns: int, colour: Colour, *, style: str = STYLE, mark: str = CONTINUATION_MARK) -> str:
    """Every `pre.code` of `xhtml` as the print layout gives it to WeasyPrint: long lines wrapped
    (`wrap_for_print`), then flattened to the boxes its print colours need (`_flatten_block`).
    The text, and so every word and copy of it, is the same as `wrap_for_print`'s; the rest of
    `xhtml` is returned byte for byte. Not for the EPUB, whose `.line` boxes carry the hanging
    indent of a wrapped line."""
    _check_wrap(columns, mark)
    if "<pre" not in xhtml:
        return xhtml
    styles = print_styles(colour, style)
    return _PRE.sub(lambda m: _print_block(m.group(0), columns, mark, styles), xhtml)


def code_columns(config: BookConfig, margin_inside: float | None = None) -> int:
    """Characters of code a printed line holds, with the gutter given (or the widest one the
    profile may need, for warnings made before the page count is known)."""
    p = config.print
    widest = p.profile.min_gutter(10**6) if p.profile.gutter else 0.0
    gutter = margin_inside if margin_inside is not None else max(p.margin_inside, widest)
    advance = _mono_advance(layouts_for(config).find("fonts/DejaVuSansMono.ttf"))  # the book's copy if it has one
    return print_columns(p.trim_width - p.margin_outside - gutter, p.font_size_pt * CODE_FONT_SCALE, advance)


@lru_cache(maxsize=4)
def _mono_advance(font: Path) -> float:
    return font_advance_em(font)
