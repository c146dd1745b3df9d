"""The cleaning itself: every element, attribute, reference and style checked against the
allowlist, what is not allowed taken out and named (`clean`), the error located in the manuscript
(`clean_svg`), and the warning for what was removed (`removed_message`)."""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ...core.errors import ImageError
from ...core.xmledit import drop
from .allowlist import (
    _DATA_IMAGE,
    _LOCAL_REF,
    ATTRIBUTES,
    ELEMENTS,
    MAX_EMBEDDED_BYTES,
    MAX_EMBEDDED_PIXELS,
    QUIET_ATTRIBUTES,
    QUIET_ELEMENTS,
    SVG_NS,
    XLINK_NS,
    XML_NS,
    Element,
)
from .checks import _with_namespace, check_expansion, has_drawing
from .css import _css_tokens, _unsafe_value, clean_style_attribute, clean_stylesheet
from .parse import (
    SvgRefused,
    _display,
    _local,
    _number,
    _parse,
    _quiet_ns,
    _short,
    intrinsic_size,
    serialise,
)
from .user_space import _GRADIENT_HINT, GRADIENT_NOTE, user_space_gradients


@dataclass(frozen=True)
class CleanSvg:
    """A cleaned SVG: UTF-8 XML, its intrinsic size in CSS px (96 per inch), what was taken out
    (and the notes of `is_note`, for the same warning)."""

    data: bytes
    width_px: float
    height_px: float
    removed: tuple[str, ...] = ()


# --- references -------------------------------------------------------------------------------------

def _href_problem(value: str) -> str:
    v = value.strip()
    low = v.lower()
    if low.startswith("file:"):
        return f"file: href '{_short(v)}'"
    if low.startswith("javascript:") or low.startswith("vbscript:"):
        return f"script href '{_short(v)}'"
    if low.startswith("#"):
        return f"href '{_short(v)}' on <image> (only an embedded PNG or JPEG may be drawn)"
    if low.startswith("data:"):
        return f"data: href that is not an embedded PNG or JPEG ('{_short(v, 32)}')"
    return f"external href '{_short(v)}'"


def _embedded_image(value: str) -> str | None:
    """The data: URL again, canonical, if it is a PNG or JPEG Pillow reads within the limits."""
    from PIL import Image as PILImage

    m = _DATA_IMAGE.match(value.strip())
    if not m:
        return None
    payload = re.sub(r"\s+", "", m.group(2))
    if len(payload) > MAX_EMBEDDED_BYTES * 4 // 3 + 4:
        return None
    try:
        raw = base64.b64decode(payload, validate=True)
        with PILImage.open(io.BytesIO(raw)) as img:
            if img.format not in ("PNG", "JPEG") or img.width * img.height > MAX_EMBEDDED_PIXELS:
                return None
    except (binascii.Error, ValueError, OSError, PILImage.DecompressionBombError):
        return None
    kind = "png" if m.group(1).lower() == "png" else "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(raw).decode('ascii')}"


# --- the cleaning walk ------------------------------------------------------------------------------

def _drop(el: Element, unwrap: bool = False) -> None:
    """Remove `el` (or with `unwrap`, only its tag), keeping the text around it in its order."""
    drop(el, unwrap)


def _clean_attributes(el: Element, local: str, removed: list[str]) -> bool:
    """Clean `el`'s attributes in place; False when the element must go (an <image> with no picture)."""
    for key in list(el.attrib):
        q = etree.QName(key)
        ns, name, value = q.namespace, q.localname, el.attrib[key]
        if name.lower().startswith("on") and ns in (None, SVG_NS):
            removed.append(f"{name}=")
        elif ns in (None, XLINK_NS) and name == "href":
            if _LOCAL_REF.match(value.strip()) and local != "image":
                continue
            if local == "image":
                canonical = _embedded_image(value)
                if canonical is not None:
                    el.set(key, canonical)
                    continue
            removed.append(_href_problem(value))
            if local == "image":
                return False
        elif ns == XML_NS:
            if name in ("space", "lang"):
                continue
            if name == "base":
                removed.append("xml:base=")
        elif ns == XLINK_NS or _quiet_ns(ns) or (ns is None and (name in QUIET_ATTRIBUTES or name.startswith("data-"))):
            pass  # xlink:title and such, an editor's own, inert: dropped quietly
        elif ns is None and name in ATTRIBUTES:
            if name == "style":
                style = clean_style_attribute(value, removed)
                if style:
                    el.set(key, style)
                    continue
            elif name == "type" and local == "style":
                if value.strip().lower() in ("text/css", ""):
                    continue
                removed.append(f"<style type='{_short(value, 24)}'>")
                return False
            else:
                why = _unsafe_value(_css_tokens(value)) if "url(" in value.lower() else None
                if why is None:
                    continue
                removed.append(f"{why} in {name}=")
        else:
            prefix = next((p for p, uri in el.nsmap.items() if uri == ns and p), None) if ns else None
            removed.append(f"{prefix + ':' if prefix else ''}{name}=")
        del el.attrib[key]
    if local == "image" and not any(etree.QName(k).localname == "href" for k in el.attrib):
        return False
    return True


def _hrefs(el: Element) -> list[str]:
    return [v for k, v in el.attrib.items() if etree.QName(k).localname == "href" and etree.QName(k).namespace in (None, XLINK_NS)]


def _clean_tree(root: Element, removed: list[str]) -> None:
    stack = [root]
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):  # an entity reference left by lxml: none can be here, but be sure
            _drop(el)
            continue
        ns, local = _local(el)
        if el is not root:
            if ns == SVG_NS and local in QUIET_ELEMENTS or _quiet_ns(ns):
                _drop(el)
                continue
            if ns != SVG_NS or local not in ELEMENTS:
                removed.append(_display(el))
                _drop(el)
                continue
            if local == "a":
                away = [v for v in _hrefs(el) if not _LOCAL_REF.match(v.strip())]
                if away:  # a link out of the picture: the link goes, what it wraps is drawn
                    removed.append(f"link <a href='{_short(away[0], 40)}'>")
                    children = list(el)
                    _drop(el, unwrap=True)
                    stack.extend(reversed(children))
                    continue
        if not _clean_attributes(el, local, removed):
            _drop(el)
            continue
        if local == "style":
            for child in list(el):
                removed.append(_display(child))
                _drop(child)
            el.text = clean_stylesheet(el.text or "", removed)
            continue
        stack.extend(reversed(list(el)))


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def clean(data: bytes) -> CleanSvg:
    """The SVG made safe, its size and what was removed; SvgRefused if it cannot be used."""
    root, removed = _parse(data)
    ns, local = _local(root)
    if local != "svg" or ns not in (SVG_NS, None):
        raise SvgRefused(f"is XML but not SVG (its root element is <{local}>)")
    root = _with_namespace(root)
    width, height = intrinsic_size(root)
    if root.get("viewBox") is None:  # so that it scales to the size the page gives it
        root.set("viewBox", f"0 0 {_number(width)} {_number(height)}")
    _clean_tree(root, removed)
    if not has_drawing(root):
        if removed:
            raise SvgRefused(f"has nothing left to draw once {', '.join(_unique(removed)[:6])} "
                             f"{'is' if len(_unique(removed)) == 1 else 'are'} removed")
        raise SvgRefused("has nothing to draw (no shape, text or picture outside <defs>)")
    check_expansion(root)
    removed += user_space_gradients(root)
    return CleanSvg(serialise(root), width, height, _unique(removed))


def clean_svg(data: bytes, where: tuple[Path, int | None], name: str) -> CleanSvg:
    """`clean` with the manuscript's location on the error: ``chapter.md:12: error: SVG '…' …``."""
    try:
        return clean(data)
    except SvgRefused as exc:
        raise ImageError.at(where[0], where[1], f"SVG '{name}' {exc}") from None
    except RecursionError:
        raise ImageError.at(where[0], where[1], f"SVG '{name}' nests its elements too deeply") from None


def is_note(entry: str) -> bool:
    """An entry of `CleanSvg.removed` that tells the author of something kept (a gradient some PDF
    viewers may not draw), not of something taken out. One list carries both, so the build cache and
    the build's one warning per image carry the notes as they are."""
    return entry.endswith(GRADIENT_NOTE)


def removed_message(name: str, removed: tuple[str, ...], most: int = 8) -> str:
    """The warning for a cleaned SVG: ``SVG 'images/x.svg': removed <script>, onload=, …``, then the
    notes: ``gradient 'sky' on <text> may not show in some PDF viewers (…)``."""
    taken = [entry for entry in removed if not is_note(entry)]
    notes = [entry for entry in removed if is_note(entry)]
    parts = []
    if taken:
        more = f" and {len(taken) - most} more" if len(taken) > most else ""
        parts.append(f"removed {', '.join(taken[:most])}{more} (not allowed in a book's SVG)")
    if notes:
        more = f" and {len(notes) - most} more" if len(notes) > most else ""
        parts.append(f"{'; '.join(notes[:most])}{more}{_GRADIENT_HINT}")
    return f"SVG '{name}': {'; '.join(parts)}"
