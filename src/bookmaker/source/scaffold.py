"""`bookmaker new DIR`: a book to start from, as `mdbook init` and `quarto create` give.

It builds as it is, with no warning: its one figure is marked as art still to come.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ..core.errors import OutputError

_BOOK_TOML = """\
# book.toml: the book's metadata and print settings. Every key is described in bookmaker's README.
title = {title}
# subtitle = "A subtitle"
authors = [{author}]                # one or more names; a name as a catalogue sorts it:
#                                   # {{ name = "Ursula K. Le Guin", file_as = "Le Guin, Ursula K." }}
language = {language}                 # BCP 47: "en", "en-GB", "fr", "de"…
date = {date}                 # publication date
# publisher = "Your imprint"
# description = "One paragraph for stores and e-readers."
# rights = "© {year} {author_plain}. All rights reserved."
# isbn = "978-…"                    # the ebook's ISBN, check digit verified; becomes the identifier (and, without
#                                   # [print] isbn, the print edition's too: the cover's barcode)
# contributors = [{{ name = "Ann Other", role = "translator" }}, {{ name = "Jo Bloggs", role = "illustrator" }}]
#                                   # roles: author, editor, translator, illustrator, foreword, introduction, preface,
#                                   # afterword, photographer, cover-designer, narrator; file_as = "Other, Ann" too
# series = "The Long Road"          # the series the book belongs to
# series_index = 2                  # the book's number in it (1.5 between 1 and 2); needs series
# subjects = ["FIC009000", "dragons"] # BISAC codes (3 letters, 6 digits) and keywords, for stores; a code's
#                                   # heading by name: {{ code = "FIC009000", name = "Fiction / Fantasy / General" }}
# edition = "First edition"
# chapter_label = "Chapter"         # "Chapter 1", "Chapter 2"…
# chapters = ["01-….md"]            # explicit order; default: file-name order
# cover = "images/cover.jpg"        # default: a typographic cover drawn from the title
# pending_images = ["images/*.jpg"] # art still to come: placeholders, listed once, not warned about
# layouts = "my-layouts"            # your own templates and stylesheets; the others stay bookmaker's
# notes = "foot"                    # foot | chapter | book: at the foot of the page, after each chapter, or on a Notes page
# note_numbers = "chapter"          # chapter | book: numbered from 1 in each chapter, or on through the book
# page_list = "print"               # print | reuse | none: the EPUB's print page numbers (an EPUB built alone lays
#                                   # the print out when the last print build's pages are stale; reuse: leaves them out)
# design = "classic"                # classic | novel | photo: the book's look in both outputs (README "The book's design")
# opening = "right"                 # right | any | facing, or by kind: {{ front = "any", body = "facing" }}
# lead_in = "small-caps"            # small-caps | drop-cap | none: how a chapter's first line begins
# scene_break = "⁂"                 # the ornament for *** or --- between scenes
# back_cover = "The blurb on the back of the paperback (Markdown)."

# [ebook]
# store = "generic"                 # generic | kdp | apple | kobo, or a list: the stores the EPUB is made for

[print]
trim = "6in x 9in"                  # also "5.5in x 8.5in", "148mm x 210mm"
profile = "proof"                   # proof | kdp | ingramspark: the printer's rules the PDF must pass
# isbn = "978-0-306-40615-7"        # the print edition's own ISBN (this one is an example): the cover's barcode,
#                                   # the print edition the EPUB's page numbers are of; the top-level isbn is the ebook's
# font_size = "10.5pt"
# paper = "white"                   # white | cream | color-standard | color-premium: sets the cover's spine width
# interior = "black-and-white"      # black-and-white | colour
# spine_direction = "top-to-bottom" # top-to-bottom | bottom-to-top (default from the language)
# plates = "text-block"             # text-block | bleed: a facing chapter's picture within the margins or to the trim
# margin_top = "0.75in"
# margin_bottom = "0.85in"
# margin_inside = "0.875in"         # the gutter side
# margin_outside = "0.625in"
"""

_CHAPTER_ONE = """\
---
title: A Beginning
---

This is the first chapter. Write in Markdown: *emphasis*, **strong**, [links](02-going-on.md),
lists, tables and notes.[^first]

A figure is an image alone in its paragraph. This one is still to come, so bookmaker draws a
placeholder of its size and lists it in the build summary:

![A short description of the picture, for readers who cannot see it.](images/figure-1.jpg "The caption printed under the picture."){#fig-first art="pending"}

[^first]: Notes are numbered for you.
"""

_CHAPTER_TWO = """\
---
title: Going On
---

The second chapter. Chapters are the Markdown files in `chapters/`, in the order of their file
names unless `book.toml` lists them.

## A section

Headings inside a chapter nest under its title.
"""

_GITIGNORE = """\
# bookmaker's outputs and build cache
/build/
"""


def _title(folder: Path) -> str:
    words = folder.resolve().name.replace("_", " ").replace("-", " ").split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or "My Book"


def create(folder: Path, title: str | None = None, author: str = "Your Name", language: str = "en",
           today: dt.date | None = None) -> list[Path]:
    """Write the starter book into `folder` (new or empty); the files written, in order."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise OutputError.at(folder, None, "already exists and is not empty; name a new folder for the book")
    today = today or dt.date.today()
    files = {
        "book.toml": _BOOK_TOML.format(title=json.dumps(title or _title(folder), ensure_ascii=False),
                                       author=json.dumps(author, ensure_ascii=False), author_plain=author,
                                       language=json.dumps(language), date=today.isoformat(), year=today.year),
        "chapters/01-a-beginning.md": _CHAPTER_ONE,
        "chapters/02-going-on.md": _CHAPTER_TWO,
        ".gitignore": _GITIGNORE,
    }
    written = []
    try:
        (folder / "images").mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise OutputError.at(folder, None, f"cannot write the new book: {exc.strerror or exc}") from None
    return written
