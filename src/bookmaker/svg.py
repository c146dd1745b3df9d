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

What is removed is returned, so the build can warn where the manuscript names the file. Editor
metadata (Inkscape, Sodipodi, Illustrator, RDF) is dropped without a word: it is inert and every
editor writes it. `to_cmyk` turns a clean SVG's colours into ``device-cmyk()`` for CMYK printers.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from lxml import etree

from .errors import ImageError

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
    """A cleaned SVG: UTF-8 XML, its intrinsic size in CSS px (96 per inch), what was taken out."""

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
    parent = el.getparent()
    assert parent is not None
    index = parent.index(el)
    children = list(el) if unwrap else []
    carried = (el.text or "") if unwrap else ""
    tail = el.tail or ""
    before = parent[index - 1] if index > 0 else None
    parent.remove(el)  # lxml takes the tail away with the element

    def append_text(after: Element | None, text: str) -> None:
        if not text:
            return
        if after is None:
            parent.text = (parent.text or "") + text
        else:
            after.tail = (after.tail or "") + text

    append_text(before, carried)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    append_text(children[-1] if children else before, tail)


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
    return CleanSvg(serialise(root), width, height, _unique(removed))


def clean_svg(data: bytes, where: tuple[Path, int | None], name: str) -> CleanSvg:
    """`clean` with the manuscript's location on the error: ``chapter.md:12: error: SVG '…' …``."""
    try:
        return clean(data)
    except SvgRefused as exc:
        raise ImageError.at(where[0], where[1], f"SVG '{name}' {exc}") from None
    except RecursionError:
        raise ImageError.at(where[0], where[1], f"SVG '{name}' nests its elements too deeply") from None


def removed_message(name: str, removed: tuple[str, ...], most: int = 8) -> str:
    """The warning for a cleaned SVG: ``SVG 'images/x.svg': removed <script>, onload=, …``."""
    shown = ", ".join(removed[:most])
    more = f" and {len(removed) - most} more" if len(removed) > most else ""
    return f"SVG '{name}': removed {shown}{more} (not allowed in a book's SVG)"


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
    """How many gradients a clean SVG defines (a CMYK print book paints them flat, see `to_cmyk`)."""
    root, _ = _parse(data)
    return sum(1 for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname in ("linearGradient", "radialGradient"))
