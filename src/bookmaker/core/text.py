"""Small text helpers shared by stages."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")
WIDE_TABLE = 6  # columns from which a table is set across the measure in equal columns (print.css "table.wide")


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphen-separated: 'L’Été 2' -> 'l-ete-2'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub("-", ascii_text.lower()).strip("-")


def unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    taken.add(candidate)
    return candidate
