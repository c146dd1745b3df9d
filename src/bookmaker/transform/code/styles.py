"""The stylesheets of code blocks: the token colours of a Pygments style for each colouring of the
book (`stylesheet`, `css_colour`, `print_styles`) and the layout of blocks for each target
(`block_css`), which has no colour."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES

from .lines import TAB_SIZE
from .wrap import MARK_COLUMNS

Colour = Literal["rgb", "grey", "cmyk", "cmyk-grey"]
Target = Literal["epub", "print"]

STYLE = "default"
"""Pygments' default style: every token colour has at least 4.5:1 contrast on white (WCAG AA),
and it marks keywords bold and comments italic, so tokens stay apart once printed in grey."""

CODE_FONT_SCALE = 0.8
"""A code block's font size, relative to the text around it (the print body size in print)."""

_GREY_UI = "666666"  # line numbers and continuation marks (5.7:1 on white)


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
