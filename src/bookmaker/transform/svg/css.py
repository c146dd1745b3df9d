"""CSS in an SVG (``style`` attributes and ``<style>``) cleaned: presentation properties only,
``url()`` only to a local ``#id``, no function that loads an image, no at-rule."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from .allowlist import _LOCAL_REF, CSS_PROPERTIES
from .parse import _short


def _urls(tokens: list) -> Iterator[str]:
    """Every url() in a CSS value, nested functions included."""
    for token in tokens:
        if token.type == "url":
            yield token.value
        elif token.type == "function":
            if token.lower_name == "url":
                strings = [t.value for t in token.arguments if t.type == "string"]
                yield strings[0] if strings else "".join(getattr(t, "value", "") or "" for t in token.arguments)
            else:
                yield from _urls(token.arguments)
        elif hasattr(token, "content") and isinstance(token.content, list):
            yield from _urls(token.content)


_FETCHING = frozenset("image-set -webkit-image-set cross-fade -webkit-cross-fade image element src paint".split())


def _functions(tokens: list) -> Iterator[str]:
    for token in tokens:
        if token.type == "function":
            yield token.lower_name
            yield from _functions(token.arguments)
        elif hasattr(token, "content") and isinstance(token.content, list):
            yield from _functions(token.content)


def _unsafe_value(tokens: list) -> str | None:
    """Why a CSS value may not stay: a url() to anything but a local #id, or another function
    that loads an image (image-set() and such); None if it is safe."""
    import tinycss2

    fetching = next((name for name in _functions(tokens) if name in _FETCHING), None)
    if fetching:
        return f"{fetching}() in a style"
    for url in _urls(tokens):
        if not _LOCAL_REF.match(url.strip()):
            return f"url({_short(url.strip(), 40)})"
    text = tinycss2.serialize(tokens).lower()
    if "expression(" in text or "javascript:" in text:
        return f"'{_short(text.strip(), 40)}' in a style"
    return None


Declaration = tuple[str, str, bool, "list | None"]  # name, value, !important, tokens (None: a plain value)
_PLAIN_CSS = re.compile(r"[\w\s#.,%:;+\-]*")  # no function, quote, escape, comment or at-rule: nothing to load
_CSS_NAME = re.compile(r"-?[a-z_][a-z0-9_\-]*")


def _declarations(items: list) -> list[Declaration]:
    import tinycss2

    return [(d.lower_name, tinycss2.serialize(d.value).strip(), d.important, d.value) for d in items if d.type == "declaration"]


@lru_cache(maxsize=8192)
def parse_declarations(css: str) -> tuple[Declaration, ...]:
    """A style attribute's declarations. Editors write thousands of plain ones (`fill:#000;stroke:none`):
    those are split here, the rest is tinycss2's (whose tokenizer costs ~0.2 ms a style)."""
    if _PLAIN_CSS.fullmatch(css):
        plain = []
        for part in css.split(";"):
            name, colon, value = part.partition(":")
            name, value = name.strip().lower(), " ".join(value.split())
            if colon and value and _CSS_NAME.fullmatch(name):
                plain.append((name, value, False, None))
        return tuple(plain)
    import tinycss2

    return tuple(_declarations(tinycss2.parse_declaration_list(css, skip_comments=True, skip_whitespace=True)))


def _clean_declarations(declarations: "tuple[Declaration, ...] | list[Declaration]", removed: list[str]) -> list[str]:
    """`name:value` strings for the declarations that may stay, in their order."""
    kept = []
    for name, value, important, tokens in declarations:
        if name in ("behavior", "-moz-binding", "binding"):
            why: str | None = f"{name}: in a style"
        else:
            why = _unsafe_value(tokens) if tokens is not None else None
        if why:
            removed.append(why)
            continue
        if name not in CSS_PROPERTIES:
            continue  # other properties (an editor's own, layout) draw nothing in an SVG image: quietly
        if value:
            kept.append(f"{name}:{value}{' !important' if important else ''}")
    return kept


@lru_cache(maxsize=8192)
def _clean_style(value: str) -> tuple[str, tuple[str, ...]]:
    removed: list[str] = []
    return ";".join(_clean_declarations(parse_declarations(value), removed)), tuple(removed)


def clean_style_attribute(value: str, removed: list[str]) -> str:
    """A style attribute with only safe presentation declarations (the same strings repeat: cached)."""
    style, dropped = _clean_style(value)
    removed.extend(dropped)
    return style


def clean_stylesheet(css: str, removed: list[str]) -> str:
    """A <style> element's CSS: rules with safe declarations kept, every at-rule dropped."""
    import tinycss2

    out = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule":
            removed.append(f"@{rule.lower_at_keyword}")
        elif rule.type == "qualified-rule":
            declarations = _declarations(tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True))
            kept = _clean_declarations(declarations, removed)
            selector = " ".join(tinycss2.serialize(rule.prelude).split())
            if kept and selector:
                out.append(f"{selector}{{{';'.join(kept)}}}")
    return "\n".join(out)


def _css_tokens(value: str) -> list:
    import tinycss2

    return tinycss2.parse_component_value_list(value)
