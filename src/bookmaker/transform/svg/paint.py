"""An element's fill and stroke as WeasyPrint's SVG cascade computes them (attribute, ``<style>``
rules, style attribute, !important; inherited), and where a new value must go to win."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .allowlist import SVG_NS, Element
from .css import _declarations, parse_declarations

_PAINTS = ("fill", "stroke")
_PAINT_URL = re.compile(r"url\(\s*['\"]?#([^'\")\s]+)['\"]?\s*\)")


@dataclass(frozen=True)
class Paint:
    """An element's computed fill or stroke and where it comes from, so that a new value can be put
    where it wins: its own attribute, a <style> rule (``rule!``: !important), its style attribute, or
    inherited from its parent."""

    value: str
    source: str  # attribute | rule | style | rule! | style! | inherited
    inherited: bool = False  # the parent's value (also through the keyword "inherit")


def _paint_rules(root: Element) -> "tuple[Any, Any] | None":
    """cssselect2 matchers (normal, !important) of the <style> rules that set fill or stroke, the way
    WeasyPrint's SVG cascade matches them; None when no rule does."""
    import cssselect2
    import tinycss2

    normal, important = cssselect2.Matcher(), cssselect2.Matcher()
    found = False
    for style in root.iter(f"{{{SVG_NS}}}style"):
        for rule in tinycss2.parse_stylesheet(style.text or "", skip_comments=True, skip_whitespace=True):
            if rule.type != "qualified-rule":
                continue
            declarations = [(name, value, imp) for name, value, imp, _ in
                            _declarations(tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True))
                            if name in _PAINTS]
            if not declarations:
                continue
            try:
                selectors = cssselect2.compile_selector_list(rule.prelude)
            except cssselect2.SelectorError:
                continue
            for selector in selectors:
                if selector.pseudo_element is None and not selector.never_matches:
                    for matcher, flag in ((normal, False), (important, True)):
                        chosen = [(name, value) for name, value, imp in declarations if imp == flag]
                        if chosen:
                            matcher.add_selector(selector, chosen)
                            found = True
    return (normal, important) if found else None


def _own_paints(el: Element, wrapper: Any, rules: "tuple[Any, Any] | None") -> dict[str, Paint]:
    """The fill and stroke `el` declares itself, by the cascade's order: attribute, rules, style
    attribute, !important rules, !important style."""
    own: dict[str, Paint] = {}
    for prop in _PAINTS:
        if el.get(prop) is not None:
            own[prop] = Paint(el.get(prop).strip(), "attribute")
    style = parse_declarations(el.get("style") or "") if el.get("style") else ()
    layers: list[tuple[str, list[tuple[str, str]]]] = []
    if rules is not None and wrapper is not None:
        layers += [("rule", d) for *_, d in rules[0].match(wrapper)]
    layers.append(("style", [(name, value) for name, value, imp, _ in style if not imp]))
    if rules is not None and wrapper is not None:
        layers += [("rule!", d) for *_, d in rules[1].match(wrapper)]
    layers.append(("style!", [(name, value) for name, value, imp, _ in style if imp]))
    for source, declarations in layers:
        for name, value in declarations:
            if name in _PAINTS:
                own[name] = Paint(value.strip(), source)
    return own


def _point_at(el: Element, prop: str, paint: Paint, new_id: str) -> None:
    """Make `el`'s `prop` the new gradient, at the place where its current value wins."""
    value = _PAINT_URL.sub(f"url(#{new_id})", paint.value, count=1)
    if paint.source in ("attribute", "inherited"):
        el.set(prop, value)  # an attribute beats inheritance, and nothing else sets `prop` here
        return
    important = paint.source.endswith("!")
    kept = [f"{name}:{v}{' !important' if imp else ''}" for name, v, imp, _ in parse_declarations(el.get("style") or "")
            if name != prop]
    el.set("style", ";".join(kept + [f"{prop}:{value}{' !important' if important else ''}"]))


def _wrapper(root: Element) -> Any:
    import cssselect2

    return cssselect2.ElementWrapper.from_xml_root(root)


def _resolve_inherit(own: Paint | None, parent: Paint) -> Paint:
    if own is None:
        return Paint(parent.value, "inherited", inherited=True)
    if own.value == "inherit":
        return Paint(parent.value, own.source, inherited=True)
    return own
