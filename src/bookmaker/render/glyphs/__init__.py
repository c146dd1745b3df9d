"""Letters no print font has, warned about at their manuscript line before the PDF is laid out.

WeasyPrint draws a character that no font covers as an empty box (`.notdef`) and says so only in
a log line with no location. The print chain is `html { font-family: … }` in `layouts/print.css`:
Charis SIL (shipped in `layouts/fonts/`), then the system fonts the Makefile installs
(BOOK_PACKAGES), named by family so that fontconfig resolves the same files on every machine of
this kind. Code spans and fences are set in DejaVu Sans Mono (print.css). A letter that font lacks falls
back to the other installed fonts, the chain's among them, so code is checked against the
monospace font plus the print chain.

Only the families the stylesheet names count (generic families such as `serif` do not). Pango
would also fall back to any other installed font, but which ones are installed differs between
machines, and the warnings must not.

The first run costs about 0.4 s: fontTools reads each font's cmap (0.1 s for a CJK font) and
fc-match resolves the families. Both results are kept in `font-coverage.json` in the user's cache
folder. The coverages are kept as code-point ranges, keyed by each file's path, face, size and
mtime. The resolved chain is keyed by the stylesheet and by fontconfig's folders and caches. After
that, checking the 29 chapters of the sample book takes 5-10 ms.

The package, by job: `coverage` (the code points a font file maps, `Coverage`, and the
`font-coverage.json` cache), `stylesheet` (print.css's font-family chain and its @font-face
files), `fonts` (the chain resolved through fontconfig, `fontconfig_state`, `print_chains`),
`check` (the Markdown walked for its printed text, one located warning per missing letter).
"""

from __future__ import annotations

from .check import (
    check_chapter,
    check_glyphs,
    describe_char,
    ignorable,
    missing_in,
    missing_note,
    pieces,
)
from .coverage import CACHE_VERSION, Coverage, PrintFont, coverages
from .fonts import (
    MONOSPACE,
    FontChain,
    PrintChains,
    chains_for,
    chains_of_files,
    fontconfig_state,
    print_chains,
    print_font_files,
    resolve,
)
from .stylesheet import stylesheet_fonts

__all__ = [
    "CACHE_VERSION",
    "Coverage",
    "FontChain",
    "MONOSPACE",
    "PrintChains",
    "PrintFont",
    "chains_for",
    "chains_of_files",
    "check_chapter",
    "check_glyphs",
    "coverages",
    "describe_char",
    "fontconfig_state",
    "ignorable",
    "missing_in",
    "missing_note",
    "pieces",
    "print_chains",
    "print_font_files",
    "resolve",
    "stylesheet_fonts",
]
