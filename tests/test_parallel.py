"""The PDF laid out in parts by parallel processes equals the book laid out as one document.

A book of ~120 photo chapters (the sample's, cycled) is long enough to be cut into parts. Each
profile's parts build is compared with the one-document build page by page as rendered pixels:
folios, running heads, the contents' page numbers, blank pages and filler pages included.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookmaker.backends.pdf import parts as pdf_parts
from bookmaker.backends.pdf.paginate import PrintedBook, print_book
from bookmaker.checks.preflight import preflight
from bookmaker.core.context import BuildContext, build_timestamp
from bookmaker.core.errors import OutputError, Reporter
from bookmaker.pipeline import build
from bookmaker.transform.book import load_book

SAMPLE = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = 120


def long_book(root: Path, profile: str, margin_inside: str = "0.875in") -> Path:
    """The sample's photo chapters cycled to CHAPTERS chapters, each with its own figure id."""
    (root / "chapters").mkdir(parents=True)
    toml = (SAMPLE / "book.toml").read_text(encoding="utf-8")
    toml = re.sub(r'profile = "[a-z]+"', f'profile = "{profile}"', toml)
    toml = toml.replace('trim = "6in x 9in"', f'trim = "6in x 9in"\nmargin_inside = "{margin_inside}"')
    (root / "book.toml").write_text(toml, encoding="utf-8")
    shutil.copy(SAMPLE / "chapters" / "00-introduction.md", root / "chapters" / "000-introduction.md")
    photos = sorted((SAMPLE / "chapters").glob("[0-9][0-9]-*.md"))[1:]
    for i in range(CHAPTERS):
        source = photos[i % len(photos)]
        text = re.sub(r"\{#photo-(\d\d)", f"{{#photo-{i + 1:03d}", source.read_text(encoding="utf-8"))
        (root / "chapters" / f"{i + 1:03d}-{source.name[3:]}").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True, scope="module")
def _fixed_time() -> object:
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "1764115200"
    yield
    if before is None:
        del os.environ["SOURCE_DATE_EPOCH"]
    else:
        os.environ["SOURCE_DATE_EPOCH"] = before


def printed(root: Path, **kwargs: object) -> tuple[PrintedBook, Reporter, object]:
    reporter = Reporter()
    book = load_book(root, reporter, with_cover=False)
    return print_book(BuildContext(book, build_timestamp(), reporter), **kwargs), reporter, book  # type: ignore[arg-type]


def pixels(pdf: bytes) -> list[bytes]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=40 / 72).to_pil().convert("L").tobytes() for i in range(len(doc))]
    finally:
        doc.close()


def assert_same_pages(parts: PrintedBook, one: PrintedBook) -> None:
    assert parts.pages == one.pages and parts.fillers == one.fillers and parts.margin_inside == one.margin_inside
    a, b = PdfReader(io.BytesIO(parts.data)), PdfReader(io.BytesIO(one.data))
    for i, (pa, pb) in enumerate(zip(a.pages, b.pages)):
        assert [float(v) for v in pa.trimbox] == [float(v) for v in pb.trimbox], f"TrimBox of page {i + 1}"
        assert [float(v) for v in pa.mediabox] == [float(v) for v in pb.mediabox], f"MediaBox of page {i + 1}"
        assert pa.extract_text() == pb.extract_text(), f"text of page {i + 1}"
    different = [i + 1 for i, (x, y) in enumerate(zip(pixels(parts.data), pixels(one.data))) if x != y]
    assert different == [], f"pages rendered differently: {different[:10]}"


@pytest.fixture(scope="module")
def kdp_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return long_book(tmp_path_factory.mktemp("kdp"), "kdp")


@pytest.fixture(scope="module")
def kdp_parts(kdp_book: Path) -> PrintedBook:
    return printed(kdp_book, jobs=2)[0]


def test_long_book_is_cut_into_parts_by_content_alone(kdp_book: Path) -> None:
    book = load_book(kdp_book, Reporter(), with_cover=False)
    front, parts = pdf_parts.split_parts(book)
    assert [ch.kind for ch in front] == ["front"]
    assert len(parts) >= 3
    assert [ch for part in parts for ch in part] == [ch for ch in book.chapters if ch.kind != "front"]
    sample = load_book(SAMPLE, Reporter(), with_cover=False)
    assert pdf_parts.split_parts(sample)[1] == []  # a short book is one document


def test_parts_equal_one_document_under_kdp(kdp_book: Path, kdp_parts: PrintedBook) -> None:
    one = printed(kdp_book, one_document=True)[0]
    # the introduction, the photo chapters and the Index their index marks make
    assert kdp_parts.chapter_starts is not None and len(kdp_parts.chapter_starts) == CHAPTERS + 2
    assert_same_pages(kdp_parts, one)
    reader = PdfReader(io.BytesIO(kdp_parts.data))
    assert "/Outlines" not in reader.trailer["/Root"] and all("/Annots" not in p for p in reader.pages)
    # the merge writes an image the parts share once: no bigger than 1.3x the one-document PDF,
    # and no more image objects than it has
    assert len(kdp_parts.data) <= 1.3 * len(one.data), (len(kdp_parts.data), len(one.data))
    assert _image_objects(kdp_parts.data) <= _image_objects(one.data)


def _image_objects(pdf: bytes) -> int:
    """Image XObjects among the file's objects (each one is written once, whoever uses it)."""
    reader = PdfReader(io.BytesIO(pdf))
    numbers = set(reader.xref_objStm)
    for by_number in reader.xref.values():
        numbers |= set(by_number)
    images = 0
    for number in sorted(numbers):
        obj = reader.get_object(number)
        images += bool(hasattr(obj, "get") and obj.get("/Subtype") == "/Image")
    return images


def test_any_number_of_jobs_gives_the_same_bytes(kdp_book: Path, kdp_parts: PrintedBook) -> None:
    assert printed(kdp_book, jobs=1)[0].data == kdp_parts.data
    assert printed(kdp_book, jobs=3)[0].data == kdp_parts.data


def test_parts_pass_kdp_preflight(kdp_book: Path, kdp_parts: PrintedBook) -> None:
    book = load_book(kdp_book, Reporter(), with_cover=False)
    report = preflight(kdp_parts.data, book.config, kdp_parts.layout)
    assert report.passed, report.diagnostics(kdp_book / "x.pdf")
    fonts = next(r for r in report.results if r.rule == "fonts embedded")
    assert fonts.passed and "Charis-SIL" in fonts.measured


def test_proof_keeps_bookmarks_and_links_across_parts(tmp_path: Path) -> None:
    root = long_book(tmp_path / "proof", "proof")
    parts, _, book = printed(root, jobs=2)
    one = printed(root, one_document=True)[0]
    assert_same_pages(parts, one)
    a, b = PdfReader(io.BytesIO(parts.data)), PdfReader(io.BytesIO(one.data))

    def outline_titles(reader: PdfReader) -> list[str]:
        out: list[str] = []

        def walk(items: list) -> None:  # type: ignore[type-arg]
            for item in items:
                if isinstance(item, list):
                    walk(item)
                else:
                    out.append(str(item.title))
        walk(reader.outline)
        return out

    assert outline_titles(a) == outline_titles(b) and len(outline_titles(a)) > CHAPTERS
    dests_a, dests_b = a.named_destinations, b.named_destinations
    for ch, start in zip(book.chapters, parts.chapter_starts or ()):  # type: ignore[attr-defined]
        assert a.get_destination_page_number(dests_a[ch.id]) == start == b.get_destination_page_number(dests_b[ch.id])

    def links(reader: PdfReader) -> list[tuple[int, str, int]]:
        found = []
        for i, page in enumerate(reader.pages):
            for annot in page.get("/Annots") or []:
                annot = annot.get_object()
                if annot.get("/Subtype") == "/Link" and "/Dest" in annot:
                    name = str(annot["/Dest"])
                    found.append((i, name, reader.get_destination_page_number(reader.named_destinations[name])))
        return found

    toc_entries = {(page, name) for page, name, _ in links(a) if name.startswith("ch-")}
    assert len(toc_entries) == CHAPTERS + 2  # every contents entry (the Index's too) leads to its chapter, across parts
    assert links(a) == links(b)


def test_gutter_band_change_lays_out_again(tmp_path: Path) -> None:
    """With a 0.4in gutter the book's ~260 pages need KDP's 0.5in band: a second pass, same pages."""
    root = long_book(tmp_path / "gutter", "kdp", margin_inside="0.4in")
    parts = printed(root, jobs=2)[0]
    assert parts.passes == 2 and parts.margin_inside == 0.5
    assert_same_pages(parts, printed(root, one_document=True)[0])


def test_ingramspark_parts_keep_pdfx_and_fill_the_signature(tmp_path: Path) -> None:
    if pdf_parts.default_jobs() < 1 or not list(Path("/usr/share").glob("ghostscript/*/iccprofiles/default_cmyk.icc")) \
            and not Path("/usr/share/color/icc/ghostscript/default_cmyk.icc").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Ghostscript's CMYK profile is missing (make system-deps)")
        pytest.skip("needs Ghostscript's CMYK profile")
    root = long_book(tmp_path / "ingram", "ingramspark")
    parts, _, book = printed(root, jobs=2)
    assert parts.pages % 6 == 0 and parts.fillers >= 1
    report = preflight(parts.data, book.config, parts.layout)  # type: ignore[attr-defined]
    assert report.passed, report.diagnostics(root / "x.pdf")
    reader = PdfReader(io.BytesIO(parts.data))
    root_obj = reader.trailer["/Root"]
    assert "/OutputIntents" in root_obj and "/Metadata" in root_obj
    assert reader.pdf_header.startswith("%PDF-1.")
    assert_same_pages(parts, printed(root, one_document=True)[0])


def test_a_process_that_dies_fails_the_build_and_writes_nothing(kdp_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / f"{load_book(kdp_book, Reporter(), with_cover=False).config.slug}.pdf"
    target.write_bytes(b"old")
    original, this_process = pdf_parts.finish, os.getpid()

    def dies(*args, **kwargs):  # type: ignore[no-untyped-def]
        if os.getpid() != this_process:  # a worker (the front part is laid out here)
            os._exit(3)
        return original(*args, **kwargs)

    monkeypatch.setattr(pdf_parts, "finish", dies)
    with pytest.raises(OutputError, match=r"stopped \(exit code 3\)"):
        build(kdp_book, out, formats=("pdf",), jobs=2)
    assert [p.name for p in out.iterdir()] == [target.name] and target.read_bytes() == b"old"


def test_rebuild_lays_out_only_the_edited_part_and_gives_the_same_bytes(kdp_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book_dir = tmp_path / "book"
    shutil.copytree(kdp_book, book_dir)
    out, cold_out = tmp_path / "out", tmp_path / "cold"
    build(book_dir, out, jobs=2)
    parts_dir = out / ".bookmaker-cache" / "parts"
    before = {p.name for p in parts_dir.iterdir()}
    assert len(before) >= 2 * 4  # a .json and a .bin for the front part and each body part
    last = sorted((book_dir / "chapters").glob("*.md"))[-1]
    last.write_text(last.read_text(encoding="utf-8") + "\nOne more short line.\n", encoding="utf-8")

    # placeholder_image looks draw_placeholder up in its own module
    from bookmaker.transform.images import placeholder

    def no_drawing(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a placeholder was drawn again")

    monkeypatch.setattr(placeholder, "draw_placeholder", no_drawing)
    outputs = build(book_dir, out, jobs=2)
    after = {p.name for p in parts_dir.iterdir()}
    assert len(after - before) == 2  # one part laid out again: its .json and .bin
    assert len(after) == len(before)  # the replaced entry is gone
    monkeypatch.undo()
    cold = build(book_dir, cold_out, jobs=2)
    for warm, fresh in zip(sorted(o.path for o in outputs), sorted(o.path for o in cold)):
        assert warm.read_bytes() == fresh.read_bytes(), warm.name
