"""The code points a font maps (its cmap, read with fontTools), as merged ranges, kept in
`font-coverage.json` in the user's cache folder by file path, face, size and mtime."""
from __future__ import annotations

import json
import os
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ...core.paths import write_atomic

CACHE_VERSION = 1


@dataclass(frozen=True)
class Coverage:
    """The code points one or more fonts map, as sorted, merged, inclusive ranges."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @classmethod
    def of_code_points(cls, points: Iterable[int]) -> Coverage:
        return cls.of_ranges((p, p) for p in points)

    @classmethod
    def of_ranges(cls, ranges: Iterable[tuple[int, int]]) -> Coverage:
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(r[0] for r in merged), tuple(r[1] for r in merged))

    def ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple(zip(self.starts, self.ends))

    def union(self, *others: Coverage) -> Coverage:
        return Coverage.of_ranges(r for c in (self, *others) for r in c.ranges())

    def __contains__(self, code_point: object) -> bool:
        if not isinstance(code_point, int):
            return False
        i = bisect_right(self.starts, code_point) - 1
        return i >= 0 and code_point <= self.ends[i]


@dataclass(frozen=True)
class PrintFont:
    """One face of the chain: the family the stylesheet names and the file that serves it."""

    family: str
    file: Path
    index: int = 0  # the face within a font collection (.ttc)


def _cmap_ranges(font: PrintFont) -> tuple[tuple[int, int], ...]:
    """The font's cmap (read with fontTools, only that table) as merged ranges; none if unreadable."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(font.file), fontNumber=font.index, lazy=True) as tt:
            cmap = tt.getBestCmap() or {}
    except (OSError, TTLibError, AssertionError, KeyError, ValueError):
        return ()
    return Coverage.of_code_points(cmap).ranges()


def file_stamp(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


class Cache:
    """`font-coverage.json` in the user's cache folder: each font file's coverage ("fonts", by
    path and face, valid while the file keeps its size and mtime) and each stylesheet's chain as
    fontconfig resolved it ("chains", valid while fontconfig's state and those files are unchanged).
    Only a speed-up: unreadable is empty, unwritable is no error."""

    def __init__(self) -> None:
        from ...core.paths import user_cache_dir

        self.path = user_cache_dir() / "font-coverage.json"
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            data = {}
        self.fonts: dict[str, dict[str, object]] = data.get("fonts") if isinstance(data.get("fonts"), dict) else {}  # type: ignore[assignment]
        self.chains: dict[str, dict[str, object]] = data.get("chains") if isinstance(data.get("chains"), dict) else {}  # type: ignore[assignment]

    def save(self) -> None:
        if not self.changed:
            return
        fonts = {k: v for k, v in self.fonts.items() if os.path.exists(k.rsplit("#", 1)[0])}
        try:
            data = json.dumps({"version": CACHE_VERSION, "fonts": fonts, "chains": self.chains}, separators=(",", ":"))
            write_atomic(self.path, data.encode("utf-8"), durable=False)
        except OSError:
            pass
        self.changed = False


def coverages(fonts: Sequence[PrintFont], cache: Cache | None = None) -> tuple[Coverage, ...]:
    """Each font's coverage: from the cache while its file keeps its size and mtime, else read
    from its cmap and added to the cache."""
    store = cache or Cache()
    result = []
    for font in fonts:
        key, stamp = f"{font.file}#{font.index}", file_stamp(font.file)
        entry = store.fonts.get(key)
        if not isinstance(entry, dict) or entry.get("stamp") != stamp or not isinstance(entry.get("ranges"), list):
            entry = {"stamp": stamp, "ranges": [list(r) for r in _cmap_ranges(font)]}
            if stamp is not None:
                store.fonts[key], store.changed = entry, True
        ranges = entry["ranges"]
        result.append(Coverage(tuple(r[0] for r in ranges), tuple(r[1] for r in ranges)))  # type: ignore[union-attr]
    if cache is None:
        store.save()
    return tuple(result)
