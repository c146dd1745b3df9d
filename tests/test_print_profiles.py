"""Print profiles and preflight: every rule is shown to pass and to fail, with the failing page."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from .conftest import Built, need
from PIL import Image as PILImage
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from bookmaker.backends.pdf.paginate import PrintedBook, print_book
from bookmaker.checks.preflight import PreflightReport, RuleResult, preflight
from bookmaker.core.context import BuildContext, build_timestamp
from bookmaker.core.errors import ConfigError, PreflightError, Reporter
from bookmaker.core.model import BookConfig
from bookmaker.core.profiles import OVERRIDABLE, PROFILES
from bookmaker.pipeline import build
from bookmaker.source.config import load_config
from bookmaker.transform.book import load_book

LOREM = " ".join(["The quick brown fox jumps over the lazy dog and keeps running through the field."] * 12)


def make_book(root: Path, chapters: int = 3, print_toml: str = "", extra: str = "", body: str = "") -> Path:
    (root / "chapters").mkdir(parents=True, exist_ok=True)
    (root / "book.toml").write_text(
        f'title = "Profiles"\nauthors = ["P. Rinter"]\nlanguage = "en"\n{extra}\n[print]\n{print_toml}\n', encoding="utf-8")
    for n in range(1, chapters + 1):
        (root / "chapters" / f"{n:02d}-c.md").write_text(f"---\ntitle: Chapter {n}\n---\n\n{body or LOREM}\n", encoding="utf-8")
    return root


def printed(root: Path) -> tuple[BookConfig, PrintedBook]:
    reporter = Reporter()
    book = load_book(root, reporter, with_cover=False)
    return book.config, print_book(BuildContext(book, build_timestamp(), reporter))


def rule(report: PreflightReport, name: str) -> RuleResult:
    return next(r for r in report.results if r.rule == name)


def config_for(root: Path, print_toml: str) -> BookConfig:
    (root / "book.toml").write_text(
        f'title = "Profiles"\nauthors = ["P. Rinter"]\nlanguage = "en"\n[print]\n{print_toml}\n', encoding="utf-8")
    return load_config(root)


@pytest.fixture(scope="module")
def proof_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[BookConfig, PrintedBook]:
    return printed(make_book(tmp_path_factory.mktemp("proof") / "b", chapters=3, print_toml='profile = "proof"'))


@pytest.fixture(scope="module")
def kdp_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[BookConfig, PrintedBook]:
    return printed(make_book(tmp_path_factory.mktemp("kdp") / "b", chapters=3, print_toml='profile = "kdp"\n[print.overrides]\nmin_pages = 1'))


def test_the_sample_book_passes_every_kdp_rule(sample: Built) -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "book")
    assert config.print.profile.name == "kdp"
    report = preflight(sample.pdf.read_bytes(), config)
    assert report.passed, [r for r in report.results if not r.passed]
    assert {r.rule for r in report.results} >= {
        "TrimBox is the trim size", "MediaBox is trim plus bleed", "fonts embedded", "image resolution at placed size",
        "content inside the margins and gutter", "no text under 7pt", "page count", "page count multiple", "no forbidden objects"}


def test_boxes_without_bleed_fail_kdp(proof_pdf: tuple[BookConfig, PrintedBook], tmp_path: Path) -> None:
    _, pdf = proof_pdf
    report = preflight(pdf.data, config_for(tmp_path, 'profile = "kdp"'))
    assert rule(report, "TrimBox is the trim size").passed
    media = rule(report, "MediaBox is trim plus bleed")
    assert not media.passed and media.pages == tuple(range(1, pdf.pages + 1))


def test_wrong_trim_fails(kdp_pdf: tuple[BookConfig, PrintedBook], tmp_path: Path) -> None:
    _, pdf = kdp_pdf
    report = preflight(pdf.data, config_for(tmp_path, 'profile = "kdp"\ntrim = "5in x 8in"'))
    assert not rule(report, "TrimBox is the trim size").passed
    assert rule(report, "TrimBox is the trim size").pages[:2] == (1, 2)


def _pdf_with_helvetica(size: float) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(432, 648)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 {size} Tf 100 300 Td (Not embedded) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_fonts_embedded_both_ways(kdp_pdf: tuple[BookConfig, PrintedBook], tmp_path: Path) -> None:
    config, pdf = kdp_pdf
    assert rule(preflight(pdf.data, config), "fonts embedded").passed
    bad = rule(preflight(_pdf_with_helvetica(10), config_for(tmp_path, 'profile = "proof"')), "fonts embedded")
    assert not bad.passed and bad.pages == (1,) and "Helvetica" in bad.detail


def test_text_under_7pt_fails(tmp_path: Path, kdp_pdf: tuple[BookConfig, PrintedBook]) -> None:
    config, pdf = kdp_pdf
    assert rule(preflight(pdf.data, config), "no text under 7pt").passed
    small = rule(preflight(_pdf_with_helvetica(5), config_for(tmp_path, 'profile = "proof"')), "no text under 7pt")
    assert not small.passed and small.pages == (1,)


def test_low_resolution_image_fails_kdp_with_its_page(tmp_path: Path) -> None:
    root = make_book(tmp_path / "b", chapters=2, print_toml='profile = "kdp"\n[print.overrides]\nmin_pages = 1')
    (root / "images").mkdir()
    PILImage.new("RGB", (300, 200), (120, 120, 120)).save(root / "images" / "small.jpg")
    (root / "chapters" / "02-c.md").write_text(
        f'---\ntitle: Two\n---\n\n![A small grey picture](images/small.jpg "Too few pixels.")\n\n{LOREM}\n', encoding="utf-8")
    config, pdf = printed(root)
    dpi = rule(preflight(pdf.data, config), "image resolution at placed size")
    assert not dpi.passed and "smallest 67 dpi" in dpi.measured
    reader = PdfReader(io.BytesIO(pdf.data))
    caption_pages = tuple(i + 1 for i, p in enumerate(reader.pages) if "Too few pixels." in (p.extract_text() or ""))
    assert len(caption_pages) == 1 and dpi.pages == caption_pages


def test_text_in_the_margin_fails_with_its_pages(tmp_path: Path) -> None:
    root = make_book(tmp_path / "b", chapters=2, print_toml='profile = "kdp"\nmargin_outside = "0.2in"\n[print.overrides]\nmin_pages = 1')
    config, pdf = printed(root)
    margins = rule(preflight(pdf.data, config), "content inside the margins and gutter")
    assert not margins.passed and "outside 0.200in" in margins.measured
    assert len(margins.pages) >= 2


def test_page_count_bounds(kdp_pdf: tuple[BookConfig, PrintedBook], tmp_path: Path) -> None:
    _, pdf = kdp_pdf
    assert pdf.pages < 24
    report = preflight(pdf.data, config_for(tmp_path, 'profile = "kdp"'))
    assert not rule(report, "page count").passed and "allowed 24..828" in rule(report, "page count").measured


def test_page_multiple_both_ways(kdp_pdf: tuple[BookConfig, PrintedBook], tmp_path: Path) -> None:
    config, pdf = kdp_pdf
    assert pdf.pages % 2 == 0 and rule(preflight(pdf.data, config), "page count multiple").passed
    odd = PdfWriter(clone_from=io.BytesIO(pdf.data))
    odd.remove_page(len(odd.pages) - 1)
    out = io.BytesIO()
    odd.write(out)
    assert not rule(preflight(out.getvalue(), config), "page count multiple").passed


def test_forbidden_objects_both_ways(proof_pdf: tuple[BookConfig, PrintedBook], kdp_pdf: tuple[BookConfig, PrintedBook], tmp_path: Path) -> None:
    config, pdf = kdp_pdf
    assert rule(preflight(pdf.data, config), "no forbidden objects").passed
    _, proof = proof_pdf
    bad = rule(preflight(proof.data, config_for(tmp_path, 'profile = "kdp"')), "no forbidden objects")
    assert not bad.passed and "annotations" in bad.detail and "bookmarks" in bad.detail
    assert 3 in bad.pages or 4 in bad.pages or 5 in bad.pages  # the contents page links to the chapters
    assert rule(preflight(proof.data, config_for(tmp_path, 'profile = "proof"')), "no forbidden objects").passed


def test_the_gutter_follows_the_page_count(tmp_path: Path) -> None:
    root = make_book(tmp_path / "b", chapters=3, print_toml=(
        'profile = "kdp"\nmargin_inside = "0.6in"\n[print.overrides]\nmin_pages = 1\ngutter = [[4, "0.6in"], [1000, "1.1in"]]'))
    config, pdf = printed(root)
    assert pdf.margin_inside == pytest.approx(1.1) and pdf.passes >= 2
    report = preflight(pdf.data, config)
    margins = rule(report, "content inside the margins and gutter")
    assert margins.passed and "gutter 1.1" in margins.measured


def test_ingramspark_fills_to_the_signature_with_a_blank_last_page_in_cmyk(tmp_path: Path, kdp_pdf: tuple[BookConfig, PrintedBook]) -> None:
    if not any(Path("/usr/share/ghostscript").glob("*/iccprofiles/default_cmyk.icc")):
        need("Ghostscript's CMYK ICC profile is missing (Debian: ghostscript)")
    root = make_book(tmp_path / "b", chapters=3, print_toml='profile = "ingramspark"')
    (root / "images").mkdir()
    PILImage.new("RGB", (2000, 1333), (200, 40, 40)).save(root / "images" / "red.jpg", dpi=(300, 300))
    (root / "chapters" / "01-c.md").write_text(f'---\ntitle: One\n---\n\n![A red field](images/red.jpg "Red.")\n\n{LOREM}\n', encoding="utf-8")
    config, pdf = printed(root)
    assert pdf.pages % 6 == 0 and pdf.fillers >= 1
    report = preflight(pdf.data, config)
    assert report.passed, [r for r in report.results if not r.passed]
    assert rule(report, "CMYK or grey only").passed and rule(report, "last page blank without folio").passed
    # and the other way: an RGB book with a full last page fails IngramSpark's rules
    _, rgb = kdp_pdf
    bad = preflight(rgb.data, config)
    assert not rule(bad, "CMYK or grey only").passed and rule(bad, "CMYK or grey only").pages
    assert not rule(bad, "CMYK output intent").passed
    cut = PdfWriter(clone_from=io.BytesIO(rgb.data))
    cut.remove_page(len(cut.pages) - 1)  # the last page now has text, and the count is odd
    out = io.BytesIO()
    cut.write(out)
    bad = preflight(out.getvalue(), config)
    assert not rule(bad, "page count multiple").passed
    assert not rule(bad, "last page blank without folio").passed and rule(bad, "last page blank without folio").pages == (len(cut.pages),)
    # an RGB colour painted only inside a form XObject (as SVG drawings are: backends/wp_svg.py) is
    # found too: qpdf's overlay puts a page (here a green square, in RGB) on page 2 as a form
    from weasyprint import HTML

    qpdf = shutil.which("qpdf") or need("qpdf is missing (Debian: qpdf)")
    green = tmp_path / "green.pdf"
    HTML(string='<div style="width: 1in; height: 1in; background: rgb(0, 200, 0)"></div>').write_pdf(green)
    (tmp_path / "cmyk.pdf").write_bytes(pdf.data)
    hidden = tmp_path / "hidden.pdf"
    subprocess.run([qpdf, str(tmp_path / "cmyk.pdf"), "--overlay", str(green), "--to=2", "--", str(hidden)], check=True)
    page_two = PdfReader(hidden).pages[1]
    assert b"rg" not in page_two.get_contents().get_data()  # the page's own content paints no RGB
    found = rule(preflight(hidden.read_bytes(), config), "CMYK or grey only")
    assert not found.passed and found.pages == (2,) and "DeviceRGB" in found.measured


def test_build_refuses_a_pdf_that_fails_preflight_unless_no_check(tmp_path: Path) -> None:
    root = make_book(tmp_path / "b", chapters=2, print_toml='profile = "kdp"')  # far fewer than 24 pages
    out = tmp_path / "out"
    with pytest.raises(PreflightError) as err:
        build(root, out, ("pdf",))
    assert "page count" in str(err.value) and not out.exists()
    outputs = build(root, out, ("pdf",), check=False)
    assert outputs[0].path.is_file()


def test_check_command_reports_a_table_and_json(tmp_path: Path) -> None:
    root = make_book(tmp_path / "b", chapters=2, print_toml='profile = "kdp"')
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}
    proc = subprocess.run([sys.executable, "-m", "bookmaker", "check", str(root), "--json", "--no-epubcheck"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 9, proc.stderr
    data = json.loads(proc.stdout)
    assert data["passed"] is False and data["profile"] == "kdp"
    failing = {r["rule"] for r in data["rules"] if not r["passed"]}
    assert failing == {"page count"}
    table = subprocess.run([sys.executable, "-m", "bookmaker", "check", str(root), "--no-epubcheck"],
                           capture_output=True, text=True, env={**env, "COLUMNS": "160"}, timeout=300)
    assert table.returncode == 9 and "FAIL" in table.stdout and "page count" in table.stdout


def test_overrides_cover_every_profile_setting_and_reject_unknown(tmp_path: Path) -> None:
    from bookmaker.source.config import _OVERRIDES

    assert set(_OVERRIDES) == OVERRIDABLE
    with pytest.raises(ConfigError) as err:
        config_for(tmp_path, 'profile = "kdp"\n[print.overrides]\nbleeed = "0.1in"')
    assert "did you mean 'bleed'" in str(err.value) and ":7:" in str(err.value).replace(str(tmp_path / "book.toml"), "")
    with pytest.raises(ConfigError):
        config_for(tmp_path, 'profile = "lulu"')
    cfg = config_for(tmp_path, 'profile = "kdp"\n[print.overrides]\nbleed = "0.25in"\nmarks = true')
    assert cfg.print.profile == replace(PROFILES["kdp"], bleed=0.25, marks=True)


def test_ingramspark_signature_depends_on_trim(tmp_path: Path) -> None:
    assert config_for(tmp_path, 'profile = "ingramspark"\ntrim = "6in x 9in"').print.profile.page_multiple == 6
    assert config_for(tmp_path, 'profile = "ingramspark"\ntrim = "7in x 10in"').print.profile.page_multiple == 4


def test_copyright_page_carries_edition_isbn_and_credits(tmp_path: Path) -> None:
    root = make_book(tmp_path / "b", chapters=1, print_toml='profile = "proof"',
                     extra='edition = "Second edition"\nisbn = "978-3-16-148410-0"\nrights = "All rights reserved."\ncredits = ["Cover: nobody."]')
    config, pdf = printed(root)
    assert config.identifier == "urn:isbn:9783161484100"
    text = PdfReader(io.BytesIO(pdf.data)).pages[3].extract_text()  # half title, blank, title, copyright
    for expected in ("Second edition", "ISBN 9783161484100", "All rights reserved.", "Cover: nobody."):
        assert expected in text
    with pytest.raises(ConfigError) as err:
        make_book(tmp_path / "c", chapters=1, extra='isbn = "978-3-16-148410-1"')
        load_config(tmp_path / "c")
    assert "not a valid ISBN" in str(err.value)


def test_front_matter_folios_are_roman_and_body_starts_at_1(kdp_pdf: tuple[BookConfig, PrintedBook]) -> None:
    _, pdf = kdp_pdf
    reader = PdfReader(io.BytesIO(pdf.data))
    texts = [p.extract_text() or "" for p in reader.pages]
    toc = next(i for i, t in enumerate(texts) if "Contents" in t)
    assert texts[toc].rstrip().endswith("v")  # contents on a recto, page v
    first = next(i for i, t in enumerate(texts) if "Chapter 1" in t and i > toc)
    assert texts[first].rstrip().endswith("1")
    assert re.search(r"Chapter 1\s+1\b", texts[toc]) and re.search(r"Chapter 2\s+\d+", texts[toc])


def test_check_reads_built_files_and_runs_epubcheck(tiny_book: Path, tmp_path: Path) -> None:
    from bookmaker.checks.validate import ValidatorMissing, epubcheck_jar

    try:
        epubcheck_jar()
    except ValidatorMissing as exc:
        need(str(exc))
    if not shutil.which("java"):
        need("java not found: EPUBCheck needs it")
    out = tmp_path / "out"
    build(tiny_book, out)
    epub, pdf = out / "tiny.epub", out / "tiny.pdf"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}
    proc = subprocess.run([sys.executable, "-m", "bookmaker", "check", str(tiny_book), "--pdf", str(pdf), "--epub", str(epub), "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["passed"] and data["profile"] == "proof"
    assert data["epubcheck"]["counts"] == {"fatals": 0, "errors": 0, "warnings": 0, "usages": 0}
