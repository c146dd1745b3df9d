"""The WeasyPrint text patch (backends/wp_text.py): Indic words copy out of the PDF as written,
Latin text is written byte for byte as WeasyPrint writes it, the PDF stays valid."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from bookmaker.backends.pdf import wp_internals, wp_text

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "qpdf")), reason="needs poppler-utils and qpdf")

# Words of tests/corpus/scripts/chapters/01-article-one.md that unpatched WeasyPrint 70 gets wrong
# (a vowel sign or conjunct part mapped to the text of another cluster, or a mark read as a
# duplicate character), with a few that it gets right.
WORDS = {
    "hi": ["अधिकारों", "करना", "चाहिए", "देन", "बुद्धि", "स्वतन्त्रता", "बर्ताव", "उन्हें"],
    "kn": ["ಸ್ವತಂತ್ರರಾಗಿಯೇ", "ಜನಿಸಿದ್ದಾರೆ", "ಹಕ್ಕುಗಳಲ್ಲಿ", "ವಿವೇಕ", "ಸಹೋದರ", "ವರ್ತಿಸಬೇಕು"],
    "ml": ["മനുഷ്യരെല്ലാവരും", "തുല്യാവകാശങ്ങളോടും", "ഭ്രാതൃഭാവത്തോടെ", "അന്യോന്യം", "വിവേകബുദ്ധിയും"],
}
LATIN = "<p>Office affluence: “fine” words, naïve café, 12 000 — fjord.</p><p><i>Ligatures fi fl ffi</i></p>"

UNPATCHED = """
import sys
from weasyprint import HTML
HTML(string=sys.stdin.read()).write_pdf(sys.argv[1], uncompressed_pdf=True)
"""


def page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"


def indic_page() -> str:
    return page("".join(f'<p lang="{lang}">{" ".join(words)}</p>' for lang, words in WORDS.items()))


def render_patched(html: str, out: Path) -> Path:
    from weasyprint import HTML

    with wp_internals.patched():
        HTML(string=html).write_pdf(out, uncompressed_pdf=True)
    return out


def render_unpatched(html: str, out: Path) -> Path:
    """WeasyPrint without the patch: a fresh interpreter that never imports bookmaker."""
    subprocess.run([sys.executable, "-c", UNPATCHED, str(out)], input=html, text=True, check=True)
    return out


def extracted_words(pdf: Path) -> set[str]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return {unicodedata.normalize("NFC", w.strip(".,।")) for w in text.split()}


def wanted() -> set[str]:
    return {unicodedata.normalize("NFC", w) for words in WORDS.values() for w in words}


def test_patched_pdf_gives_back_every_indic_word(tmp_path: Path) -> None:
    pdf = render_patched(indic_page(), tmp_path / "patched.pdf")
    assert wanted() - extracted_words(pdf) == set()
    assert b"/ActualText" in pdf.read_bytes()


def test_unpatched_pdf_does_not(tmp_path: Path) -> None:
    """The same page without the patch loses words: the test above can fail."""
    pdf = render_unpatched(indic_page(), tmp_path / "unpatched.pdf")
    lost = wanted() - extracted_words(pdf)
    assert {"अधिकारों", "देन", "ಸಹೋದರ", "അന്യോന്യം"} <= lost  # one of each script, and a mark read as a duplicate
    assert b"/ActualText" not in pdf.read_bytes()


def test_latin_text_is_written_as_weasyprint_writes_it(tmp_path: Path) -> None:
    patched = render_patched(page(LATIN), tmp_path / "patched.pdf").read_bytes()
    unpatched = render_unpatched(page(LATIN), tmp_path / "unpatched.pdf").read_bytes()
    assert b"/ActualText" not in patched
    assert patched == unpatched


def test_patched_pdf_is_valid_and_renders(tmp_path: Path) -> None:
    pdf = render_patched(indic_page() + LATIN, tmp_path / "mixed.pdf")
    check = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "p")], check=True, capture_output=True)
    from PIL import Image

    (png,) = tmp_path.glob("p*.png")
    with Image.open(png) as image:
        assert image.convert("L").getextrema()[0] < 100  # something dark (text) was drawn


def test_spans_are_balanced_inside_text_objects(tmp_path: Path) -> None:
    data = render_patched(indic_page(), tmp_path / "patched.pdf").read_bytes()
    spans = re.findall(rb"/Span\s*<</ActualText <feff[0-9a-f]+>>>\s*BDC", data)
    assert len(spans) == data.count(b"EMC") > 0
    for text_object in re.findall(rb"\bBT\b(.*?)\bET\b", data, re.S):  # each span opens and closes in one
        assert text_object.count(b"BDC") == text_object.count(b"EMC")


def test_copies_right() -> None:
    assert wp_text.copies_right({}, [(1, "क"), (2, "ा")], "का")
    assert wp_text.copies_right({2: "ा"}, [(1, "क"), (2, "ा")], "का")
    assert not wp_text.copies_right({2: "ो"}, [(1, "क"), (2, "ा")], "का")  # mapped by another cluster first
    assert not wp_text.copies_right({}, [(3, ""), (1, "कि")], "कि")  # a glyph with no text: a gap
    assert not wp_text.copies_right({}, [(1, "क"), (1, "x")], "कx")  # the first mapping stays


def test_actual_text_is_utf16_with_bom() -> None:
    assert wp_text.actual_text("कि") == b"<</ActualText <feff0915093f>>>"


def test_the_patch_is_in_place_only_inside_patched_and_only_for_its_weasyprint_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint
    import weasyprint.draw.text

    before = weasyprint.draw.text.draw_first_line
    assert before is not wp_text.draw_first_line
    with wp_internals.patched():
        with wp_internals.patched():  # re-entrant
            assert weasyprint.draw.text.draw_first_line is wp_text.draw_first_line
        assert weasyprint.draw.text.draw_first_line is wp_text.draw_first_line  # still inside the outer one
    assert weasyprint.draw.text.draw_first_line is before  # out again at the last exit
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    with pytest.raises(wp_internals.WeasyPrintVersionError, match=r"needs WeasyPrint 70\.0.*71\.0 is installed"):
        with wp_internals.patched():
            pass  # pragma: no cover - another version: refused, loudly
    assert weasyprint.draw.text.draw_first_line is before  # and left alone


def test_simple_runs_skip_the_span_search_and_complex_ones_do_not() -> None:
    from bookmaker.backends.pdf.wp_text import simple_text

    for text in ("Plain Latin, café, naïve – “quoted” … 12 € → ≤", "Ὅλοι οἱ ἄνθρωποι", "Все люди", "שלום", "السلام"):
        assert simple_text(text.encode()), text
    for text in ("अधिकारों", "ಸಹೋದರ", "മനുഷ്യ", "ทั้ง", "e\u0301", "שָׁלוֹם"):
        assert not simple_text(text.encode()), text
