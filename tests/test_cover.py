"""The cover wrap (issue 14): its size from the interior's page count and paper, its preflight,
the spine text rule, the barcode, the proof picture, and the errors a book.toml can make."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookmaker.backends.pdf.cover import print_cover
from bookmaker.checks.cover import preflight_cover, read_marks
from bookmaker.core.context import BuildContext, build_timestamp
from bookmaker.core.cover import COVER_RULES, cover_geometry
from bookmaker.core.errors import ConfigError, PreflightError, Reporter
from bookmaker.pipeline import build
from bookmaker.source.config import load_config
from bookmaker.transform.book import load_book

from .conftest import EPOCH, SAMPLE

PT = 72.0
ISBN = "9780306406157"
# (profile, paper): inches per page, written out from the printers' figures (core/cover.py's sources)
CALIPERS = {("kdp", "white"): 0.002252, ("kdp", "cream"): 0.0025, ("kdp", "color-standard"): 0.002252,
            ("kdp", "color-premium"): 0.002347, ("ingramspark", "white"): 0.0025, ("ingramspark", "cream"): 0.0025,
            ("ingramspark", "color-standard"): 0.0025, ("ingramspark", "color-premium"): 1 / 360}


def sample_copy(root: Path, profile: str = "kdp", isbn: bool = False, extra_print: str = "") -> Path:
    shutil.copytree(SAMPLE, root)
    text = (root / "book.toml").read_text(encoding="utf-8").replace('profile = "kdp"', f'profile = "{profile}"\n{extra_print}')
    (root / "book.toml").write_text((f'isbn = "{ISBN}"\n' if isbn else "") + text, encoding="utf-8")
    return root


def add_chapters(root: Path, count: int) -> None:
    words = " ".join(["A line of the added chapter, long enough to fill its pages in print."] * 40)
    for n in range(count):
        (root / "chapters" / f"90-added-{n:02d}.md").write_text(f"---\ntitle: Added {n}\n---\n\n{words}\n\n{words}\n", encoding="utf-8")


def built(root: Path, out: Path, **kwargs: object) -> dict[str, Path]:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        return {o.format: o.path for o in build(root, out, formats=("all",), reporter=Reporter(), **kwargs)}  # type: ignore[arg-type]
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


def boxes(pdf: Path) -> dict[str, tuple[float, float]]:
    page = PdfReader(pdf).pages[0]
    return {name: (float(getattr(page, name).width) / PT, float(getattr(page, name).height) / PT)
            for name in ("mediabox", "trimbox", "bleedbox")}


@pytest.fixture(scope="module")
def kdp(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = sample_copy(tmp_path_factory.mktemp("kdp") / "book")
    return built(root, root.parent / "out", proof=True)


@pytest.fixture(scope="module")
def ingram(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """IngramSpark, an ISBN, and chapters enough for spine text."""
    root = sample_copy(tmp_path_factory.mktemp("ingram") / "book", "ingramspark", isbn=True)
    add_chapters(root, 12)
    return built(root, root.parent / "out")


def pages_of(pdf: Path) -> int:
    return len(PdfReader(pdf).pages)


@pytest.mark.parametrize("profile", ["kdp", "ingramspark"])
@pytest.mark.parametrize("pages", [24, 66, 130, 400])
@pytest.mark.parametrize("paper", ["white", "cream", "color-standard", "color-premium"])
def test_sheet_formula(profile: str, pages: int, paper: str) -> None:
    g = cover_geometry(profile, (6.0, 9.0), pages, paper)  # type: ignore[arg-type]
    assert g is not None
    spine = pages * CALIPERS[profile, paper]
    assert g.sheet_width == pytest.approx(0.125 + 6 + spine + 6 + 0.125, abs=1e-9)
    assert g.sheet_height == pytest.approx(9.25, abs=1e-9)


def test_no_cover_for_the_proof_profile() -> None:
    assert cover_geometry("proof", (6.0, 9.0), 100, "white") is None


@pytest.mark.parametrize(("profile", "pages", "paper"), [("kdp", 66, "white"), ("kdp", 200, "cream"), ("kdp", 320, "color-premium"),
                                                         ("ingramspark", 120, "white"), ("ingramspark", 90, "color-premium")])
def test_pdf_boxes_match_the_formula(tmp_path: Path, profile: str, pages: int, paper: str) -> None:
    interior = "colour" if paper.startswith("color") else "black-and-white"
    root = sample_copy(tmp_path / "book", profile, extra_print=f'paper = "{paper}"\ninterior = "{interior}"')
    reporter = Reporter()
    ctx = BuildContext(load_book(root, reporter), build_timestamp(), reporter)
    cover = print_cover(ctx, pages)
    path = tmp_path / "cover.pdf"
    path.write_bytes(cover.data)
    width = 0.125 + 6 + pages * CALIPERS[profile, paper] + 6 + 0.125
    got = boxes(path)
    assert got["mediabox"] == pytest.approx((width, 9.25), abs=0.01)
    assert got["bleedbox"] == pytest.approx((width, 9.25), abs=0.01)
    assert got["trimbox"] == pytest.approx((width - 0.25, 9.0), abs=0.01)
    assert preflight_cover(cover.data, ctx.book.config, cover.geometry).passed


def test_sample_builds_its_cover_and_it_passes(kdp: dict[str, Path], ingram: dict[str, Path]) -> None:
    for outputs, profile in ((kdp, "kdp"), (ingram, "ingramspark")):
        assert outputs["cover"].name.endswith("-cover.pdf")
        pages = pages_of(outputs["pdf"])
        caliper = COVER_RULES[profile].caliper["white"]
        assert boxes(outputs["cover"])["mediabox"][0] == pytest.approx(12.25 + pages * caliper, abs=0.01)


def test_check_command_passes_on_both_profiles(kdp: dict[str, Path], ingram: dict[str, Path]) -> None:
    for outputs in (kdp, ingram):
        root = outputs["pdf"].parent.parent / "book"
        proc = run_cli("check", str(root), "--pdf", str(outputs["pdf"]), "--cover", str(outputs["cover"]), "--no-epubcheck", "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert '"cover sheet size"' in proc.stdout and '"passed": true' in proc.stdout


def test_spine_text_absent_below_80_pages_with_a_note(tmp_path: Path, kdp: dict[str, Path]) -> None:
    assert pages_of(kdp["pdf"]) < 80
    marks = read_marks(kdp["cover"].read_bytes())
    g = cover_geometry("kdp", (6.0, 9.0), pages_of(kdp["pdf"]), "white")
    assert g is not None and not g.spine_text
    assert not [m for m in marks if m.kind == "char" and m.box[2] > g.spine_x0 and m.box[0] < g.spine_x1]
    reporter = Reporter()
    root = kdp["pdf"].parent.parent / "book"
    print_cover(BuildContext(load_book(root, reporter), build_timestamp(), reporter), pages_of(kdp["pdf"]))
    assert any("spine stays plain" in str(n) and "80" in str(n) for n in reporter.notes)


def test_spine_follows_the_page_count_when_a_chapter_is_added(tmp_path: Path, kdp: dict[str, Path]) -> None:
    root = sample_copy(tmp_path / "book")
    add_chapters(root, 3)
    outputs = built(root, tmp_path / "out")
    before, after = pages_of(kdp["pdf"]), pages_of(outputs["pdf"])
    assert after > before
    grown = boxes(outputs["cover"])["mediabox"][0] - boxes(kdp["cover"])["mediabox"][0]
    assert grown == pytest.approx((after - before) * 0.002252, abs=0.005)


def test_spine_text_when_the_book_is_long_enough(ingram: dict[str, Path]) -> None:
    pages = pages_of(ingram["pdf"])
    g = cover_geometry("ingramspark", (6.0, 9.0), pages, "white")
    assert g is not None and g.spine_text
    on_spine = "".join(m.text for m in read_marks(ingram["cover"].read_bytes())
                       if m.kind == "char" and m.box[0] >= g.spine_x0 and m.box[2] <= g.spine_x1)
    assert "Anonymous" in on_spine and "bookmaker" in on_spine  # the author and the publisher, turned


def _bars(marks: list, area: tuple[float, float, float, float]) -> str:
    """The dark modules of the bars drawn in `area`, read back as a 0/1 string (0.013in modules)."""
    bars = sorted(m.box for m in marks if m.kind == "rect" and area[0] < m.box[0] and m.box[2] < area[2]
                  and m.box[1] > area[1] and m.box[3] - m.box[1] > 0.5)
    start, pattern = bars[0][0], ""
    for x0, _, x1, _ in bars:
        pattern += "0" * round((x0 - start) / 0.013 - len(pattern)) + "1" * round((x1 - x0) / 0.013)
    return pattern


def test_barcode_is_the_isbn_in_its_area(ingram: dict[str, Path]) -> None:
    from barcode import EAN13

    g = cover_geometry("ingramspark", (6.0, 9.0), pages_of(ingram["pdf"]), "white")
    assert g is not None
    marks = read_marks(ingram["cover"].read_bytes())
    area = g.barcode_area
    assert area[2] == pytest.approx(g.spine_x0 - 0.25) and area[3] == pytest.approx(9.125 - 0.25)
    digits = "".join(m.text for m in sorted(marks, key=lambda m: m.box[0]) if m.kind == "char"
                     and area[0] <= m.box[0] and m.box[2] <= area[2] and area[1] <= m.box[1] and m.box[3] <= area[3])
    assert digits == ISBN
    assert _bars(marks, area) == EAN13(ISBN).build()[0].rstrip("0")


def test_barcode_area_empty_without_an_isbn(kdp: dict[str, Path]) -> None:
    g = cover_geometry("kdp", (6.0, 9.0), pages_of(kdp["pdf"]), "white")
    assert g is not None
    area = g.barcode_area
    inside = [m for m in read_marks(kdp["cover"].read_bytes())
              if m.kind != "rect" and m.box[0] < area[2] and m.box[2] > area[0] and m.box[1] < area[3] and m.box[3] > area[1]]
    assert inside == []


def test_proof_png_is_written(kdp: dict[str, Path]) -> None:
    from PIL import Image

    proof = kdp["cover-proof"]
    image = Image.open(proof)
    g = cover_geometry("kdp", (6.0, 9.0), pages_of(kdp["pdf"]), "white")
    assert g is not None
    assert image.size == (round(g.sheet_width * 100), round(g.sheet_height * 100))
    x = round(g.spine_x0 * image.width / g.sheet_width)
    assert image.convert("RGB").getpixel((x, image.height // 2)) == (40, 110, 255)  # the spine fold drawn


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "SOURCE_DATE_EPOCH": EPOCH}
    return subprocess.run([sys.executable, "-m", "bookmaker", *args], check=False, capture_output=True, text=True, env=env, timeout=300)


def test_check_fails_on_a_cover_of_the_wrong_size(tmp_path: Path, kdp: dict[str, Path]) -> None:
    """The cover of a 40-page interior handed in for this 66-page book."""
    root = kdp["pdf"].parent.parent / "book"
    reporter = Reporter()
    wrong = print_cover(BuildContext(load_book(root, reporter), build_timestamp(), reporter), 40)
    bad = tmp_path / "bad-cover.pdf"
    bad.write_bytes(wrong.data)
    proc = run_cli("check", str(root), "--pdf", str(kdp["pdf"]), "--cover", str(bad), "--no-epubcheck")
    assert proc.returncode == PreflightError.exit_code
    assert re.search(rf"^{re.escape(str(bad))}: error: preflight \(kdp cover\): cover sheet size: .*formula gives", proc.stderr, re.MULTILINE), proc.stderr


def test_check_fails_on_text_in_the_safe_zone(tmp_path: Path, kdp: dict[str, Path]) -> None:
    """A cover made by hand whose back-cover text starts 0.05in from the trim."""
    root = tmp_path / "book"
    shutil.copytree(kdp["pdf"].parent.parent / "book", root)
    (root / "layouts").mkdir()
    template = (Path(__file__).resolve().parents[1] / "layouts" / "cover.html.j2").read_text(encoding="utf-8")
    (root / "layouts" / "cover.html.j2").write_text(template.replace(
        '<div class="box back" style="{{ back.box }}">', '<div class="box back" style="left: 0.05in; top: 0.05in;">'), encoding="utf-8")
    text = (root / "book.toml").read_text(encoding="utf-8")
    (root / "book.toml").write_text('layouts = "layouts"\n' + text, encoding="utf-8")
    with pytest.raises(PreflightError) as caught:
        built(root, tmp_path / "out")
    messages = [str(d) for d in caught.value.diagnostics]
    assert any(m.startswith(str(tmp_path / "out")) and "cover text inside the safe zones" in m for m in messages), messages
    assert not list((tmp_path / "out").glob("*-cover.pdf"))  # a refused cover is not written


def test_bad_paper_values_are_located_errors(tmp_path: Path) -> None:
    root = sample_copy(tmp_path / "book", extra_print='paper = "glossy"')
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    (d,) = caught.value.diagnostics
    line = next(i for i, t in enumerate((root / "book.toml").read_text().splitlines(), 1) if t.startswith("paper"))
    assert d.location.line == line and "'print.paper'" in d.message and "'glossy'" in d.message
    other = sample_copy(tmp_path / "other", extra_print='paper = "cream"\ninterior = "colour"')
    with pytest.raises(ConfigError) as caught:
        load_config(other)
    (d,) = caught.value.diagnostics
    assert "not on 'cream'" in d.message and "'color-standard'" in d.message and d.location.line is not None


def test_cover_under_the_proof_profile_is_one_located_error(tmp_path: Path) -> None:
    root = tmp_path / "book"
    shutil.copytree(SAMPLE, root)
    text = (root / "book.toml").read_text().replace('profile = "kdp"', 'profile = "proof"')
    (root / "book.toml").write_text(text)
    proc = run_cli("build", str(root), "-o", str(tmp_path / "out"), "--format", "cover")
    assert proc.returncode == 7 and proc.stderr.strip().splitlines()[-1].startswith(f"{root / 'book.toml'}: error: print profile 'proof' prints no cover")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.pdf"))


def _with_cover_image(root: Path, size: tuple[int, int]) -> Path:
    """The sample with a photographic cover image of `size` pixels (a gradient, so it is not one colour)."""
    from PIL import Image

    sample_copy(root)
    (root / "images").mkdir(exist_ok=True)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.save(root / "images" / "cover.png")
    text = (root / "book.toml").read_text(encoding="utf-8")
    (root / "book.toml").write_text('cover = "images/cover.png"\n' + text, encoding="utf-8")
    return root


def _front_cover(root: Path, pages: int = 120) -> tuple[Reporter, bytes, object, list]:
    reporter = Reporter()
    ctx = BuildContext(load_book(root, reporter), build_timestamp(), reporter)
    cover = print_cover(ctx, pages)
    report = preflight_cover(cover.data, ctx.book.config, cover.geometry)
    images = [m for m in read_marks(cover.data) if m.kind == "image"]
    return reporter, cover.data, report, images


def test_a_cover_image_of_the_right_size_fills_the_front_and_its_bleed(tmp_path: Path) -> None:
    """6.125 x 9.25in (the front panel and its bleed) at 300 dpi: no warning, the image rule passes."""
    root = _with_cover_image(tmp_path / "book", (1838, 2775))
    reporter, _, report, images = _front_cover(root)
    assert not [d for d in reporter.warnings if "cover image" in d.message], reporter.warnings
    g = cover_geometry("kdp", (6.0, 9.0), 120, "white")
    assert g is not None
    (image,) = images
    assert image.pixels == (1838, 2775)
    assert image.box == pytest.approx((g.spine_x1, 0.0, g.sheet_width, g.sheet_height), abs=0.01)
    rule = next(r for r in report.results if r.rule == "cover images at 300 dpi")
    assert rule.passed and "smallest 300 dpi" in rule.measured
    assert report.passed


def test_a_small_square_cover_image_is_cropped_with_located_warnings_and_fails_the_dpi_rule(tmp_path: Path) -> None:
    root = _with_cover_image(tmp_path / "book", (1200, 1200))
    reporter, _, report, images = _front_cover(root)
    line = next(i for i, t in enumerate((root / "book.toml").read_text().splitlines(), 1) if t.startswith("cover ="))
    warnings = [d for d in reporter.warnings if "cover image" in d.message]
    assert all(d.location.path == root / "book.toml" and d.location.line == line for d in warnings), warnings
    messages = " | ".join(d.message for d in warnings)
    assert "gives 130 dpi on the front cover" in messages and "1838 x 2775 pixels" in messages, messages
    assert "cropped at its sides" in messages, messages
    g = cover_geometry("kdp", (6.0, 9.0), 120, "white")
    assert g is not None
    (image,) = images  # scaled to cover the panel's height, so wider than the panel: its sides are cut off
    assert image.box[1] == pytest.approx(0.0, abs=0.01) and image.box[3] == pytest.approx(g.sheet_height, abs=0.01)
    assert image.box[0] < g.spine_x1 - 1 and image.box[2] > g.sheet_width + 1
    rule = next(r for r in report.results if r.rule == "cover images at 300 dpi")
    assert not rule.passed and "smallest 130 dpi" in rule.measured
    assert not report.passed


def test_a_tall_cover_image_is_cropped_at_its_top_and_bottom(tmp_path: Path) -> None:
    root = _with_cover_image(tmp_path / "book", (1838, 3600))
    reporter, _, _, images = _front_cover(root)
    (warning,) = [d.message for d in reporter.warnings if "cover image" in d.message]  # 300 dpi across: no dpi warning
    assert "1838 x 3600 pixels" in warning and "cropped at its top and bottom" in warning, warning
    (image,) = images
    assert image.box[3] - image.box[1] > 9.25 + 1
