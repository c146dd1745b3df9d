"""Every ``<math>`` of a print page drawn (`print_math`): as an inline ``<svg>`` sized in em and set on
the baseline (`inline_svg`), or as an ``<img>`` of one SVG file a formula (`image_svg`); display
formulas wrapped in an element the stylesheet centres."""

from __future__ import annotations

import re

from lxml import etree

from .common import _M, _MATH_ELEMENT, MATHML_NS, TEX_ENCODING, FormulaError
from .drawing import Svg, mathml_to_svg

# --------------------------------------------------------------------------------------------
# Print: every <math> in an XHTML fragment becomes an SVG

_PARAGRAPH = re.compile(r"<p[\s>]|</p\s*>")


def _label(math: etree._Element) -> str:
    """What a screen reader says for the picture: the TeX the author wrote."""
    alt = math.get("alttext")
    if alt:
        return alt
    for note in math.iter(_M + "annotation"):
        if note.get("encoding") == TEX_ENCODING and note.text:
            return " ".join(note.text.split())
    return " ".join("".join(math.itertext()).split())


def _em(points: float, font_size_pt: float) -> str:
    return f"{points / font_size_pt:.4f}".rstrip("0").rstrip(".") + "em"


def inline_svg(svg: Svg, label: str, font_size_pt: float, fill: str = "black") -> str:
    """The `<svg>` element for an HTML page: sized in em of the text around it, sitting on its baseline.

    Lengths are in em, computed at `font_size_pt`, so a formula in a footnote or caption scales
    with the smaller text as a glyph would; `vertical-align` lowers the box by the formula's depth.
    """
    root = etree.fromstring(svg.markup)
    root.set("width", _em(svg.width, font_size_pt))
    root.set("height", _em(svg.height, font_size_pt))
    root.set("style", f"vertical-align: {_em(-svg.depth, font_size_pt)}")
    root.set("class", "math")
    root.set("role", "math")
    root.set("aria-label", label)
    if fill != "black":
        for shape in root.iter():
            for key in ("fill", "stroke"):
                if shape.get(key) == "black":
                    shape.set(key, fill)
    return etree.tostring(root, encoding="unicode")


def image_svg(svg: Svg, label: str, font_size_pt: float, files: dict[str, bytes]) -> str:
    """An `<img>` of the formula, its SVG file added to `files` (href -> bytes) under a name made
    from its content. WeasyPrint reads each distinct file once however often a book shows it,
    where an inline `<svg>` is parsed and styled again at every occurrence. Sized and placed on
    the baseline in em, as `inline_svg`; the ink is black (a CMYK book's images, these included,
    are converted to device CMYK with the others)."""
    from ...core.digest import content_name

    data = svg.markup.encode("utf-8")
    href = f"math/{content_name(data, 20)}.svg"
    files.setdefault(href, data)
    style = (f"width: {_em(svg.width, font_size_pt)}; height: {_em(svg.height, font_size_pt)}; "
             f"vertical-align: {_em(-svg.depth, font_size_pt)}")
    alt = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'<img class="math" src="{href}" alt="{alt}" style="{style}" />'


_WRAPPED = re.compile(r"""<(?:div|p|span)\s[^<>]*\bclass=["'](?:[^"']*\s)?math-display[\s"'][^<>]*>\s*$""")


def _replace(source: str, font_size_pt: float, in_paragraph: bool, fill: str, wrapped: bool = False,
             files: dict[str, bytes] | None = None) -> str:
    try:
        math = etree.fromstring(source.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise FormulaError(f"formula cannot be drawn: the MathML is not well-formed ({exc})") from exc
    if etree.QName(math).namespace not in (MATHML_NS, None):
        return source
    label = _label(math)
    drawn = mathml_to_svg(source, font_size_pt)
    picture = inline_svg(drawn, label, font_size_pt, fill) if files is None else image_svg(drawn, label, font_size_pt, files)
    if math.get("display") != "block" or wrapped:  # inline, or in the renderer's own wrapper already
        return picture
    # A <div> inside a <p> would end the paragraph in an HTML parser (WeasyPrint's html5lib).
    tag = "span" if in_paragraph else "div"
    return f'<{tag} class="math-display">{picture}</{tag}>'


def print_math(xhtml: str, font_size_pt: float, fill: str = "black", files: dict[str, bytes] | None = None) -> str:
    """`xhtml` with every `<math>` drawn as an inline SVG, for WeasyPrint (which has no MathML).

    A display formula is wrapped in `<div class="math-display">` (a `<span>` of that class when
    it sits inside a paragraph), which the stylesheet centres, unless it opens an element of that
    class already (as markdown/rules.py's display blocks do). Text without `<math` comes
    back as it is, at the cost of one substring search. `fill` is the ink, e.g.
    "device-cmyk(0 0 0 1)" for a CMYK printer. With `files`, each formula is an `<img>` of an SVG
    file added to it instead (image_svg), in black ink.
    """
    if "<math" not in xhtml:
        return xhtml
    out: list[str] = []
    pos = 0
    depth = 0  # open <p> elements before the current point
    for m in _MATH_ELEMENT.finditer(xhtml):
        for tag in _PARAGRAPH.finditer(xhtml, pos, m.start()):
            depth = depth + 1 if tag.group(0).startswith("<p") else max(0, depth - 1)
        out.append(xhtml[pos:m.start()])
        wrapped = _WRAPPED.search(xhtml, max(pos, m.start() - 300), m.start()) is not None
        out.append(_replace(m.group(0), font_size_pt, depth > 0, fill, wrapped, files))
        pos = m.end()
    out.append(xhtml[pos:])
    return "".join(out)
