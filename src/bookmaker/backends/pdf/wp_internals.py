"""Every use of WeasyPrint's internals, in one place, for the one version they were written for.

bookmaker reaches into WeasyPrint (pinned in pyproject.toml) where its public API has no door:

- six patches, each a speed-up or a fix that leaves the pages as WeasyPrint draws them:
  `RasterImage._get_png_data` (an 8-bit PNG's own compressed data goes into the PDF:
  png_passthrough.py), `draw.text.draw_first_line` (ActualText for the scripts whose glyphs are
  not one letter each: wp_text.py), the SVG `path` tag (path data parsed once),
  `SVGImage.draw` (an SVG drawn once per PDF as a form XObject: wp_svg.py),
  `LayoutContext._update_footnote_area` (a footnote area that only a rounding error sees as
  overflowing: `_footnotes_fit`) and `layout.block._linebox_layout` (a note with
  `footnote-policy: line` kept on its call's page: `_notes_kept_with_calls`), both here. The
  bodies live in those modules and touch no private name; this module installs them;
- two layout hooks for a book laid out in parts (parallel.py): `layout.make_all_pages` (the
  page boxes, once laid out) and `layout.make_margin_boxes` (running heads and folios, drawn
  last, with the page counter shifted to the part's first folio);
- `Page._page_box`, read for the laid-out boxes: the side and blankness of each page, the first
  page of each chapter, the text and image boxes the preflight measures (`layout_summary`), and
  where each page begins, for the EPUB's page-list (`page_starts`, walked in wp_pages.py).

Each of these is checked against TESTED_VERSION: on another version of WeasyPrint bookmaker stops
with a clear error (`WeasyPrintVersionError`) instead of drawing wrong pages. The patches are in
place only inside `patched()` (re-entrant, counted across threads), never for the whole process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...core.errors import OutputError
from ...core.model import PageContent, PageStart

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
    from weasyprint.layout import LayoutContext, block

    from . import png_passthrough, wp_svg, wp_text

    raster = images.RasterImage
    _replace(raster, "_get_png_data", staticmethod(png_passthrough.passthrough(raster._get_png_data)))  # noqa: SLF001
    _replace(text, "draw_first_line", wp_text.draw_first_line)
    _replace(svg.TAGS, "path", wp_svg.cached_path(svg.TAGS["path"]), item=True)
    _replace(images.SVGImage, "draw", wp_svg.form_cached_draw(images.SVGImage.draw, _x_objects))
    _replace(LayoutContext, "_update_footnote_area", _footnotes_fit(LayoutContext._update_footnote_area))
    _replace(block, "_linebox_layout", _notes_kept_with_calls())


def _footnotes_fit(update: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """WeasyPrint's update of the page's footnote area, which says whether the notes overflow it,
    told a rounding error from an overflow.

    WeasyPrint compares the last note's bottom with the area's, two sums of the same lengths
    added in another order: with a border or padding of a fraction of a pixel (a 0.4pt rule is
    0.533px) they differ in the last bit, on about one page geometry in four, and every note of
    such a book is "overflowing": it is moved to the next page, or, with `footnote-policy: line`,
    its call's line is. Notes overflow their area only when it cannot grow, a `max-height` or a
    `height` holding it: any other overflow is taken back here. (tests/test_notes_print.py)
    """

    def update_footnote_area(context: Any) -> bool:
        overflow = update(context)
        area = context.current_footnote_area
        if overflow and area.style["height"] == "auto" and area.height != "auto" and area.height < area.max_height - 0.01:
            return False
        return overflow

    return update_footnote_area


_WIDOW_REPORT = "report = not context.in_column and can_break_now and not could_break_before"
_WIDOWS_FOR_A_CALL = ("                                    if needed == 0:\n"
                      "                                        break\n")
# The lines the widow rule would take to the next page with a call's line: kept where they are when
# one of them calls a note (the note would go with them).
_CALLS_STAY = ("                            if needed and any(getattr(d, 'footnote', None) is not None\n"
               "                                              for kept in new_children[-needed:] for d in kept.descendants()):\n"
               "                                needed = 0\n")


@lru_cache(maxsize=1)
def _notes_kept_with_calls() -> Callable[..., Any]:
    """WeasyPrint's `_linebox_layout` with notes that have `footnote-policy: line` kept with their calls.

    Two conditions added to WeasyPrint's own source, compiled in its module (line numbers kept;
    another source is a version error):

    - When a paragraph's line does not fit at a page's foot and moving it would leave a widow or an
      orphan, WeasyPrint first moves the page's last notes to the next page to make room for it,
      whatever their `footnote-policy`: on a book's pages with notes, 8% of the notes (16 of 200 in
      tests/test_notes_long.py) end up a page after their call. Here it does so only on a page whose
      notes may be moved (none has `footnote-policy: line`); otherwise it moves lines, as it does on
      a page without notes.
    - When a note's call takes its line to the next page (`footnote-policy: line`), the widow rule
      takes the line before it too; when that line calls a note of its own, its note went with it,
      and a long note's first part left a page nearly empty behind it (tests/test_notes_print.py).
      Such a line stays: the moved line may be a widow, the lesser fault.
    """
    import inspect

    from weasyprint.layout import block

    lines, first = inspect.getsourcelines(block._linebox_layout)  # noqa: SLF001 - checked by check_version
    source = "".join(lines)
    if source.count(_WIDOW_REPORT) != 1 or source.count(_WIDOWS_FOR_A_CALL) != 1:
        raise WeasyPrintVersionError.at(Path(block.__file__), first, "WeasyPrint's _linebox_layout is not the one "
                                        "backends/pdf/wp_internals.py patches")
    kept = " and not any(note.style['footnote_policy'] == 'line' for note in context.current_page_footnotes)"
    source = source.replace(_WIDOW_REPORT, _WIDOW_REPORT + kept).replace(_WIDOWS_FOR_A_CALL, _WIDOWS_FOR_A_CALL + _CALLS_STAY)
    # the added lines shift the ones after them: the line numbers stay WeasyPrint's up to the change
    source = "\n" * (first - 1) + source
    namespace: dict[str, Any] = {}
    exec(compile(source, block.__file__, "exec"), block.__dict__, namespace)  # noqa: S102 - WeasyPrint's own code
    return namespace["_linebox_layout"]


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
    """(side, blank) of a laid-out page: "left" or "right", and whether it is a blank page: one
    WeasyPrint made blank to open a chapter on the right and that carries no notes either (notes
    waiting for a page go onto the next one, a blank page too)."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox

    box = page_box(page)
    notes = any(isinstance(child, FootnoteAreaBox) and child.children for child in box.children)
    return box.page_type.side, bool(box.page_type.blank) and not notes


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


def page_starts(pages: Sequence[Any]) -> tuple[PageStart, ...]:
    """Where each laid-out page begins in the book's text (wp_pages.page_starts), for the EPUB's page-list."""
    from .wp_pages import page_starts as starts

    return starts([page_box(page) for page in pages])


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
