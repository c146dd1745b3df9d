"""Markdown -> XHTML blocks, headings and image references. Pure: no file access.

Two steps, so images can be sized between them without parsing twice:
``parse()`` finds figures and images; ``render()`` turns the tokens into XHTML blocks.

An image alone in its paragraph is a figure: ``![alt](src "caption"){#id aspect="2:3"}``;
``art="pending"`` says its art is still to come (a placeholder, listed in the build summary).

The package, by job: `attributes` (the `{…}` syntaxes on images, headings, code fences and
fenced divs), `rules` (how each kind of token is written as XHTML; the markdown-it instance and
its plugins), `parsing` (`parse`: tokens, figures, images, headings, formulas typeset),
`rendering` (`render`: XHTML blocks, the author's HTML sanitised), `notes` (the chapter's notes
after its text, one aside a note).
"""

from __future__ import annotations

from .attributes import FenceInfo, fence_info
from .notes import count_notes
from .parsing import Parsed, is_figure, notes_in, parse
from .rendering import parsed_line, render

__all__ = [
    "FenceInfo",
    "Parsed",
    "count_notes",
    "fence_info",
    "is_figure",
    "notes_in",
    "parse",
    "parsed_line",
    "render",
]
