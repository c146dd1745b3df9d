"""Code blocks: highlighting to XHTML, the three colourings of its stylesheet, and print wrapping
(unit tests, then WeasyPrint end to end: every character inside the text block, marks shown)."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from tinycss2.color5 import parse_color

from bookmaker.transform import code

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = ROOT / "layouts"
MARK = code.CONTINUATION_MARK


def parse(xhtml: str) -> etree._Element:
    """Strict XML, as EPUB reading systems parse XHTML."""
    return etree.fromstring(xhtml)


def spans(root: etree._Element, cls: str) -> list[etree._Element]:
    return [el for el in root.iter("span") if cls in (el.get("class") or "").split()]


def token_classes(root: etree._Element) -> dict[str, list[str]]:
    """Token text by class, for the spans inside lines."""
    out: dict[str, list[str]] = {}
    for line in spans(root, "line"):
        for el in line.iter("span"):
            if el is not line:
                out.setdefault(el.get("class") or "", []).append("".join(el.itertext()))
    return out


def without_marks(xhtml: str) -> str:
    """The code's text with the continuation marks (and their line breaks) taken out."""
    root = parse(f"<div>{xhtml}</div>")
    for mark in spans(root, "cont"):
        parent, previous = mark.getparent(), mark.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + (mark.tail or "")
        else:
            parent.text = (parent.text or "") + (mark.tail or "")
        parent.remove(mark)
    return "".join(root.find(".//code").itertext())


def visual_lines(xhtml: str) -> list[str]:
    """The lines as printed: gutter number and a space, code, each mark starting a new line."""
    root = parse(f"<div>{xhtml}</div>")
    out: list[str] = []
    for line in spans(root, "line"):
        for ln in spans(line, "ln"):
            ln.text = ln.get("data-n") + " "
        out.extend("".join(line.itertext()).split("\n"))
    return out


# -- Highlighting -------------------------------------------------------------------------------


def test_python_is_highlighted_into_short_pygments_classes() -> None:
    src = "def area(r: float) -> float:\n    return 3.14 * r ** 2  # circle\n"
    root = parse(code.highlight(src, "python"))
    assert root.tag == "pre" and root.get("class") == "code" and root.get("data-lang") == "python"
    assert root[0].tag == "code" and root[0].get("class") == "language-python"
    tokens = token_classes(root)
    assert tokens["k"] == ["def", "return"]
    assert tokens["nf"] == ["area"]
    assert tokens["mf"] == ["3.14"]
    assert tokens["c1"] == ["# circle"]
    assert len(spans(root, "line")) == 2
    assert "".join(root.itertext()) == src.removesuffix("\n")


def test_javascript_and_shell_are_highlighted() -> None:
    js = token_classes(parse(code.highlight("const n = 42; // the answer\n", "js")))
    assert js["kd"] == ["const"] and js["mf"] == ["42"] and js["c1"] == ["// the answer"]
    sh = token_classes(parse(code.highlight('echo "$HOME" | wc -c\n', "sh")))
    assert sh["nb"] == ["echo"] and "$HOME" in sh["nv"]
    session = parse(code.highlight("$ ls -l\ntotal 0\n", "console"))
    assert session.get("data-lang") == "console"
    assert token_classes(session)["gp"] == ["$ "]
    assert token_classes(session)["go"] == ["total 0"]


def test_no_inline_styles_and_no_long_class_names() -> None:
    out = code.highlight("for i in range(3):\n    print(f'{i!r}')\n", "python", line_numbers=True, caption="c")
    assert "style=" not in out
    for el in parse(out).iter("span"):
        for cls in (el.get("class") or "").split():
            assert cls in ("line", "ln") or re.fullmatch(r"[a-z]{1,3}\d?", cls), cls


def test_unknown_or_missing_language_is_plain_text() -> None:
    src = "SELECT <x> FROM t;\n"
    unknown = parse(code.highlight(src, "no-such-language"))
    assert token_classes(unknown) == {}
    assert unknown.get("data-lang") == "no-such-language"
    assert "".join(unknown.itertext()) == src.removesuffix("\n")
    missing = parse(code.highlight(src, None))
    assert token_classes(missing) == {} and missing.get("data-lang") is None and missing[0].get("class") is None
    assert not code.known_language("no-such-language")
    for lang in (None, "", "python", "PY", "js", "sh", "console", "text", "plaintext"):
        assert code.known_language(lang), lang


def test_escaping_and_characters_xml_cannot_carry() -> None:
    src = 'if a < b && c > d: print("]]>", \'&amp;\')\n\x0cnext\x00\n'
    out = code.highlight(src, "python", caption="A <listing> & ]]>", block_id="l-1")
    assert "]]>" not in out and "<listing>" not in out
    root = parse(out)  # would raise on an unescaped < or & or on \x0c
    text = "".join(root.find(".//code").itertext())
    assert text == 'if a < b && c > d: print("]]>", \'&amp;\')\n\ufffdnext\ufffd'
    assert root.find("figcaption").text == "A <listing> & ]]>"
    odd = parse(code.highlight("x\n", "py\x01thon", block_id="a\x02b"))  # no ValueError from lxml
    assert odd.get("data-lang") == "python" and odd.get("id") == "ab"
    plain = parse(code.highlight("<b>&</b>", "nosuch"))
    assert "".join(plain.itertext()) == "<b>&</b>" and not len(spans(plain, "line")[0])


def test_output_never_has_self_closed_spans() -> None:
    """html5lib (WeasyPrint's parser) reads <span/> as an open tag: the rest would nest in it."""
    out = code.highlight("a\n\n\nb\n", "python", line_numbers=True)
    assert "/>" not in out
    assert len(spans(parse(out), "line")) == 4


def test_line_numbers_are_a_hidden_gutter_not_text() -> None:
    src = "\n".join(f"x{i} = {i}" for i in range(12)) + "\n"
    root = parse(code.highlight(src, "python", line_numbers=True, first_line=95))
    assert "numbered" in root.get("class").split() and root.get("data-digits") == "3"
    numbers = spans(root, "ln")
    assert [n.get("data-n") for n in numbers][:6] == [" 95", " 96", " 97", " 98", " 99", "100"]
    assert all(n.get("aria-hidden") == "true" and not n.text for n in numbers)
    assert "".join(root.itertext()) == src.removesuffix("\n")  # copying the code copies no numbers
    assert not spans(parse(code.highlight(src, "python")), "ln")


def test_caption_makes_a_listing_figure_with_the_id() -> None:
    fig = parse(code.highlight("x = 1\n", "python", caption="Listing 2.1: one", block_id="lst-one"))
    assert fig.tag == "figure" and fig.get("class") == "listing" and fig.get("id") == "lst-one"
    assert [child.tag for child in fig] == ["figcaption", "pre"] and fig[1].get("id") is None
    bare = parse(code.highlight("x = 1\n", "python", block_id="lst-two"))
    assert bare.tag == "pre" and bare.get("id") == "lst-two"


def test_blank_lines_and_tabs_are_kept() -> None:
    src = "\n\tindented\n\n"
    root = parse(code.highlight(src, "make"))
    assert len(spans(root, "line")) == 3
    assert "".join(root.itertext()) == "\n\tindented\n"


def test_highlighting_and_stylesheets_are_deterministic() -> None:
    src = "".join(path.read_text() for path in sorted((ROOT / "src" / "bookmaker" / "transform" / "code").glob("*.py")))
    assert code.highlight(src, "python", line_numbers=True) == code.highlight(src, "python", line_numbers=True)
    for colour in ("rgb", "grey", "cmyk", "cmyk-grey"):
        assert code.stylesheet(colour) == code.stylesheet(colour)
    assert "".join(parse(code.highlight(src, "python")).itertext()) == src.removesuffix("\n")


# -- Stylesheets --------------------------------------------------------------------------------

_COLOUR_VALUE = re.compile(r"(?:^|[;{ ])(?:color|background-color):\s*([^;}]+)")


def colours(css: str) -> list[str]:
    return [m.group(1).strip() for m in _COLOUR_VALUE.finditer(css)]


def test_rgb_stylesheet_styles_the_token_classes() -> None:
    css = code.stylesheet("rgb")
    assert "pre.code .k { color: #008000; font-weight: bold; }" in css
    assert re.search(r"pre\.code \.c1 \{[^}]*font-style: italic", css)
    assert "device-cmyk" not in css and "border" not in css
    assert "background-color" not in css and "background-color: #f8f8f8" in code.stylesheet("rgb", panel=True)


def test_grey_stylesheet_has_no_chromatic_colour_and_keeps_bold_and_italic() -> None:
    css = code.stylesheet("grey", panel=True)
    values = colours(css)
    assert len(values) > 20
    for value in values:
        m = re.fullmatch(r"#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})", value)
        assert m and m.group(1) == m.group(2) == m.group(3), value
    assert "font-weight: bold" in css and "font-style: italic" in css
    keyword = re.search(r"pre\.code \.k \{ color: (#[0-9a-f]{6})", css).group(1)
    assert abs(code.luminance(keyword) - code.luminance("#008000")) < 0.005  # the same luminance
    assert colours(code.stylesheet("rgb"))[0] != colours(code.stylesheet("grey"))[0]  # a colour was mapped


def test_cmyk_stylesheet_uses_device_cmyk_only() -> None:
    for colour in ("cmyk", "cmyk-grey"):
        css = code.stylesheet(colour, panel=True)
        assert "#" not in css.replace("/*", "").split("*/", 1)[1] and "rgb(" not in css
        for value in colours(css):
            assert value.startswith("device-cmyk("), value
            parsed = parse_color(value)  # WeasyPrint 70 reads colours with tinycss2.color5
            assert parsed is not None and parsed.space == "device-cmyk", value
            if colour == "cmyk-grey":
                assert all(c == 0 for c in parsed.coordinates[:3]), value
    assert code.css_colour("#666666", "cmyk") == "device-cmyk(0 0 0 0.6)"  # a grey is K alone
    assert code.css_colour("#ff0000", "cmyk") == "device-cmyk(0 1 1 0)"


def test_epub_css_wraps_long_lines_and_never_uses_device_cmyk() -> None:
    epub = code.block_css("epub") + code.stylesheet("rgb", panel=True)
    assert "white-space: pre-wrap" in epub and "overflow-wrap: anywhere" in epub
    assert "device-cmyk" not in epub
    assert "user-select: none" in epub and 'content: attr(data-n) " "' in epub
    assert not colours(code.block_css("epub")) and not colours(code.block_css("print"))
    printing = code.block_css("print", mono_family='"DejaVu Sans Mono", monospace')
    assert 'font-family: "DejaVu Sans Mono", monospace' in printing
    assert "-epub-" not in printing and "user-select" not in printing  # WeasyPrint would warn


def test_every_text_colour_is_legible_on_white() -> None:
    """4.5:1 (WCAG AA) in colour and once mapped to grey: a printed token never fades out."""
    for colour in ("rgb", "grey"):
        for value in colours(code.stylesheet(colour)):
            assert (1.05 / (code.luminance(value) + 0.05)) >= 4.5, (colour, value)


def test_unknown_colouring_and_target_are_refused() -> None:
    with pytest.raises(ValueError, match="colouring"):
        code.stylesheet("sepia")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target"):
        code.block_css("kindle")  # type: ignore[arg-type]


# -- Print wrapping -----------------------------------------------------------------------------


def test_a_200_character_line_at_60_columns_is_4_lines_with_3_marks() -> None:
    src = 's = "' + "a" * 194 + '"'
    assert len(src) == 200
    wrapped = code.wrap_for_print(code.highlight(src, "python"), 60)
    lines = visual_lines(wrapped)
    assert len(lines) == 4 and wrapped.count(MARK) == 3
    assert [len(line) for line in lines] == [60, 60, 60, 26]  # marks take 2 columns of 60
    assert all(line.startswith(MARK + " ") for line in lines[1:])
    assert without_marks(wrapped) == src
    marks = spans(parse(wrapped), "cont")
    assert all(m.get("aria-hidden") == "true" for m in marks)


def test_breaks_prefer_a_space_or_punctuation_near_the_edge() -> None:
    src = "result = compute(" + ", ".join(f"value_{i}" for i in range(30)) + ")"
    wrapped = code.wrap_for_print(code.highlight(src, "python"), 60)
    lines = visual_lines(wrapped)
    assert all(len(line) <= 60 for line in lines)
    for before in lines[:-1]:
        assert before[-1] in " ,(" and len(before) > 60 - code.BREAK_LOOKBACK, before
    assert without_marks(wrapped) == src


def test_spans_cut_by_a_break_stay_whole_and_well_formed() -> None:
    src = "x = " + '"' + "word " * 40 + '"  # and a comment ' + "c" * 80
    highlighted = code.highlight(src, "python")
    before = token_classes(parse(highlighted))
    wrapped = code.wrap_for_print(highlighted, 50)
    root = parse(wrapped)
    cut = [m for m in spans(root, "cont") if (m.getparent().get("class") or "") != "line"]
    assert cut, "some mark should sit inside a highlight span"
    after = {cls: texts for cls, texts in token_classes(root).items() if cls != "cont"}
    # the same spans with the same text, once the marks are taken out
    assert {cls: [t.replace("\n", "") for t in texts] for cls, texts in after.items()}.keys() == before.keys()
    for cls, texts in before.items():
        assert len(after[cls]) == len(texts)
        joined = [re.sub(r"\n *" + re.escape(MARK) + " ", "", t) for t in after[cls]]
        assert joined == texts, cls
    assert without_marks(wrapped) == src


def test_line_numbers_narrow_the_line_and_continuations_hang_past_the_gutter() -> None:
    src = "short\n" + "y" * 130 + "\n"
    numbered = code.highlight(src, "text", line_numbers=True, first_line=9)  # gutter "10 ": 3 columns
    wrapped = code.wrap_for_print(numbered, 60)
    lines = visual_lines(wrapped)
    assert lines[0] == " 9 short"
    assert lines[1] == "10 " + "y" * 57
    assert lines[2] == "   " + MARK + " " + "y" * 55 and len(lines[2]) == 60
    assert lines[3] == "   " + MARK + " " + "y" * 18
    assert code.overlong_lines(src, 60, line_numbers=True, first_line=9) == [1]
    assert code.overlong_lines(src, 60) == [1] and code.overlong_lines(src, 130) == []
    assert code.overlong_lines("y" * 59 + "\n", 60, line_numbers=True, first_line=9) == [0]


def test_overlong_lines_agrees_with_the_wrap() -> None:
    src = "a = 1\n" + "\t" * 3 + "b" * 50 + "\n" + "c" * 60 + "   \n" + "世" * 31 + "\n" + "e\u0301" * 60 + "\n"
    assert code.overlong_lines(src, 60) == [1, 3]  # tabs take 4 columns, wide characters 2
    wrapped = code.wrap_for_print(code.highlight(src, "python"), 60)
    lines = spans(parse(wrapped), "line")
    assert [i for i, line in enumerate(lines) if spans(line, "cont")] == [1, 3]
    assert "\t" not in wrapped  # tabs are spaces in print, where columns are counted


def test_wrapping_again_is_the_same_and_other_markup_is_left_byte_for_byte() -> None:
    around = '<p class="x">caf&#233; &amp; <br /> <em>t</em></p>\n'
    fragment = around + code.highlight("z" * 150 + "\n\n", "python", line_numbers=True) + around
    once = code.wrap_for_print(fragment, 40)
    assert once.startswith(around) and once.endswith(around)
    assert code.wrap_for_print(once, 40) == once
    assert "/>" not in once[len(around):-len(around)]  # html5lib would read <span/> as an open tag
    wider = code.wrap_for_print(once, 100)
    assert wider.count(MARK) == 1 and without_marks(wider[len(around):-len(around)]) == "z" * 150 + "\n"
    assert code.wrap_for_print(around, 40) is around
    short = code.highlight("print(1)\n", "python")
    assert code.wrap_for_print(short, 40) == short


def test_only_code_blocks_are_wrapped() -> None:
    other = "<pre>" + "q" * 200 + "</pre>"
    assert code.wrap_for_print(other, 40) == other
    with pytest.raises(ValueError):
        code.wrap_for_print(other, 0)
    with pytest.raises(ValueError):
        code.wrap_for_print(other, 40, mark="->")


_CHARS = st.sampled_from(list("ab ,(\t.xy世é<&") + ["e\u0301"])
_SHORT = st.lists(_CHARS, max_size=80).map("".join)
_LONG = st.lists(_CHARS, min_size=120, max_size=400).map("".join)  # wraps two or more times


@settings(max_examples=150, deadline=None)
@given(long=_LONG, short=st.lists(_SHORT, max_size=3), columns=st.integers(min_value=12, max_value=90),
       numbered=st.booleans())
def test_no_printed_line_is_longer_than_the_columns(long: str, short: list[str], columns: int, numbered: bool) -> None:
    src = "\n".join([*short[:1], long, *short[1:]])
    wrapped = code.wrap_for_print(code.highlight(src, "python", line_numbers=numbered), columns)
    parse(wrapped)
    for line in visual_lines(wrapped):
        assert code._width(line.rstrip()) <= columns, line  # noqa: SLF001 (our own module)
    expected = "\n".join(code._expand_tabs(line)[0] for line in code.source_lines(src))  # noqa: SLF001
    assert without_marks(wrapped) == expected
    flagged = code.overlong_lines(src, columns, line_numbers=numbered)
    marked = [i for i, line in enumerate(spans(parse(wrapped), "line")) if spans(line, "cont")]
    assert flagged == marked


def test_print_columns() -> None:
    assert code.print_columns(4.5, 8, 0.6) == 67  # 324pt / 4.8pt
    assert code.print_columns(4.5, 10 * code.CODE_FONT_SCALE, 0.6) == 67
    assert code.print_columns(1, 12, 0.6) == 10  # exactly 10: no float shortfall
    with pytest.raises(ValueError):
        code.print_columns(0, 8, 0.6)


def test_wrap_warning() -> None:
    assert code.wrap_warning([], 60) is None
    assert code.wrap_warning([4], 60) == ("code block: 1 line is longer than the 60 characters a printed line "
                                          f"holds and wraps with a {MARK} mark (first: line 5 of the block)")
    assert (code.wrap_warning([0, 3], 60) or "").startswith("code block: 2 lines are longer")


# -- The print font and WeasyPrint end to end ----------------------------------------------------


def monospace_file() -> Path:
    """The file fontconfig gives WeasyPrint for `monospace` on this machine."""
    if not shutil.which("fc-match"):
        pytest.skip("fc-match (fontconfig) is not installed")
    return Path(subprocess.run(["fc-match", "-f", "%{file}", "monospace"], check=True, capture_output=True,
                               text=True).stdout)


def test_the_advance_constant_is_the_monospace_fonts() -> None:
    advance = code.font_advance_em(monospace_file())
    assert abs(advance - code.MONO_ADVANCE_EM) < 0.005, advance
    assert code.font_advance_em(monospace_file(), "W") == advance  # monospace: every glyph alike
    assert code.font_advance_em(LAYOUTS / "fonts" / "CharisSIL-Regular.ttf", "0") != code.font_advance_em(
        LAYOUTS / "fonts" / "CharisSIL-Regular.ttf", "W")


TEXT_WIDTH_IN, MARGIN_IN, BODY_PT = 4.5, 0.75, 10.0


def print_page(blocks: str, colour: str = "rgb") -> str:
    """A page laid out like the print book: its stylesheets, Charis SIL, a 4.5in text block."""
    css = "\n".join((LAYOUTS / name).read_text() for name in ("book.css", "print.css"))
    cmyk = "html { color: device-cmyk(0 0 0 1); }" if colour == "cmyk" else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/><title>t</title><style>
{css}
@page {{ size: {TEXT_WIDTH_IN + 2 * MARGIN_IN}in 9in; margin: {MARGIN_IN}in; }}
html {{ font-size: {BODY_PT}pt; }} {cmyk}
{code.block_css("print")}{code.stylesheet(colour)}
</style></head><body><section class="chapter body"><p>A paragraph before the listing.</p>
{blocks}</section></body></html>"""


def write_pdf(html: str) -> tuple[bytes, list[str]]:
    from weasyprint import HTML
    from weasyprint.logger import LOGGER

    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    LOGGER.addHandler(handler)
    try:
        # base_url inside layouts/: print.css finds ../fonts/CharisSIL-*.ttf
        pdf = HTML(string=html, base_url=str(LAYOUTS / "css") + "/").write_pdf()
    finally:
        LOGGER.removeHandler(handler)
    return pdf, messages


def characters(pdf: bytes) -> list[tuple[float, float, str]]:
    return [(x0, x1, c) for x0, x1, c, _, _ in placed(pdf)]


def placed(pdf: bytes) -> list[tuple[float, float, str, float, str]]:
    """Every character of the PDF: x0, x1, text, baseline-ish y0 and font name."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar

    out: list[tuple[float, float, str, float, str]] = []

    def walk(item: object) -> None:
        if isinstance(item, LTChar):
            out.append((item.x0, item.x1, item.get_text(), round(item.y0, 1), item.fontname))
        elif hasattr(item, "__iter__"):
            for child in item:  # type: ignore[attr-defined]
                walk(child)

    for page in extract_pages(io.BytesIO(pdf)):
        walk(page)
    return out


LONG_PYTHON = (
    "def configure(" + ", ".join(f"argument_{i}={i * 7}" for i in range(12)) + "):  # a comment that goes on\n"
    "    return {'key': \"value\", 'tab':\t1}\n"
    "x = '" + "y" * 190 + "'\n"
)


@pytest.fixture(scope="module")
def columns() -> int:
    return code.print_columns(TEXT_WIDTH_IN, BODY_PT * code.CODE_FONT_SCALE, code.font_advance_em(monospace_file()))


def test_print_keeps_every_character_inside_the_text_block(columns: int, tmp_path: Path) -> None:
    block = code.highlight(LONG_PYTHON, "python", line_numbers=True, caption="Listing 1: long lines", block_id="l1")
    overlong = code.overlong_lines(LONG_PYTHON, columns, line_numbers=True)
    assert overlong == [0, 2]
    wrapped = code.wrap_for_print(block, columns)
    pdf, messages = write_pdf(print_page(wrapped))
    assert messages == []  # no property WeasyPrint ignores, no font trouble
    chars = characters(pdf)
    left, right = MARGIN_IN * 72, (MARGIN_IN + TEXT_WIDTH_IN) * 72
    outside = [(c, x0, x1) for x0, x1, c in chars if c.strip() and (x0 < left - 0.01 or x1 > right + 0.01)]
    assert outside == []
    assert sum(c == MARK for _, _, c in chars) == wrapped.count(MARK) >= 4
    # the wrap alone made the lines: the CSS's own wrapping (pre-wrap, a safety net) added none
    code_rows = {y for _, _, c, y, font in placed(pdf) if "Mono" in font and c.strip()}
    assert len(code_rows) == len(visual_lines(wrapped)) == 3 + wrapped.count(MARK)
    printed = "".join(c for _, _, c in chars if c.strip())
    assert "y" * 30 in printed and "argument_11=77" in printed
    (tmp_path / "wrapped.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):  # a picture to look at (kept in the test's tmp_path)
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(tmp_path / "wrapped.pdf"),
                        str(tmp_path / "page")], check=True)
        assert (tmp_path / "page-1.png").stat().st_size > 1000


def test_without_the_wrap_the_same_block_runs_off_the_page(columns: int) -> None:
    """The check above can fail: a `white-space: pre` block (today's print) leaves the text block."""
    block = code.highlight(LONG_PYTHON, "python")
    pdf, _ = write_pdf(print_page(block).replace("</style>", "pre.code { white-space: pre; }</style>"))
    right = (MARGIN_IN + TEXT_WIDTH_IN) * 72
    assert max(x1 for _, x1, _ in characters(pdf)) > right + 50


def test_cmyk_print_paints_code_in_device_cmyk(columns: int) -> None:
    import pypdf

    block = code.wrap_for_print(code.highlight(LONG_PYTHON, "python", line_numbers=True), columns)
    pdf, messages = write_pdf(print_page(block, "cmyk"))
    assert messages == []
    stream = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data().decode("latin-1")
    assert "/DeviceCMYK cs" in stream
    assert not re.search(r"(?m) (rg|RG)$", stream), "an RGB colour reached the CMYK page"
    assert "1 0 1 0.498 scn" in stream  # the keyword green (#008000) in CMYK


# -- Print: fewer boxes, the same page ----------------------------------------------------------


def _text_with_numbers(xhtml: str) -> str:
    root = parse(f"<div>{xhtml}</div>")
    for ln in spans(root, "ln"):
        ln.text = ln.get("data-n") + " "
    return "".join(root.itertext())


@pytest.mark.parametrize("colour", ["grey", "rgb", "cmyk-grey"])
def test_for_print_keeps_the_text_and_drops_the_boxes_print_does_not_style(colour: str, columns: int) -> None:
    block = code.highlight(LONG_PYTHON + "for k in range(3):\n    print(k, k * 2)  # done\n", "python", line_numbers=True)
    wrapped = code.wrap_for_print(block, columns)
    flat = code.for_print(block, columns, colour)  # type: ignore[arg-type]
    assert _text_with_numbers(flat) == _text_with_numbers(wrapped)
    root = parse(flat)
    assert spans(root, "line") == []  # the per-line boxes are the EPUB's (its hanging indent)
    assert len(spans(root, "ln")) == len(spans(parse(wrapped), "ln")) == 5
    assert len(spans(root, "cont")) == wrapped.count(MARK) >= 2
    styles = code.print_styles(colour)  # type: ignore[arg-type]
    tokens = [el for el in root.iter("span") if not {"ln", "cont"} & set(el.get("class", "").split())]
    assert tokens and all(el.get("class") in styles for el in tokens)  # no span print leaves unstyled
    assert len(list(root.iter("span"))) < len(list(parse(wrapped).iter("span"))) / 2
    for el in tokens:  # two neighbours printed alike, with nothing or spaces between, are one run
        after = el.getnext()
        if after is not None and after.get("class") in styles and (not el.tail or el.tail.isspace()):
            assert styles[after.get("class")] != styles[el.get("class")]


def test_for_print_leaves_other_markup_and_unhighlighted_text_alone(columns: int) -> None:
    around = '<p class="x">caf&#233; &amp; <span class="k">not code</span></p>\n'
    assert code.for_print(around, columns, "grey") is around
    plain_block = code.highlight("just words\n", None)
    flat = code.for_print(around + plain_block + around, columns, "grey")
    assert flat.startswith(around) and flat.endswith(around)
    assert "line" not in flat[len(around):-len(around)] and "just words" in flat


def test_for_print_sets_every_character_where_the_unflattened_block_sets_it(columns: int) -> None:
    """The fewer boxes are a layout saving only: the same characters, in the same fonts, at the
    same places (a run of spaces merged into a bold or italic neighbour keeps its width)."""
    block = code.highlight(LONG_PYTHON + "if a and not b:  # bold 'and', 'not' with spaces between\n    pass\n",
                           "python", line_numbers=True)
    before, _ = write_pdf(print_page(code.wrap_for_print(block, columns)))
    after, messages = write_pdf(print_page(code.for_print(block, columns, "grey")))
    assert messages == []

    def ink(pdf: bytes) -> list[tuple[float, float, str, float, str]]:  # a space is drawn or not: no ink either way
        return [(x0, x1, c, y, font) for x0, x1, c, y, font in placed(pdf) if c.strip()]

    now, then = ink(after), ink(before)
    assert len(now) == len(then) > 300
    assert [(c, y, font) for _, _, c, y, font in now] == [(c, y, font) for _, _, c, y, font in then]
    assert max(max(abs(a[0] - b[0]), abs(a[1] - b[1])) for a, b in zip(now, then)) < 0.02  # pt: float noise only
