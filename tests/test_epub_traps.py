"""One test per ebooklib 0.20 trap listed in DESIGN.md, on the EPUB back end itself."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from bookmaker.backends.epub import EpubBackend
from bookmaker.core.context import BuildContext
from bookmaker.core.errors import OutputError, Reporter
from bookmaker.render.layout import Page, Rendered, render_epub
from bookmaker.transform.book import load_book

NS = {"opf": "http://www.idpf.org/2007/opf", "x": "http://www.w3.org/1999/xhtml",
      "epub": "http://www.idpf.org/2007/ops", "ncx": "http://www.daisy.org/z3986/2005/ncx/"}
WHEN = dt.datetime(2025, 11, 26, tzinfo=dt.timezone.utc)

TRICKY = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="en" lang="en">
<head><meta charset="utf-8" /><title>Tricky</title>
<link rel="stylesheet" type="text/css" href="css/epub.css" />
<style>p { color: #111; }</style></head>
<body epub:type="bodymatter" class="keep-me">
<section id="s1" epub:type="chapter" role="doc-chapter" aria-label="Tricky">
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="10" height="10" role="img" aria-label="square"><rect width="10" height="10" /></svg>
<p>Text with <span epub:type="pagebreak" id="pg-not-a-page">no</span> page.</p>
</section>
</body>
</html>
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildContext, Rendered]:
    root = tmp_path_factory.mktemp("traps") / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text('title = "Traps"\nauthors = ["T. Ester"]\nlanguage = "en"\n', encoding="utf-8")
    (root / "chapters" / "01-a.md").write_text("---\ntitle: A\n---\n\nSome text.\n", encoding="utf-8")
    book = load_book(root, Reporter())
    rendered = render_epub(book)
    tricky = Page("tricky.xhtml", "Tricky", "chapter", TRICKY, properties=("svg",))
    rendered = replace(rendered, pages=rendered.pages + (tricky,))
    return BuildContext(book, WHEN, Reporter()), rendered


@pytest.fixture(scope="module")
def epub(tiny: tuple[BuildContext, Rendered]) -> zipfile.ZipFile:
    ctx, rendered = tiny
    return zipfile.ZipFile(io.BytesIO(EpubBackend().write(rendered, ctx)))


def _opf(z: zipfile.ZipFile) -> etree._Element:
    return etree.fromstring(z.read("EPUB/content.opf"))


def test_pages_are_stored_verbatim_not_reparsed_by_lxml_html(epub: zipfile.ZipFile) -> None:
    stored = epub.read("EPUB/tricky.xhtml").decode("utf-8")
    assert stored == TRICKY
    assert 'viewBox="0 0 10 10"' in stored  # lxml's HTML parser lowercases it to viewbox
    assert '<body epub:type="bodymatter" class="keep-me">' in stored  # body attributes survive
    assert "<style>p { color: #111; }</style>" in stored  # <style> in <head> survives


def test_svg_property_is_declared(epub: zipfile.ZipFile) -> None:
    item = _opf(epub).find(".//opf:item[@href='tricky.xhtml']", NS)
    assert "svg" in item.get("properties", "").split()


def test_stylesheet_paths_resolve(epub: zipfile.ZipFile) -> None:
    names = set(epub.namelist())
    for name in names:
        if name.endswith(".xhtml"):
            for href in re.findall(r'<link[^>]+href="([^"]+)"', epub.read(name).decode("utf-8")):
                assert f"EPUB/{href}" in names, f"{name} links {href}"  # RSC-007 with chapter.add_item


def test_cover_is_linear_and_in_the_landmarks(epub: zipfile.ZipFile) -> None:
    opf = _opf(epub)
    manifest = {i.get("id"): i for i in opf.findall(".//opf:manifest/opf:item", NS)}
    first = opf.find(".//opf:spine/opf:itemref", NS)
    assert manifest[first.get("idref")].get("href") == "cover.xhtml"
    assert first.get("linear") in (None, "yes")  # set_cover would make it linear="no" (OPF-096)
    cover_img = [i for i in manifest.values() if "cover-image" in (i.get("properties") or "")]
    assert len(cover_img) == 1
    nav = etree.fromstring(epub.read("EPUB/nav.xhtml"))
    landmarks = nav.find(".//x:nav[@epub:type='landmarks']", NS)
    assert landmarks.find(".//x:a[@href='cover.xhtml']", NS) is not None


def test_ncx_is_present_and_spine_is_complete(epub: zipfile.ZipFile) -> None:
    opf = _opf(epub)
    spine = opf.find(".//opf:spine", NS)
    assert spine.get("toc") == "ncx"
    assert "EPUB/toc.ncx" in epub.namelist()
    manifest = {i.get("id"): i.get("href") for i in opf.findall(".//opf:manifest/opf:item", NS)}
    hrefs = [manifest[r.get("idref")] for r in spine]
    assert hrefs == ["cover.xhtml", "titlepage.xhtml", "copyright.xhtml", "nav.xhtml", "01-a.xhtml", "tricky.xhtml"]


def test_every_page_has_a_title(epub: zipfile.ZipFile) -> None:
    for name in epub.namelist():
        if name.endswith(".xhtml"):
            doc = etree.fromstring(epub.read(name))
            assert (doc.findtext(".//x:head/x:title", namespaces=NS) or "").strip(), name  # RSC-017


def test_no_page_list_from_stray_epub_type_ids(epub: zipfile.ZipFile) -> None:
    nav = epub.read("EPUB/nav.xhtml").decode("utf-8")
    assert "page-list" not in nav and "pg-not-a-page" not in nav


def test_package_has_xml_lang(epub: zipfile.ZipFile) -> None:
    assert _opf(epub).get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


def test_zip_is_deterministic(tiny: tuple[BuildContext, Rendered], epub: zipfile.ZipFile) -> None:
    ctx, rendered = tiny
    infos = epub.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert {i.date_time for i in infos} == {(2025, 11, 26, 0, 0, 0)}
    assert EpubBackend().write(rendered, ctx) == EpubBackend().write(rendered, ctx)
    modified = _opf(epub).find(".//opf:meta[@property='dcterms:modified']", NS).text
    assert modified == "2025-11-26T00:00:00Z"


def test_empty_content_is_refused(tiny: tuple[BuildContext, Rendered]) -> None:
    ctx, rendered = tiny
    empty = replace(rendered, pages=tuple(p for p in rendered.pages if p.kind != "chapter"))
    with pytest.raises(OutputError):  # ebooklib would raise inside write_epub, mid-file
        EpubBackend().write(empty, ctx)


def test_a_failing_back_end_leaves_no_partial_file(tiny_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bookmaker import pipeline
    from bookmaker.backends import epub as epub_backend

    out = tmp_path / "out"
    out.mkdir()
    (out / "tiny.epub").write_bytes(b"previous good build")

    def boom(self: object, rendered: Rendered, ctx: BuildContext) -> bytes:
        raise OutputError.at(tiny_book, None, "simulated failure")

    monkeypatch.setattr(epub_backend.EpubBackend, "write", boom)
    with pytest.raises(OutputError):
        pipeline.build(tiny_book, out, ("epub",))
    assert sorted(p.name for p in out.iterdir()) == ["tiny.epub"]
    assert (out / "tiny.epub").read_bytes() == b"previous good build"
