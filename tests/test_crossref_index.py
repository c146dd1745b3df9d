"""Cross-references (`[@id]`) and the back-of-book index (`[text]{.index …}`): README, "Cross-references
and an index".

A small book built here has references of every kind, forward and backward, and index marks with
sub-entries, see, see-also and one term marked on consecutive pages. Its print PDF is laid out
once as one document and once in parts (one part per chapter or two), with one and with two jobs:
the page a reference prints and the pages an index entry lists are compared with the page the
target's own words are on in that PDF.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookmaker.backends.pdf import parts as pdf_parts
from bookmaker.backends.pdf.paginate import print_book
from bookmaker.core.context import BuildContext, build_timestamp
from bookmaker.core.errors import Reporter
from bookmaker.core.model import IndexEntry, IndexLocator
from bookmaker.render.index import print_pages
from bookmaker.transform.book import load_book
from bookmaker.transform.index import letter_of, sort_key
from bookmaker.transform.markdown.rules import markdown_it

from .conftest import EPOCH, ROOT, build_book, need

FILLER = ("The road ran on past the fields and the low houses, and nobody on it said a word about where "
          "it led or who had built it. ")
LONG = "\n\n".join(f"Paragraph {i}: " + FILLER * 6 + f"The [wombat]{{.index}} number {i} looked up." for i in range(14))

CHAPTERS = {
    "00-foreword.md": ("Foreword", "front", "A word first on [Quokkaland]{.index term=\"Quokkaland\"}. Read [@sec-gamma] later."),
    "01-alpha.md": ("Alpha", "body", ("Alpha text ALPHAWORD. See [@photo-3] ahead, [@sec-gamma] and [@nothing-here].\n\n"
                    "![A picture.](images/p1.png \"One.\"){#photo-1}\n\n"
                    "In [Pyongyang]{.index} the [subway]{.index term=\"Pyongyang!subway\"} runs deep. "
                    "[Great Leader]{.index see=\"Kim Il-sung\"} and [Éclair]{.index} and [10 May]{.index} and [2 June]{.index}.")),
    "02-beta.md": ("Beta", "body", "BETAWORD begins.\n\n" + LONG + "\n\nBack to [@photo-1] and [@ch-01-alpha]."),
    "03-gamma.md": ("Gamma", "body", "GAMMAWORD.\n\n![Third.](images/p3.png \"Three.\"){#photo-3}\n\n" + FILLER * 30 +
                    "\n\n## Section Gamma {#sec-gamma}\n\nSECTIONWORD here, with [Kim Il-sung]{.index seealso=\"Pyongyang\"} "
                    "and [Pyongyang]{.index}. Back to [@photo-1]."),
    "04-delta.md": ("Delta", "body", ("DELTAWORD. Forward and back: [@photo-3], [@sec-gamma], [@ch-02-beta].\n\n"
                    "| a | b |\n|---|---|\n| 1 | 2 |\n\n[Quokkaland]{.index} again; [subway]{.index term=\"Pyongyang!subway\"}.")),
}


def write_book(root: Path) -> Path:
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text(
        'title = "Cross Book"\nauthors = ["A. Writer"]\nlanguage = "en"\nchapter_label = "Photo"\n'
        'pending_images = ["images/*.png"]\n[print]\ntrim = "6in x 9in"\nprofile = "kdp"\n'
        '[print.overrides]\nmin_pages = 1\n', encoding="utf-8")
    for name, (title, kind, body) in CHAPTERS.items():
        (root / "chapters" / name).write_text(f"---\ntitle: {title}\nkind: {kind}\n---\n\n{body}\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_book(tmp_path_factory.mktemp("xref-book"))


def _print(root: Path, *, parts: bool, jobs: int = 1) -> tuple[list[str], Reporter]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        if parts:
            mp.setattr(pdf_parts, "PART_PAGES", 3)  # a part of a chapter or two
        reporter = Reporter()
        book = load_book(root, reporter, with_cover=False)
        if parts:
            assert len(pdf_parts.split_parts(book)[1]) >= 3
        printed = print_book(BuildContext(book, build_timestamp(), reporter), jobs=jobs, one_document=not parts)
    return [page.extract_text() for page in PdfReader(io.BytesIO(printed.data)).pages], reporter


@pytest.fixture(scope="module")
def layouts(book_dir: Path) -> dict[str, tuple[list[str], Reporter]]:
    return {"one document": _print(book_dir, parts=False), "parts, 1 job": _print(book_dir, parts=True, jobs=1),
            "parts, 2 jobs": _print(book_dir, parts=True, jobs=2)}


def folio_of(pages: list[str], word: str) -> int:
    """The folio of the page `word` is on: pages are counted from the first body chapter's opening."""
    opening = next(i for i, text in enumerate(pages) if "ALPHAWORD" in text)
    (index,) = [i for i, text in enumerate(pages) if word in text]
    return index - opening + 1


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("-\n", "-"))


@pytest.mark.parametrize("mode", ["one document", "parts, 1 job", "parts, 2 jobs"])
def test_references_print_their_target_and_its_page(layouts: dict[str, tuple[list[str], Reporter]], mode: str) -> None:
    pages, _ = layouts[mode]
    text = flat(" ".join(pages))
    photo3 = folio_of(pages, "GAMMAWORD")
    gamma = folio_of(pages, "SECTIONWORD")
    alpha = folio_of(pages, "ALPHAWORD")
    beta = folio_of(pages, "BETAWORD")
    assert gamma > photo3 > beta > alpha == 1  # the long chapter between them pushes the section on
    assert f"See Photo 3 (page {photo3}) ahead, “Section Gamma” (page {gamma})" in text  # forward
    assert f"Back to Photo 1 (page {alpha}) and Photo 1 (page {alpha})." in text  # backward, figure and chapter
    assert f"Forward and back: Photo 3 (page {photo3}), “Section Gamma” (page {gamma}), Photo 2 (page {beta})." in text
    assert f"Read “Section Gamma” (page {gamma}) later." in text  # from the front matter
    assert "[@nothing-here]" in text  # a missing id is printed as written


def test_parts_print_the_pages_of_one_document(layouts: dict[str, tuple[list[str], Reporter]]) -> None:
    one = layouts["one document"][0]
    for mode in ("parts, 1 job", "parts, 2 jobs"):
        assert [flat(p) for p in layouts[mode][0]] == [flat(p) for p in one], mode


def test_missing_reference_is_a_located_warning(layouts: dict[str, tuple[list[str], Reporter]], book_dir: Path) -> None:
    for mode, (_, reporter) in layouts.items():
        found = [str(w) for w in reporter.warnings if "nothing-here" in w.message]
        assert found == [(f"{book_dir / 'chapters' / '01-alpha.md'}:6: warning: cross-reference to 'nothing-here': "
                          "no such id in the book; printed as written")], mode


def _index_text(pages: list[str]) -> str:
    start = max(i for i, text in enumerate(pages) if "Index" in text and "Pyongyang" in text)
    return flat(" ".join(pages[start:]))


@pytest.mark.parametrize("mode", ["one document", "parts, 2 jobs"])
def test_index_lists_the_pages_the_terms_are_on(layouts: dict[str, tuple[list[str], Reporter]], mode: str) -> None:
    pages, _ = layouts[mode]
    index = _index_text(pages)
    alpha, gamma, delta = folio_of(pages, "ALPHAWORD"), folio_of(pages, "SECTIONWORD"), folio_of(pages, "DELTAWORD")
    wombats = sorted({folio_of(pages, f"number {i} looked") for i in range(14)})
    assert len(wombats) >= 3 and wombats == list(range(wombats[0], wombats[-1] + 1))  # consecutive pages
    foreword = next(i for i, text in enumerate(pages) if "A word first" in text) + 1  # roman, from the first page
    roman = {3: "iii", 4: "iv", 5: "v", 6: "vi", 7: "vii", 8: "viii", 9: "ix"}[foreword]
    assert f"wombat, {wombats[0]}–{wombats[-1]} " in index  # one range, each page once
    assert f"Pyongyang, {alpha}, {gamma}. See also" not in index
    assert f"Pyongyang, {alpha}, {gamma} subway, {alpha}, {delta} " in index  # a sub-entry under its entry
    assert f"Kim Il-sung, {gamma}. See also Pyongyang" in index
    assert "Great Leader, see Kim Il-sung" in index
    assert f"Quokkaland, {roman}, {delta}" in index  # front matter's roman folio
    # sorted: numbers first (by value), accents ignored, letter groups
    assert index.index("2 June") < index.index("10 May") < index.index("Éclair") < index.index("Great Leader") \
        < index.index("Kim Il-sung") < index.index("Pyongyang") < index.index("Quokkaland") < index.index("wombat")
    assert re.search(r"0–9 2 June.* E Éclair.* G Great Leader", index)


def test_sort_key_rule() -> None:
    terms = ["zebra", "Éclair", "eclipse", "“Juche”", "New York", "Newark", "10 May", "2 June", "apple", "Apple"]
    assert sorted(terms, key=sort_key) == ["2 June", "10 May", "Apple", "apple", "Éclair", "eclipse", "“Juche”",
                                           "New York", "Newark", "zebra"]
    assert [letter_of(t) for t in ("Éclair", "“Juche”", "2 June", "-")] == ["E", "J", "0–9", "#"]


def test_pages_merged_into_ranges() -> None:
    locs = tuple(IndexLocator(f"a{i}", "x.xhtml", "Photo 1") for i in range(7))
    entry = IndexEntry("t", "ix-t", locs)
    folios = {"a0": "iii", "a1": "3", "a2": "4", "a3": "4", "a4": "5", "a5": "9", "a6": "10"}
    assert print_pages(entry, folios) == [("iii", "a0"), ("3–5", "a1"), ("9–10", "a5")]
    assert print_pages(entry, {"a0": "1"}) == [("", f"a{i}") for i in range(7)]  # not known yet: one per mark


def test_markup() -> None:
    html = markdown_it().render('See [@photo-3], [x]{.index term="a!b" see="c"} and [y]{.odd key=v #k}.',
                                {"docId": "ch-t", "chapters": {}})
    assert '<a class="xref" href="#photo-3">[@photo-3]</a>' in html
    assert '<span class="index-mark" id="mark-ch-t-1" data-index="a!b" data-see="c">x</span>' in html
    assert '<span id="k" class="odd">y</span>' in html  # key=value pairs are not XHTML attributes


@pytest.fixture(scope="module")
def built(book_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> object:
    return build_book(book_dir, tmp_path_factory.mktemp("xref-out"))


def test_epub_links_and_index_markup(built: object) -> None:
    epub = built.epub  # type: ignore[attr-defined]
    with zipfile.ZipFile(epub) as z:
        alpha = z.read("EPUB/01-alpha.xhtml").decode()
        index = z.read("EPUB/index.xhtml").decode()
        nav = z.read("EPUB/nav.xhtml").decode()
        opf = z.read("EPUB/content.opf").decode()
    assert '<a class="xref" href="03-gamma.xhtml#photo-3">Photo 3</a>' in alpha
    assert '<a class="xref" href="03-gamma.xhtml#sec-gamma">“Section Gamma”</a>' in alpha
    assert "data-index" not in alpha and '<span class="index-mark" id="mark-ch-01-alpha-1">Pyongyang</span>' in alpha
    assert 'epub:type="index" role="doc-index"' in index
    assert ('<a epub:type="index-locator" href="01-alpha.xhtml#mark-ch-01-alpha-1">Photo 1</a>, '
            '<a epub:type="index-locator" href="03-gamma.xhtml#mark-ch-03-gamma-2">Photo 3</a>') in index
    assert 'href="index.xhtml"' in nav and 'href="index.xhtml"' in opf


def test_epubcheck_and_ace_report_nothing(built: object) -> None:
    from bookmaker.checks.validate import ValidatorMissing, run_ace, resident_epubcheck

    epub = built.epub  # type: ignore[attr-defined]
    try:
        report = resident_epubcheck().check(epub)
    except ValidatorMissing as exc:
        need(str(exc))
    assert report.counts.get("errors", 0) == 0 and report.counts.get("warnings", 0) == 0, report.findings
    try:
        ace = run_ace(epub, ROOT)  # the project's node_modules (make test), else PATH
    except ValidatorMissing as exc:
        need(str(exc))
    assert ace.counts["violations"] == 0, ace.findings


def test_references_to_other_parts_settle_or_say_so(tmp_path: Path) -> None:
    """A reference to another part prints the folio of the last layout; when a layout moves it, the
    pass is repeated (twice at most), and then the book is kept with a warning, never silently."""
    from types import SimpleNamespace

    from bookmaker.backends.pdf.paginate import _check_references, _Known
    from bookmaker.backends.pdf.parts import PassAbandoned
    from bookmaker.core.model import Chapter, HtmlBlock

    def chapter(slug: str, html: str) -> Chapter:
        return Chapter(tmp_path / f"{slug}.md", slug, slug, "body", "", 1, blocks=(HtmlBlock(html),))

    a = chapter("a", '<p><a class="xref" href="b.xhtml#target">Photo 2</a> <a class="xref" href="#here">x</a></p>')
    b = chapter("b", '<p id="target">t</p>')
    reporter = Reporter()
    ctx = SimpleNamespace(reporter=reporter, book=SimpleNamespace(config=SimpleNamespace(root=tmp_path)))
    known = _Known({"target": "7"})
    _check_references(ctx, known, {"target": "7", "here": "1"}, (), [(a,), (b,)], 20)  # type: ignore[arg-type]
    assert known.rounds == 0 and not reporter.warnings  # settled: nothing to do
    for round_ in (1, 2):
        with pytest.raises(PassAbandoned):
            _check_references(ctx, known, {"target": str(7 + round_)}, (), [(a,), (b,)], 20)  # type: ignore[arg-type]
        assert known.rounds == round_ and known.folios["target"] == str(7 + round_)
    _check_references(ctx, known, {"target": "11"}, (), [(a,), (b,)], 20)  # type: ignore[arg-type]
    assert [w.message for w in reporter.warnings] == [
        "the pages printed by 1 cross-reference(s) to other parts of the book did not settle after 3 layouts "
        "(first: 'target'); they may be a page off"]
    _check_references(ctx, known, {"target": "11"}, (), [(a, b)], 20)  # type: ignore[arg-type]  # one part: no folio printed
