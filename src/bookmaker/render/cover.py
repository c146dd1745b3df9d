"""The cover wrap's HTML page for WeasyPrint (layouts/cover.html.j2), from its geometry, and the
EPUB's typographic cover: the same template's front cover alone, on a page of its own.

Every box is computed here from `core/cover.CoverGeometry`, in inches from the trim's top-left
corner (the page box; the bleed lies outside it), so the template only places them. The front's
design (layouts/_cover_front.j2 and its CSS) sizes everything from its box, so the 6in x 9in print
front and the 5in x 8in EPUB cover read the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.cover import EPUB_COVER_DPI, EPUB_COVER_PX, Box, CoverGeometry, default_spine_direction
from ..core.model import Book
from ..core.resources import layouts_for
from .layout import Asset, Page, Rendered, _render, _template_path, check_well_formed
from .printed import cmyk_profile, font_files

TEMPLATE = "cover.html.j2"
EAN_MODULE = 0.013  # inches: the EAN-13 X dimension at 100% (0.33mm)
EAN_QUIET = (11, 7)  # modules of quiet zone left and right of the bars (ISO/IEC 15420)
BAR_HEIGHT = 0.8  # inches
SPINE_MAX_PT = 10.0
EPUB_COVER_IN = (EPUB_COVER_PX[0] / EPUB_COVER_DPI, EPUB_COVER_PX[1] / EPUB_COVER_DPI)  # 5in x 8in

# The typographic cover's colours (the EPUB's are always these), and their CMYK for a CMYK printer.
_RGB = {"ground": "rgb(28, 36, 48)", "accent": "rgb(196, 164, 98)", "title": "rgb(245, 240, 228)",
        "subtitle": "rgb(210, 200, 180)", "ink": "rgb(245, 240, 228)", "paper": "rgb(255, 255, 255)", "bar": "rgb(0, 0, 0)"}
_CMYK = {"ground": "device-cmyk(0.75 0.6 0.4 0.7)", "accent": "device-cmyk(0.2 0.3 0.7 0.05)",
         "title": "device-cmyk(0.02 0.03 0.1 0)", "subtitle": "device-cmyk(0.12 0.13 0.25 0)",
         "ink": "device-cmyk(0.02 0.03 0.1 0)", "paper": "device-cmyk(0 0 0 0)", "bar": "device-cmyk(0 0 0 1)"}


@dataclass(frozen=True)
class Barcode:
    """An EAN-13 laid out in its area: bar runs (left, width) from the bars box's left edge."""

    digits: str
    bars: tuple[tuple[float, float], ...]
    width: float  # bars and quiet zones


def ean13_bars(isbn: str) -> Barcode:
    """The bars of the ISBN's EAN-13 (python-barcode's module pattern), as runs of dark modules."""
    from barcode import EAN13  # type: ignore[import-untyped]  # python-barcode

    modules = EAN13(isbn).build()[0]
    bars, start = [], None
    for i, m in enumerate(modules + "0"):
        if m == "1" and start is None:
            start = i
        elif m != "1" and start is not None:
            bars.append(((EAN_QUIET[0] + start) * EAN_MODULE, (i - start) * EAN_MODULE))
            start = None
    return Barcode(isbn, tuple(bars), (EAN_QUIET[0] + len(modules) + EAN_QUIET[1]) * EAN_MODULE)


def _css(box: Box, g: CoverGeometry) -> str:
    """A sheet box (inches from the sheet's corner) as CSS in the page box (from the trim's corner)."""
    return _placed(box, g.bleed)


def _placed(box: Box, bleed: float) -> str:
    x0, y0, x1, y1 = box
    return f"left: {x0 - bleed:.4f}in; top: {y0 - bleed:.4f}in; width: {x1 - x0:.4f}in; height: {y1 - y0:.4f}in;"


def spine_box(g: CoverGeometry, direction: str) -> dict[str, Any]:
    """The spine's line of text: a box as long as the spine's safe height, turned about its centre."""
    x0, y0, x1, y1 = g.safe_areas()["spine"]
    thick, length = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    turn = 90 if direction == "top-to-bottom" else -90
    box = _css((cx - length / 2, cy - thick / 2, cx + length / 2, cy + thick / 2), g)
    return {"text": g.spine_text, "box": box + f" transform: rotate({turn}deg);", "height": thick,
            "font_pt": round(min(SPINE_MAX_PT, thick * 72 * 0.55), 2)}


def _barcode(g: CoverGeometry, isbn: str | None) -> dict[str, Any] | None:
    """The barcode area (kept white and empty without an ISBN: the printer places its own)."""
    area = g.barcode_area
    if isbn is None:
        return None
    code = ean13_bars(isbn)
    x0, y0, x1, y1 = area
    left, top = (x1 - x0 - code.width) / 2, (y1 - y0 - BAR_HEIGHT - 0.16) / 2
    bars_box = f"left: {left:.4f}in; top: {top:.4f}in; width: {code.width:.4f}in; height: {BAR_HEIGHT + 0.16:.4f}in;"
    return {"box": _css(area, g), "bars_box": bars_box, "bars": code.bars, "bar_height": BAR_HEIGHT,
            "digits_top": BAR_HEIGHT + 0.03, "digits": code.digits}


def blurb_html(text: str | None) -> str:
    """book.toml `back_cover`: Markdown, raw HTML shown as text."""
    if not text:
        return ""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(["replacements", "smartquotes"]).render(text))


def _back(g: CoverGeometry, book: Book) -> dict[str, Any]:
    x0, y0, x1, _ = g.safe_areas()["back"]
    bottom = g.barcode_area[1] - 0.15
    return {"box": _css((x0 + 0.25, y0 + 0.5, x1 - 0.25, bottom), g), "blurb": blurb_html(book.config.back_cover)}


def _front(g: CoverGeometry, book: Book) -> dict[str, Any]:
    """The front cover: the book's image over the panel and its bleed, else the typographic design."""
    image = book.cover if book.cover is not None and not book.cover.placeholder else None
    if image is not None:
        box = (g.spine_x1, 0.0, g.sheet_width, g.sheet_height)
        return {"image": image.href, "box": _css(box, g)}
    return _typographic((g.spine_x1, g.bleed, g.sheet_width - g.bleed, g.sheet_height - g.bleed), g.bleed)


def _typographic(box: Box, bleed: float) -> dict[str, Any]:
    """The typographic front in `box` (its trimmed panel): the template sizes its type from its width."""
    return {"image": None, "box": _placed(box, bleed), "width": box[2] - box[0], "height": box[3] - box[1]}


def _page(book: Book, context: dict[str, Any], cmyk: bool) -> Rendered:
    """layouts/cover.html.j2 with `context`, checked, and the assets it names."""
    config = book.config
    layouts = layouts_for(config)
    content = _render(layouts, TEMPLATE, {"config": config, "colour": {"cmyk": cmyk, **(_CMYK if cmyk else _RGB)},
                                          "back": None, "spine": None, "barcode": None, **context})
    page = Page("cover.html", f"Cover: {config.title}", "document", content)
    check_well_formed(page, _template_path(layouts, TEMPLATE))
    assets = tuple(Asset(name, "font/ttf", path.read_bytes()) for name, path in font_files(layouts).items())
    if book.cover is not None and context["front"]["image"] is not None:
        assets += (Asset(book.cover.href, book.cover.media_type, book.cover.data),)
    if cmyk:
        assets += (Asset("icc/cmyk.icc", "application/vnd.iccprofile", cmyk_profile(config).read_bytes()),)
    return Rendered("print", (page,), assets)


def render_cover(book: Book, g: CoverGeometry) -> Rendered:
    """The cover wrap as one HTML page and its assets (fonts, the cover image, the CMYK profile)."""
    config = book.config
    direction = config.print.spine_direction or default_spine_direction(config.language)
    return _page(book, {
        "sheet": {"trim_w": g.sheet_width - 2 * g.bleed, "trim_h": g.trim_height, "bleed": g.bleed},
        "front": _front(g, book), "back": _back(g, book), "spine": spine_box(g, direction),
        "barcode": _barcode(g, config.print_isbn),
    }, config.print.profile.colour == "cmyk")


def render_cover_image(book: Book, size: tuple[float, float] = EPUB_COVER_IN) -> Rendered:
    """The EPUB's typographic cover as one HTML page for WeasyPrint: the cover wrap's template with
    its front cover alone (no back, spine or bleed) on a page of `size` inches, in RGB."""
    width, height = size
    return _page(book, {"sheet": {"trim_w": width, "trim_h": height, "bleed": 0.0},
                        "front": _typographic((0.0, 0.0, width, height), 0.0)}, cmyk=False)
