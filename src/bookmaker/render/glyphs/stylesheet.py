"""The print stylesheet's font-family chain (`html { font-family: … }`) and the files of its


@font-face rules, read with tinycss2."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ...core.resources import Layouts


def _declarations(rule: object) -> dict[str, list[object]]:
    import tinycss2

    found: dict[str, list[object]] = {}
    for item in tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True, skip_comments=True):  # type: ignore[attr-defined]
        if item.type == "declaration":
            found[item.lower_name] = item.value
    return found


def _families(tokens: Sequence[object]) -> tuple[str, ...]:
    """`"Charis SIL", Noto Serif, serif` -> the names; unquoted names are joined by spaces."""
    names: list[str] = []
    words: list[str] = []
    for token in [*tokens, None]:
        kind = getattr(token, "type", None)
        if token is None or (kind == "literal" and token.value == ","):  # type: ignore[attr-defined]
            if words:
                names.append(" ".join(words))
            words = []
        elif kind == "string" or kind == "ident":
            words.append(token.value)  # type: ignore[attr-defined]
    return tuple(names)


def _url(token: object) -> str | None:
    """`url(x)` and `url("x")` (tinycss2 parses the quoted one as a function)."""
    kind = getattr(token, "type", None)
    if kind == "url":
        return str(token.value)  # type: ignore[attr-defined]
    if kind == "function" and token.lower_name == "url":  # type: ignore[attr-defined]
        return next((str(t.value) for t in token.arguments if t.type == "string"), None)  # type: ignore[attr-defined]
    return None


def as_layouts(layouts: Layouts | Path) -> Layouts:
    """A single folder is the layouts of one folder."""
    return layouts if isinstance(layouts, Layouts) else Layouts((layouts,))


def _face_file(layouts: Layouts, src: str) -> Path:
    """The file a stylesheet's font url names once served as css/: `../fonts/x.ttf` is the layouts'
    `fonts/x.ttf`, the book's own where it has one (as render.layout serves it)."""
    name = os.path.normpath(os.path.join("css", src))
    if not name.startswith(".."):
        for folder in layouts.folders:
            if (folder / name).is_file():
                return folder / name
    return Path(os.path.normpath(layouts.folders[0] / "css" / src))


def stylesheet_fonts(css: str, layouts: Layouts | Path) -> tuple[tuple[str, ...], dict[str, Path]]:
    """The `html` rule's font-family chain, and each @font-face family's regular face: its file
    in the layouts (a folder, or the book's `Layouts`), where the stylesheet's `../fonts/x` url
    points once served as css/."""
    import tinycss2

    layouts = as_layouts(layouts)
    chain: tuple[str, ...] = ()
    faces: dict[str, Path] = {}
    for rule in tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "font-face" and rule.content:
            decl = _declarations(rule)
            family = _families(decl.get("font-family", []))
            src = next((u for u in map(_url, decl.get("src", [])) if u), None)
            regular = all(tinycss2.serialize(decl.get(k, [])).strip() in ("", "normal", "400") for k in ("font-weight", "font-style"))
            if family and src and regular:
                faces.setdefault(family[0], _face_file(layouts, src))
        elif rule.type == "qualified-rule" and tinycss2.serialize(rule.prelude).strip() == "html":
            chain = _families(_declarations(rule).get("font-family", [])) or chain
    return chain, faces
