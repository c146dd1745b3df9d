"""Pygments highlighting to XHTML (`highlight`): a fence's language looked up, the source cut
into one ``span.line`` per line of token spans, serialised so that html5lib reads it the same."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from lxml import etree
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from .lines import _XML_INVALID, _gutter_digits, source_lines

_PLAIN = frozenset({"text", "plain", "plaintext", "txt", "none", "nohighlight"})
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
