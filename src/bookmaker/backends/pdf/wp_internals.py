"""Every use of WeasyPrint's internals, in one place, for the one version they were written for.

bookmaker reaches into WeasyPrint (pinned in pyproject.toml) where its public API has no door:

- four patches, each a speed-up or a fix that leaves the pages as WeasyPrint draws them:
  `RasterImage._get_png_data` (an 8-bit PNG's own compressed data goes into the PDF:
  png_passthrough.py), `draw.text.draw_first_line` (ActualText for the scripts whose glyphs are
  not one letter each: wp_text.py), the SVG `path` tag (path data parsed once) and
  `SVGImage.draw` (an SVG drawn once per PDF as a form XObject: wp_svg.py). The bodies live in
  those modules and touch no private name; this module installs them;
- two layout hooks for a book laid out in parts (parallel.py): `layout.make_all_pages` (the
  page boxes, once laid out) and `layout.make_margin_boxes` (running heads and folios, drawn
  last, with the page counter shifted to the part's first folio);
- `Page._page_box`, read for the laid-out boxes: the side and blankness of each page, the first
  page of each chapter, and the text and image boxes the preflight measures (`layout_summary`).

Each of these is checked against TESTED_VERSION: on another version of WeasyPrint bookmaker stops
with a clear error (`WeasyPrintVersionError`) instead of drawing wrong pages. The patches are in
place only inside `patched()` (re-entrant, counted across threads), never for the whole process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...core.errors import OutputError
from ...core.model import PageContent

TESTED_VERSION = "70.0"


class WeasyPrintVersionError(OutputError):
    """The installed WeasyPrint is not the version bookmaker's uses of its internals were tested with."""


def check_version() -> None:
    import weasyprint

    if weasyprint.__version__ != TESTED_VERSION:
        raise WeasyPrintVersionError.at(
            Path(weasyprint.__file__).parent, None,
            f"bookmaker needs WeasyPrint {TESTED_VERSION} (it reaches into its internals: backends/wp_internals.py), "
            f"but WeasyPrint {weasyprint.__version__} is installed here: pip install 'weasyprint=={TESTED_VERSION}'")


# -- The patches ---------------------------------------------------------------------------------

_lock = threading.RLock()
_depth = 0
_saved: list[tuple[Any, str, Any, bool]] = []  # (owner, name, original, an item?): what `_restore` puts back


def _replace(owner: Any, name: str, value: Any, *, item: bool = False) -> None:
    if item:
        original = owner[name]
        owner[name] = value
    else:  # a class's own attribute as stored (a staticmethod stays one)
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, value)
    _saved.append((owner, name, original, item))


def _install() -> None:
    from weasyprint import images, svg
    from weasyprint.draw import text

    from . import png_passthrough, wp_svg, wp_text

    raster = images.RasterImage
    _replace(raster, "_get_png_data", staticmethod(png_passthrough.passthrough(raster._get_png_data)))  # noqa: SLF001
    _replace(text, "draw_first_line", wp_text.draw_first_line)
    _replace(svg.TAGS, "path", wp_svg.cached_path(svg.TAGS["path"]), item=True)
    _replace(images.SVGImage, "draw", wp_svg.form_cached_draw(images.SVGImage.draw, _x_objects))


def _x_objects(stream: Any) -> Any:
    """The XObject dictionary a `weasyprint.pdf.stream.Stream` registers its forms in, or None."""
    resources = getattr(stream, "_resources", None)
    x_objects = resources.get("XObject") if isinstance(resources, dict) else None
    return x_objects if isinstance(x_objects, dict) else None


def _restore() -> None:
    while _saved:
        owner, name, original, item = _saved.pop()
        if item:
            owner[name] = original
        else:
            setattr(owner, name, original)


@contextmanager
def patched() -> Iterator[None]:
    """WeasyPrint with bookmaker's patches, for the time of the `with` block.

    Re-entrant and counted: the patches go in at the first entry and come out at the last exit,
    whichever thread holds them (the preview server prints from threads of its own). A forked
    worker inherits them with the count."""
    global _depth
    with _lock:
        if _depth == 0:
            check_version()
            _install()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _restore()


def installed() -> bool:
    """Whether the patches are in place (tests)."""
    return _depth > 0


# -- Layout hooks for a book laid out in parts ---------------------------------------------------


@contextmanager
def layout_hooks(on_pages: Callable[[list[Any]], None],
                 margin_state: Callable[[Any], Any]) -> Iterator[None]:
    """While inside: `on_pages(page_boxes)` once WeasyPrint has laid out a document's pages, and
    `margin_state(state)` before it draws a page's margin boxes (running heads, folios), which
    returns the counter state to draw them with. The state is WeasyPrint's tuple whose second
    item holds the counters by name (`page` among them)."""
    check_version()
    import weasyprint.layout as wl

    make_all_pages, make_margin_boxes = wl.make_all_pages, wl.make_margin_boxes

    def all_pages(*args: Any, **kwargs: Any) -> list[Any]:
        pages = list(make_all_pages(*args, **kwargs))
        on_pages(pages)
        return pages

    def margin_boxes(context: Any, page: Any, state: Any) -> Any:
        return make_margin_boxes(context, page, margin_state(state))

    wl.make_all_pages, wl.make_margin_boxes = all_pages, margin_boxes
    try:
        yield
    finally:
        wl.make_all_pages, wl.make_margin_boxes = make_all_pages, make_margin_boxes


def shift_page_counter(state: Any, shift: int) -> Any:
    """WeasyPrint's counter state with the page counter moved on by `shift`."""
    counters = dict(state[1])
    counters["page"] = [value + shift for value in counters.get("page", [])]
    return (state[0], counters, *state[2:])


# -- Laid-out boxes ------------------------------------------------------------------------------


def page_box(page: Any) -> Any:
    """The page box of a laid-out `weasyprint.Page`."""
    return page._page_box  # noqa: SLF001 - checked by check_version wherever a document is laid out


def page_side(page: Any) -> tuple[str, bool]:
    """(side, blank) of a laid-out page: "left" or "right", and whether it is a blank page."""
    page_type = page_box(page).page_type
    return page_type.side, bool(page_type.blank)


def chapter_starts(pages: Sequence[Any], ids: Sequence[str]) -> tuple[int, ...]:
    """The first page on which each chapter's section box appears (html > body > section);
    `pages` are laid-out pages or page boxes."""
    wanted, starts = set(ids), {}
    for index, page in enumerate(pages):
        box = page if hasattr(page, "children") else page_box(page)
        level = list(box.children[:1])
        for _depth in range(3):
            below = []
            for child in level:
                element = getattr(child, "element", None)
                ident = element.get("id") if element is not None else None
                if ident in wanted and ident not in starts:
                    starts[ident] = index
                below.extend(getattr(child, "children", ()))
            level = below
    missing = [i for i in ids if i not in starts]
    if missing:
        raise RuntimeError(f"chapter {missing[0]} has no page in its part")
    return tuple(starts[i] for i in ids)


def layout_summary(document: Any) -> list[PageContent]:
    """What the preflight measures, from WeasyPrint's laid-out pages: text and image boxes in PDF
    points from the MediaBox corner.

    A build already holds the laid-out document: reading its boxes costs a fraction of parsing
    the PDF again with pdfminer (which `check --pdf` does for a PDF from anywhere). An SVG image
    is drawn as vectors: its box counts for the margins, with 0 x 0 pixels (no resolution).
    """
    from weasyprint.formatting_structure import boxes
    from weasyprint.images import SVGImage

    px = 0.75  # CSS px to PDF points
    pages = []
    for page in document.pages:
        content = PageContent()
        bleed_left, bleed_bottom = page.bleed["left"] * px, page.bleed["bottom"] * px
        height = page.height * px

        def at(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
            return (bleed_left + x * px, bleed_bottom + height - (y + h) * px,
                    bleed_left + (x + w) * px, bleed_bottom + height - y * px)

        for box in page_box(page).descendants():
            if isinstance(box, boxes.TextBox) and box.text.strip():
                content.text.append((*at(box.position_x, box.position_y, box.width, box.height), box.style["font_size"] * px))
            elif isinstance(box, boxes.ReplacedBox) and hasattr(box.replacement, "image_data"):
                x, y = box.content_box_x(), box.content_box_y()
                content.images.append((*at(x, y, box.width, box.height), int(box.replacement.width), int(box.replacement.height)))
            elif isinstance(box, boxes.ReplacedBox) and isinstance(box.replacement, SVGImage):
                x, y = box.content_box_x(), box.content_box_y()
                content.images.append((*at(x, y, box.width, box.height), 0, 0))
        pages.append(content)
    return pages
