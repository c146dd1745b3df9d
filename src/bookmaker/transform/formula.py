"""Formulas: LaTeX to MathML for the EPUB, MathML to vector SVG for print.

A manuscript writes math as TeX (`$…$`, `$$…$$`, ```math blocks). The EPUB carries it as
presentation MathML (EPUB 3 reading systems render it, and the TeX rides along as `alttext` and as an
`application/x-tex` annotation for those that do not). WeasyPrint has no MathML at all, so the print
document gets every `<math>` replaced by an inline SVG of outlined glyphs (STIX Two Math, bundled
with ziamath): paths only, so the PDF embeds no new font and the preflight's font rules hold.

latex2mathml is forgiving to a fault: an unknown command comes back as the text `\\foo`, an
unbalanced brace is dropped or printed, an unknown environment vanishes. A book must not print
`\\foo`, so `to_mathml` checks the TeX and the MathML it produced and raises `FormulaError` instead.
"""

from __future__ import annotations

import functools
import html
import re
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import latex2mathml.commands
import latex2mathml.converter
import latex2mathml.exceptions as l2m_errors
from lxml import etree

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
SVG_NS = "http://www.w3.org/2000/svg"
TEX_ENCODING = "application/x-tex"

_M = f"{{{MATHML_NS}}}"
_SNIPPET = 60  # characters of the formula quoted in a message


class FormulaError(ValueError):
    """A formula that cannot be typeset; `message` says why in words an author can act on."""

    def __init__(self, message: str, tex: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tex = tex


# --------------------------------------------------------------------------------------------
# LaTeX -> MathML


_LIBRARY_ERRORS: dict[type[Exception], str] = {
    l2m_errors.NumeratorNotFoundError: "a fraction has no numerator",
    l2m_errors.DenominatorNotFoundError: "a fraction has no denominator",
    l2m_errors.ExtraLeftOrMissingRightError: "\\left and \\right do not pair up",
    l2m_errors.MissingSuperScriptOrSubscriptError: "a ^ or _ has nothing after it",
    l2m_errors.DoubleSubscriptsError: "double subscript: group it, as in x_{ab}",
    l2m_errors.DoubleSuperscriptsError: "double superscript: group it, as in x^{ab} or {x^a}^b",
    l2m_errors.NoAvailableTokensError: "a command is missing its argument (the formula ends too early)",
    l2m_errors.InvalidStyleForGenfracError: "\\genfrac has an invalid style argument",
    l2m_errors.MissingEndError: "a \\begin{…} has no matching \\end{…}",
    l2m_errors.InvalidAlignmentError: "an array has an invalid column alignment",
    l2m_errors.InvalidWidthError: "a width is not a valid TeX length",
    l2m_errors.LimitsMustFollowMathOperatorError: "\\limits must follow an operator such as \\sum or \\int",
}

# Environments latex2mathml really converts; any other \begin{x} it silently drops.
_ENVIRONMENTS = frozenset(cmd.lstrip("\\") for cmd in latex2mathml.commands.MATRICES)

_ENVIRONMENT_HINTS = {
    "aligned": "use split or align* instead",
    "gathered": "use displaylines instead",
    "equation": "a display formula needs no environment",
    "equation*": "a display formula needs no environment",
    "eqnarray": "use align* instead",
}

# Environments authors write (amsmath, as pandoc, KaTeX and MathJax read them) that latex2mathml
# lacks, and the one it has that typesets the same: `aligned` is `align*` inside a display formula.
_EQUIVALENTS = {"aligned": "align*", "gathered": "displaylines", "gather": "displaylines", "gather*": "displaylines"}
_UNWRAPPED = ("equation", "equation*")
_ENV = re.compile(r"\\(begin|end)\{(" + "|".join(re.escape(n) for n in (*_EQUIVALENTS, *_UNWRAPPED)) + r")\}")


def _equivalents(tex: str) -> str:
    """The TeX with amsmath environments latex2mathml lacks written as ones it has (the author's
    TeX stays the formula's alttext and annotation)."""
    def swap(m: re.Match[str]) -> str:
        name = m.group(2)
        return "" if name in _UNWRAPPED else "\\" + m.group(1) + "{" + _EQUIVALENTS[name] + "}"

    return _ENV.sub(swap, tex)


# How many children a MathML element needs; fewer means an argument went missing.
_ARITY = {
    "mfrac": (2, "a fraction (\\frac, \\binom) needs two arguments"),
    "mroot": (2, "a root needs its radicand"),
    "msub": (2, "a subscript has no base or no script"),
    "msup": (2, "a superscript has no base or no script"),
    "msubsup": (3, "a sub/superscript is incomplete"),
    "munder": (2, "an under-script is incomplete"),
    "mover": (2, "an accent or over-script is incomplete"),
    "munderover": (3, "limits are incomplete"),
}

_CONTROL = re.compile(r"\\([A-Za-z]+|.?)", re.DOTALL)
_PASSED_THROUGH = re.compile(r"\\[A-Za-z]*")


def _quote(tex: str) -> str:
    flat = " ".join(tex.split())
    return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"


def _fail(detail: str, tex: str) -> FormulaError:
    return FormulaError(f"formula does not parse: {detail} (in ${_quote(tex)}$)", tex)


def _environment_name(tex: str, pos: int) -> tuple[str, int]:
    """The `{name}` after \\begin or \\end at `pos`, and where it ends; ('', pos) when absent."""
    m = re.compile(r"\s*\{([^{}]*)\}").match(tex, pos)
    return (m.group(1).strip(), m.end()) if m else ("", pos)


def _check_source(tex: str) -> None:
    """What latex2mathml lets through: unbalanced braces, unknown or unpaired environments, a bare &.

    A scan over TeX tokens: a control word or symbol is skipped whole, so `\\{` and `\\}` are
    literal braces and `\\\\` a line break; a `%` starts a comment to the end of the line.
    """
    braces: list[int] = []
    environments: list[str] = []
    pos = 0
    while pos < len(tex):
        char = tex[pos]
        if char == "\\":
            m = _CONTROL.match(tex, pos)
            assert m is not None
            pos = m.end()
            if m.group(1) in ("begin", "end"):
                name, pos = _environment_name(tex, pos)
                _check_environment(m.group(1), name, environments, tex)
            continue
        if char == "%":
            newline = tex.find("\n", pos)
            pos = len(tex) if newline < 0 else newline
            continue
        if char == "{":
            braces.append(pos)
        elif char == "}":
            if not braces:
                raise _fail(f"the '}}' at character {pos + 1} closes no '{{' (write \\}} for a brace)", tex)
            braces.pop()
        elif char == "&" and not environments:
            raise _fail("'&' outside a matrix, cases or array environment (write \\& for an ampersand)", tex)
        pos += 1
    if braces:
        raise _fail(f"the '{{' at character {braces[-1] + 1} is never closed", tex)
    if environments:
        raise _fail(f"\\begin{{{environments[-1]}}} has no matching \\end{{{environments[-1]}}}", tex)


def _check_environment(kind: str, name: str, open_: list[str], tex: str) -> None:
    if not name:
        raise _fail(f"\\{kind} needs an environment name in braces", tex)
    if kind == "begin":
        if name not in _ENVIRONMENTS:
            hint = _ENVIRONMENT_HINTS.get(name) or "supported: " + ", ".join(sorted(_ENVIRONMENTS))
            raise _fail(f"environment '{name}' is not supported ({hint})", tex)
        open_.append(name)
    elif not open_ or open_[-1] != name:
        raise _fail(f"\\end{{{name}}} has no matching \\begin{{{name}}}", tex)
    else:
        open_.pop()


_SYMBOLS_IN_MATH = frozenset("\\{}|,;:! #$%&_")


def _odd_symbol(tex: str) -> str:
    """The first control symbol (backslash and one non-letter) math mode does not know, as in `f\\'`."""
    for m in _CONTROL.finditer(tex):
        word = m.group(1)
        if len(word) <= 1 and word not in _SYMBOLS_IN_MATH:
            return "\\" + word
    return "\\"


def _check_passed_through(text: str, tex: str) -> None:
    """A '\\' in latex2mathml's raw text is a command it did not know and copied as it was.

    Every symbol it knows it writes as a character reference (`\\backslash` is `&#x0005C;`),
    so the test runs on the text before those references are decoded.
    """
    if "\\" not in text:
        return
    command = _PASSED_THROUGH.search(text)
    name = command.group(0) if command and len(command.group(0)) > 1 else _odd_symbol(tex)
    if name == "\\":
        raise _fail("a backslash latex2mathml cannot read here (it has no \\{ or \\} inside \\text{})", tex)
    raise _fail(f"unknown command {name}", tex)


def _check_arity(root: etree._Element, tex: str) -> None:
    """An element with fewer children than it needs: an argument latex2mathml silently lost."""
    for element in root.iter():
        if isinstance(element.tag, str):
            local = etree.QName(element).localname
            if local in _ARITY and len(element) < _ARITY[local][0]:
                raise _fail(_ARITY[local][1], tex)


_TEXT_ESCAPES = re.compile(r"\\([&%#_{}$])")  # \& in \text{} is a literal &, and so on


def _convert(tex: str, display: bool) -> etree._Element:
    """latex2mathml's MathML tree; its exceptions (which carry no message) put into words.

    `convert_to_element`, not `convert`: the string form unescapes every character reference after
    serialising, so `\\text{a<b}` or `\\text{R\\&D}` would come out as malformed XML. The tree
    holds its symbols as reference strings (`&#x0002B;`), decoded here node by node.
    """
    try:
        tree = latex2mathml.converter.convert_to_element(tex, display="block" if display else "inline")
    except tuple(_LIBRARY_ERRORS) as exc:
        raise _fail(_LIBRARY_ERRORS[type(exc)], tex) from exc
    except Exception as exc:  # a library bug on odd input: still the author's formula to fix
        raise _fail(f"latex2mathml cannot read it ({type(exc).__name__})", tex) from exc
    for node in tree.iter():
        if node.text:
            raw = _TEXT_ESCAPES.sub(r"\1", node.text) if node.tag.endswith("mtext") else node.text
            _check_passed_through(raw, tex)
            node.text = html.unescape(raw)
        for key, value in list(node.attrib.items()):
            node.set(key, html.unescape(value))
    return etree.fromstring(ET.tostring(tree, encoding="unicode"))


@functools.lru_cache(maxsize=4096)
def to_mathml(tex: str, display: bool) -> str:
    """Presentation MathML for EPUB 3, with the TeX as `alttext` and as an x-tex annotation.

    `<math display alttext><semantics><mrow>…</mrow><annotation encoding="application/x-tex">`:
    EPUBCheck 5.3 accepts a plain `<annotation>` with any encoding but rejects `<annotation-xml>`
    with this one (RSC-005: MathML, SVG or (X)HTML only). The TeX is what a reading system
    without MathML shows. Raises FormulaError on TeX that would not
    typeset; the result is cached by content, since a book repeats its formulas.
    """
    source = tex.strip()
    if source.endswith("\\") and tex.rstrip() != tex:  # a trailing "\ " is a space, not a lone backslash
        source += " "
    if not source:
        raise FormulaError("formula does not parse: the formula is empty", tex)
    typeset = _equivalents(source)
    _check_source(typeset)
    converted = _convert(typeset, display)
    _check_arity(converted, typeset)
    children = list(converted)
    if len(children) == 1:
        presentation = children[0]
    else:
        presentation = etree.Element(_M + "mrow", nsmap={None: MATHML_NS})
        presentation.extend(children)
    math = etree.Element(_M + "math", nsmap={None: MATHML_NS})
    math.set("display", "block" if display else "inline")
    math.set("alttext", " ".join(source.split()))
    semantics = etree.SubElement(math, _M + "semantics")
    semantics.append(presentation)
    annotation = etree.SubElement(semantics, _M + "annotation", encoding=TEX_ENCODING)
    annotation.text = source
    return etree.tostring(math, encoding="unicode")


# --------------------------------------------------------------------------------------------
# MathML -> SVG


@dataclass(frozen=True)
class Svg:
    """One formula drawn as outlines. Lengths in pt; `depth` is how far it reaches below the baseline.

    `markup` is a standalone SVG (width and height in pt, the baseline at y=0 of its viewBox) of
    shapes only (glyph outlines as `<path>`, rules as `<rect>`): no text, no font, no ids, no
    links, so many can sit inline in one document and WeasyPrint embeds nothing for them.
    """

    markup: str
    width: float
    height: float
    depth: float


_ZIAMATH_LOCK = threading.Lock()  # ziamath's svg2 switch is process-global configuration
_MARGIN_EM = 0.04  # room around the ink so no edge of a glyph touches the box


def _presentation(mathml: str) -> str:
    """The MathML ziamath should draw: `<semantics>` reduced to its presentation, no annotations.

    ziamath knows neither element: it logs a warning for each and lays them out as rows, so an
    `<annotation-xml>` holding MathML would be drawn beside the formula.
    """
    try:
        root = etree.fromstring(mathml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise FormulaError(f"formula cannot be drawn: the MathML is not well-formed ({exc})") from exc
    if etree.QName(root).localname != "math":
        raise FormulaError(f"formula cannot be drawn: expected <math>, not <{etree.QName(root).localname}>")
    for note in list(root.iter(_M + "annotation", _M + "annotation-xml", "annotation", "annotation-xml")):
        note.getparent().remove(note)
    for semantics in list(root.iter(_M + "semantics", "semantics")):
        parent = semantics.getparent()  # never None: the root is <math>
        position = parent.index(semantics)
        parent.remove(semantics)
        for offset, child in enumerate(list(semantics)):  # what is left: the presentation
            parent.insert(position + offset, child)
    return etree.tostring(root, encoding="unicode")


def _draw(presentation: str, font_size_pt: float) -> ET.Element:
    import ziamath

    with _ZIAMATH_LOCK:
        previous = ziamath.config.svg2
        ziamath.config.svg2 = False  # plain <path>s: no <symbol>/<use> ids to clash between formulas
        try:
            return ziamath.Math(presentation, size=font_size_pt, margin=_MARGIN_EM * font_size_pt).svgxml()
        except Exception as exc:  # ziamath on MathML it cannot lay out
            raise FormulaError(f"formula cannot be drawn ({type(exc).__name__}: {exc})") from exc
        finally:
            ziamath.config.svg2 = previous


# What ziamath draws with: glyph outlines, rules (fraction bars, radicals, boxes), groups.
_SHAPES = frozenset({"g", "path", "rect", "line", "polyline", "polygon", "circle", "ellipse"})
_GEOMETRY = frozenset({"d", "x", "y", "width", "height", "x1", "y1", "x2", "y2", "points", "cx", "cy", "r", "rx", "ry",
                       "transform", "fill", "stroke", "stroke-width", "opacity", "fill-opacity", "stroke-opacity"})


def _copy_shapes(drawn: ET.Element, into: etree._Element) -> None:
    """Shapes and their geometry only: never text, a title, an id or a link."""
    for child in drawn:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag not in _SHAPES:
            continue
        attributes = {k: v for k, v in sorted(child.attrib.items()) if k in _GEOMETRY}
        copy = etree.SubElement(into, f"{{{SVG_NS}}}{tag}", attributes)
        _copy_shapes(child, copy)


def _clean_svg(drawn: ET.Element) -> tuple[str, float, float, float]:
    """Shapes only, lengths in pt, no xlink namespace; and the box it measures.

    ziamath puts the baseline at y=0 of its viewBox, so the depth below the baseline is the
    bottom of the viewBox: its top (negative: the height above the baseline) plus its height.
    """
    width = float(drawn.get("width", "0"))
    height = float(drawn.get("height", "0"))
    view_box = drawn.get("viewBox", "0 0 0 0")
    top = float(view_box.split()[1])
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    svg.set("width", f"{width:g}pt")
    svg.set("height", f"{height:g}pt")
    svg.set("viewBox", view_box)
    _copy_shapes(drawn, svg)
    return etree.tostring(svg, encoding="unicode"), width, height, round(top + height, 3)


_DRAWN: OrderedDict[tuple[str, float], Svg] = OrderedDict()  # the formulas drawn in this process, newest last
_DRAWN_MAX = 8192  # distinct formulas (and sizes) kept; the oldest go first
_DRAWN_LOCK = threading.Lock()  # the preview server draws from several threads


def _drawn(key: tuple[str, float]) -> Svg | None:
    with _DRAWN_LOCK:
        hit = _DRAWN.get(key)
        if hit is not None:
            _DRAWN.move_to_end(key)
        return hit


def _remember(key: tuple[str, float], svg: Svg) -> None:
    with _DRAWN_LOCK:
        _DRAWN[key] = svg
        _DRAWN.move_to_end(key)
        while len(_DRAWN) > _DRAWN_MAX:
            _DRAWN.popitem(last=False)


def forget_drawings() -> None:
    """Empties this process's drawings (tests; a long-running server never needs to: they are bounded)."""
    with _DRAWN_LOCK:
        _DRAWN.clear()


def _outlines(mathml: str, font_size_pt: float) -> Svg:
    markup, width, height, depth = _clean_svg(_draw(_presentation(mathml), font_size_pt))
    if width <= 0 or height <= 0:
        raise FormulaError("formula cannot be drawn: it has no visible content")
    return Svg(markup, width, height, depth)


def mathml_to_svg(mathml: str, font_size_pt: float) -> Svg:
    """The formula in outlines at `font_size_pt`; the same input always gives the same bytes.
    Each formula is drawn once per process (or ahead, by `draw_ahead`)."""
    if font_size_pt <= 0:
        raise ValueError(f"font size must be positive, not {font_size_pt}")
    key = (mathml, font_size_pt)
    svg = _drawn(key)
    if svg is None:
        svg = _outlines(mathml, font_size_pt)
        _remember(key, svg)
    return svg


def _draw_quietly(key: tuple[str, float]) -> tuple[tuple[str, float], Svg | None]:
    """In a worker of `draw_ahead`: a formula that cannot be drawn is left for the build to draw
    again at its place, where its error gets its chapter and line."""
    try:
        return key, _outlines(*key)
    except Exception:  # noqa: BLE001 - reported where the formula is used, not here
        return key, None


DRAW_AHEAD_MIN = 48  # fewer new formulas than this are drawn where they are used: a fork costs more


def draw_ahead(sources: Iterable[str], font_size_pt: float, jobs: int) -> int:
    """Draws every formula (`<math>` element) of `sources` not drawn yet, with `jobs` forked
    processes, into this process's drawings, so the print layout finds them drawn. ziamath lays a
    formula out in about 10 ms of pure Python: a book of 800 formulas spends 8 s on it, which
    this spreads over the cores. Returns the number drawn ahead. The drawings are those the build
    would make (the same function, the same input), so the PDF's bytes do not change."""
    if font_size_pt <= 0:
        raise ValueError(f"font size must be positive, not {font_size_pt}")
    wanted = sorted({m.group(0) for source in sources if "<math" in source for m in _MATH_ELEMENT.finditer(source)})
    keys = [(mathml, font_size_pt) for mathml in wanted if _drawn((mathml, font_size_pt)) is None]
    if jobs <= 1 or len(keys) < DRAW_AHEAD_MIN:
        return 0
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(min(jobs, len(keys) // (DRAW_AHEAD_MIN // 2) or 1)) as pool:
        drawn = pool.map(_draw_quietly, keys, chunksize=max(1, len(keys) // (jobs * 4)))
    count = 0
    for key, svg in drawn:
        if svg is not None:
            _remember(key, svg)
            count += 1
    return count


# --------------------------------------------------------------------------------------------
# Print: every <math> in an XHTML fragment becomes an SVG


_MATH_ELEMENT = re.compile(r"<math[\s>].*?</math\s*>|<math[^>]*/>", re.DOTALL)
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
    import hashlib

    data = svg.markup.encode("utf-8")
    href = f"math/{hashlib.sha256(data).hexdigest()[:20]}.svg"
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
    class already (as markdown.py's display blocks do). Text without `<math` comes
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
