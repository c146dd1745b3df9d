"""SVG path data parsed once per process (backends/wp_svg.py): the same PDF, less work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r'''
import sys, weasyprint
from bookmaker.formula import to_mathml, print_math
formulas = [r"\frac{a}{b} + x^2", r"\sum_{k=1}^{n} k", r"\sqrt{2}"]
body = " and ".join(to_mathml(f, False) for f in formulas * 3)
svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20">'
       '<path d="M2,2 L38,2 L38,18 z" fill="none" stroke="black" marker-end="url(#m)"/>'
       '<marker id="m" markerWidth="4" markerHeight="4"><path d="M0,0 L4,2 L0,4 z"/></marker>'
       '<path d="M5,5 L10,10 L" stroke="black"/></svg>')  # the last path's data is broken: drawn up to it
html = "<html><body><p>A " + body + " end.</p>" + svg + svg + "</body></html>"
html = print_math(html, 10.5)
if sys.argv[1] == "cached":
    from bookmaker.backends import wp_svg
    wp_svg.apply()
    import weasyprint.svg as wsvg
    calls = []
    original = wsvg.TAGS["path"].__wrapped__
    def counting(svg, node, font_size):
        calls.append(node.get("d"))
        return original(svg, node, font_size)
    wsvg.TAGS["path"] = wp_svg.cached_path(counting)
weasyprint.HTML(string=html).write_pdf(sys.argv[2], pdf_identifier=b"0" * 32)
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


def test_apply_is_once_and_only_for_its_weasyprint_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint
    import weasyprint.svg as wsvg

    from bookmaker.backends import wp_svg

    monkeypatch.setattr(wp_svg, "_applied", False)
    monkeypatch.setitem(wsvg.TAGS, "path", wsvg.TAGS["path"])
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    before = wsvg.TAGS["path"]
    wp_svg.apply()
    assert wsvg.TAGS["path"] is before  # another version: left alone
    monkeypatch.setattr(wp_svg, "_applied", False)
    monkeypatch.setattr(weasyprint, "__version__", wp_svg.PATCHED_VERSION)
    wp_svg.apply()
    wrapped = wsvg.TAGS["path"]
    assert wrapped is not before and getattr(wrapped, "__wrapped__", None) is not None
    wp_svg.apply()
    assert wsvg.TAGS["path"] is wrapped  # applied once
