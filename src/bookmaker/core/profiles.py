"""Print-on-demand profiles, kept as data.

Each profile is what one printer asks of an interior PDF. The figures come from the printers'
public help pages (as read in November 2026):

- KDP: "Paperback manuscript formatting" / "Set trim size, bleed, and margins"
  https://kdp.amazon.com/en_US/help/topic/GVBQ3CMEQW3W2VL6 and "Paperback submission guidelines"
  https://kdp.amazon.com/en_US/help/topic/G201857950 : bleed 0.125in on top, bottom and outside
  edges only; no crop marks; no bookmarks, annotations, comments or forms; fonts embedded; images
  at least 300 DPI; 24 to 828 pages, even; the gutter grows with the page count; outside, top and
  bottom margins at least 0.375in with bleed (0.25in without).
- IngramSpark: "File Creation Guide"
  https://www.ingramspark.com/hubfs/downloads/file-creation-guide.pdf : no printer's marks;
  margins at least 0.5in; even page count filled to the press signature with blank pages (6 for
  trims up to 6.14in x 9.21in, 4 above); the last page blank without folio; PDF/X-1a or PDF/X-3,
  CMYK or grey with an output intent.
- proof: a neutral profile for reading on screen: no bleed, links and bookmarks kept, RGB.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

Side = Literal["top", "bottom", "outside", "inside"]


@dataclass(frozen=True)
class PrintProfile:
    name: str
    bleed: float = 0.0  # inches
    bleed_sides: tuple[Side, ...] = ()
    marks: bool = False  # crop marks
    bookmarks: bool = True  # PDF outline
    annotations: bool = True  # link annotations
    page_multiple: int = 1
    min_pages: int = 1
    max_pages: int | None = None
    last_page_blank: bool = False
    min_margin: float = 0.25  # top, bottom and outside, from the trim edge
    # (most pages, minimum inside margin): the first band whose page count is not exceeded applies
    gutter: tuple[tuple[int, float], ...] = ((10**9, 0.25),)
    min_image_dpi: int = 0
    pdf_variant: str | None = None
    colour: Literal["rgb", "cmyk"] = "rgb"

    def min_gutter(self, pages: int) -> float:
        for most, inches in self.gutter:
            if pages <= most:
                return inches
        return self.gutter[-1][1]

    def fill(self, content_pages: int) -> int:
        """Blank pages to add after `content_pages` for the multiple and a blank last page."""
        total = content_pages + (1 if self.last_page_blank else 0)
        total += (-total) % self.page_multiple
        return total - content_pages

    def bleeds(self, side: Side) -> float:
        return self.bleed if side in self.bleed_sides else 0.0


_KDP_GUTTER = ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75), (828, 0.875))

PROFILES: dict[str, PrintProfile] = {
    "proof": PrintProfile(name="proof"),
    "kdp": PrintProfile(
        name="kdp", bleed=0.125, bleed_sides=("top", "bottom", "outside"), marks=False,
        bookmarks=False, annotations=False, page_multiple=2, min_pages=24, max_pages=828,
        min_margin=0.375, gutter=_KDP_GUTTER, min_image_dpi=300,
    ),
    "ingramspark": PrintProfile(
        name="ingramspark", bleed=0.125, bleed_sides=("top", "bottom", "outside"), marks=False,
        bookmarks=False, annotations=False, page_multiple=6,
        last_page_blank=True, min_margin=0.5, gutter=((10**9, 0.5),), min_image_dpi=300,
        pdf_variant="pdf/x-1a", colour="cmyk",
    ),
}

# Keys a book may override under [print.overrides], with how each value is read.
OVERRIDABLE = {f.name for f in fields(PrintProfile)} - {"name"}


def resolve(name: str, trim: tuple[float, float], overrides: dict[str, Any]) -> PrintProfile:
    """The named profile for this trim size, with the book's overrides applied."""
    profile = PROFILES[name]
    if name == "ingramspark" and (trim[0] > 6.14 or trim[1] > 9.21):
        profile = replace(profile, page_multiple=4)
    return replace(profile, **overrides) if overrides else profile
