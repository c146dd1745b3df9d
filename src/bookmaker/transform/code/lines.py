"""A code block's text as it is set: its source lines, tabs expanded to spaces, and the width of
text in monospace columns (wide East Asian characters two, combining marks none)."""

from __future__ import annotations

import re
import unicodedata

TAB_SIZE = 4
"""Tab stops in code: CSS `tab-size` in the EPUB, spaces in print (where columns are counted)."""

_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
