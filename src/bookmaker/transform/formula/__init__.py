"""Formulas: LaTeX to MathML for the EPUB, MathML to vector SVG for print.

A manuscript writes math as TeX (`$…$`, `$$…$$`, ```math blocks). The EPUB carries it as
presentation MathML (EPUB 3 reading systems render it, and the TeX rides along as `alttext` and as an
`application/x-tex` annotation for those that do not). WeasyPrint has no MathML at all, so the print
document gets every `<math>` replaced by an inline SVG of outlined glyphs (STIX Two Math, bundled
with ziamath): paths only, so the PDF embeds no new font and the preflight's font rules hold.

latex2mathml is forgiving to a fault: an unknown command comes back as the text `\\foo`, an
unbalanced brace is dropped or printed, an unknown environment vanishes. A book must not print
`\\foo`, so `to_mathml` checks the TeX and the MathML it produced and raises `FormulaError` instead.

The package, by job: `common` (namespaces, `FormulaError`), `latex` (`to_mathml`), `drawing`
(`mathml_to_svg`, this process's drawings), `ahead` (`draw_ahead`), `printed` (`print_math`).
"""

from __future__ import annotations

from .ahead import (
    DRAW_AHEAD_MIN,
    draw_ahead,
)
from .common import _MATH_ELEMENT as _MATH_ELEMENT  # read by tests/test_formula.py
from .common import (
    MATHML_NS,
    SVG_NS,
    TEX_ENCODING,
    FormulaError,
)
from .drawing import _MARGIN_EM as _MARGIN_EM  # read by tests/test_formula.py
from .drawing import (
    Svg,
    forget_drawings,
    mathml_to_svg,
)
from .latex import to_mathml
from .printed import (
    image_svg,
    inline_svg,
    print_math,
)

__all__ = [
    "DRAW_AHEAD_MIN",
    "FormulaError",
    "MATHML_NS",
    "SVG_NS",
    "Svg",
    "TEX_ENCODING",
    "draw_ahead",
    "forget_drawings",
    "image_svg",
    "inline_svg",
    "mathml_to_svg",
    "print_math",
    "to_mathml",
]
