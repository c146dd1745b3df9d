"""Code as the print layout gives it to WeasyPrint (`for_print`): wrapped, then flattened to the
few boxes its print colours need; and how many columns of code a printed line holds
(`print_columns`, `code_columns`, measured on the shipped monospace font)."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from lxml import etree

from ...core.model import BookConfig
from ...core.resources import layouts_for
from ...core.xmledit import drop
from .highlighting import _serialise
from .styles import CODE_FONT_SCALE, STYLE, Colour, print_styles
from .wrap import _PRE, CONTINUATION_MARK, _check_wrap, _classes, _code_block, _wrap_pre

# -- Print: as few boxes as the look needs ------------------------------------------------------


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


# -- Columns a printed line holds ---------------------------------------------------------------


MONO_ADVANCE_EM = 0.6
"""Advance width of every glyph of the print's monospace font, in em. Measured with fontTools on
Noto Sans Mono Regular (what `monospace` resolves to on these machines: 600/1000); DejaVu Sans
Mono gives 1233/2048 = 0.602 and Liberation Mono 1229/2048 = 0.600. `font_advance_em` measures
a shipped font."""


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
