"""A clean SVG for a CMYK printer (`to_cmyk`): every colour as ``device-cmyk()`` through the printer's
ICC profile, embedded pictures converted, gradients painted in their average colour; and how many
gradients an author defined (`gradients`), which a CMYK book warns of."""

from __future__ import annotations

import base64
import io
import re
from typing import Callable, Iterator

from lxml import etree

from .allowlist import _DATA_IMAGE, COLOUR_PROPERTIES, Element
from .checks import _ids, _use_target
from .css import Declaration, _declarations, parse_declarations
from .parse import _number, _parse, serialise
from .user_space import GRADIENTS, derived_from

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
