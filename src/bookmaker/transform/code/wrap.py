"""Long code lines broken for the printed page (`wrap_for_print`): each line that runs past the
columns a printed line holds is cut after a space or punctuation near the edge, the continuation
marked; and the warning for a block whose lines wrap (`overlong_lines`, `wrap_warning`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree

from .highlighting import _serialise
from .lines import _char_width, _expand_tabs, _gutter_digits, _width, source_lines

CONTINUATION_MARK = "\u2192"
"""→: Charis SIL, Noto Sans Mono, DejaVu Sans Mono and Liberation Mono all have it (↪ is only in
DejaVu), so the mark never falls back to another font and stays one column wide."""

MARK_COLUMNS = 2  # the mark and one space
BREAK_LOOKBACK = 15  # columns back from the edge where a break after a space or punctuation is preferred

_BREAK_AFTER = frozenset(" ,;:.)]}>([{</\\|&=+-*%!?^~@#$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
_PRE = re.compile(r"<pre\b.*?</pre>", re.S)


# -- Print wrapping -----------------------------------------------------------------------------


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
