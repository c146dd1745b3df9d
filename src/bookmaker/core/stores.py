"""The ebook stores' rules for an EPUB, as data (book.toml `[ebook] store`).

Each store's figures, with the page they were read from (November-December 2026); where a figure
is bookmaker's own choice and not a store's, it says so. The build applies them (screen-sized
images within every chosen store's bounds, image formats each store takes, the cover's size) and
`bookmaker check` checks them on the EPUB itself (checks/stores.py).

- kdp: KDP's "Cover Image Guidelines" (Kindle Publishing Guidelines,
  https://kdp.amazon.com/en_US/help/topic/G6GTK3T3NUHKLEFX): an ideal cover of 1,600 x 2,560
  pixels (height:width 1.6:1), at least 1,000 x 625, at most 10,000 x 10,000, 50 MB or smaller.
  Images inside the book: 5 MB or smaller each (the Kindle Publishing Guidelines' image section,
  as third-party summaries of its 2014 revision quote it); KDP's upload limit for an EPUB is 650 MB.
  Formats: JPEG, PNG, GIF and SVG; no JavaScript (Kindle does not run it).
- apple: Apple Books "Prepare your book" (https://itunespartner.apple.com/books/support/9-prepare-book):
  "images inside your asset files shouldn't be more than 4 million pixels", books up to 2 GB.
  Apple Books Asset Guide, images (https://help.apple.com/itc/booksassetguide/en.lproj/itca71ad3c33.html):
  JPEG or PNG for pictures, RGB (sRGB recommended), JPEG for images without transparency; SVG
  is read (the guide's own SVG advice).
- kobo: Kobo's EPUB specification, "Limitations and Maximums"
  (https://github.com/kobolabs/epub-spec#limitations-and-maximums): 5 MB an image, 10 MB of content
  an HTML file, 1 GB an EPUB.
- generic: no store's rule: EPUB 3.3's core media types.

Whatever the stores, the EPUB's images are made to fit bookmaker's own screen bound (SCREEN_SIDE,
SCREEN_PIXELS: the longest side of the largest e-reader and tablet screens), which the build
applies and `check` does not hold other EPUBs to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Store = str
STORE_NAMES: tuple[Store, ...] = ("generic", "kdp", "apple", "kobo")
MB = 1024 * 1024
JPEG, PNG, GIF, WEBP, SVG = "image/jpeg", "image/png", "image/gif", "image/webp", "image/svg+xml"
FONT_TYPES = frozenset({"font/ttf", "font/otf", "application/font-sfnt", "application/vnd.ms-opentype",
                        "font/woff", "font/woff2", "application/font-woff"})
SFNT_FONTS = frozenset({"font/ttf", "font/otf", "application/font-sfnt", "application/vnd.ms-opentype"})
COVER_RATIO = 1.6  # height : width, the ratio KDP asks for; the typographic cover is drawn at it
SCREEN_SIDE = 2560  # bookmaker's screen bound: the longest side of an EPUB image, in pixels
SCREEN_PIXELS = 5_000_000  # and its pixel count


@dataclass(frozen=True)
class StoreRules:
    """What one store takes in an EPUB. None: the store sets no limit."""

    store: Store
    source: str
    image_types: frozenset[str]  # media types an image inside the EPUB may have
    max_image_pixels: int | None = None  # width x height of any image, the cover's included
    max_image_bytes: int | None = None
    max_page_bytes: int | None = None  # an XHTML content document
    max_epub_bytes: int | None = None
    font_types: frozenset[str] = FONT_TYPES
    scripts: bool = True  # whether the store takes JavaScript
    cover_min: tuple[int, int] | None = None  # width, height
    cover_max: tuple[int, int] | None = None
    cover_ratio: float | None = None  # recommended height : width (a warning when off by more than 5%)
    cover_ideal: tuple[int, int] | None = None  # width, height: a smaller cover is a warning


STORES: Mapping[Store, StoreRules] = {
    "generic": StoreRules(
        "generic", "https://www.w3.org/TR/epub-33/#sec-core-media-types",
        frozenset({JPEG, PNG, GIF, WEBP, SVG}),
    ),
    "kdp": StoreRules(
        "kdp", "https://kdp.amazon.com/en_US/help/topic/G6GTK3T3NUHKLEFX",
        frozenset({JPEG, PNG, GIF, SVG}), max_image_bytes=5 * MB, max_epub_bytes=650 * MB,
        font_types=SFNT_FONTS, scripts=False,
        cover_min=(625, 1000), cover_max=(10_000, 10_000), cover_ratio=COVER_RATIO, cover_ideal=(1600, 2560),
    ),
    "apple": StoreRules(
        "apple", "https://itunespartner.apple.com/books/support/9-prepare-book",
        frozenset({JPEG, PNG, SVG}), max_image_pixels=4_000_000, max_epub_bytes=2048 * MB, font_types=SFNT_FONTS,
    ),
    "kobo": StoreRules(
        "kobo", "https://github.com/kobolabs/epub-spec#limitations-and-maximums",
        frozenset({JPEG, PNG, GIF, SVG}), max_image_bytes=5 * MB, max_page_bytes=10 * MB, max_epub_bytes=1024 * MB,
        font_types=SFNT_FONTS,
    ),
}


def _least(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


@dataclass(frozen=True)
class ScreenBound:
    """What every chosen store allows an image: the bound the EPUB's images are made to fit."""

    image_types: frozenset[str]
    max_pixels: int | None
    max_side: int | None
    max_bytes: int | None

    def fits(self, width: int, height: int) -> bool:
        return ((self.max_pixels is None or width * height <= self.max_pixels)
                and (self.max_side is None or max(width, height) <= self.max_side))

    def scaled(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) shrunk, proportions kept, to fit; as it is when it fits."""
        if self.fits(width, height):
            return width, height
        scale = 1.0
        if self.max_pixels is not None:
            scale = min(scale, math.sqrt(self.max_pixels / (width * height)))
        if self.max_side is not None:
            scale = min(scale, self.max_side / max(width, height))
        w = max(1, math.floor(width * scale))
        h = max(1, math.floor(height * w / width))
        while w > 1 and not self.fits(w, h):  # a rounded square root can still be a pixel over
            w -= 1
            h = max(1, math.floor(height * w / width))
        return w, h


def rules_of(stores: Iterable[Store]) -> tuple[StoreRules, ...]:
    return tuple(STORES[s] for s in stores)


def screen_bound(stores: Iterable[Store]) -> ScreenBound:
    """The strictest of the chosen stores' image rules and bookmaker's own screen bound."""
    rules = rules_of(dict.fromkeys(("generic", *stores)))
    types = frozenset.intersection(*(r.image_types for r in rules))
    return ScreenBound(types, _least((SCREEN_PIXELS, *(r.max_image_pixels for r in rules))), SCREEN_SIDE,
                       _least(r.max_image_bytes for r in rules))


def cover_pixels(stores: Iterable[Store]) -> tuple[int, int]:
    """The typographic cover's size: 1,600 x 2,560 (KDP's ideal, 1:1.6), shrunk at the same ratio
    to the chosen stores' pixel bound (Apple's 4 megapixels gives 1,581 x 2,529)."""
    return screen_bound(stores).scaled(1600, 2560)
