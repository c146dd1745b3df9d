"""Preflight of the cover wrap: its printer's rules (core/cover.py), checked on the PDF itself.

The sheet is measured against the formula for the interior's page count and paper: sheet size to
0.01in, TrimBox and BleedBox (bleed on all four outer edges), fonts embedded, images at 300 dpi,
text inside the safe lines, the spine text rule, the barcode area, the colour model. A table of
small rule functions, as the interior's preflight (checks/preflight.py) is.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.cover import Box, CoverGeometry
from ..core.model import BookConfig
from .preflight import (
    PT,
    PreflightReport,
    RuleResult,
    colour_spaces,
    embedded,
    page_fonts,
)

SIZE_TOLERANCE = 0.01  # inches: the sheet against the formula
BOX_TOLERANCE = 0.75 / PT  # inches: TrimBox and BleedBox against the bleed (as the interior's rules)
EDGE = 0.2 / PT  # inches: glyph boxes and bar edges rounded in the PDF


@dataclass(frozen=True)
class Mark:
    """Something painted on the sheet, in inches from its top-left corner: a character, an image, a filled box."""

    kind: str  # "char", "image", "rect"
    box: Box
    text: str = ""
    pixels: tuple[int, int] = (0, 0)


def _inside(box: Box, area: Box, slack: float = EDGE) -> bool:
    return box[0] >= area[0] - slack and box[1] >= area[1] - slack and box[2] <= area[2] + slack and box[3] <= area[3] + slack


def _overlaps(box: Box, area: Box) -> bool:
    return box[0] < area[2] - EDGE and box[2] > area[0] + EDGE and box[1] < area[3] - EDGE and box[3] > area[1] + EDGE


def read_marks(data: bytes) -> list[Mark]:
    """Every character, image and filled rectangle of the cover's one page (pdfminer), in sheet inches."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTImage, LTRect

    marks: list[Mark] = []
    page = next(iter(extract_pages(io.BytesIO(data), laparams=None)))
    height = page.y1 - page.y0

    def sheet(obj: Any) -> Box:  # pdfminer: points up from the MediaBox's lower left
        return ((obj.x0 - page.x0) / PT, (height - (obj.y1 - page.y0)) / PT, (obj.x1 - page.x0) / PT, (height - (obj.y0 - page.y0)) / PT)

    def walk(obj: Any) -> None:
        if isinstance(obj, LTChar) and obj.get_text().strip():
            marks.append(Mark("char", sheet(obj), obj.get_text()))
        elif isinstance(obj, LTImage):
            marks.append(Mark("image", sheet(obj), pixels=(int(obj.srcsize[0] or 0), int(obj.srcsize[1] or 0))))
        elif isinstance(obj, LTRect) and obj.fill:
            marks.append(Mark("rect", sheet(obj)))
        if hasattr(obj, "__iter__"):
            for child in obj:
                walk(child)

    walk(page)
    return marks


@dataclass
class _Cover:
    data: bytes
    geometry: CoverGeometry
    config: BookConfig
    reader: Any  # pypdf.PdfReader

    @functools.cached_property
    def marks(self) -> list[Mark]:
        return read_marks(self.data)

    @property
    def page(self) -> Any:
        return self.reader.pages[0]

    def box(self, name: str) -> Box:
        b = getattr(self.page, name)
        return (float(b.left) / PT, float(b.bottom) / PT, float(b.right) / PT, float(b.top) / PT)


Rule = Callable[[_Cover], "list[RuleResult]"]


def _sheet_rules(c: _Cover) -> list[RuleResult]:
    g = c.geometry
    n = len(c.reader.pages)
    x0, y0, x1, y1 = c.box("mediabox")
    w, h = x1 - x0, y1 - y0
    size_ok = n == 1 and abs(w - g.sheet_width) <= SIZE_TOLERANCE and abs(h - g.sheet_height) <= SIZE_TOLERANCE
    formula = (f"{g.bleed:g} + {g.trim_width:g} + {g.spine:.4f} spine ({g.pages} pages x {g.rules.caliper[g.paper]:g}in, "
               f"{g.paper}) + {g.trim_width:g} + {g.bleed:g} = {g.sheet_width:.4f}in x {g.sheet_height:.4f}in")
    measured = f"{n} page{'s' if n != 1 else ''}, {w:.4f}in x {h:.4f}in"
    want_trim = (x0 + g.bleed, y0 + g.bleed, x1 - g.bleed, y1 - g.bleed)
    trim_ok = all(abs(a - b) <= BOX_TOLERANCE for a, b in zip(c.box("trimbox"), want_trim))
    bleed_ok = all(abs(a - b) <= BOX_TOLERANCE for a, b in zip(c.box("bleedbox"), (x0, y0, x1, y1)))
    tx0, ty0, tx1, ty1 = c.box("trimbox")
    return [RuleResult("cover sheet size", size_ok, measured, (), "" if size_ok else f"{measured}; the formula gives {formula}"),
            RuleResult("cover bleed on all four edges", trim_ok and bleed_ok,
                       f"TrimBox {tx1 - tx0:.4f}in x {ty1 - ty0:.4f}in, bleed {g.bleed:g}in",
                       (), "" if trim_ok and bleed_ok else f"TrimBox and BleedBox must leave {g.bleed:g}in of bleed on every outer edge")]


def _fonts_rule(c: _Cover) -> list[RuleResult]:
    fonts = page_fonts(c.page, {}).values()
    missing = sorted(name for name, font in fonts if not embedded(font))
    return [RuleResult("cover fonts embedded", not missing, f"{len(list(fonts))} fonts",
                       (), f"not embedded: {', '.join(missing)}" if missing else "")]


def _image_rule(c: _Cover) -> list[RuleResult]:
    least, low = 1e9, 0
    for m in c.marks:
        if m.kind != "image" or not m.pixels[0]:
            continue
        w, h = m.box[2] - m.box[0], m.box[3] - m.box[1]
        dpi = min(m.pixels[0] / w, m.pixels[1] / h) if w > 0 and h > 0 else 1e9
        least = min(least, dpi)
        low += dpi < c.config.print.profile.min_image_dpi - 0.5
    measured = f"smallest {least:.0f} dpi (minimum {c.config.print.profile.min_image_dpi})" if least < 1e9 else "no images"
    return [RuleResult("cover images at 300 dpi", not low, measured)]


def _safe_rule(c: _Cover) -> list[RuleResult]:
    """Every character inside one safe area: a cover's, within its safe lines, or the spine's."""
    areas = c.geometry.safe_areas()
    outside = [m for m in c.marks if m.kind == "char" and not any(_inside(m.box, a) for a in areas.values())]
    where = ", ".join(f"'{m.text}' at {m.box[0]:.3f}in, {m.box[1]:.3f}in" for m in outside[:5])
    return [RuleResult("cover text inside the safe zones", not outside,
                       f"{sum(m.kind == 'char' for m in c.marks)} characters, {len(outside)} outside "
                       f"(safe {c.geometry.rules.safe:g}in inside the trim, {c.geometry.rules.spine_margin:g}in from the spine folds)",
                       (), f"text outside the safe zones: {where}" if outside else "")]


def _spine_rule(c: _Cover) -> list[RuleResult]:
    g = c.geometry
    spine = (g.spine_x0, 0.0, g.spine_x1, g.sheet_height)
    on_spine = sum(1 for m in c.marks if m.kind == "char" and _overlaps(m.box, spine))
    allowed = g.pages >= g.rules.min_spine_text_pages  # the printer's rule (the legibility floor is bookmaker's own)
    ok = allowed or on_spine == 0
    rule = (f"spine text allowed ({g.pages} pages >= {g.rules.min_spine_text_pages})" if allowed
            else f"no spine text below {g.rules.min_spine_text_pages} pages ({g.pages} pages)")
    return [RuleResult("cover spine text rule", ok, f"{rule}; {on_spine} characters on the spine", (),
                       "" if ok else f"{on_spine} characters on the spine of a {g.pages}-page book ({g.rules.profile} refuses spine text below {g.rules.min_spine_text_pages} pages)")]


def _barcode_rule(c: _Cover) -> list[RuleResult]:
    """The barcode area holds the print edition's ISBN's EAN-13 and its digits, or nothing."""
    area, isbn = c.geometry.barcode_area, c.config.print_isbn
    # the sheet's ground, painted under everything, is not in the area: it holds the area
    inside = [m for m in c.marks if _overlaps(m.box, area) and not (m.kind == "rect" and _inside(area, m.box, 0.0) and m.box != area)]
    chars = "".join(m.text for m in sorted((m for m in inside if m.kind == "char"), key=lambda m: m.box[0]))
    stray = [m for m in inside if m.kind == "image" or not _inside(m.box, area)]
    if isbn is None:
        ok = not inside
        return [RuleResult("cover barcode area clear", ok, "empty (no ISBN: the printer places its barcode)" if ok else f"{len(inside)} marks in it",
                           (), "" if ok else "the barcode area must stay clear (2in x 1.2in, lower right of the back cover)")]
    ok = chars == isbn and not stray
    return [RuleResult("cover barcode area", ok, f"EAN-13 {chars or 'missing'}", (),
                       "" if ok else f"the barcode area holds '{chars}' and {len(stray)} other marks, not only the EAN-13 of ISBN {isbn}")]


def _colour_rules(c: _Cover) -> list[RuleResult]:
    if c.config.print.profile.colour != "cmyk":
        return []
    found = colour_spaces(c.page)
    rgb = found & {"DeviceRGB", "ICC RGB", "CalRGB", "Lab"}
    intents = c.reader.trailer["/Root"].get_object().get("/OutputIntents")
    intent_n = 0
    if intents:
        dest = intents[0].get_object().get("/DestOutputProfile")
        intent_n = int(dest.get_object().get("/N", 0)) if dest is not None else 0
    return [RuleResult("cover CMYK or grey only", not rgb, "colour spaces: " + (", ".join(sorted(found)) or "none")),
            RuleResult("cover CMYK output intent", intent_n == 4, "CMYK ICC output intent" if intent_n == 4 else "no CMYK output intent")]


RULES: tuple[Rule, ...] = (_sheet_rules, _fonts_rule, _image_rule, _safe_rule, _spine_rule, _barcode_rule, _colour_rules)


def preflight_cover(data: bytes, config: BookConfig, geometry: CoverGeometry) -> PreflightReport:
    """Every cover rule of the book's printer, for the cover `geometry` of its interior, checked on `data`."""
    from pypdf import PdfReader

    cover = _Cover(data, geometry, config, PdfReader(io.BytesIO(data)))
    results = tuple(result for rule in RULES for result in rule(cover))
    return PreflightReport(f"{config.print.profile.name} cover", geometry.pages, results)
