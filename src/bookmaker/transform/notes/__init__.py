"""Notes beyond the chapter's own page. transform/markdown/notes.py writes each chapter's notes as
one block of asides after its text; here they are moved where book.toml's `notes` wants them:

- `gather` (notes = "book"): every chapter's notes onto one generated back-matter page, "Notes",
  grouped by chapter, and the calls pointed at it, in both outputs;
- `for_print` (every setting): the notes as the print layout sets them. With notes = "foot",
  each note goes into its call's place as WeasyPrint's `float: footnote`, set at the foot of the
  page (long notes cut into pieces that may run on to the next page, pieces.py; notes called
  inside notes taken out of them: printed.py says why); with "chapter" and "book" they stay
  where they are. No back link ("↩") is printed.

Pure: strings and frozen Chapters in and out.
"""

from __future__ import annotations

from .gather import gather, move_out, notes_page_slug
from .printed import NoteLimits, for_print, note_limits

__all__ = ["NoteLimits", "for_print", "gather", "move_out", "note_limits", "notes_page_slug"]
