"""SVG from a manuscript, made safe before either back end sees it.

An SVG is a program as much as a picture: it can run scripts, load other files and URLs, embed
HTML, and blow up into billions of nodes. EPUB reading systems render it in a browser engine and
WeasyPrint fetches what it refers to, so a book's SVG is cleaned with an **allowlist** here:

- parsing: defusedxml (the stdlib's expat) refuses every ``<!ENTITY`` (billion laughs, XXE) and
  never loads a DTD; lxml then reads the same bytes with entities, DTDs and the network off, for
  the tree work and its XML serialiser (never an HTML one: ``viewBox`` keeps its case);
- elements: SVG 1.1's static drawing elements (structure, shapes, text, paint servers, clipping,
  masking, filters, ``<style>``); no script, animation, ``foreignObject``, fonts, ``feImage``;
- attributes: geometry, presentation and accessibility ones; no ``on*`` handler, no ``xml:base``;
  ``href``/``xlink:href`` only to a local ``#id``, or on ``<image>`` to an embedded PNG or JPEG
  (``data:image/png|jpeg;base64``), checked with Pillow; ``<a>`` to anything else is unwrapped;
- CSS (``style`` attributes and ``<style>``): presentation properties only, ``url()`` only to a
  local ``#id``, no at-rule (``@import``, ``@font-face``);
- ``<use>``: references that loop or expand past `MAX_DRAWN` elements (a "use bomb") are refused.

A gradient in its element's bounding box (``gradientUnits="objectBoundingBox"``, the default) is
rewritten into user space for the element's exact box (`user_space_gradients`): WeasyPrint draws
the other kind as a pattern that poppler-based PDF viewers leave blank.

What is removed is returned, so the build can warn where the manuscript names the file. Editor
metadata (Inkscape, Sodipodi, Illustrator, RDF) is dropped without a word: it is inert and every
editor writes it. `to_cmyk` turns a clean SVG's colours into ``device-cmyk()`` for CMYK printers.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from lxml import etree

from ..core.errors import ImageError
from ..core.xmledit import drop

Element = Any  # an lxml element: its class (etree._Element) is private to lxml
MEDIA_TYPE = "image/svg+xml"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

MAX_BYTES = 20 * 1024 * 1024  # an SVG is text: past this it is not a figure a book needs
MAX_EMBEDDED_BYTES = 10 * 1024 * 1024  # one embedded PNG or JPEG
MAX_EMBEDDED_PIXELS = 89_478_485  # Pillow's decompression-bomb threshold, as for other images
MAX_DRAWN = 100_000  # elements drawn once every <use> is expanded
MAX_DEPTH = 200  # nesting of elements and <use> references
MAX_SIDE_PX = 100_000  # an intrinsic side longer than this (over 1,000 inches) is a mistake
CSS_PX = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "in": 96.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
          "q": 96 / 101.6, "em": 16.0, "ex": 8.0}  # 96 px per inch; em and ex at the default 16px font

# --- the allowlist ------------------------------------------------------------------------------

ELEMENTS = frozenset("""
svg g defs desc title symbol use switch a style
path rect circle ellipse line polyline polygon
text tspan textPath
linearGradient radialGradient stop pattern clipPath mask marker image
filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix feDiffuseLighting
feDisplacementMap feDistantLight feDropShadow feFlood feFuncA feFuncB feFuncG feFuncR feGaussianBlur
feMerge feMergeNode feMorphology feOffset fePointLight feSpecularLighting feSpotLight feTile feTurbulence
""".split())

PRESENTATION = frozenset("""
alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
color-interpolation-filters color-rendering direction display dominant-baseline fill fill-opacity
fill-rule filter flood-color flood-opacity font font-family font-size font-size-adjust font-stretch
font-style font-variant font-weight glyph-orientation-horizontal glyph-orientation-vertical
image-rendering kerning letter-spacing lighting-color marker marker-end marker-mid marker-start mask
opacity overflow pointer-events shape-rendering stop-color stop-opacity stroke stroke-dasharray
stroke-dashoffset stroke-linecap stroke-linejoin stroke-miterlimit stroke-opacity stroke-width
text-anchor text-decoration text-rendering unicode-bidi visibility word-spacing writing-mode
paint-order vector-effect mix-blend-mode isolation transform-origin transform-box
""".split())

# CSS properties a style may set: the presentation ones and a few of CSS's own that draw nothing else
CSS_PROPERTIES = PRESENTATION | frozenset("transform line-height text-transform white-space font-kerning "
                                          "font-variant-ligatures font-variant-caps font-variant-numeric "
                                          "font-feature-settings text-decoration-line text-decoration-color "
                                          "text-decoration-style".split())

ATTRIBUTES = PRESENTATION | frozenset("""
id class style lang tabindex role aria-label aria-labelledby aria-describedby aria-hidden aria-roledescription
transform viewBox preserveAspectRatio x y width height rx ry cx cy r fx fy fr x1 y1 x2 y2 points d
pathLength offset gradientUnits gradientTransform spreadMethod patternUnits patternContentUnits
patternTransform clipPathUnits maskUnits maskContentUnits markerUnits markerWidth markerHeight refX refY
orient dx dy rotate textLength lengthAdjust startOffset method spacing side filterUnits primitiveUnits
in in2 result stdDeviation mode type values operator k1 k2 k3 k4 scale xChannelSelector yChannelSelector
tableValues slope intercept amplitude exponent order kernelMatrix divisor bias targetX targetY edgeMode
kernelUnitLength preserveAlpha surfaceScale diffuseConstant specularConstant specularExponent azimuth
elevation z pointsAtX pointsAtY pointsAtZ limitingConeAngle radius baseFrequency numOctaves seed stitchTiles
media href
""".split())

# Inert, and written by every editor: dropped without a word
QUIET_ATTRIBUTES = frozenset("version baseProfile contentScriptType contentStyleType zoomAndPan "
                             "externalResourcesRequired requiredFeatures requiredExtensions systemLanguage "
                             "focusable enable-background".split())
QUIET_NAMESPACES = ("http://www.inkscape.org/", "http://sodipodi.sourceforge.net/", "http://ns.adobe.com/",
                    "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://creativecommons.org/ns#",
                    "http://web.resource.org/cc/", "http://purl.org/dc/", "http://www.bohemiancoding.com/sketch/",
                    "http://www.serif.com/", "https://boxy-svg.com", "http://www.figma.com/", "http://krita.org/")
QUIET_ELEMENTS = frozenset({"metadata"})
STANDARD_DTDS = ("http://www.w3.org/Graphics/SVG/1.1/DTD/", "http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/",
                 "http://www.w3.org/TR/SVG11/DTD/")

DRAWING = frozenset("path rect circle ellipse line polyline polygon image use".split())
TEXT = frozenset("text tspan textPath".split())
NOT_DRAWN = frozenset("defs clipPath mask pattern marker symbol linearGradient radialGradient filter title desc style".split())
COLOUR_PROPERTIES = frozenset("fill stroke color stop-color flood-color lighting-color".split())

_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|in|mm|cm|q|em|ex|%)?\s*$", re.I)
_LOCAL_REF = re.compile(r"^#[A-Za-z_][\w.:\-]*$")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg)\s*;\s*base64\s*,(.*)$", re.I | re.S)


@dataclass(frozen=True)
class CleanSvg:
    """A cleaned SVG: UTF-8 XML, its intrinsic size in CSS px (96 per inch), what was taken out
    (and the notes of `is_note`, for the same warning)."""

    data: bytes
    width_px: float
    height_px: float
    removed: tuple[str, ...] = ()


class SvgRefused(ValueError):
    """The SVG cannot be used at all; the message says why (no location: the caller adds it)."""


# --- sniffing and parsing -----------------------------------------------------------------------

_SVG_TAG = re.compile(rb"<([\w.-]+:)?svg[\s>/]|<!ENTITY|<!DOCTYPE\s+svg", re.I)


def looks_like_svg(data: bytes) -> bool:
    """XML whose first 64 KB hold an <svg> tag (or a DOCTYPE svg or an <!ENTITY>): the SVG path.

    Decided by the bytes, not the file name: a `.png` that is really SVG is cleaned as SVG; other
    files go to Pillow, whose refusal names what it reads.
    """
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte order mark
        head = head.decode("utf-16", "ignore").encode("utf-8", "ignore")
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and _SVG_TAG.search(head) is not None


def _short(value: str, most: int = 48) -> str:
    value = " ".join(value.split())
    return value if len(value) <= most else value[: most - 1] + "…"


def _check_declarations(data: bytes) -> None:
    """defusedxml over expat: refuses any <!ENTITY> before it can expand, never fetches a DTD."""
    import xml.etree.ElementTree as StdET

    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException, EntitiesForbidden

    try:
        SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            raise SvgRefused(f"declares an external entity '{exc.name}' ({_short(str(exc.sysid or exc.pubid))}); "
                             "SVG files may not read other files (XXE)") from None
        raise SvgRefused(f"declares the entity '{exc.name}' (<!ENTITY>); entity expansion (a 'billion laughs' "
                         "bomb) is refused: re-export the SVG without a DOCTYPE") from None
    except DefusedXmlException as exc:
        raise SvgRefused(f"uses a forbidden XML feature ({exc})") from None
    except StdET.ParseError as exc:
        raise SvgRefused(f"is not well-formed XML ({exc})") from None


def _parse(data: bytes) -> tuple[Element, list[str]]:
    """The root element (lxml), hardened; and what the DOCTYPE said, if it was not a standard one."""
    if len(data) > MAX_BYTES:
        raise SvgRefused(f"is over {MAX_BYTES // 2**20} MB")
    _check_declarations(data)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)  # collect_ids=False would load the DTD
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        raise SvgRefused(f"is not well-formed XML ({exc})") from None
    root = tree.getroot()
    removed = []
    doctype_url = tree.docinfo.system_url
    if doctype_url and not doctype_url.startswith(STANDARD_DTDS):
        removed.append(f"DOCTYPE '{_short(doctype_url)}'")
    return root, removed


def _local(el: Element) -> tuple[str | None, str]:
    q = etree.QName(el)
    return q.namespace, q.localname


def _display(el: Element) -> str:
    ns, name = _local(el)
    return f"<{el.prefix}:{name}>" if ns != SVG_NS and el.prefix else f"<{name}>"


def _quiet_ns(ns: str | None) -> bool:
    return bool(ns) and ns.startswith(QUIET_NAMESPACES)  # type: ignore[union-attr]


# --- size -----------------------------------------------------------------------------------------

def _length(value: str | None, name: str) -> float | None:
    """CSS px of an absolute length; None when absent or a percentage (no intrinsic size)."""
    if value is None or not value.strip():
        return None
    m = _LENGTH.match(value)
    if not m:
        raise SvgRefused(f"has {name}='{_short(value)}', which is not a length (such as 300, 4in, 80mm)")
    unit = (m.group(2) or "").lower()
    if unit == "%":
        return None
    px = float(m.group(1)) * CSS_PX[unit]
    if not 0 < px <= MAX_SIDE_PX:
        raise SvgRefused(f"has {name}='{_short(value)}', which is not a usable size (over 0 and at most {MAX_SIDE_PX} px)")
    return px


def _viewbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None or not value.strip():
        return None
    try:
        box = tuple(float(v) for v in re.split(r"[\s,]+", value.strip()))
    except ValueError:
        box = ()
    if len(box) != 4 or box[2] <= 0 or box[3] <= 0 or any(v != v or abs(v) == float("inf") for v in box):
        raise SvgRefused(f"has viewBox='{_short(value)}', which is not four numbers with a positive width and height")
    return box  # type: ignore[return-value]


def intrinsic_size(root: Element) -> tuple[float, float]:
    """The <svg> element's size in CSS px: width and height, else the viewBox's proportions."""
    width, height = _length(root.get("width"), "width"), _length(root.get("height"), "height")
    box = _viewbox(root.get("viewBox"))
    if width and height:
        return width, height
    if box:
        ratio = box[2] / box[3]
        if width:
            return width, width / ratio
        if height:
            return height * ratio, height
        if box[2] <= MAX_SIDE_PX and box[3] <= MAX_SIDE_PX:
            return box[2], box[3]
        raise SvgRefused(f"has a viewBox over {MAX_SIDE_PX} px wide or high and no width and height")
    raise SvgRefused("has a size that cannot be known: give the <svg> element width and height (such as 4in, 300), "
                     "or a viewBox")


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


# --- CSS --------------------------------------------------------------------------------------------

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


def _css_tokens(value: str) -> list:
    import tinycss2

    return tinycss2.parse_component_value_list(value)


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


# --- checks after cleaning --------------------------------------------------------------------------

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


# --- gradients in a box: drawn by every PDF viewer ------------------------------------------------
#
# WeasyPrint 70 paints an SVG gradient as a tiling pattern. For the default
# gradientUnits="objectBoundingBox" its tile is the unit square, scaled up to the element by the
# pattern's /Matrix (weasyprint/svg/defs.py `draw_gradient`): Ghostscript and PDFium draw it,
# poppler (pdftoppm, evince, most previewers) leaves the area white. In user space the tile is the
# element's box at the page's scale and every viewer draws it. So each such gradient is rewritten,
# per element box, as a userSpaceOnUse gradient with the same geometry (SVG 1.1, 13.2: the box maps
# [0,1]² onto the element, then gradientTransform).

GRADIENTS = frozenset({"linearGradient", "radialGradient"})
SHAPES = frozenset("rect circle ellipse line polyline polygon path".split())
GRADIENT_NOTE = "may not show in some PDF viewers"  # the end of each note `clean` adds for the author
_GRADIENT_HINT = " (poppler-based ones such as evince draw a gradient in objectBoundingBox units as nothing: " \
                 "give it gradientUnits=\"userSpaceOnUse\")"
_GRADIENT_ATTRIBUTES = ("gradientUnits", "gradientTransform", "spreadMethod", "x1", "y1", "x2", "y2",
                        "cx", "cy", "r", "fx", "fy", "fr")
_PAINTS = ("fill", "stroke")
_PAINT_URL = re.compile(r"url\(\s*['\"]?#([^'\")\s]+)['\"]?\s*\)")
_DERIVED_ID = re.compile(r"^(.+)-bm\d+$")
_TRANSFORM = re.compile(r"\s*(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^()]*)\)\s*,?", re.I)
_NEW_VIEWPORT = frozenset("symbol pattern marker mask clipPath".split())  # percentages there are not the <svg>'s

Affine = tuple[float, float, float, float, float, float]  # SVG's matrix(a b c d e f)
IDENTITY: Affine = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class Box:
    """An element's bounding box in its own user space: its geometry, no stroke (SVG 1.1, 7.11)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def has_area(self) -> bool:
        """A box with no width or height makes an objectBoundingBox gradient draw nothing (SVG 1.1, 7.11)."""
        return self.width > 0 and self.height > 0


@dataclass(frozen=True)
class GradientTemplate:
    """A gradient with what it inherits through ``href`` resolved, as SVG and WeasyPrint resolve it:
    each attribute from the first gradient of the chain that sets it, the stops of the first that has any."""

    element: Element
    id: str
    kind: str  # linearGradient | radialGradient
    values: tuple[tuple[str, str], ...]
    stops: int

    def get(self, name: str) -> str | None:
        return dict(self.values).get(name)

    @property
    def in_box(self) -> bool:
        return (self.get("gradientUnits") or "").strip() != "userSpaceOnUse"


@dataclass(frozen=True)
class Paint:
    """An element's computed fill or stroke and where it comes from, so that a new value can be put
    where it wins: its own attribute, a <style> rule (``rule!``: !important), its style attribute, or
    inherited from its parent."""

    value: str
    source: str  # attribute | rule | style | rule! | style! | inherited
    inherited: bool = False  # the parent's value (also through the keyword "inherit")


def _multiply(m: Affine, n: Affine) -> Affine:
    """m·n: n applied first (SVG's transform lists post-multiply, left to right)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + c * q, b * p + d * q, a * r + c * s, b * r + d * s, a * t + c * u + e, b * t + d * u + f)


def _apply(m: Affine, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def parse_transform(value: str | None) -> Affine | None:
    """An SVG transform list as one matrix; IDENTITY when absent, None when it cannot be read."""
    if value is None or value.strip() in ("", "none"):
        return IDENTITY
    matrix, at = IDENTITY, 0
    while at < len(value):
        m = _TRANSFORM.match(value, at)
        if not m:
            return None if value[at:].strip() else matrix
        at = m.end()
        try:
            args = [float(v) for v in re.split(r"[\s,]+", m.group(2).strip()) if v]
        except ValueError:
            return None
        step = _transform_step(m.group(1).lower(), args)
        if step is None:
            return None
        matrix = _multiply(matrix, step)
    return matrix


def _transform_step(name: str, args: list[float]) -> Affine | None:
    from math import cos, radians, sin, tan

    n = len(args)
    if name == "matrix" and n == 6:
        return args[0], args[1], args[2], args[3], args[4], args[5]
    if name == "translate" and n in (1, 2):
        return 1.0, 0.0, 0.0, 1.0, args[0], args[1] if n == 2 else 0.0
    if name == "scale" and n in (1, 2):
        return args[0], 0.0, 0.0, args[1] if n == 2 else args[0], 0.0, 0.0
    if name == "rotate" and n in (1, 3):
        a = radians(args[0])
        turn = (cos(a), sin(a), -sin(a), cos(a), 0.0, 0.0)
        if n == 1:
            return turn
        cx, cy = args[1], args[2]
        return _multiply(_multiply((1.0, 0.0, 0.0, 1.0, cx, cy), turn), (1.0, 0.0, 0.0, 1.0, -cx, -cy))
    if name == "skewx" and n == 1:
        return 1.0, 0.0, tan(radians(args[0])), 1.0, 0.0, 0.0
    if name == "skewy" and n == 1:
        return 1.0, tan(radians(args[0])), 0.0, 1.0, 0.0, 0.0
    return None


def _coordinate(value: float) -> str:
    """A number for a rewritten gradient: finer than `_number`, a gradient spans a whole picture."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


# --- element boxes

Viewport = tuple[float, float] | None  # the nearest <svg>'s viewBox size, for percentages; None: unknown


def _user_length(value: str | None, axis: str, viewport: Viewport, default: float | None = 0.0) -> float | None:
    """A coordinate or length in user units; None when it cannot be known here (em, ex, an unknown %)."""
    if value is None or not value.strip():
        return default
    m = _LENGTH.match(value)
    if not m:
        return None
    unit = (m.group(2) or "").lower()
    number = float(m.group(1))
    if unit == "%":
        if viewport is None:
            return None
        width, height = viewport
        side = {"x": width, "y": height}.get(axis, ((width ** 2 + height ** 2) / 2) ** 0.5)
        return number / 100 * side
    if unit in ("em", "ex"):
        return None  # depends on the font size the element inherits
    return number * CSS_PX[unit]


def _span(xs: list[float], ys: list[float]) -> Box:
    return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _points_box(value: str | None) -> Box | None:
    try:
        numbers = [float(v) for v in re.split(r"[\s,]+", (value or "").strip()) if v]
    except ValueError:
        return None
    pairs = len(numbers) // 2  # an odd number: drawn up to the last whole point
    if not pairs:
        return Box(0.0, 0.0, 0.0, 0.0)
    return _span(numbers[0:2 * pairs:2], numbers[1:2 * pairs:2])


def path_box(d: str | None) -> Box | None:
    """A path's exact box (curves and arcs at their extremes, not their control points): svg.path."""
    try:
        from svg.path import parse_path
    except ImportError:  # not installed: such a path keeps its gradient, with the note
        return None
    if not (d or "").lstrip(" \t\r\n").startswith(("M", "m")):
        return Box(0.0, 0.0, 0.0, 0.0)  # path data starts with a moveto, or nothing is drawn (SVG 1.1, F.2)
    try:
        path = parse_path(d or "")
        if not len(path):
            return Box(0.0, 0.0, 0.0, 0.0)
        x0, y0, x1, y1 = path.boundingbox()
    except (ValueError, IndexError, ZeroDivisionError, OverflowError):
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


def shape_box(el: Element, viewport: Viewport) -> Box | None:
    """The box of a shape element from its attributes; None when it cannot be known exactly."""
    local = etree.QName(el).localname

    def length(name: str, axis: str, default: float | None = 0.0) -> float | None:
        return _user_length(el.get(name), axis, viewport, default)

    if local == "rect":
        x, y, w, h = length("x", "x"), length("y", "y"), length("width", "x"), length("height", "y")
        if x is None or y is None or w is None or h is None:
            return None
        return Box(x, y, max(w, 0.0), max(h, 0.0))
    if local in ("circle", "ellipse"):
        cx, cy = length("cx", "x"), length("cy", "y")
        if local == "circle":
            rx = ry = length("r", "d")
        else:
            given = {name: el.get(name) is not None and el.get(name).strip() not in ("", "auto") for name in ("rx", "ry")}
            rx, ry = length("rx", "x"), length("ry", "y")
            if given["rx"] != given["ry"]:  # SVG 2: an "auto" radius is the other one
                rx, ry = (rx, rx) if given["rx"] else (ry, ry)
        if cx is None or cy is None or rx is None or ry is None:
            return None
        rx, ry = max(rx, 0.0), max(ry, 0.0)
        return Box(cx - rx, cy - ry, 2 * rx, 2 * ry)
    if local == "line":
        ends = [length(name, name[0]) for name in ("x1", "y1", "x2", "y2")]
        if any(v is None for v in ends):
            return None
        x1, y1, x2, y2 = ends  # type: ignore[misc]
        return _span([x1, x2], [y1, y2])
    if local in ("polyline", "polygon"):
        return _points_box(el.get("points"))
    if local == "path":
        return path_box(el.get("d"))
    return None


# --- gradients, resolved and rewritten

def _gradient_template(gradient: Element, ids: dict[str, Element]) -> GradientTemplate:
    values: dict[str, str] = {}
    stops = 0
    seen: set[int] = set()
    el: Element | None = gradient
    alive = []  # lxml proxies kept alive so that id() stays theirs
    while el is not None and id(el) not in seen and etree.QName(el).localname in GRADIENTS and len(seen) < 64:
        seen.add(id(el))
        alive.append(el)
        for name in _GRADIENT_ATTRIBUTES:
            if name not in values and el.get(name) is not None:
                values[name] = el.get(name)
        if not stops:
            stops = sum(1 for child in el if isinstance(child.tag, str) and etree.QName(child).localname == "stop")
        el = _use_target(el, ids)
    return GradientTemplate(gradient, gradient.get("id"), etree.QName(gradient).localname, tuple(values.items()), stops)


def _fraction(value: str | None, default: float) -> float | None:
    """A gradient coordinate in objectBoundingBox units: a number or a percentage of the box."""
    if value is None or not value.strip():
        return default
    m = _LENGTH.match(value)
    if not m or (m.group(2) or "") not in ("", "%"):
        return None
    return float(m.group(1)) / (100 if m.group(2) else 1)


def _in_box_geometry(template: GradientTemplate, box: Box) -> dict[str, str] | None:
    """The attributes of a userSpaceOnUse gradient drawing `template` exactly as it is drawn in `box`;
    None when its values cannot be read or its transform cannot be inverted."""
    transform = parse_transform(template.get("gradientTransform"))
    if transform is None:
        return None
    matrix = _multiply((box.width, 0.0, 0.0, box.height, box.x, box.y), transform)
    if abs(matrix[0] * matrix[3] - matrix[1] * matrix[2]) < 1e-12:
        return None
    if template.kind == "linearGradient":
        values = _linear_in_user_space(template, matrix)
    else:
        values = _radial_in_user_space(template, matrix)
    if values is not None and "gradientTransform" not in values and template.get("gradientTransform") is not None:
        values["gradientTransform"] = "matrix(1 0 0 1 0 0)"  # or it would inherit the box's one through href
    return values


def _linear_in_user_space(template: GradientTemplate, m: Affine) -> dict[str, str] | None:
    """Any affine image of a linear gradient is a linear gradient: t(q) = (M⁻¹q − p1)·v/|v|², so in user
    space it runs from M·p1 along w = L⁻ᵀv for |v|²/|w|² (L: M's linear part): no gradientTransform left."""
    ends = [_fraction(template.get(name), default) for name, default in (("x1", 0.0), ("y1", 0.0), ("x2", 1.0), ("y2", 0.0))]
    if any(v is None for v in ends):
        return None
    x1, y1, x2, y2 = ends  # type: ignore[misc]
    a, b, c, d = m[:4]
    det = a * d - b * c
    vx, vy = x2 - x1, y2 - y1
    wx, wy = (d * vx - b * vy) / det, (-c * vx + a * vy) / det  # L⁻ᵀ v
    px, py = _apply(m, x1, y1)
    w2 = wx * wx + wy * wy
    scale = (vx * vx + vy * vy) / w2 if w2 else 0.0
    return {"x1": _coordinate(px), "y1": _coordinate(py), "x2": _coordinate(px + wx * scale), "y2": _coordinate(py + wy * scale)}


def _radial_in_user_space(template: GradientTemplate, m: Affine) -> dict[str, str] | None:
    """A similarity (the box square, the transform a rotation or a uniform scale) maps circles to
    circles: centre, focus and radii are mapped, no transform. Otherwise the circles are ellipses:
    the coordinates are scaled by k, the largest stretch of the matrix, and gradientTransform is the
    matrix over k, so no axis is scaled up (poppler draws a pattern scaled up by much as nothing)."""
    cx, cy, r = (_fraction(template.get(name), 0.5) for name in ("cx", "cy", "r"))
    if cx is None or cy is None or r is None:
        return None
    fx, fy = _fraction(template.get("fx"), cx), _fraction(template.get("fy"), cy)
    fr = _fraction(template.get("fr"), 0.0)
    if fx is None or fy is None or fr is None:
        return None
    a, b, c, d, e, f = m
    tolerance = 1e-9 * max(abs(a), abs(b), abs(c), abs(d))
    similar = (abs(a - d) <= tolerance and abs(b + c) <= tolerance) or (abs(a + d) <= tolerance and abs(b - c) <= tolerance)
    values: dict[str, str] = {}
    if similar:
        k = abs(a * d - b * c) ** 0.5
        (cx, cy), (fx, fy) = _apply(m, cx, cy), _apply(m, fx, fy)
    else:
        total, det = a * a + b * b + c * c + d * d, a * d - b * c
        k = ((total + max(0.0, total * total - 4 * det * det) ** 0.5) / 2) ** 0.5
        cx, cy, fx, fy = cx * k, cy * k, fx * k, fy * k
        values["gradientTransform"] = "matrix({})".format(" ".join(_coordinate(v) for v in (a / k, b / k, c / k, d / k, e, f)))
    values.update(cx=_coordinate(cx), cy=_coordinate(cy), r=_coordinate(r * k))
    if template.get("fx") is not None or template.get("fy") is not None:  # else the focus is the new centre
        values.update(fx=_coordinate(fx), fy=_coordinate(fy))
    if template.get("fr") is not None:
        values["fr"] = _coordinate(fr * k)
    return values


def derived_from(gradient: Element) -> str | None:
    """The id of the author's gradient that `gradient` was written for by `clean`, or None if it is
    the author's: its id is ``<id>-bm<n>``, it has no stops and it refers to ``#<id>``."""
    m = _DERIVED_ID.match(gradient.get("id") or "")
    href = (gradient.get(f"{{{XLINK_NS}}}href") or gradient.get("href") or "").strip()
    if m and href == f"#{m.group(1)}" and not any(isinstance(c.tag, str) for c in gradient):
        return m.group(1)
    return None


class _BoxGradients:
    """The new gradients, one per gradient and distinct box, with deterministic ids (``sky-bm1``…)."""

    def __init__(self, ids: dict[str, Element]) -> None:
        self._ids = ids
        self._made: dict[tuple[str, Box], str | None] = {}
        self._count: dict[str, int] = {}
        self._last: dict[str, Element] = {}  # each gradient's last new one: the next goes after it

    def for_box(self, template: GradientTemplate, box: Box) -> str | None:
        key = (template.id, Box(*(round(v, 6) for v in (box.x, box.y, box.width, box.height))))
        if key not in self._made:
            values = _in_box_geometry(template, box)
            self._made[key] = self._add(template, values) if values is not None else None
        return self._made[key]

    def _add(self, template: GradientTemplate, values: dict[str, str]) -> str:
        n = self._count.get(template.id, 0)
        while True:
            n += 1
            new_id = f"{template.id}-bm{n}"
            if new_id not in self._ids:
                break
        self._count[template.id] = n
        original = template.element
        nsmap = dict(original.nsmap)
        if XLINK_NS not in nsmap.values() and "xlink" not in nsmap:
            nsmap["xlink"] = XLINK_NS  # for xlink:href, not lxml's ns0:href
        new = etree.Element(original.tag, nsmap=nsmap)
        new.set("id", new_id)
        new.set(f"{{{XLINK_NS}}}href", f"#{template.id}")  # its stops, spreadMethod…, through href
        new.set("gradientUnits", "userSpaceOnUse")
        for name in _GRADIENT_ATTRIBUTES:
            if name in values:
                new.set(name, values[name])
        new.tail = original.tail
        self._last.get(template.id, original).addnext(new)
        self._last[template.id] = new
        self._ids[new_id] = new
        return new_id


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


@dataclass(frozen=True)
class _Inside:
    """What an element inherits from where it is in the tree, for `user_space_gradients`."""

    paints: dict[str, Paint]
    viewport: Viewport
    reused: bool = False  # in a subtree a <use> draws: what it inherits is the <use>'s there, not this
    clipping: bool = False  # in a <clipPath>: only the shape counts, never its paint


def user_space_gradients(root: Element) -> list[str]:
    """Rewrite every objectBoundingBox gradient painted on a shape whose box is known exactly into a
    userSpaceOnUse one (see the section's comment), the shape's fill or stroke pointed at it; the notes
    for the gradients left as they are (on text, <use>, or a shape whose box cannot be known here)."""
    ids = _ids(root)
    templates = {gid: _gradient_template(el, ids) for gid, el in ids.items() if etree.QName(el).localname in GRADIENTS}
    if not any(t.in_box and t.stops > 1 for t in templates.values()):
        return []
    rules = _paint_rules(root)
    reused = {target.get("id") for el in root.iter(f"{{{SVG_NS}}}use") if (target := _use_target(el, ids)) is not None}
    made = _BoxGradients(ids)
    notes: list[str] = []
    box = _viewbox(root.get("viewBox"))
    top = _Inside({"fill": Paint("black", "inherited"), "stroke": Paint("none", "inherited")}, (box[2], box[3]) if box else None)
    stack: list[tuple[Element, Any, _Inside]] = [(root, _wrapper(root) if rules is not None else None, top)]
    while stack:
        el, wrapper, inside = stack.pop()
        local = etree.QName(el).localname
        here = replace(inside, reused=inside.reused or el.get("id") in reused, clipping=inside.clipping or local == "clipPath")
        own = _own_paints(el, wrapper, rules)
        paints = {prop: _resolve_inherit(own.get(prop), inside.paints[prop]) for prop in _PAINTS}
        for prop, paint in paints.items():
            m = _PAINT_URL.search(paint.value)
            template = templates.get(m.group(1)) if m else None
            if template is None or not template.in_box or template.stops < 2 or here.clipping:
                continue
            note = f"gradient '{template.id}' on <{'text' if local in TEXT else local}> {GRADIENT_NOTE}"
            if local in TEXT or local == "use":
                notes.append(note)
            elif local in SHAPES:
                if here.reused and paint.inherited:
                    notes.append(note)  # each <use> of it may give it another paint
                    continue
                shape = shape_box(el, here.viewport)
                new_id = made.for_box(template, shape) if shape is not None and shape.has_area else None
                if new_id is not None:
                    _point_at(el, prop, paint, new_id)
                elif shape is None or shape.has_area:
                    notes.append(note)
        children = ([(w.etree_element, w) for w in wrapper.iter_children()] if wrapper is not None
                    else [(child, None) for child in el if isinstance(child.tag, str)])
        inner = replace(here, paints=paints, viewport=_inner_viewport(el, local, here.viewport))
        stack.extend((child, w, inner) for child, w in reversed(children))
    return notes


def _wrapper(root: Element) -> Any:
    import cssselect2

    return cssselect2.ElementWrapper.from_xml_root(root)


def _resolve_inherit(own: Paint | None, parent: Paint) -> Paint:
    if own is None:
        return Paint(parent.value, "inherited", inherited=True)
    if own.value == "inherit":
        return Paint(parent.value, own.source, inherited=True)
    return own


def _inner_viewport(el: Element, local: str, viewport: Viewport) -> Viewport:
    """The viewport percentages refer to inside `el`: a nested <svg>'s own, none known inside a symbol,
    pattern, marker, mask or clipPath (their user space is set where they are used)."""
    if local in _NEW_VIEWPORT:
        return None
    if local != "svg" or el.getparent() is None:
        return viewport
    try:
        box = _viewbox(el.get("viewBox"))
    except SvgRefused:
        return None
    if box:
        return box[2], box[3]
    width, height = (_user_length(el.get(name) or "100%", axis, viewport, None) for name, axis in (("width", "x"), ("height", "y")))
    return (width, height) if width and height else None


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def serialise(root: Element) -> bytes:
    """UTF-8 XML by lxml's XML serialiser: deterministic, case kept (`viewBox`), no DOCTYPE."""
    etree.cleanup_namespaces(root)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


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


# --- CMYK -------------------------------------------------------------------------------------------

Cmyk = tuple[float, float, float, float]


class _CmykConverter:
    """sRGB -> device CMYK through the printer's ICC profile (as `images.to_cmyk` does for pixels);
    neutral greys to black ink only, so grey line art is not printed in four inks.

    Colours are converted in one batch (`prime`): each call of Pillow's transform costs ~10 ms.
    """

    def __init__(self, icc_profile: bytes) -> None:
        from PIL import ImageCms

        self._transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                                                  "RGB", "CMYK")
        self._memo: dict[tuple[int, int, int], Cmyk] = {}

    @staticmethod
    def _key(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
        r, g, b = (max(0, min(255, round(c * 255))) for c in rgb)
        return r, g, b

    def prime(self, colours: "set[tuple[float, float, float]]") -> None:
        from PIL import Image as PILImage
        from PIL import ImageCms

        keys = sorted({self._key(rgb) for rgb in colours} - set(self._memo))
        chromatic = [key for key in keys if max(key) - min(key) > 1]
        for key in keys:
            if max(key) - min(key) <= 1:
                self._memo[key] = (0.0, 0.0, 0.0, round(1 - sum(key) / 765, 4))
        if chromatic:
            strip = PILImage.new("RGB", (len(chromatic), 1))
            strip.putdata(chromatic)
            out = ImageCms.applyTransform(strip, self._transform)
            assert out is not None
            for n, key in enumerate(chromatic):
                c, m, y, k = (round(v / 255, 4) for v in out.getpixel((n, 0)))  # type: ignore[union-attr]
                self._memo[key] = (c, m, y, k)

    def __call__(self, rgb: tuple[float, float, float]) -> Cmyk:
        key = self._key(rgb)
        if key not in self._memo:
            self.prime({rgb})
        return self._memo[key]


def _colours(value: str) -> Iterator[tuple[float, float, float]]:
    """The sRGB colours a colour property's value names."""
    import tinycss2
    from tinycss2.color5 import parse_color

    for token in tinycss2.parse_component_value_list(value):
        colour = parse_color(token) if token.type in ("ident", "hash", "function") else None
        if colour is not None and not isinstance(colour, str) and colour.space != "device-cmyk":
            r, g, b = colour.to("srgb").coordinates
            yield r, g, b


def _device_cmyk(cmyk: Cmyk, alpha: float = 1.0) -> str:
    inks = " ".join(_number(v) for v in cmyk)
    return f"device-cmyk({inks} / {_number(alpha)})" if alpha < 1 else f"device-cmyk({inks})"


def _cmyk_value(value: str, convert: _CmykConverter) -> str:
    """A colour property's value with every sRGB colour written as device-cmyk()."""
    import tinycss2
    from tinycss2.color5 import parse_color

    out = []
    for token in tinycss2.parse_component_value_list(value):
        colour = parse_color(token) if token.type in ("ident", "hash", "function") else None
        if colour is None or isinstance(colour, str) or colour.space == "device-cmyk":
            out.append(tinycss2.serialize([token]))
            continue
        rgb = colour.to("srgb").coordinates
        out.append(_device_cmyk(convert((rgb[0], rgb[1], rgb[2])), colour.alpha))
    return "".join(out).strip()


ValueMap = Callable[[str, str], str]  # (property, value) -> value


def _map_values(root: Element, change: ValueMap) -> None:
    """Apply `change` to every colour property: attributes, style attributes and <style> rules."""
    import tinycss2

    memo: dict[tuple[str, str], str] = {}

    def changed(prop: str, value: str) -> str:
        if (prop, value) not in memo:
            memo[(prop, value)] = change(prop, value)
        return memo[(prop, value)]

    def declarations(items: "tuple[Declaration, ...] | list[Declaration]") -> list[str]:
        return [f"{name}:{changed(name, value) if name in COLOUR_PROPERTIES else value}{' !important' if important else ''}"
                for name, value, important, _ in items]

    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for key in list(el.attrib):
            if key in COLOUR_PROPERTIES:
                el.set(key, changed(key, el.get(key) or ""))
            elif key == "style":
                el.set(key, ";".join(declarations(parse_declarations(el.get(key) or ""))))
        if etree.QName(el).localname == "style" and el.text:
            rules = []
            for rule in tinycss2.parse_stylesheet(el.text, skip_comments=True, skip_whitespace=True):
                if rule.type == "qualified-rule":
                    inner = _declarations(tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True))
                    rules.append(f"{' '.join(tinycss2.serialize(rule.prelude).split())}{{{';'.join(declarations(inner))}}}")
            el.text = "\n".join(rules)


def _stop_colour(stop: Element) -> tuple[Cmyk, float]:
    """A stop's device-cmyk() colour and opacity (after conversion), its style winning over attributes."""
    import tinycss2
    from tinycss2.color5 import parse_color

    props = {"stop-color": stop.get("stop-color", "black"), "stop-opacity": stop.get("stop-opacity", "1")}
    for decl in tinycss2.parse_declaration_list(stop.get("style") or "", skip_comments=True, skip_whitespace=True):
        if decl.type == "declaration" and decl.lower_name in props:
            props[decl.lower_name] = tinycss2.serialize(decl.value).strip()
    colour = parse_color(props["stop-color"])
    cmyk: Cmyk = (0.0, 0.0, 0.0, 1.0)
    alpha = 1.0
    if colour is not None and not isinstance(colour, str) and colour.space == "device-cmyk":
        c, m, y, k = colour.coordinates
        cmyk, alpha = (c, m, y, k), colour.alpha
    try:
        opacity = float(props["stop-opacity"].rstrip("%")) / (100 if props["stop-opacity"].endswith("%") else 1)
    except ValueError:
        opacity = 1.0
    return cmyk, alpha * max(0.0, min(1.0, opacity))


def _gradient_stops(gradient: Element, ids: dict[str, Element]) -> list[Element]:
    """A gradient's stops, or those of the gradient it refers to (href), as SVG inherits them."""
    for _ in range(16):
        stops = [el for el in gradient if isinstance(el.tag, str) and etree.QName(el).localname == "stop"]
        target = _use_target(gradient, ids)
        if stops or target is None:
            return stops
        gradient = target
    return []


def _offset(stop: Element) -> float:
    value = (stop.get("offset") or "0").strip()
    try:
        number = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        number = 0.0
    return max(0.0, min(1.0, number))


def _average(stops: list[Element]) -> str:
    """The colour a gradient averages to over its length: each stop weighted by the span it covers."""
    points = [(_offset(stop), *_stop_colour(stop)) for stop in stops]
    positions = []
    last = 0.0
    for offset, cmyk, alpha in points:
        last = max(last, offset)  # offsets never go back (SVG clamps them)
        positions.append((last, cmyk, alpha))
    if len(positions) == 1:
        return _device_cmyk(positions[0][1], positions[0][2])
    weights = [0.0] * len(positions)
    weights[0] += positions[0][0]
    weights[-1] += 1 - positions[-1][0]
    for i in range(len(positions) - 1):
        span = positions[i + 1][0] - positions[i][0]
        weights[i] += span / 2
        weights[i + 1] += span / 2
    total = sum(weights) or 1.0
    inks = tuple(round(sum(w * p[1][n] for w, p in zip(weights, positions)) / total, 4) for n in range(4))
    alpha = sum(w * p[2] for w, p in zip(weights, positions)) / total
    return _device_cmyk(inks, alpha)  # type: ignore[arg-type]


def _flatten_gradients(root: Element) -> int:
    """Each fill or stroke by a gradient painted in the gradient's average colour; how many gradients."""
    ids = _ids(root)
    flat = {gid: _average(stops) for gid, el in ids.items()
            if etree.QName(el).localname in ("linearGradient", "radialGradient") and (stops := _gradient_stops(el, ids))}
    empty = {gid for gid, el in ids.items() if etree.QName(el).localname in ("linearGradient", "radialGradient")} - set(flat)
    pattern = re.compile(r"url\(\s*['\"]?#([^'\")\s]+)['\"]?\s*\)")

    def change(prop: str, value: str) -> str:
        m = pattern.search(value)
        if m and m.group(1) in flat:
            return flat[m.group(1)]
        if m and m.group(1) in empty:
            return "none"  # a gradient without stops paints nothing
        return value

    _map_values(root, change)
    return len(flat) + len(empty)


def to_cmyk(data: bytes, icc_profile: bytes, raster_to_cmyk: Callable[[bytes, bytes], bytes]) -> bytes:
    """A clean SVG for a CMYK printer: every colour as ``device-cmyk()``, embedded pictures in CMYK.

    WeasyPrint 70 paints ``device-cmyk()`` with DeviceCMYK operators (weasyprint/pdf/stream.py
    `set_color`). SVG's defaults are sRGB black (fill, ``color``, ``stop-color``, ``flood-color``),
    so they are written out in black ink. `raster_to_cmyk` converts an embedded PNG or JPEG
    (images.to_cmyk). Gradients are painted in their average flat colour: WeasyPrint 70 builds an
    SVG gradient's shading from the first three colour components (weasyprint/svg/defs.py
    `draw_gradient`), which in a CMYK document gives a PDF whose gradient is neither right nor valid.
    """
    root, _ = _parse(data)
    convert = _CmykConverter(icc_profile)
    black = _device_cmyk((0.0, 0.0, 0.0, 1.0))
    for name in ("fill", "color"):
        if root.get(name) is None:
            root.set(name, black)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        if local == "stop" and el.get("stop-color") is None:
            el.set("stop-color", black)
        if local in ("feFlood", "feDropShadow") and el.get("flood-color") is None:
            el.set("flood-color", black)
        if local == "image":
            _embedded_to_cmyk(el, icc_profile, raster_to_cmyk)
    found: set[tuple[float, float, float]] = set()
    _map_values(root, lambda prop, value: found.update(_colours(value)) or value)  # type: ignore[func-returns-value]
    convert.prime(found)
    _map_values(root, lambda prop, value: _cmyk_value(value, convert))
    if any(etree.QName(el).localname in ("linearGradient", "radialGradient") for el in root.iter() if isinstance(el.tag, str)):
        _flatten_gradients(root)
    return serialise(root)


def _embedded_to_cmyk(el: Element, icc_profile: bytes, raster_to_cmyk: Callable[[bytes, bytes], bytes]) -> None:
    for key in list(el.attrib):
        if etree.QName(key).localname != "href":
            continue
        m = _DATA_IMAGE.match(el.get(key) or "")
        if m:
            raw = base64.b64decode(re.sub(r"\s+", "", m.group(2)))
            converted = raster_to_cmyk(raw, icc_profile)
            if converted is not raw:
                el.set(key, "data:image/jpeg;base64," + base64.b64encode(converted).decode("ascii"))


def gradients(data: bytes) -> int:
    """How many gradients a clean SVG's author defined (a CMYK print book paints them flat, see
    `to_cmyk`); the ones `clean` wrote for each element's box (`derived_from`) are not counted."""
    root, _ = _parse(data)
    return sum(1 for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname in GRADIENTS
               and derived_from(el) is None)
