"""A book's design: how its chapters open in print, how their first lines are set, what a scene
break looks like, and the stylesheet that gives its type (layouts/designs/<name>.css).

A design is a set of defaults (`Design`); each of its settings may also be set on its own in
book.toml (`opening`, `lead_in`, `scene_break`, `[print] plates`), which wins. Everything here is
data and small rules, read by the print document (render/printed.py), the layouts and the parts
of a book laid out in pieces (backends/pdf/parts.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import BookConfig, Chapter, FigureBlock, LeadIn, Opening, Openings, Plates


@dataclass(frozen=True)
class Design:
    name: str
    opening: Openings
    lead_in: LeadIn
    scene_break: str
    plates: Plates = "text-block"

    @property
    def stylesheet(self) -> str:
        """Its stylesheet in layouts/, linked by both targets after the shared ones."""
        return f"designs/{self.name}.css"


DESIGNS: dict[str, Design] = {
    # any book: chapters open on a right-hand page, the text as bookmaker has always set it
    "classic": Design("classic", Openings("right", "right", "right"), "none", "\u2042"),
    # a novel: chapters sunk deep on a right-hand page, the first line in small capitals, ornamental breaks
    "novel": Design("novel", Openings("right", "right", "right"), "small-caps", "\u2766"),
    # photographs with a text each: each picture alone on the left-hand page, facing its title and text
    "photo": Design("photo", Openings("right", "facing", "right"), "none", "\u2022\u2003\u2022\u2003\u2022"),
}
DEFAULT_DESIGN = "classic"


def design_of(config: BookConfig) -> Design:
    return DESIGNS[config.design]


def opening_of(config: BookConfig, chapter: Chapter) -> Opening:
    """How `chapter` opens in print: its own `opening:`, else its kind's in book.toml or the design."""
    return chapter.opening or config.opening.of(chapter.kind)


def plate_of(config: BookConfig, chapter: Chapter) -> FigureBlock | None:
    """The figure a facing chapter sets alone on the left-hand page before its opening: its first
    block, when that is a figure. None for every other chapter (a facing chapter without one opens
    on the right)."""
    if opening_of(config, chapter) != "facing" or not chapter.blocks:
        return None
    first = chapter.blocks[0]
    return first if isinstance(first, FigureBlock) else None


def opens_on(config: BookConfig, chapter: Chapter) -> str:
    """The side a chapter's first text page is on: "right" (`right`, and `facing`, whose plate is
    on the left before it) or "any" (wherever the text before it ends). The Index opens on the
    right whatever its kind's setting: it is laid out on its own, after the rest of the book is
    counted (backends/pdf/paginate.py)."""
    if chapter.role == "index":
        return "right"
    return "any" if opening_of(config, chapter) == "any" else "right"
