"""SVG path data parsed once per book, not once per time it is drawn.

WeasyPrint (70.0) parses a `<path d="…">` each time it draws it (`weasyprint.svg.path.path`: a
regex pass and a `size()` call for every number). Every formula in a print book is an SVG of glyph
outlines (formula.print_math), and a book repeats its formulas and their glyphs: in a 50-chapter
math book that parsing was a quarter of the build. The drawing itself is a short list of stream
operations (move, line, curve, close) and the vertices kept for markers; this patch records them
the first time a path is drawn and replays them after, for the same `d`, font size and viewport.

The operations are the same, in the same order, with the same numbers: the PDF's bytes do not
change (tests/test_wp_svg.py).

Second, an SVG image (`<img src="x.svg">`) drawn again at the same size is not drawn again:
WeasyPrint (70.0) writes the whole drawing into the page's content stream at every occurrence,
so a formula a book shows forty times is forty copies of its glyph outlines, laid out, written
and compressed forty times. `form_cached_draw` draws it once into a form XObject (a plain form:
no transparency group, which PDF/X-1a forbids) and each occurrence paints that form (`Do`), as
a PDF does with a raster image. What is drawn, and where, is the same.

Both are put in place by `wp_internals.patched`, for the WeasyPrint version they were written for.
"""

from __future__ import annotations

from typing import Any, Callable

MAX_ENTRIES = 50_000  # distinct paths remembered per process; beyond it the cache starts afresh
_recorded: dict[tuple[object, ...], tuple[tuple[tuple[str, tuple[float, ...]], ...], tuple[Any, ...]]] = {}
_OPERATIONS = ("move_to", "line_to", "curve_to", "close")


class _Recorder:
    """Stands in for the SVG's stream while a path is drawn: notes each operation, draws nothing
    (the notes are then played on the real stream, this time and every later one)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[float, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        if name not in _OPERATIONS:
            raise AttributeError(f"path drawing used stream.{name}: not recorded")  # the original is run instead

        def call(*args: float) -> None:
            self.calls.append((name, args))

        return call


def _drop_from(vertices: Any, length: int) -> None:
    """Take back what was appended past `length` (a list or a deque)."""
    while len(vertices) > length:
        vertices.pop()


def cached_path(original: Callable[..., Any]) -> Callable[..., Any]:
    def path(svg: Any, node: Any, font_size: float) -> Any:
        d = node.get("d", "")
        key = (d, font_size, getattr(svg, "inner_width", None), getattr(svg, "inner_height", None))
        hit = _recorded.get(key)
        if hit is None:
            real = svg.stream
            recorder = _Recorder()
            before = len(node.vertices)
            svg.stream = recorder
            try:
                original(svg, node, font_size)
            except AttributeError:  # an operation this patch does not record: draw it the usual way
                svg.stream = real
                _drop_from(node.vertices, before)
                return original(svg, node, font_size)
            except Exception:  # bad path data (PointError): what was drawn up to it stays, as without the cache
                svg.stream = real
                for name, args in recorder.calls:
                    getattr(real, name)(*args)
                raise
            finally:
                svg.stream = real
            if len(_recorded) >= MAX_ENTRIES:
                _recorded.clear()
            hit = _recorded[key] = (tuple(recorder.calls), tuple(list(node.vertices)[before:]))
            _drop_from(node.vertices, before)
        calls, vertices = hit
        stream = svg.stream
        for name, args in calls:
            getattr(stream, name)(*args)
        node.vertices.extend(vertices)
        return None

    path.__wrapped__ = original  # type: ignore[attr-defined]
    return path


def form_cached_draw(original: Callable[..., Any], x_objects_of: Callable[[Any], Any]) -> Callable[..., Any]:
    """`SVGImage.draw` that draws each (image, size) once per PDF into a form XObject and paints
    that form at every occurrence. The forms are kept on the image object, by the XObject
    dictionary of the document being written (`x_objects_of(stream)`, None where unknown), so a
    form never leaks into another PDF."""

    def draw(image: Any, stream: Any, concrete_width: float, concrete_height: float, style: Any) -> Any:
        x_objects = x_objects_of(stream)
        if x_objects is None or not hasattr(stream, "add_group") or not hasattr(stream, "draw_x_object"):
            return original(image, stream, concrete_width, concrete_height, style)
        forms = image.__dict__.setdefault("_bookmaker_forms", {})
        key = (id(x_objects), concrete_width, concrete_height)
        form = forms.get(key)
        if form is None or x_objects.get(form.id) is not form:
            form = stream.add_group(0, 0, concrete_width, concrete_height)
            form.extra.pop("Group", None)  # a plain form, not a transparency group
            original(image, form, concrete_width, concrete_height, style)
            forms[key] = form
        stream.draw_x_object(form.id)
        return None

    draw.__wrapped__ = original  # type: ignore[attr-defined]
    return draw
