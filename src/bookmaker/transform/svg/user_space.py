"""Gradients in a box rewritten into user space (`user_space_gradients`): each objectBoundingBox
gradient painted on a shape whose box is known becomes a userSpaceOnUse one for that box, so that
every PDF viewer draws it; a note for each one left as it is."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from .allowlist import _LENGTH, SVG_NS, TEXT, XLINK_NS, Element
from .checks import _ids, _use_target
from .geometry import (
    Affine,
    Box,
    Viewport,
    _apply,
    _coordinate,
    _multiply,
    _user_length,
    parse_transform,
    shape_box,
)
from .paint import (
    _PAINT_URL,
    _PAINTS,
    Paint,
    _own_paints,
    _paint_rules,
    _point_at,
    _resolve_inherit,
    _wrapper,
)
from .parse import SvgRefused, _viewbox

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
_DERIVED_ID = re.compile(r"^(.+)-bm\d+$")
_NEW_VIEWPORT = frozenset("symbol pattern marker mask clipPath".split())  # percentages there are not the <svg>'s


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
