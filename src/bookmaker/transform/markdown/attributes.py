"""The attribute syntaxes of pandoc and Quarto that chapters use: an image's `{aspect="2:3"
art="pending" width="2in"}`, a heading's `{#id}`, a code fence's info string, a fenced div's classes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it.token import Token

from ...core.errors import ManuscriptError

_ASPECT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:/x]\s*(\d+(?:\.\d+)?)\s*$")
ID_OK = re.compile(r"^[A-Za-z][\w.-]*$")
_FENCE_ATTRS = re.compile(r"\{([^}]*)\}\s*$")
_FENCE_KEY = re.compile(r"""([\w-]+)=(?:"([^"]*)"|'([^']*)'|(\S+))""")
_DIV_ATTRS = re.compile(r"^\{(.*)\}$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|in|cm|mm|pt)?\s*$")
_PX_PER = {"px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 96 / 72}
# pandoc's heading attributes: {#id}, {#id .class}, {.unnumbered}, {-}; key=value pairs are read past.
HEADING_ATTRS = re.compile(r"\s*\{((?:\s*(?:#[A-Za-z][\w.-]*|\.[A-Za-z][\w-]*|-|[\w-]+=(?:\"[^\"]*\"|\S+)))+)\s*\}\s*$")


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
        if word.startswith("#") and ID_OK.match(word[1:]):
            ident = word[1:]
        elif word in (".numberLines", ".number-lines", "numberLines", "linenos", ".linenos", "number-lines"):
            numbered = True
        elif word.startswith(".") and lang is None:
            lang = word[1:]
    return FenceInfo(lang or None, ident, numbered, first, caption)


def div_classes(info: str) -> tuple[list[str], str | None]:
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


def parse_aspect(path: Path, line: int, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = _ASPECT.match(value)
    if not m or float(m.group(1)) <= 0 or float(m.group(2)) <= 0:
        raise ManuscriptError.at(path, line, f"aspect must look like '3:2' or '2:3', got {value!r}")
    w, h = float(m.group(1)), float(m.group(2))
    scale = 1000 if (w % 1 or h % 1) else 1
    return int(w * scale), int(h * scale)


def parse_art(path: Path, line: int, value: str | None) -> bool:
    """`art="pending"`: the image is still to come; its placeholder is expected, not warned about."""
    if value is None:
        return False
    if value.strip().lower() != "pending":
        raise ManuscriptError.at(path, line, f"art can only be \"pending\" (the image is still to come), got {value!r}")
    return True


def explicit_id(inline: Token) -> str | None:
    """`## Title {#my-id .unnumbered}`: the attributes are taken off the heading's text and the id
    given to the heading (headings are not numbered, so `.unnumbered` and `-` ask for what is done)."""
    m = HEADING_ATTRS.search(inline.content)
    children = inline.children or []
    if not m or not children or children[-1].type != "text" or not HEADING_ATTRS.search(children[-1].content):
        return None
    inline.content = inline.content[: m.start()]
    children[-1].content = HEADING_ATTRS.sub("", children[-1].content)
    ident = next((w[1:] for w in re.findall(r"#[A-Za-z][\w.-]*", m.group(1))), None)
    return ident


def declared_size(path: Path, line: int, token: Token, warnings: list[tuple[int, str]]) -> tuple[float | None, float | None] | None:
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
