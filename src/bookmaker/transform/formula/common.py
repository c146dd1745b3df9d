"""What every step of the formulas shares: the MathML and SVG namespaces, the encoding of the TeX
annotation, `FormulaError`, and the pattern of a ``<math>`` element in XHTML text."""

from __future__ import annotations

import re

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
SVG_NS = "http://www.w3.org/2000/svg"
TEX_ENCODING = "application/x-tex"

_M = f"{{{MATHML_NS}}}"

# A <math> element in XHTML text: what `print_math` draws at its place and `draw_ahead` draws ahead.
_MATH_ELEMENT = re.compile(r"<math[\s>].*?</math\s*>|<math[^>]*/>", re.DOTALL)


class FormulaError(ValueError):
    """A formula that cannot be typeset; `message` says why in words an author can act on."""

    def __init__(self, message: str, tex: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tex = tex
