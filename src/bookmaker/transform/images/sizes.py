"""Where an image is placed, in inches and pixels. Pure."""

from __future__ import annotations

import math

from ...core.model import BookConfig

PRINT_DPI = 300
DEFAULT_ASPECT = (3, 2)


def fit(width: float, height: float, box_width: float, box_height: float) -> tuple[float, float]:
    """Scale (width, height) to the largest size with the same aspect ratio inside the box."""
    if width <= 0 or height <= 0:
        raise ValueError("image sides must be positive")
    scale = min(box_width / width, box_height / height)
    return width * scale, height * scale


def placeholder_pixels(aspect: tuple[int, int], box_width: float, box_height: float, dpi: int = PRINT_DPI) -> tuple[int, int]:
    """Pixels a placeholder needs to print at `dpi` where the layout places it."""
    w_in, h_in = fit(aspect[0], aspect[1], box_width, box_height)
    return math.ceil(round(w_in * dpi, 6)), math.ceil(round(h_in * dpi, 6))


PLATE_CAPTION_ROOM = 0.9  # inches of a plate's text block kept for its caption (three lines and the gap)


def figure_box(config: BookConfig, plate: bool = False) -> tuple[float, float]:
    """The largest area, in inches, the print layout gives a figure; a plate (a facing chapter's
    opening figure, alone on the left-hand page) has the text block less its caption's room, or
    with `[print] plates = "bleed"` the whole page and its bleed (`fills`)."""
    p = config.print
    if fills(config, plate):
        return p.trim_width + p.profile.bleed, p.trim_height + 2 * p.profile.bleed
    if plate:
        return p.text_width, p.text_height - PLATE_CAPTION_ROOM
    return p.text_width, p.text_height * p.figure_max_height


def fills(config: BookConfig, plate: bool) -> bool:
    """The picture covers its box, cropped to it (a plate to the bleed), instead of fitting in it."""
    return plate and config.print.plates == "bleed"
