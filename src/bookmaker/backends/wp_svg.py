"""SVG path data parsed once per book, not once per time it is drawn.

WeasyPrint (70.0) parses a `<path d="…">` each time it draws it (`weasyprint.svg.path.path`: a
regex pass and a `size()` call for every number). Every formula in a print book is an SVG of glyph
outlines (formula.print_math), and a book repeats its formulas and their glyphs: in a 50-chapter
math book that parsing was a quarter of the build. The drawing itself is a short list of stream
operations (move, line, curve, close) and the vertices kept for markers; this patch records them
the first time a path is drawn and replays them after, for the same `d`, font size and viewport.

The operations are the same, in the same order, with the same numbers: the PDF's bytes do not
change (tests/test_wp_svg.py). Applied only to the WeasyPrint version it was written for.
"""

from __future__ import annotations

from typing import Any, Callable

PATCHED_VERSION = "70.0"
MAX_ENTRIES = 50_000  # distinct paths remembered per process; beyond it the cache starts afresh
_applied = False
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


def apply() -> None:
    """Install the cache once; does nothing on another WeasyPrint version."""
    global _applied
    if _applied:
        return
    import weasyprint
    from weasyprint import svg as wsvg

    _applied = True
    if weasyprint.__version__ != PATCHED_VERSION or wsvg.TAGS.get("path") is None:
        return
    wsvg.TAGS["path"] = cached_path(wsvg.TAGS["path"])
