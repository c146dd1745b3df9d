"""The back-of-book index: terms marked in the text (transform/markdown/marks.py) gathered,
sorted (`sorting`) and set on a generated back-matter page, "Index" (`gather`)."""

from __future__ import annotations

from .gather import has_index, make_index
from .sorting import letter_of, sort_key

__all__ = ["has_index", "letter_of", "make_index", "sort_key"]
