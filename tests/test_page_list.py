"""The print edition's page numbers in the EPUB (render/pagelist.py, backends/pdf/wp_pages.py):
a marker where each PDF page begins, the nav's page-list, the OPF's page source, and the page
breaks an EPUB built alone reuses from the last print build (cache/pagebreaks.py).

For every page of the sample book and of a generated 300-page book with notes laid out in parts
(tests/test_notes_long.generate), the words right after the page's marker in the EPUB are the
first words of the PDF page's text block (running heads and folios cropped away; the notes at
the page's foot come after the first words).
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from bookmaker.core.errors import Reporter
from bookmaker.render.pagelist import roman
from bookmaker.source.config import load_config

from .conftest import SAMPLE, Built, build_book, which
from .test_notes_long import generate

XHTML = "{http://www.w3.org/1999/xhtml}"
OPS = "{http://www.idpf.org/2007/ops}"
WORDS = 4  # words compared after each marker
NOTES = {"footnotes", "footnote"}  # the EPUB's notes: after the chapter's text, not where the page begins


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Built]:
    root = generate(tmp_path_factory.mktemp("page-list-long") / "book")
    return root, build_book(root, tmp_path_factory.mktemp("page-list-long-out"), jobs=2)


def _markers(epub: Path) -> list[tuple[str, str, list[str]]]:
    """(label, file, the words after the marker) of every marker, in the page-list's order."""
    with zipfile.ZipFile(epub) as z:
        nav = etree.fromstring(z.read("EPUB/nav.xhtml"))
        (page_list,) = [n for n in nav.iter(f"{XHTML}nav") if n.get(f"{OPS}type") == "page-list"]
        docs: dict[str, etree._Element] = {}
        out = []
        for a in page_list.iter(f"{XHTML}a"):
            name, ident = a.get("href").split("#")
            doc = docs.setdefault(name, etree.fromstring(z.read(f"EPUB/{name}")))
            (span,) = doc.xpath(f"//*[@id='{ident}']")
            assert span.get(f"{OPS}type") == "pagebreak" and span.get("role") == "doc-pagebreak"
            assert span.get("aria-label") == a.text and len(span) == 0 and not (span.text or "").strip()
            out.append((a.text, name, _words_after(span)))
        return out


def _words_after(span: etree._Element) -> list[str]:
    words: list[str] = []
    for text in span.xpath("following::text()"):
        parent = text.getparent()
        if any(set((el.get("class") or "").split()) & (NOTES | {"index-locators"}) for el in [parent, *parent.iterancestors()]):
            continue  # the Index's locators are the chapters in the EPUB, pages in print
        words.extend(_normal(text))
        if len(words) > WORDS:
            break
    return words[:WORDS]


def _normal(text: str) -> list[str]:
    """Words as letters only: the PDF's text has the note calls' numbers glued to the words."""
    return [w for w in (re.sub(r"[^\w]|\d|_", "", word).lower() for word in text.split()) if w]


def _pdf_pages(pdf: Path, root: Path) -> list[list[str]]:
    """The first words of each PDF page's text block: every page cropped below its top margin
    (pages have one height and one top bleed), read by one pdftotext."""
    config = load_config(root)
    page = PdfReader(str(pdf)).pages[0]
    media, trim = page.mediabox, page.trimbox
    top = float(media.top) - float(trim.top) + config.print.margin_top * 72 - 2
    text = subprocess.run([which("pdftotext"), "-x", "0", "-y", f"{top:.0f}", "-W", f"{float(media.width):.0f}",
                           "-H", f"{float(media.height) - top:.0f}", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")[:-1]
    return [_normal(re.sub(r"[-\u2010\u00ad]\n", "", page))[:WORDS] for page in pages]  # a word hyphenated at a line's end


def _texts(pdf: Path) -> list[str]:
    return subprocess.run([which("pdftotext"), str(pdf), "-"], check=True, capture_output=True, text=True).stdout.split("\f")[:-1]


def _check_words(markers: list[tuple[str, str, list[str]]], pages: list[list[str]]) -> int:
    """Every page with text: the marker's words are its first words; a page that begins inside a
    word (hyphenated) has its marker before that word. Returns the pages compared."""
    assert len(markers) == len(pages)
    compared = 0
    for (label, name, after), first in zip(markers, pages):
        if not first or name in ("titlepage.xhtml", "copyright.xhtml", "nav.xhtml"):
            continue
        compared += 1
        if name == "index.xhtml":  # two columns, which pdftotext reads across: the page's first word
            assert after[0].endswith(first[0]), (label, name, after, first)
            continue
        assert after[0].endswith(first[0]) and after[1:len(first)] == first[1:], (label, name, after, first)
    return compared


def _labels(pdf: Path, first_body_page: int) -> list[str]:
    count = len(PdfReader(str(pdf)).pages)
    return [roman(i + 1) if i < first_body_page else str(i - first_body_page + 1) for i in range(count)]


def _crop(pdf: Path, y: float, height: float, media: object) -> list[str]:
    width = float(media.width)  # type: ignore[attr-defined]
    return subprocess.run([which("pdftotext"), "-x", "0", "-y", f"{y:.0f}", "-W", f"{width:.0f}", "-H", f"{height:.0f}",
                           str(pdf), "-"], check=True, capture_output=True, text=True).stdout.split("\f")[:-1]


def _page_of(pdf: Path, needle: str) -> int:
    return next(n for n, text in enumerate(_texts(pdf)) if needle in text)


# -- the sample book -----------------------------------------------------------------------------


def test_sample_markers_are_where_the_pdf_pages_begin(sample: Built) -> None:
    markers = _markers(sample.epub)
    assert _check_words(markers, _pdf_pages(sample.pdf, SAMPLE)) >= 29  # every chapter opening, and the pages after


def test_sample_page_list_has_every_printed_folio(sample: Built) -> None:
    markers = _markers(sample.epub)
    labels = [label for label, _, _ in markers]
    assert labels == _labels(sample.pdf, _page_of(sample.pdf, "PHOTO 1\n"))
    assert labels[:8] == ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii"]
    files = [name for _, name, _ in markers]
    # half title, its blank verso and the title page on the title page; then copyright, contents
    assert files[:6] == ["titlepage.xhtml"] * 3 + ["copyright.xhtml"] + ["nav.xhtml"] * 2
    assert files[6] == "00-introduction.xhtml"
    # Photo 1's plate (page viii, the left-hand page before the body's folio 1) is marked before
    # the section, whose first content is that photograph in the EPUB; page 1 before the title after it
    with zipfile.ZipFile(sample.epub) as z:
        page = z.read("EPUB/01-the-statue-from-behind.xhtml").decode()
    assert re.search(r'id="page-viii" aria-label="viii"></span><section [^>]*>\n<figure id="photo-01" class="[^"]*plate-figure'
                     r'.*?</figure>\n<span [^>]*id="page-1" aria-label="1"></span><header', page, re.S)


def test_sample_printed_folios_are_the_labels(sample: Built) -> None:
    """Where a page prints its folio (a running head, or the foot of an opening page), it is the label."""
    labels = [label for label, _, _ in _markers(sample.epub)]
    config = load_config(SAMPLE)
    page = PdfReader(str(sample.pdf)).pages[0]
    media, trim = page.mediabox, page.trimbox
    head = float(media.top) - float(trim.top) + config.print.margin_top * 72 - 2  # the top margin, bleed included
    foot = float(media.top) - float(trim.bottom) - config.print.margin_bottom * 72 + 2
    crops = [_crop(sample.pdf, 0, head, media), _crop(sample.pdf, foot, float(media.height) - foot, media)]
    checked = 0
    for n, label in enumerate(labels):
        folios = {t for crop in crops for t in crop[n].split() if t.isdigit() or re.fullmatch(r"[ivxlc]+", t)}
        if folios:
            checked += 1
            assert label in folios, (n + 1, label, folios)
    assert checked >= 30


def test_sample_opf_declares_the_page_source(sample: Built) -> None:
    with zipfile.ZipFile(sample.epub) as z:
        opf = z.read("EPUB/content.opf").decode()
    identifier = load_config(SAMPLE).identifier
    assert f'<dc:source id="print-source">{identifier}</dc:source>' in opf
    assert f'<meta property="pageBreakSource">{identifier}</meta>' in opf
    for feature in ("pageBreakMarkers", "pageNavigation"):
        assert f'<meta property="schema:accessibilityFeature">{feature}</meta>' in opf


def test_an_isbn_is_the_page_source(tiny_book: Path, tmp_path: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text() + 'isbn = "978-0-306-40615-7"\n')
    built = build_book(tiny_book, tmp_path / "out")
    with zipfile.ZipFile(built.epub) as z:
        opf = z.read("EPUB/content.opf").decode()
    assert '<dc:source id="print-source">urn:isbn:9780306406157</dc:source>' in opf
    assert '<meta property="pageBreakSource">urn:isbn:9780306406157</meta>' in opf


# -- a long book with notes, laid out in parts ---------------------------------------------------


def test_long_book_markers_are_where_the_pdf_pages_begin(long_book: tuple[Path, Built]) -> None:
    root, built = long_book
    markers = _markers(built.epub)
    pages = _pdf_pages(built.pdf, root)
    assert len(pages) >= 280
    assert _check_words(markers, pages) >= 250
    assert [label for label, _, _ in markers] == _labels(built.pdf, _page_of(built.pdf, "o1z"))


def test_one_job_and_two_give_the_same_markers(long_book: tuple[Path, Built], tmp_path: Path) -> None:
    root, built = long_book
    again = build_book(root, tmp_path / "one-job", jobs=1)
    assert again.epub.read_bytes() == built.epub.read_bytes()


# -- an EPUB built alone -------------------------------------------------------------------------


class _Layouts:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from bookmaker.backends.pdf import paginate

        self.count = 0
        real = paginate.print_book

        def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(paginate, "print_book", counted)


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Layouts]:
    yield _Layouts(monkeypatch)


def test_epub_alone_reuses_the_last_print_build(sample: Built, tmp_path: Path, layouts: _Layouts) -> None:
    alone = build_book(SAMPLE, tmp_path / "epub", formats=("epub",))
    assert layouts.count == 0
    assert alone.epub.read_bytes() == sample.epub.read_bytes()


def _edit(root: Path) -> None:
    chapter = sorted((root / "chapters").glob("*.md"))[-1]
    chapter.write_text(chapter.read_text() + "\n" + "More words at the end of the book, to be sure. " * 120 + "\n")


def test_epub_alone_lays_the_print_out_when_a_chapter_changed(tiny_book: Path, tmp_path: Path, layouts: _Layouts) -> None:
    build_book(tiny_book, tmp_path / "first")
    assert layouts.count == 1
    before = _markers(build_book(tiny_book, tmp_path / "epub", formats=("epub",)).epub)
    assert layouts.count == 1  # unchanged: reused
    _edit(tiny_book)
    alone = build_book(tiny_book, tmp_path / "epub", formats=("epub",))
    assert layouts.count == 2  # a chapter changed: laid out again, the PDF not written
    assert not (tmp_path / "epub" / alone.epub.with_suffix(".pdf").name).exists()
    after = _markers(alone.epub)
    assert len(after) > len(before)
    both = build_book(tiny_book, tmp_path / "both")
    assert _markers(both.epub) == after
    assert _check_words(after, _pdf_pages(both.pdf, tiny_book)) >= 2


def _set(root: Path, line: str) -> int:
    toml = root / "book.toml"
    lines = toml.read_text().splitlines()
    at = next(i for i, text in enumerate(lines) if text.startswith("[")) if any(t.startswith("[") for t in lines) else len(lines)
    lines.insert(at, line)
    toml.write_text("\n".join(lines) + "\n")
    return at + 1


def test_reuse_leaves_the_page_list_out_with_a_warning_when_stale(tiny_book: Path, tmp_path: Path, layouts: _Layouts) -> None:
    line = _set(tiny_book, 'page_list = "reuse"')
    build_book(tiny_book, tmp_path / "first")
    assert len(_markers(build_book(tiny_book, tmp_path / "epub", formats=("epub",)).epub)) >= 2  # valid: reused
    _edit(tiny_book)
    alone = build_book(tiny_book, tmp_path / "epub", formats=("epub",))
    assert layouts.count == 1
    warnings = [w for w in alone.warnings if "page_list" in w]
    assert len(warnings) == 1 and warnings[0].startswith(f"{tiny_book / 'book.toml'}:{line}: warning: page_list = \"reuse\"")
    _assert_no_page_list(alone.epub)


def test_none_has_no_page_list(tiny_book: Path, tmp_path: Path, layouts: _Layouts) -> None:
    _set(tiny_book, 'page_list = "none"')
    alone = build_book(tiny_book, tmp_path / "epub", formats=("epub",))
    assert layouts.count == 0 and not [w for w in alone.warnings if "page_list" in w]
    _assert_no_page_list(alone.epub)


def _assert_no_page_list(epub: Path) -> None:
    with zipfile.ZipFile(epub) as z:
        text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith((".xhtml", ".opf")))
    assert "pagebreak" not in text and "page-list" not in text and "pageBreakSource" not in text
    assert "pageNavigation" not in text and "<dc:source" not in text


def test_a_wrong_setting_is_a_located_error(tiny_book: Path) -> None:
    from bookmaker.core.errors import BookError
    from bookmaker.transform.book import load_book

    line = _set(tiny_book, 'page_list = "always"')
    with pytest.raises(BookError) as caught:
        load_book(tiny_book, Reporter())
    assert f"book.toml:{line}: error:" in str(caught.value) and "page_list" in str(caught.value)


def test_previews_carry_the_markers_of_a_valid_map(sample: Built, tmp_path: Path) -> None:
    """A chapter's preview page is its EPUB page: with the markers of the last print build."""
    from bookmaker.preview.chapter import preview

    page, _ = preview(SAMPLE, "1", tmp_path / "out")
    with zipfile.ZipFile(sample.epub) as z:
        assert page.path.read_bytes() == z.read(f"EPUB/{page.path.name}")
    assert b'epub:type="pagebreak"' in page.path.read_bytes()


def test_a_marker_goes_before_the_word_or_picture_and_out_of_what_it_opens() -> None:
    """The marking alone: a unit inside a word marks the word (across inline tags); a marker leaves
    the elements its word or picture opens (a figure), but never goes where a span may not stand
    (between list items); note calls are not counted; a unit past the end ends the section."""
    from bookmaker.core.model import Chapter
    from bookmaker.render.pagelist import mark_chapter

    chapter = Chapter(path=Path("x.md"), slug="c", title="T", kind="body", source="", body_line=1)
    page = ('<body><section id="ch-c"><p>One <em>extra</em>ordinary&#160;word.</p><ol><li>Two</li></ol>'
            '<figure><img src="a.png" alt="a"/><figcaption>Cap</figcaption></figure>'
            '<p>x<a class="noteref" href="#n"><sup>1</sup></a> y</p></section></body>')
    # units: One 0-2, extraordinary 3-15, word. 16-20, Two 21-23, the picture 24, Cap 25-27, x 28, y 29
    wanted = [(0, "1"), (5, "2"), (10, "3"), (17, "4"), (21, "5"), (24, "6"), (26, "7"), (29, "8"), (99, "9")]
    marked = mark_chapter(page, chapter, wanted, False)
    mark = {label: f'<span epub:type="pagebreak" role="doc-pagebreak" id="page-{label}" aria-label="{label}"></span>'
            for _, label in wanted}
    assert marked == ("<body>" + mark["1"] + '<section id="ch-c"><p>One ' + mark["2"] + mark["3"]
                      + "<em>extra</em>ordinary&#160;" + mark["4"] + "word.</p><ol><li>" + mark["5"] + "Two</li></ol>"
                      + mark["6"] + '<figure><img src="a.png" alt="a"/>' + mark["7"] + "<figcaption>Cap</figcaption></figure>"
                      + '<p>x<a class="noteref" href="#n"><sup>1</sup></a> ' + mark["8"] + "y</p>" + mark["9"]
                      + "</section></body>")
