"""Formulas drawn ahead on forked processes (`draw_ahead`), into this process's drawings, so that the
print layout finds a book's many formulas drawn."""

from __future__ import annotations

from collections.abc import Iterable

from .common import _MATH_ELEMENT
from .drawing import Svg, _drawn, _outlines, _remember


def _draw_quietly(key: tuple[str, float]) -> tuple[tuple[str, float], Svg | None]:
    """In a worker of `draw_ahead`: a formula that cannot be drawn is left for the build to draw
    again at its place, where its error gets its chapter and line."""
    try:
        return key, _outlines(*key)
    except Exception:  # noqa: BLE001 - reported where the formula is used, not here
        return key, None


DRAW_AHEAD_MIN = 48  # fewer new formulas than this are drawn where they are used: a fork costs more


def draw_ahead(sources: Iterable[str], font_size_pt: float, jobs: int) -> int:
    """Draws every formula (`<math>` element) of `sources` not drawn yet, with `jobs` forked
    processes, into this process's drawings, so the print layout finds them drawn. ziamath lays a
    formula out in about 10 ms of pure Python: a book of 800 formulas spends 8 s on it, which
    this spreads over the cores. Returns the number drawn ahead. The drawings are those the build
    would make (the same function, the same input), so the PDF's bytes do not change."""
    if font_size_pt <= 0:
        raise ValueError(f"font size must be positive, not {font_size_pt}")
    wanted = sorted({m.group(0) for source in sources if "<math" in source for m in _MATH_ELEMENT.finditer(source)})
    keys = [(mathml, font_size_pt) for mathml in wanted if _drawn((mathml, font_size_pt)) is None]
    if jobs <= 1 or len(keys) < DRAW_AHEAD_MIN:
        return 0
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(min(jobs, len(keys) // (DRAW_AHEAD_MIN // 2) or 1)) as pool:
        drawn = pool.map(_draw_quietly, keys, chunksize=max(1, len(keys) // (jobs * 4)))
    count = 0
    for key, svg in drawn:
        if svg is not None:
            _remember(key, svg)
            count += 1
    return count
