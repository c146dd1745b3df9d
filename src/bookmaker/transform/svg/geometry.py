"""The geometry gradients are rewritten with: SVG transform lists as affine matrices, lengths in
user units, and the exact bounding box of a shape element (a path's by svg.path)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .allowlist import _LENGTH, CSS_PX, Element

_TRANSFORM = re.compile(r"\s*(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^()]*)\)\s*,?", re.I)

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
