"""Checks on a cleaned tree: an ``<svg>`` put in the SVG namespace, ``<use>`` references that loop or
expand past `MAX_DRAWN` elements refused, something left to draw; and the id lookups
(`_ids`, `_use_target`) the gradient and CMYK code share."""

from __future__ import annotations

from lxml import etree

from .allowlist import (
    DRAWING,
    MAX_DEPTH,
    MAX_DRAWN,
    NOT_DRAWN,
    SVG_NS,
    TEXT,
    XLINK_NS,
    Element,
)
from .parse import SvgRefused


def _with_namespace(root: Element) -> Element:
    """An <svg> written without the SVG namespace, put in it: browsers would show nothing."""
    if root.tag != "svg":
        return root
    new = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS, **{k: v for k, v in root.nsmap.items() if k}})
    for key, value in root.attrib.items():
        new.set(key, value)
    new.text = root.text
    new.extend(list(root))
    for el in new.iter():
        if isinstance(el.tag, str) and not el.tag.startswith("{"):
            el.tag = f"{{{SVG_NS}}}{el.tag}"
    return new


def _ids(root: Element) -> dict[str, Element]:
    return {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}


def _use_target(el: Element, ids: dict[str, Element]) -> Element | None:
    href = el.get("href") or el.get(f"{{{XLINK_NS}}}href")
    return ids.get(href.strip()[1:]) if href and href.strip().startswith("#") else None


def check_expansion(root: Element) -> int:
    """How many elements are drawn once every <use> is expanded; SvgRefused on a loop or a bomb."""
    alive = list(root.iter())  # lxml's proxies, kept alive so that id() stays theirs
    ids = _ids(root)
    memo: dict[int, int] = {}
    active: set[int] = set()

    def cost(el: Element, depth: int) -> int:
        key = id(el)
        if key in memo:
            return memo[key]
        if depth > MAX_DEPTH:
            raise SvgRefused(f"nests elements or <use> references more than {MAX_DEPTH} deep")
        if key in active:
            raise SvgRefused("has <use> elements that refer to themselves in a loop")
        active.add(key)
        total = 1 + sum(cost(child, depth + 1) for child in el if isinstance(child.tag, str))
        if etree.QName(el).localname == "use":
            target = _use_target(el, ids)
            if target is not None:
                total += cost(target, depth + 1)
        active.discard(key)
        if total > MAX_DRAWN:
            raise SvgRefused(f"expands to more than {MAX_DRAWN:,} elements through its <use> references (a 'use' bomb)")
        memo[key] = total
        return total

    total = cost(root, 0)
    del alive
    return total


def has_drawing(root: Element) -> bool:
    """Something is drawn: a shape, picture or <use> outside definitions, or text with characters."""
    stack = [root]
    while stack:
        el = stack.pop()
        local = etree.QName(el).localname
        if local in NOT_DRAWN:
            continue
        if local in DRAWING and (local not in ("use", "image") or any(etree.QName(k).localname == "href" for k in el.attrib)):
            return True
        if local in TEXT and "".join(el.itertext()).strip():
            return True
        stack.extend(child for child in el if isinstance(child.tag, str))
    return False
