"""Formulas: TeX -> MathML for the EPUB (EPUBCheck-clean), MathML -> path-only SVG for print."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from .conftest import ROOT, need, which
from lxml import etree
from PIL import Image, ImageChops

from bookmaker.transform import formula
from bookmaker.transform.formula import (
    FormulaError,
    Svg,
    draw_ahead,
    forget_drawings,
    mathml_to_svg,
    print_math,
    to_mathml,
)

M = "{http://www.w3.org/1998/Math/MathML}"
S = "{http://www.w3.org/2000/svg}"
XHTML = "http://www.w3.org/1999/xhtml"


def parse(mathml: str) -> etree._Element:
    return etree.fromstring(mathml.encode("utf-8"))


def presentation(mathml: str) -> etree._Element:
    root = parse(mathml)
    semantics = root.find(M + "semantics")
    assert semantics is not None
    return semantics[0]


def texts(element: etree._Element, tag: str) -> list[str]:
    return [e.text or "" for e in element.iter(M + tag)]


# --------------------------------------------------------------------------------------------
# TeX -> MathML


@pytest.mark.parametrize("display", [False, True])
def test_the_math_element_carries_display_alttext_and_a_tex_annotation(display: bool) -> None:
    tex = r"\frac{a}{b} + \sum_{i=1}^{n} x_i^2"
    root = parse(to_mathml(tex, display))
    assert root.tag == M + "math"
    assert root.get("display") == ("block" if display else "inline")
    assert root.get("alttext") == tex
    (semantics,) = list(root)
    assert semantics.tag == M + "semantics"
    first, annotation = list(semantics)
    assert first.tag == M + "mrow"
    assert annotation.tag == M + "annotation"
    assert annotation.get("encoding") == "application/x-tex"
    assert annotation.text == tex


def test_a_fraction() -> None:
    (frac,) = presentation(to_mathml(r"\frac{a}{b}", False)).iter(M + "mfrac")
    assert len(frac) == 2
    assert texts(frac[0], "mi") == ["a"] and texts(frac[1], "mi") == ["b"]


def test_a_sum_with_limits() -> None:
    (limits,) = presentation(to_mathml(r"\sum_{i=1}^{n} i", True)).iter(M + "munderover")
    assert limits[0].text == "∑"
    assert texts(limits[1], "mi") == ["i"] and texts(limits[1], "mn") == ["1"]
    assert texts(limits[2], "mi") == ["n"]


def test_a_matrix() -> None:
    mrow = presentation(to_mathml(r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", True))
    (table,) = mrow.iter(M + "mtable")
    assert [[cell.findtext(M + "mn") for cell in row] for row in table] == [["1", "2"], ["3", "4"]]
    assert texts(mrow, "mo") == ["(", ")"]


def test_greek_sub_and_superscripts_and_text() -> None:
    mrow = presentation(to_mathml(r"\alpha_i^2 + \beta^{n} + x_{j} \text{ if } \gamma", False))
    assert [e.tag.removeprefix(M) for e in mrow] == ["msubsup", "mo", "msup", "mo", "msub", "mtext", "mi"]
    assert texts(mrow, "mi")[:2] == ["α", "i"] and "β" in texts(mrow, "mi") and "γ" in texts(mrow, "mi")
    assert texts(mrow, "mtext") == ["\u00a0if\u00a0"]


@pytest.mark.parametrize("tex, check", [
    (r"\frak{g}", lambda m: m.find(f".//{M}mi").get("mathvariant") == "fraktur"),
    (r"\text{R\&D, 50\% \#1 a\_b}", lambda m: texts(m, "mtext") == ["R&D,\u00a050%\u00a0#1\u00a0a_b"]),
    (r"\text{a<b}", lambda m: texts(m, "mtext") == ["a<b"]),
    (r"\{a\} \backslash b", lambda m: texts(m, "mo")[:2] == ["{", "}"] and "\\" in texts(m, "mi")),
    (r"a < b \,\; c \\ d", lambda m: "<" in texts(m, "mo")),
    (r"\begin{cases} 1 & x > 0 \\ 0 & \text{else} \end{cases}", lambda m: m.find(f".//{M}mtable") is not None),
    (r"x % a comment", lambda m: texts(m, "mi") == ["x"]),
])
def test_valid_tex_that_looks_odd_is_accepted(tex: str, check) -> None:  # type: ignore[no-untyped-def]
    assert check(presentation(to_mathml(tex, True)))


@pytest.mark.parametrize("tex, detail", [
    (r"\foo + 1", r"unknown command \foo"),
    (r"\label{eq:1} x", r"unknown command \label"),
    (r"f\'", r"unknown command \'"),
    (r"\frac{a}", "a fraction (\\frac, \\binom) needs two arguments"),
    (r"\frac{1}{2", "the '{' at character 9 is never closed"),
    (r"{a", "the '{' at character 1 is never closed"),
    (r"a}", "the '}' at character 2 closes no '{'"),
    (r"\text{abc", "is never closed"),
    (r"x^", "a ^ or _ has nothing after it"),
    (r"x^{2}^{3}", "double superscript"),
    (r"\sqrt", "missing its argument"),
    (r"\left( x", r"\left and \right do not pair up"),
    (r"\begin{matrix} a", r"\begin{matrix} has no matching \end{matrix}"),
    (r"\end{pmatrix}", r"\end{pmatrix} has no matching \begin{pmatrix}"),
    (r"\begin{eqnarray}a&=&b\end{eqnarray}", "environment 'eqnarray' is not supported (use align* instead)"),
    (r"\begin{foo}a\end{foo}", "environment 'foo' is not supported (supported: Bmatrix"),
    (r"a & b", "'&' outside a matrix, cases or array environment (write \\& for an ampersand)"),
    ("  ", "the formula is empty"),
])
def test_bad_tex_is_refused_with_a_message_an_author_can_act_on(tex: str, detail: str) -> None:
    with pytest.raises(FormulaError) as caught:
        to_mathml(tex, False)
    message = caught.value.message
    assert message.startswith("formula does not parse: ")
    assert detail in message
    assert str(caught.value) == message
    if tex.strip():
        assert f"(in ${tex}$)" in message  # the author sees which formula


def test_latex2mathml_alone_lets_these_through() -> None:
    """The reason for the checks above: the library turns them into MathML without a word."""
    import latex2mathml.converter

    for tex in (r"\foo + 1", r"\frac{a}", r"{a", r"\begin{foo}a\end{foo}"):
        latex2mathml.converter.convert(tex)  # no exception


def test_mathml_is_cached_by_content() -> None:
    to_mathml.cache_clear()
    first = to_mathml(r"e^{i\pi} + 1 = 0", True)
    assert to_mathml(r"e^{i\pi} + 1 = 0", True) is first
    assert to_mathml.cache_info().hits == 1
    assert to_mathml(r"e^{i\pi} + 1 = 0", False) != first  # display is part of the key


# --------------------------------------------------------------------------------------------
# MathML -> SVG

SHAPES = {S + "svg", S + "path", S + "rect", S + "g"}


@pytest.mark.parametrize("tex", [r"\frac{a}{b}", r"\sum_{i=1}^{n} x_i^2", r"\sqrt{x^2+1}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}",
                                 r"\text{if } y_j"])
def test_the_svg_has_a_size_a_depth_and_shapes_only(tex: str) -> None:
    svg = mathml_to_svg(to_mathml(tex, True), 10.5)
    assert svg.width > 0 and svg.height > 0 and 0 < svg.depth < svg.height
    root = etree.fromstring(svg.markup)
    assert root.get("width") == f"{svg.width:g}pt" and root.get("height") == f"{svg.height:g}pt"
    assert {e.tag for e in root.iter()} <= SHAPES
    assert root.find(S + "path") is not None
    for bad in ("<text", "<script", "<use", "<symbol", "<title", "<foreignObject", "id=", "href", "font"):
        assert bad not in svg.markup


def test_annotations_are_not_drawn(caplog: pytest.LogCaptureFixture) -> None:
    """ziamath knows no <semantics>: it would lay an <annotation-xml> out beside the formula."""
    mathml = to_mathml(r"\frac{a}{b}", False)
    bare = f'<math xmlns="{M[1:-1]}" display="inline">{etree.tostring(presentation(mathml), encoding="unicode")}</math>'
    assert "annotation" not in bare
    extra = mathml.replace("</semantics>", '<annotation-xml encoding="MathML-Presentation"><mi>zzz</mi></annotation-xml></semantics>')
    with caplog.at_level("WARNING"):
        drawn = mathml_to_svg(extra, 10)
    assert drawn.markup == mathml_to_svg(bare, 10).markup
    assert drawn.width < 10  # a fraction of two letters, without "zzz"
    assert not [r for r in caplog.records if "Undefined element" in r.getMessage()]


def test_fraction_bars_and_radicals_are_drawn() -> None:
    root = etree.fromstring(mathml_to_svg(to_mathml(r"\frac{1}{\sqrt{2}}", True), 10).markup)
    assert len(root.findall(S + "rect")) == 2  # the fraction bar and the radical's overbar


def test_depth_follows_what_hangs_below_the_baseline() -> None:
    x = mathml_to_svg(to_mathml("x", False), 10)
    sub = mathml_to_svg(to_mathml("x_i", False), 10)
    frac = mathml_to_svg(to_mathml(r"\frac{a}{b}", True), 10)
    assert 0 < x.depth < 1  # the margin and the ink's overshoot only
    assert sub.depth > x.depth + 1
    assert frac.depth > sub.depth
    assert x.height - x.depth == pytest.approx(sub.height - sub.depth, abs=0.5)  # both as tall above the baseline


def test_the_svg_scales_with_the_font_size() -> None:
    small = mathml_to_svg(to_mathml(r"\frac{a}{b}", True), 10)
    large = mathml_to_svg(to_mathml(r"\frac{a}{b}", True), 20)
    assert large.width == pytest.approx(2 * small.width, rel=0.02)
    assert large.depth == pytest.approx(2 * small.depth, rel=0.02)
    with pytest.raises(ValueError):
        mathml_to_svg(to_mathml("x", False), 0)


def test_malformed_mathml_is_a_formula_error() -> None:
    with pytest.raises(FormulaError, match="not well-formed"):
        mathml_to_svg("<math><mi>x</math>", 10)
    with pytest.raises(FormulaError, match="expected <math>"):
        mathml_to_svg("<mrow><mi>x</mi></mrow>", 10)


def test_the_svg_is_deterministic_within_and_across_processes() -> None:
    mathml = to_mathml(r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}", True)
    forget_drawings()
    first = mathml_to_svg(mathml, 10.5)
    forget_drawings()
    again = mathml_to_svg(mathml, 10.5)
    assert again is not first and again == first
    assert mathml_to_svg(mathml, 10.5) is again  # cached
    code = ("import hashlib, sys; from bookmaker.transform.formula import mathml_to_svg, to_mathml;"
            "print(hashlib.sha256(mathml_to_svg(to_mathml(sys.argv[1], True), 10.5).markup.encode()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code, r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    assert out == hashlib.sha256(first.markup.encode()).hexdigest()


def test_svg_is_a_frozen_value() -> None:
    svg = mathml_to_svg(to_mathml("x", False), 10)
    assert isinstance(svg, Svg)
    with pytest.raises(AttributeError):
        svg.width = 3  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# print_math: the chapter's XHTML for WeasyPrint


def fragment(xhtml: str) -> etree._Element:
    return etree.fromstring(f'<body xmlns="{XHTML}">{xhtml}</body>'.encode("utf-8"))


def test_text_without_math_comes_back_as_it_is() -> None:
    text = "<p>No formulas here, only $5 and a \\frac written as text.</p>" * 1000
    assert print_math(text, 10.5) is text


def test_every_math_element_becomes_an_svg_with_its_tex_as_label() -> None:
    inline = to_mathml(r"\alpha^2", False)
    display = to_mathml(r"\sum_{i=1}^{n} i", True)
    out = print_math(f"<p>Let {inline} be.</p>\n{display}\n<p>End.</p>", 10.5)
    assert "<math" not in out and "semantics" not in out and "annotation" not in out
    body = fragment(out)
    svgs = body.findall(f".//{S}svg")
    assert [s.get("aria-label") for s in svgs] == [r"\alpha^2", r"\sum_{i=1}^{n} i"]
    assert all(s.get("role") == "math" and s.get("class") == "math" for s in svgs)
    first = mathml_to_svg(inline, 10.5)
    assert svgs[0].get("width") == f"{first.width / 10.5:.4f}".rstrip("0") + "em"
    assert svgs[0].get("style") == f"vertical-align: -{first.depth / 10.5:.4f}".rstrip("0") + "em"
    assert svgs[0].getparent().tag == f"{{{XHTML}}}p"  # inline stays in its paragraph
    wrapper = svgs[1].getparent()
    assert wrapper.tag == f"{{{XHTML}}}div" and wrapper.get("class") == "math-display"
    assert wrapper.getparent() is body


def test_a_display_formula_inside_a_paragraph_gets_a_span() -> None:
    """A <div> would close the <p> in WeasyPrint's HTML parser and split the paragraph."""
    out = print_math(f"<p>Before {to_mathml('x = 1', True)} after.</p>", 10)
    (wrapper,) = fragment(out).iter(f"{{{XHTML}}}span")
    assert wrapper.get("class") == "math-display" and wrapper.getparent().tag == f"{{{XHTML}}}p"
    assert "<div" not in out


def test_a_display_formula_already_in_a_math_display_block_is_not_wrapped_twice() -> None:
    display = to_mathml(r"\int_0^1 x\,dx", True)
    out = print_math(f'<div class="math-display" id="eq-1">{display}</div>\n<div class="note">{display}</div>', 10)
    first, second = fragment(out).findall(f"{{{XHTML}}}div")
    assert first.get("id") == "eq-1" and [e.tag for e in first] == [S + "svg"]
    assert [(e.tag, e.get("class")) for e in second] == [(f"{{{XHTML}}}div", "math-display")]  # not that class: wrapped
    assert out.count("math-display") == 2


def test_a_formula_without_alttext_is_labelled_from_its_annotation() -> None:
    mathml = to_mathml(r"\frac{a}{b}", False)
    stripped = mathml.replace(' alttext="\\frac{a}{b}"', "")
    assert "alttext" not in stripped
    (svg,) = fragment(print_math(f"<p>{stripped}</p>", 10)).iter(S + "svg")
    assert svg.get("aria-label") == r"\frac{a}{b}"


def test_a_cmyk_book_gets_cmyk_ink() -> None:
    mathml = to_mathml(r"\frac{a}{b}", False)
    out = print_math(f"<p>{mathml}</p>", 10, fill="device-cmyk(0 0 0 1)")
    shapes = [e for e in fragment(out).iter() if e.tag in (S + "path", S + "rect")]
    assert shapes and all(e.get("fill") == "device-cmyk(0 0 0 1)" for e in shapes)
    assert "black" not in out


# --------------------------------------------------------------------------------------------
# End to end: WeasyPrint draws it as vectors on the baseline; EPUBCheck accepts the MathML

FONT_PT = 10.5
DPI = 300
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"/><style>
@page { size: 4in 1.5in; margin: 0.4in }
html { font-size: @FONT@pt; font-family: serif; }
p { margin: 0; color: #ff0000; }
section { break-before: page; }
.math-display { display: block; text-align: center; margin: 0; }
</style></head><body>
<p>xx @x@ xx</p>
<section><p>xx @sub@ xx</p></section>
<section>@display@</section>
</body></html>"""
FORMULAS = {"x": ("x", False), "sub": ("x_i", False), "display": (r"\sum_{i=1}^{n} i = \frac{n(n+1)}{2}", True)}


def pdf_of(html: str, out: Path) -> Path:
    import weasyprint

    weasyprint.HTML(string=html).write_pdf(out)
    return out


def page_images(pdf: Path, dpi: int) -> list[Image.Image]:
    prefix = pdf.with_suffix("")
    subprocess.run([which("pdftoppm"), "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True)
    return [Image.open(p).convert("RGB") for p in sorted(pdf.parent.glob(f"{prefix.name}-*.png"))]


Band = tuple[int, int]  # the channel values a pixel may have, inclusive
BLACK: tuple[Band, Band, Band] = ((0, 89), (0, 89), (0, 89))
DARK: tuple[Band, Band, Band] = ((0, 159), (0, 159), (0, 159))  # with the formula's anti-aliased edges
RED: tuple[Band, Band, Band] = ((161, 255), (0, 89), (0, 89))


def ink_box(image: Image.Image, colour: tuple[Band, Band, Band]) -> tuple[int, int, int, int] | None:
    """The bounding box (left, top, right, bottom) of the pixels of `colour`, or None."""
    masks = [band.point(lambda v, lo=lo, hi=hi: 255 if lo <= v <= hi else 0)
             for band, (lo, hi) in zip(image.split(), colour)]
    both = ImageChops.darker(masks[0], masks[1])
    return ImageChops.darker(both, masks[2]).getbbox()


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The test page with its formulas drawn by print_math, and the same page left as MathML."""
    html = PAGE.replace("@FONT@", str(FONT_PT))
    for key, (tex, display) in FORMULAS.items():
        html = html.replace(f"@{key}@", to_mathml(tex, display))
    out = tmp_path_factory.mktemp("formula-pdf")
    return pdf_of(print_math(html, FONT_PT), out / "svg.pdf"), pdf_of(html, out / "mathml.pdf")


def pdftotext(pdf: Path) -> str:
    return subprocess.run([which("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_the_pdf_has_no_raw_tex_in_its_text(printed: tuple[Path, Path]) -> None:
    drawn, left_as_mathml = printed
    assert "\\frac" in pdftotext(left_as_mathml)  # what WeasyPrint does with MathML: prints the TeX annotation
    text = pdftotext(drawn)
    assert "xx" in text
    for raw in ("\\", "$", "frac", "sum"):
        assert raw not in text


def test_the_formulas_embed_no_font(tmp_path: Path) -> None:
    html = "<html><head><meta charset='utf-8'/></head><body>" + print_math(to_mathml(r"\frac{a}{b}", True), 10) + "</body></html>"
    fonts = subprocess.run([which("pdffonts"), str(pdf_of(html, tmp_path / "f.pdf"))], capture_output=True, text=True, check=True).stdout
    assert len(fonts.strip().splitlines()) == 2  # the header lines of pdffonts, no font


def test_an_inline_formula_sits_on_the_baseline(printed: tuple[Path, Path]) -> None:
    page = page_images(printed[0], DPI)[0]
    text = ink_box(page, RED)
    ink = ink_box(page, BLACK)
    assert text is not None and ink is not None
    assert text[0] < ink[0] and ink[2] < text[2]  # between the red words
    assert abs(ink[3] - text[3]) <= 1  # x in the formula ends where x in the text ends: the baseline


def test_a_subscript_hangs_below_the_baseline_by_the_depth(printed: tuple[Path, Path]) -> None:
    page = page_images(printed[0], DPI)[1]
    text, ink = ink_box(page, RED), ink_box(page, BLACK)
    assert text is not None and ink is not None
    svg = mathml_to_svg(to_mathml("x_i", False), FONT_PT)
    below = (svg.depth - formula._MARGIN_EM * FONT_PT) * DPI / 72  # the ink's depth, without the margin
    assert below > 5
    assert ink[3] - text[3] == pytest.approx(below, abs=2)


def test_a_display_formula_is_drawn_centred_at_its_size(printed: tuple[Path, Path]) -> None:
    page = page_images(printed[0], 100)[2]  # 400 x 150 px
    ink = ink_box(page, DARK)
    assert ink is not None, "no dark pixels where the display formula is"
    assert ink_box(page, RED) is None
    svg = mathml_to_svg(to_mathml(FORMULAS["display"][0], True), FONT_PT)
    box_width, box_height = svg.width * 100 / 72, svg.height * 100 / 72
    # the ink fills the box but for its margin and the fraction's side bearings
    assert 0.95 * box_width - 1 <= ink[2] - ink[0] <= box_width + 1
    assert 0.95 * box_height - 1 <= ink[3] - ink[1] <= box_height + 1
    assert (ink[0] + ink[2]) / 2 == pytest.approx(page.width / 2, abs=2)


@pytest.fixture(scope="module")
def math_epub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny book through the project's EPUB path, its first chapter holding formulas.

    The manuscript cannot carry them yet (the sanitiser drops raw <math>), so the chapter's blocks
    are replaced after the Markdown stage, as the math renderer will produce them.
    """
    from bookmaker.backends.epub import EpubBackend
    from bookmaker.core.context import BuildContext
    from bookmaker.core.errors import Reporter
    from bookmaker.core.model import HtmlBlock
    from bookmaker.render.layout import render_epub
    from bookmaker.transform.book import load_book

    root = tmp_path_factory.mktemp("math-book") / "tiny"
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text('title = "Tiny"\nauthors = ["A. Writer"]\nlanguage = "en"\ndate = 2026-01-02\n', encoding="utf-8")
    (root / "chapters" / "01-one.md").write_text("---\ntitle: One\n---\n\nFirst chapter text.\n", encoding="utf-8")
    (root / "chapters" / "02-two.md").write_text("---\ntitle: Two\n---\n\nSecond chapter text.\n", encoding="utf-8")
    inline = [r"\alpha\beta\gamma", r"x_i^2", r"\binom{n}{k}", r"\text{if } x < 0", r"\mathbb{R}\frak{g}\hat{x}", r"\sqrt[3]{x}",
              r"\left\{ x \right.", r"\color{red}{x}\mbox{hi}\overbrace{a+b}^{n}", r"\not= \text{R\&D}"]
    display = [r"\frac{a}{b} + \sum_{i=1}^{n} x_i^2", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\int_0^\infty e^{-x}\,dx",
               r"\begin{align}a&=b\\c&=d\end{align}", r"\begin{cases}1 & x > 0\\0 & \text{else}\end{cases}"]
    blocks = (HtmlBlock("<p>Inline " + ", ".join(to_mathml(t, False) for t in inline) + ".</p>"),
              *(HtmlBlock(to_mathml(t, True)) for t in display))
    book = load_book(root, Reporter())
    book = replace(book, chapters=(replace(book.chapters[0], blocks=blocks), *book.chapters[1:]))
    rendered = render_epub(book)
    (page,) = [p for p in rendered.pages if p.href == book.chapters[0].href]
    assert page.properties == ("mathml",)  # layout._properties marks the page (OPF-014 otherwise)
    ctx = BuildContext(book=book, timestamp=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc), reporter=Reporter())
    out = root.parent / "math.epub"
    out.write_bytes(EpubBackend().write(rendered, ctx))
    return out


def test_epubcheck_accepts_the_mathml(math_epub: Path) -> None:
    from bookmaker.checks.validate import ValidatorMissing, resident_epubcheck

    with zipfile.ZipFile(math_epub) as z:
        chapter = z.read("EPUB/01-one.xhtml").decode("utf-8")
        opf = z.read("EPUB/content.opf").decode("utf-8")
    assert chapter.count("<math ") == 14 and chapter.count('encoding="application/x-tex"') == 14
    assert 'href="01-one.xhtml"' in opf and 'properties="mathml"' in opf
    try:
        report = resident_epubcheck().check(math_epub)
    except ValidatorMissing as exc:
        need(str(exc))
        raise
    assert report.clean, report.findings


@pytest.mark.parametrize("tex, table", [
    (r"\begin{aligned} a &= b \\ c &= d \end{aligned}", True),
    (r"\begin{gathered} a \\ b \end{gathered}", True),
    (r"\begin{equation} x = 1 \end{equation}", False),
])
def test_amsmath_environments_authors_write_are_typeset_with_their_tex_kept(tex: str, table: bool) -> None:
    mathml = to_mathml(tex, True)
    root = etree.fromstring(mathml)
    assert root.get("alttext") == " ".join(tex.split())  # the author's TeX, not the rewritten one
    assert (root.find(".//{http://www.w3.org/1998/Math/MathML}mtable") is not None) == table
    assert "begin" not in "".join(root.find("{http://www.w3.org/1998/Math/MathML}semantics")[0].itertext())


def test_draw_ahead_draws_on_several_processes_what_the_build_would_draw() -> None:
    from bookmaker.transform import formula

    tex = [(f"x^{{{n}}} + {n}", "\\frac{%d}{2}" % n) for n in range(40)]
    sources = [f"<p>{to_mathml(inline, False)} and {to_mathml(display, True)}</p>" for inline, display in tex]
    bad = '<math xmlns="http://www.w3.org/1998/Math/MathML"><mrow></mrow></math>'  # nothing to draw
    forget_drawings()
    assert draw_ahead(sources[:5], 10.5, jobs=2) == 0  # too few to be worth a fork: drawn where used
    ahead = draw_ahead(sources + [bad], 10.5, jobs=2)
    assert ahead == 80
    math = [m.group(0) for s in sources for m in formula._MATH_ELEMENT.finditer(s)]
    drawn_ahead = [mathml_to_svg(m, 10.5) for m in math]
    assert all(mathml_to_svg(m, 10.5) is svg for m, svg in zip(math, drawn_ahead))  # kept, not drawn again
    forget_drawings()
    assert [mathml_to_svg(m, 10.5) for m in math] == drawn_ahead  # the same drawings as in this process
    with pytest.raises(FormulaError):
        mathml_to_svg(bad, 10.5)  # left to the build, which reports it at its line
    assert draw_ahead(sources, 10.5, jobs=2) == 0  # all drawn already
    assert draw_ahead(sources, 10.5, jobs=1) == 0
