"""Pillow: probe real images, draw placeholders for missing ones, compute placed sizes.

``fit()`` and ``placeholder_pixels()`` are pure; the rest is thin I/O around Pillow. SVG takes
the same path (`normalise`, the build cache), cleaned by svg.py instead of decoded by Pillow: its
size is its CSS pixel size (96 per inch), and both back ends draw it as vectors.

The package, by job: `sizes` (`fit`, `placeholder_pixels`, `figure_box`: pure), `normalise`
(decoding, checks and re-encoding; SVG handed to svg/), `store` (names in the outputs, the build
cache), `placeholder` (missing art drawn with Pillow), `cover` (the book's cover, or the place of
the typographic one), `load` (image references read, normalised and sized; every error of a run
at once), `colour` (`to_cmyk` for CMYK printers).
"""

from __future__ import annotations

from .colour import to_cmyk
from .cover import load_cover
from .load import (
    MAX_DATA_URL_BYTES,
    REMOTE_TIMEOUT,
    load_image,
    load_images,
    stored_clash,
)
from .normalise import MAX_BYTES, MAX_PIXELS, SVG_MEDIA_TYPE, Normalised, normalise
from .placeholder import draw_placeholder, is_pending
from .sizes import DEFAULT_ASPECT, PRINT_DPI, figure_box, fit, placeholder_pixels

__all__ = [
    "DEFAULT_ASPECT",
    "MAX_BYTES",
    "MAX_DATA_URL_BYTES",
    "MAX_PIXELS",
    "Normalised",
    "PRINT_DPI",
    "REMOTE_TIMEOUT",
    "SVG_MEDIA_TYPE",
    "draw_placeholder",
    "figure_box",
    "fit",
    "is_pending",
    "load_cover",
    "load_image",
    "load_images",
    "normalise",
    "placeholder_pixels",
    "stored_clash",
    "to_cmyk",
]
