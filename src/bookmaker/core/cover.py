"""The paperback's cover wrap, as data: each printer's rules and the geometry of one cover.

One sheet, left to right: bleed, back cover, spine, front cover, bleed (and bleed above and below).
The spine is the interior's page count times the paper's thickness per page. All lengths are in
inches, measured from the sheet's top-left corner (the MediaBox, bleed included).

Sources (as read in November 2026; where a figure comes from issue 14 rather than a page read,
it says so):

- KDP: "Create a Paperback Cover" https://kdp.amazon.com/en_US/help/topic/G201953020 and its cover
  calculator https://kdp.amazon.com/cover-calculator : spine = pages x 0.002252in (white, and
  standard colour), 0.0025in (cream), 0.002347in (premium colour); sheet = bleed + trim + spine +
  trim + bleed with 0.125in bleed on the four outer edges; text 0.125in inside the trim and
  0.0625in clear of either spine fold; no spine text below 79 pages (an even interior: 80);
  a 2in x 1.2in barcode area in the lower right of the back cover. The figures are issue 14's,
  which quotes those pages; third-party calculators that quote KDP agree on them.
- IngramSpark: "Manufacturing and File Setup Tips"
  https://help.ingramspark.com/hc/en-us/articles/5338636202637 : cover art at least 0.25in from
  the trim, a 1/16in (0.0625in) binding variance either side of the spine fold; "Creating and
  Designing Print-Ready Digital Files" https://help.ingramspark.com/hc/en-us/articles/5338619119245 :
  covers in CMYK. IngramSpark publishes no spine formula (its cover template generator gives the
  sheet); the thickness per page below is Lightning Source's pages-per-inch as third-party tools
  use it (50lb paper 400 ppi, 70lb 360 ppi) and its 48-page minimum for spine text is likewise
  third-party: both are flagged in the README as the weakest figures here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Paper = Literal["white", "cream", "color-standard", "color-premium"]
PAPERS: tuple[Paper, ...] = ("white", "cream", "color-standard", "color-premium")
SpineDirection = Literal["top-to-bottom", "bottom-to-top"]
SPINE_DIRECTIONS: tuple[SpineDirection, ...] = ("top-to-bottom", "bottom-to-top")
# Markets that read a spine from the bottom up (continental Europe); the rest read top to bottom.
_BOTTOM_TO_TOP = frozenset({"de", "fr", "it", "es", "pt", "nl", "sv", "da", "no", "nb", "nn", "fi", "pl", "cs", "ru"})
# Which interior each paper prints (`[print] interior`): colour paper for colour, the others for black.
# bookmaker's own floor: a spine line narrower than this (between the margins) holds no legible text.
MIN_SPINE_LINE = 0.12
PAPER_INTERIOR: Mapping[Paper, str] = {"white": "black-and-white", "cream": "black-and-white",
                                       "color-standard": "colour", "color-premium": "colour"}
# The EPUB's cover image: the 1:1.6 of 1600 x 2560 pixels most stores ask for. Without a `cover`
# it is the print front's design drawn on a 5in x 8in page at 320 dpi (backends/pdf/cover_image.py).
EPUB_COVER_PX = (1600, 2560)
EPUB_COVER_DPI = 320


@dataclass(frozen=True)
class CoverRules:
    """What one printer asks of a paperback's cover wrap."""

    profile: str
    caliper: Mapping[Paper, float]  # inches per interior page, by paper
    bleed: float = 0.125  # on all four outer edges
    safe: float = 0.125  # text and art this far inside the trim
    spine_margin: float = 0.0625  # spine text this far from either fold
    min_spine_text_pages: int = 80  # fewer pages: the spine stays plain
    barcode: tuple[float, float] = (2.0, 1.2)  # the barcode area, width x height
    barcode_inset: float = 0.25  # from the trim's bottom edge and from the spine fold

    def spine(self, pages: int, paper: Paper) -> float:
        return pages * self.caliper[paper]


COVER_RULES: Mapping[str, CoverRules] = {
    "kdp": CoverRules(
        profile="kdp",
        caliper={"white": 0.002252, "cream": 0.0025, "color-standard": 0.002252, "color-premium": 0.002347},
    ),
    "ingramspark": CoverRules(
        profile="ingramspark",
        caliper={"white": 1 / 400, "cream": 1 / 400, "color-standard": 1 / 400, "color-premium": 1 / 360},
        safe=0.25, min_spine_text_pages=48,
    ),
}


def rules_for(profile: str) -> CoverRules | None:
    """The cover rules of a print profile; None for a profile that prints no cover (proof)."""
    return COVER_RULES.get(profile)


def default_paper(interior: str) -> Paper:
    return "color-standard" if interior == "colour" else "white"


def default_spine_direction(language: str) -> SpineDirection:
    return "bottom-to-top" if language.split("-")[0].lower() in _BOTTOM_TO_TOP else "top-to-bottom"


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in inches from the sheet's top-left


@dataclass(frozen=True)
class CoverGeometry:
    """One cover wrap: the sheet, its panels, the safe lines and the barcode area."""

    rules: CoverRules
    trim_width: float
    trim_height: float
    pages: int
    paper: Paper

    @property
    def bleed(self) -> float:
        return self.rules.bleed

    @property
    def spine(self) -> float:
        return self.rules.spine(self.pages, self.paper)

    @property
    def sheet_width(self) -> float:
        return self.bleed + self.trim_width + self.spine + self.trim_width + self.bleed

    @property
    def sheet_height(self) -> float:
        return self.bleed + self.trim_height + self.bleed

    @property
    def spine_x0(self) -> float:
        return self.bleed + self.trim_width

    @property
    def spine_x1(self) -> float:
        return self.spine_x0 + self.spine

    @property
    def spine_text(self) -> bool:
        """May the spine carry text? Not below the printer's page count, nor on a spine too thin."""
        return self.pages >= self.rules.min_spine_text_pages and self.spine - 2 * self.rules.spine_margin >= MIN_SPINE_LINE

    @property
    def trim(self) -> Box:
        return (self.bleed, self.bleed, self.sheet_width - self.bleed, self.sheet_height - self.bleed)

    def safe_areas(self) -> dict[str, Box]:
        """Where text and art may be: each cover inside its safe lines, the spine inside its margins."""
        r, top, bottom = self.rules, self.bleed + self.rules.safe, self.sheet_height - self.bleed - self.rules.safe
        return {
            "back": (self.bleed + r.safe, top, self.spine_x0 - r.safe, bottom),
            "spine": (self.spine_x0 + r.spine_margin, top, self.spine_x1 - r.spine_margin, bottom),
            "front": (self.spine_x1 + r.safe, top, self.sheet_width - self.bleed - r.safe, bottom),
        }

    @property
    def barcode_area(self) -> Box:
        """Lower right of the back cover, `barcode_inset` from the bottom trim and the spine fold."""
        w, h = self.rules.barcode
        x1 = self.spine_x0 - self.rules.barcode_inset
        y1 = self.sheet_height - self.bleed - self.rules.barcode_inset
        return (x1 - w, y1 - h, x1, y1)


def cover_geometry(profile: str, trim: tuple[float, float], pages: int, paper: Paper) -> CoverGeometry | None:
    """The cover of an interior of `pages` pages on `paper` under `profile`; None if it prints none."""
    rules = rules_for(profile)
    return CoverGeometry(rules, trim[0], trim[1], pages, paper) if rules is not None else None
