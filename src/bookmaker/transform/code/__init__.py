"""Code blocks: Pygments highlighting to XHTML, the stylesheets for it, and wrapping for print.

Why a package of its own: a code block is the one place where the EPUB and the print book need
different shapes of the same text. The EPUB reflows, so long lines wrap inside the block by CSS;
the printed page is a fixed width, where a line that runs past the text block is lost, so
`wrap_for_print` breaks each long line at a known column and marks the continuation. Everything
here is pure (strings in, strings out) and deterministic, so it can sit in the Markdown stage
(`highlight`, `known_language`, `overlong_lines`) and in the print layout (`wrap_for_print`).

The markup `highlight` writes, and that the CSS of `stylesheet` and `block_css` styles::

    <figure class="listing" id="ID">                      (only with a caption)
      <figcaption>Caption</figcaption>
      <pre class="code [numbered]" data-lang="python"><code class="language-python">
        <span class="line"><span class="ln" aria-hidden="true" data-n=" 9"></span>...</span>
        ...one span.line per source line, joined by newlines...
      </code></pre>
    </figure>

Inside a line, tokens are `<span class="k">` and so on: Pygments' short class names
(`pygments.token.STANDARD_TYPES`). Line numbers are generated content (`.ln::before`, from
`data-n`), so they are never selected or copied with the code, and `aria-hidden` keeps screen
readers from reading them. `wrap_for_print` adds `<span class="cont" aria-hidden="true">` marks,
each holding the line break, the gutter's width of spaces and the mark itself.

The package, by job: `lines` (source lines and monospace widths), `highlighting` (`highlight`,
`known_language`), `styles` (`stylesheet`, `block_css`, colours), `wrap` (`wrap_for_print`, the
long-line warning), `printed` (`for_print`, `code_columns`).
"""

from __future__ import annotations

from .highlighting import (
    highlight,
    known_language,
)
from .lines import (
    TAB_SIZE,
    source_lines,
)
from .lines import _expand_tabs as _expand_tabs  # read by tests/test_code.py
from .lines import _width as _width  # read by tests/test_code.py
from .printed import (
    MONO_ADVANCE_EM,
    code_columns,
    font_advance_em,
    for_print,
    print_columns,
)
from .styles import (
    CODE_FONT_SCALE,
    STYLE,
    Colour,
    Target,
    block_css,
    css_colour,
    luminance,
    print_styles,
    stylesheet,
)
from .wrap import (
    BREAK_LOOKBACK,
    CONTINUATION_MARK,
    MARK_COLUMNS,
    overlong_lines,
    wrap_for_print,
    wrap_warning,
)

__all__ = [
    "BREAK_LOOKBACK",
    "CODE_FONT_SCALE",
    "CONTINUATION_MARK",
    "Colour",
    "MARK_COLUMNS",
    "MONO_ADVANCE_EM",
    "STYLE",
    "TAB_SIZE",
    "Target",
    "block_css",
    "code_columns",
    "css_colour",
    "font_advance_em",
    "for_print",
    "highlight",
    "known_language",
    "luminance",
    "overlong_lines",
    "print_columns",
    "print_styles",
    "source_lines",
    "stylesheet",
    "wrap_for_print",
    "wrap_warning",
]
