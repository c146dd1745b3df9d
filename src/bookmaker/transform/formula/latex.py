"""LaTeX to MathML for the EPUB (`to_mathml`): the TeX checked before and after latex2mathml, which
lets unknown commands, unbalanced braces and unknown environments through, so that a book never
prints ``\\foo``; its exceptions put into words an author can act on."""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as ET

import latex2mathml.commands
import latex2mathml.converter
import latex2mathml.exceptions as l2m_errors
from lxml import etree

from .common import _M, MATHML_NS, TEX_ENCODING, FormulaError

_SNIPPET = 60  # characters of the formula quoted in a message


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
