"""MathML to vector outlines for print (`mathml_to_svg`): ziamath lays the formula out in STIX Two
Math, the drawing is cut down to shapes only, and each formula is drawn once per process."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass

from lxml import etree

from .common import _M, SVG_NS, FormulaError

# --------------------------------------------------------------------------------------------
# MathML -> SVG


@dataclass(frozen=True)
class Svg:
    """One formula drawn as outlines. Lengths in pt; `depth` is how far it reaches below the baseline.

    `markup` is a standalone SVG (width and height in pt, the baseline at y=0 of its viewBox) of
    shapes only (glyph outlines as `<path>`, rules as `<rect>`): no text, no font, no ids, no
    links, so many can sit inline in one document and WeasyPrint embeds nothing for them.
    """

    markup: str
    width: float
    height: float
    depth: float


_ZIAMATH_LOCK = threading.Lock()  # ziamath's svg2 switch is process-global configuration
_MARGIN_EM = 0.04  # room around the ink so no edge of a glyph touches the box


def _presentation(mathml: str) -> str:
    """The MathML ziamath should draw: `<semantics>` reduced to its presentation, no annotations.

    ziamath knows neither element: it logs a warning for each and lays them out as rows, so an
    `<annotation-xml>` holding MathML would be drawn beside the formula.
    """
    try:
        root = etree.fromstring(mathml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise FormulaError(f"formula cannot be drawn: the MathML is not well-formed ({exc})") from exc
    if etree.QName(root).localname != "math":
        raise FormulaError(f"formula cannot be drawn: expected <math>, not <{etree.QName(root).localname}>")
    for note in list(root.iter(_M + "annotation", _M + "annotation-xml", "annotation", "annotation-xml")):
        note.getparent().remove(note)
    for semantics in list(root.iter(_M + "semantics", "semantics")):
        parent = semantics.getparent()  # never None: the root is <math>
        position = parent.index(semantics)
        parent.remove(semantics)
        for offset, child in enumerate(list(semantics)):  # what is left: the presentation
            parent.insert(position + offset, child)
    return etree.tostring(root, encoding="unicode")


def _draw(presentation: str, font_size_pt: float) -> ET.Element:
    import ziamath

    with _ZIAMATH_LOCK:
        previous = ziamath.config.svg2
        ziamath.config.svg2 = False  # plain <path>s: no <symbol>/<use> ids to clash between formulas
        try:
            return ziamath.Math(presentation, size=font_size_pt, margin=_MARGIN_EM * font_size_pt).svgxml()
        except Exception as exc:  # ziamath on MathML it cannot lay out
            raise FormulaError(f"formula cannot be drawn ({type(exc).__name__}: {exc})") from exc
        finally:
            ziamath.config.svg2 = previous


# What ziamath draws with: glyph outlines, rules (fraction bars, radicals, boxes), groups.
_SHAPES = frozenset({"g", "path", "rect", "line", "polyline", "polygon", "circle", "ellipse"})
_GEOMETRY = frozenset({"d", "x", "y", "width", "height", "x1", "y1", "x2", "y2", "points", "cx", "cy", "r", "rx", "ry",
                       "transform", "fill", "stroke", "stroke-width", "opacity", "fill-opacity", "stroke-opacity"})


def _copy_shapes(drawn: ET.Element, into: etree._Element) -> None:
    """Shapes and their geometry only: never text, a title, an id or a link."""
    for child in drawn:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag not in _SHAPES:
            continue
        attributes = {k: v for k, v in sorted(child.attrib.items()) if k in _GEOMETRY}
        copy = etree.SubElement(into, f"{{{SVG_NS}}}{tag}", attributes)
        _copy_shapes(child, copy)


def _clean_svg(drawn: ET.Element) -> tuple[str, float, float, float]:
    """Shapes only, lengths in pt, no xlink namespace; and the box it measures.

    ziamath puts the baseline at y=0 of its viewBox, so the depth below the baseline is the
    bottom of the viewBox: its top (negative: the height above the baseline) plus its height.
    """
    width = float(drawn.get("width", "0"))
    height = float(drawn.get("height", "0"))
    view_box = drawn.get("viewBox", "0 0 0 0")
    top = float(view_box.split()[1])
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    svg.set("width", f"{width:g}pt")
    svg.set("height", f"{height:g}pt")
    svg.set("viewBox", view_box)
    _copy_shapes(drawn, svg)
    return etree.tostring(svg, encoding="unicode"), width, height, round(top + height, 3)


_DRAWN: OrderedDict[tuple[str, float], Svg] = OrderedDict()  # the formulas drawn in this process, newest last
_DRAWN_MAX = 8192  # distinct formulas (and sizes) kept; the oldest go first
_DRAWN_LOCK = threading.Lock()  # the preview server draws from several threads


def _drawn(key: tuple[str, float]) -> Svg | None:
    with _DRAWN_LOCK:
        hit = _DRAWN.get(key)
        if hit is not None:
            _DRAWN.move_to_end(key)
        return hit


def _remember(key: tuple[str, float], svg: Svg) -> None:
    with _DRAWN_LOCK:
        _DRAWN[key] = svg
        _DRAWN.move_to_end(key)
        while len(_DRAWN) > _DRAWN_MAX:
            _DRAWN.popitem(last=False)


def forget_drawings() -> None:
    """Empties this process's drawings (tests; a long-running server never needs to: they are bounded)."""
    with _DRAWN_LOCK:
        _DRAWN.clear()


def _outlines(mathml: str, font_size_pt: float) -> Svg:
    markup, width, height, depth = _clean_svg(_draw(_presentation(mathml), font_size_pt))
    if width <= 0 or height <= 0:
        raise FormulaError("formula cannot be drawn: it has no visible content")
    return Svg(markup, width, height, depth)


def mathml_to_svg(mathml: str, font_size_pt: float) -> Svg:
    """The formula in outlines at `font_size_pt`; the same input always gives the same bytes.
    Each formula is drawn once per process (or ahead, by `draw_ahead`)."""
    if font_size_pt <= 0:
        raise ValueError(f"font size must be positive, not {font_size_pt}")
    key = (mathml, font_size_pt)
    svg = _drawn(key)
    if svg is None:
        svg = _outlines(mathml, font_size_pt)
        _remember(key, svg)
    return svg
