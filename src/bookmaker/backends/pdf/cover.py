"""The paperback's cover wrap PDF: one WeasyPrint page sized from the interior's page count.

The spine comes from the real page count of the interior of the same build (`pages`, from
paginate.print_book's PrintedBook); `interior_pages` lays the interior out to count it when the
cover is built alone (the build cache makes that cheap after a full build: its parts are reused).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.context import BuildContext
from ...core.cover import CoverGeometry, cover_geometry
from ...core.errors import OutputError
from ...render.cover import render_cover
from .backend import PdfBackend

ASPECT_TOLERANCE = 0.01  # a cover image whose width:height is this far from the panel's is cropped


@dataclass(frozen=True)
class PrintedCover:
    data: bytes
    geometry: CoverGeometry


def geometry_for(ctx: BuildContext, pages: int) -> CoverGeometry:
    """The cover of this book's interior of `pages` pages; a located error for a profile without one."""
    config = ctx.book.config
    p = config.print
    g = cover_geometry(p.profile.name, (p.trim_width, p.trim_height), pages, p.paper)  # type: ignore[arg-type]
    if g is None:
        raise OutputError.at(config.root / "book.toml", None, f"print profile '{p.profile.name}' prints no cover: "
                             "set [print] profile = \"kdp\" or \"ingramspark\" to build the cover wrap")
    return g


def interior_pages(ctx: BuildContext, jobs: int | None = None) -> int:
    """The interior's page count, laid out as `--format pdf` lays it out."""
    from .paginate import print_book

    return print_book(ctx, jobs=jobs).pages


def _front_image_warnings(ctx: BuildContext, g: CoverGeometry) -> None:
    """The cover image must hold 300 dpi over the front cover and its bleed, at the panel's aspect."""
    cover, config = ctx.book.cover, ctx.book.config
    if cover is None or cover.placeholder or not config.cover:
        return
    where, line = config.root / "book.toml", config.cover_line
    width_in, height_in = g.trim_width + g.bleed, g.sheet_height
    dpi = min(cover.width_px / width_in, cover.height_px / height_in)
    if dpi < config.print.profile.min_image_dpi - 0.5:
        ctx.reporter.warn(where, line, f"cover image '{config.cover}' gives {dpi:.0f} dpi on the front cover "
                          f"({width_in:.3f}in x {height_in:.3f}in with bleed); the printer asks for "
                          f"{config.print.profile.min_image_dpi} dpi: {round(width_in * 300)} x {round(height_in * 300)} pixels")
    image_aspect, panel_aspect = cover.width_px / cover.height_px, width_in / height_in
    if abs(image_aspect / panel_aspect - 1) > ASPECT_TOLERANCE:
        cut = "its sides" if image_aspect > panel_aspect else "its top and bottom"
        ctx.reporter.warn(where, line, f"cover image '{config.cover}' is {cover.width_px} x {cover.height_px} pixels, "
                          f"not the front cover's {width_in:.3f}:{height_in:.3f}: it is cropped at {cut} to fill it")


def print_cover(ctx: BuildContext, pages: int) -> PrintedCover:
    """The cover wrap PDF for an interior of `pages` pages."""
    from .paginate import cmyk_assets

    g = geometry_for(ctx, pages)
    _front_image_warnings(ctx, g)
    if not g.spine_text:
        why = (f"{pages} pages is fewer than the {g.rules.min_spine_text_pages} {g.rules.profile} needs for spine text"
               if pages < g.rules.min_spine_text_pages else f"a {g.spine:.4f}in spine is too thin for legible text")
        ctx.reporter.note(ctx.book.config.root / "book.toml", f"cover: the spine stays plain: {why} (spine {g.spine:.4f}in)")
    rendered = render_cover(ctx.book, g)
    if ctx.book.config.print.profile.colour == "cmyk":
        rendered = cmyk_assets(rendered, ctx)
    return PrintedCover(PdfBackend().write(rendered, ctx), g)
