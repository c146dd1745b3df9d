"""SVG path data parsed once per process, and an SVG image drawn once per PDF (backends/wp_svg.py):
the same pages, less work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r'''
import sys, weasyprint
from bookmaker.transform.formula import to_mathml, print_math
formulas = [r"\frac{a}{b} + x^2", r"\sum_{k=1}^{n} k", r"\sqrt{2}"]
body = " and ".join(to_mathml(f, False) for f in formulas * 3)
svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20">'
       '<path d="M2,2 L38,2 L38,18 z" fill="none" stroke="black" marker-end="url(#m)"/>'
       '<marker id="m" markerWidth="4" markerHeight="4"><path d="M0,0 L4,2 L0,4 z"/></marker>'
       '<path d="M5,5 L10,10 L" stroke="black"/></svg>')  # the last path's data is broken: drawn up to it
html = "<html><body><p>A " + body + " end.</p>" + svg + svg + "</body></html>"
if sys.argv[1] in ("files-plain", "forms"):  # as the print layout gives them: one file a formula and an SVG
    import pathlib
    folder = pathlib.Path(sys.argv[2]).parent
    files = {"figure.svg": svg.encode()}
    html = print_math(html.replace(svg, '<img src="figure.svg"/>'), 10.5, files=files)
    for href, data in files.items():
        (folder / href).parent.mkdir(exist_ok=True)
        (folder / href).write_bytes(data)
    base_url = str(folder) + "/"
else:
    html = print_math(html, 10.5)
    base_url = None
patches = None
if sys.argv[1] == "forms":
    from bookmaker.backends.pdf import wp_internals
    patches = wp_internals.patched()
    patches.__enter__()
if sys.argv[1] == "cached":
    from bookmaker.backends.pdf import wp_svg
    import weasyprint.svg as wsvg
    calls = []
    original = wsvg.TAGS["path"]  # WeasyPrint's own: only the path cache is put in, below
    def counting(svg, node, font_size):
        calls.append(node.get("d"))
        return original(svg, node, font_size)
    wsvg.TAGS["path"] = wp_svg.cached_path(counting)
weasyprint.HTML(string=html, base_url=base_url).write_pdf(sys.argv[2], pdf_identifier=b"0" * 32)
if sys.argv[1] == "cached":
    print(len(calls), len(set(calls)))
'''


def _render(mode: str, out: Path) -> str:
    env = {"SOURCE_DATE_EPOCH": "1764115200", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cached_paths_give_the_same_pdf_bytes_and_are_parsed_once(tmp_path: Path) -> None:
    plain, cached = tmp_path / "plain.pdf", tmp_path / "cached.pdf"
    _render("plain", plain)
    counts = _render("cached", cached).split()
    assert plain.read_bytes() == cached.read_bytes()
    parsed, distinct = int(counts[0]), int(counts[1])
    # every distinct path data parsed once, however often it is drawn; but the broken one, which
    # is not remembered (drawn up to its error each time, as WeasyPrint does), in each of the 2 SVGs
    assert parsed == distinct + 1
    assert distinct > 10


def _pixels(pdf: Path, folder: Path) -> list[bytes]:
    import shutil

    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm (poppler-utils) is missing under CI")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-r", "100", "-gray", str(pdf), str(prefix)], check=True, timeout=120)
    return [p.read_bytes() for p in sorted(folder.glob(f"{pdf.stem}-*.pgm"))]


def test_each_svg_image_is_drawn_once_into_a_plain_form_and_the_pages_look_the_same(tmp_path: Path) -> None:
    from pypdf import PdfReader

    plain, forms = tmp_path / "plain.pdf", tmp_path / "forms.pdf"
    _render("files-plain", plain)
    _render("forms", forms)
    assert _pixels(plain, tmp_path) == _pixels(forms, tmp_path)
    page = PdfReader(forms).pages[0]
    x_objects = {name: obj.get_object() for name, obj in page["/Resources"]["/XObject"].items()}
    drawn = [x for x in x_objects.values() if x.get("/Subtype") == "/Form"]
    # 3 formulas (each shown 3 times) and 1 SVG (shown twice): 4 forms, none a transparency group
    assert len(drawn) == 4
    assert all("/Group" not in x for x in drawn)
    content = page.get_contents().get_data()
    assert content.count(b" Do") == 3 * 3 + 2
    # each formula's outlines are written once, not at each of its 3 occurrences
    curves = re.compile(rb"(?:^|\s)c(?=\s)")
    once = sum(len(curves.findall(x.get_data())) for x in drawn)
    everywhere = len(curves.findall(PdfReader(plain).pages[0].get_contents().get_data()))
    assert once > 0 and once * 3 == everywhere


def test_the_svg_patches_are_in_place_only_inside_patched_and_only_for_their_weasyprint_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint
    import weasyprint.svg as wsvg
    from weasyprint import images

    from bookmaker.backends.pdf import wp_internals

    before, draw_before = wsvg.TAGS["path"], images.SVGImage.draw
    with wp_internals.patched():
        wrapped, draw = wsvg.TAGS["path"], images.SVGImage.draw
        assert wrapped is not before and getattr(wrapped, "__wrapped__", None) is before
        assert draw is not draw_before and getattr(draw, "__wrapped__", None) is draw_before
        with wp_internals.patched():  # re-entrant: applied once
            assert wsvg.TAGS["path"] is wrapped and images.SVGImage.draw is draw
    assert wsvg.TAGS["path"] is before and images.SVGImage.draw is draw_before  # out at the last exit
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    with pytest.raises(wp_internals.WeasyPrintVersionError):
        with wp_internals.patched():
            pass  # pragma: no cover
    assert wsvg.TAGS["path"] is before and images.SVGImage.draw is draw_before  # another version: left alone
