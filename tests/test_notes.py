"""Notes: book.toml's `notes` and `note_numbers`, the EPUB's pop-up footnotes and Notes page, and
the markup print is given (transform/markdown/notes.py, transform/notes/). How WeasyPrint lays
the notes out on real pages is tests/test_notes_print.py; a long book, tests/test_notes_long.py;
EPUBCheck and Ace on books with notes, the corpus books `notes` and `endnotes` (test_corpus.py)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from bookmaker.core.errors import ConfigError, Reporter
from bookmaker.core.model import HtmlBlock
from bookmaker.render.printed import render_print
from bookmaker.source.config import load_config
from bookmaker.transform import markdown
from bookmaker.transform.book import load_book
from bookmaker.transform.notes import NoteLimits, for_print

from .conftest import build_book
from .test_cli_errors import assert_one_error, run

XHTML = "http://www.w3.org/1999/xhtml"
EPUB = "http://www.idpf.org/2007/ops"
NS = {"h": XHTML, "epub": EPUB}


def _chapters(root: Path, toml: str = "", **chapters: str) -> Path:
    (root / "book.toml").write_text(root.joinpath("book.toml").read_text(encoding="utf-8") + toml, encoding="utf-8")
    for old in (root / "chapters").glob("*.md"):
        old.unlink()
    for name, body in chapters.items():
        (root / "chapters" / f"{name}.md").write_text(f"---\ntitle: {name[3:].title()}\n---\n\n{body}", encoding="utf-8")
    return root


TWO = {
    "01-one": "First[^a] and second[^b] and the first again[^a].\n\n[^a]: Note A.\n[^b]: Note B with [a link](02-two.md).\n",
    "02-two": "Third[^c] here.\n\n## Later {#later}\n\nDone.^[An inline note.]\n\n[^c]: Note C, see [later](#later).\n",
}


def _page(epub: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        return etree.fromstring(z.read(f"EPUB/{name}"))


# --- book.toml ---------------------------------------------------------------------------------


def test_the_settings_default_to_notes_at_the_foot_numbered_by_chapter(tiny_book: Path) -> None:
    config = load_config(tiny_book)
    assert (config.notes, config.note_numbers) == ("foot", "chapter")
    _chapters(tiny_book, 'notes = "book"\nnote_numbers = "book"\n', **TWO)
    config = load_config(tiny_book)
    assert (config.notes, config.note_numbers) == ("book", "book")


@pytest.mark.parametrize("key, value", [("notes", "side"), ("note_numbers", "page"), ("notes", "1")])
def test_a_bad_setting_is_one_located_error(tiny_book: Path, key: str, value: str) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'{key} = "{value}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tiny_book)
    (problem,) = info.value.diagnostics
    assert problem.location.line == 5 and f"'{key}': expected one of" in problem.message and repr(value) in problem.message


def test_a_bad_setting_stops_the_build_with_exit_3(tiny_book: Path, tmp_path: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'notes = "margin"\n', encoding="utf-8")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_error(proc, f"{toml}:5", "'notes': expected one of 'foot', 'chapter', 'book', got 'margin'", 3)


# --- numbering ---------------------------------------------------------------------------------


def _calls(book: object, chapter: int) -> list[str]:
    html = "".join(b.html for b in book.chapters[chapter].blocks if isinstance(b, HtmlBlock) and not b.notes)  # type: ignore[attr-defined]
    return re.findall(r'class="noteref" [^>]*><sup>(\d+)</sup>', html)


def test_numbers_restart_in_each_chapter_or_run_on_through_the_book(tiny_book: Path) -> None:
    _chapters(tiny_book, **TWO)
    book = load_book(tiny_book, Reporter(), with_cover=False)
    assert _calls(book, 0) == ["1", "2", "1"] and _calls(book, 1) == ["1", "2"]
    _chapters(tiny_book, 'note_numbers = "book"\n', **TWO)
    book = load_book(tiny_book, Reporter(), with_cover=False)
    assert _calls(book, 0) == ["1", "2", "1"] and _calls(book, 1) == ["3", "4"]
    # the ids stay the chapter's own, whatever the numbers shown
    assert 'href="#fn-ch-02-two-1"' in book.chapters[1].blocks[0].html  # type: ignore[union-attr]


def test_a_preview_numbers_on_from_the_chapters_it_does_not_render(tiny_book: Path) -> None:
    _chapters(tiny_book, 'note_numbers = "book"\n', **TWO)
    book = load_book(tiny_book, Reporter(), with_cover=False, only=lambda ch: ch.slug == "02-two")
    assert not book.chapters[0].blocks and _calls(book, 1) == ["3", "4"]


def test_markdown_numbers_from_first_note() -> None:
    parsed = markdown.parse(Path("x.md"), "A[^x] b[^y].\n\n[^x]: X.\n[^y]: Y.\n", 4, "ch-x", "Chapter 1")
    *_, notes = markdown.render(parsed, {}, {}, first_note=41)
    assert re.findall(r'class="note-number"[^>]*>(\d+)</a>', notes.html) == ["41", "42"]
    assert markdown.count_notes(parsed.tokens) == 2 == markdown.notes_in("A[^x] b[^y].\n\n[^x]: X.\n[^y]: Y.\n")


# --- the EPUB: pop-up footnotes ------------------------------------------------------------------


def test_epub_notes_are_asides_after_the_text_with_calls_and_ways_back(tiny_book: Path, tmp_path: Path) -> None:
    built = build_book(_chapters(tiny_book, **TWO), tmp_path / "out", formats=("epub",))
    page = _page(built.epub, "01-one.xhtml")
    section = page.find(".//h:section", NS)
    asides = page.findall(".//h:aside", NS)
    assert [a.get("id") for a in asides] == ["fn-ch-01-one-1", "fn-ch-01-one-2"]
    for aside in asides:
        assert (aside.get(f"{{{EPUB}}}type"), aside.get("role")) == ("footnote", "doc-footnote")
        assert aside.getparent().get("class") == "footnotes" and aside.getparent().getparent() is section
    assert section[-1].get("class") == "footnotes"  # after the chapter's text: a reading system keeps it out of the flow
    calls = page.findall(".//h:a[@class='noteref']", NS)
    assert [(c.get(f"{{{EPUB}}}type"), c.get("role"), c.get("href")) for c in calls] == [
        ("noteref", "doc-noteref", "#fn-ch-01-one-1"), ("noteref", "doc-noteref", "#fn-ch-01-one-2"),
        ("noteref", "doc-noteref", "#fn-ch-01-one-1")]
    backs = [(a.get("href"), a.text) for a in page.findall(".//h:aside//h:a[@role='doc-backlink']", NS)]
    assert backs == [("#fnref-ch-01-one-1", "1"), ("#fnref-ch-01-one-1-1", "\u21a9\ufe0e"), ("#fnref-ch-01-one-2", "2")]
    with zipfile.ZipFile(built.epub) as z:
        css = z.read("EPUB/css/notes.css").decode("utf-8")
        assert 'href="css/notes.css"' in z.read("EPUB/01-one.xhtml").decode("utf-8")
    assert "display: none" not in css and "display:none" not in css  # Apple Books and Kobo would show nothing


def test_a_book_without_notes_carries_no_notes_stylesheet(tiny_book: Path, tmp_path: Path) -> None:
    built = build_book(tiny_book, tmp_path / "out", formats=("epub",))
    with zipfile.ZipFile(built.epub) as z:
        assert "EPUB/css/notes.css" not in z.namelist()
        assert "notes.css" not in z.read("EPUB/01-one.xhtml").decode("utf-8")


def test_notes_at_the_chapter_end_give_the_same_epub(tiny_book: Path, tmp_path: Path) -> None:
    foot = build_book(_chapters(tiny_book, **TWO), tmp_path / "foot", formats=("epub",))
    chapter = build_book(_chapters(tiny_book, 'notes = "chapter"\n', **TWO), tmp_path / "chapter", formats=("epub",))
    with zipfile.ZipFile(foot.epub) as a, zipfile.ZipFile(chapter.epub) as b:
        assert a.read("EPUB/01-one.xhtml") == b.read("EPUB/01-one.xhtml")


# --- the EPUB: one Notes page ------------------------------------------------------------------


def test_book_notes_go_to_one_notes_page_at_the_end(tiny_book: Path, tmp_path: Path) -> None:
    built = build_book(_chapters(tiny_book, 'notes = "book"\nnote_numbers = "book"\n', **TWO), tmp_path / "out", formats=("epub",))
    assert built.warnings == ()
    with zipfile.ZipFile(built.epub) as z:
        opf = z.read("EPUB/content.opf").decode("utf-8")
        nav = z.read("EPUB/nav.xhtml").decode("utf-8")
    spine = re.findall(r'<itemref idref="([^"]+)"', opf)
    assert re.search(rf'<item href="notes.xhtml" id="{spine[-1]}"', opf), "the Notes page ends the book"
    assert 'href="notes.xhtml"' in nav
    one, notes = _page(built.epub, "01-one.xhtml"), _page(built.epub, "notes.xhtml")
    assert one.find(".//h:aside", NS) is None  # the notes left the chapter
    assert [c.get("href") for c in one.findall(".//h:a[@class='noteref']", NS)] == [
        "notes.xhtml#fn-ch-01-one-1", "notes.xhtml#fn-ch-01-one-2", "notes.xhtml#fn-ch-01-one-1"]
    section = notes.find(".//h:section", NS)
    assert (section.get(f"{{{EPUB}}}type"), section.get("role")) == ("endnotes", "doc-endnotes")
    groups = section.findall("h:section", NS)
    assert ["".join(g.find("h:h2", NS).itertext()) for g in groups] == ["Chapter 1 One", "Chapter 2 Two"]
    items = notes.findall(".//h:ol/h:li", NS)
    assert [li.get("id") for li in items] == ["fn-ch-01-one-1", "fn-ch-01-one-2", "fn-ch-02-two-1", "fn-ch-02-two-2"]
    assert all(li.get(f"{{{EPUB}}}type") is None and li.get("role") is None for li in items)  # endnote: deprecated
    assert groups[1].find("h:ol", NS).get("start") == "3"  # numbered on through the book
    backs = [a.get("href") for a in notes.findall(".//h:a[@role='doc-backlink']", NS)]
    assert backs[:3] == ["01-one.xhtml#fnref-ch-01-one-1", "01-one.xhtml#fnref-ch-01-one-1-1", "01-one.xhtml#fnref-ch-01-one-2"]
    links = [a.get("href") for a in notes.findall(".//h:li//h:a", NS) if a.get("role") is None]
    assert "02-two.xhtml" in links and "02-two.xhtml#later" in links  # a note's links work from the Notes page


def test_a_book_notes_preview_is_its_epub_page(tiny_book: Path, tmp_path: Path) -> None:
    from bookmaker.preview.chapter import preview

    root = _chapters(tiny_book, 'notes = "book"\nnote_numbers = "book"\n', **TWO)
    built = build_book(root, tmp_path / "full", formats=("epub",))
    page, _ = preview(root, "2", tmp_path / "out", reporter=Reporter())
    with zipfile.ZipFile(built.epub) as z:
        assert page.path.read_bytes() == z.read("EPUB/02-two.xhtml")


def test_a_chapter_named_notes_keeps_its_page(tiny_book: Path, tmp_path: Path) -> None:
    (tiny_book / "chapters" / "notes.md").write_text("---\ntitle: Notes\nkind: back\n---\n\nThe author's own notes[^n].\n\n[^n]: One.\n")
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'notes = "book"\n', encoding="utf-8")
    built = build_book(tiny_book, tmp_path / "book", formats=("epub",))
    with zipfile.ZipFile(built.epub) as z:
        names = z.namelist()
    assert "EPUB/notes.xhtml" in names and "EPUB/notes-2.xhtml" in names


# --- what print is given -------------------------------------------------------------------------


LIMITS = NoteLimits(piece=400, tail=10_000, page=1500)


def _chapter(source: str):  # type: ignore[no-untyped-def]
    from bookmaker.core.model import Chapter

    parsed = markdown.parse(Path("x.md"), source, 4, "ch-x", "Chapter 1")
    return Chapter(Path("x.md"), "x", "X", "body", source, 4, blocks=markdown.render(parsed, {}, {}))


def _html(chapter) -> str:  # type: ignore[no-untyped-def]
    return "".join(b.html for b in chapter.blocks if isinstance(b, HtmlBlock))


def test_print_at_the_foot_puts_each_note_in_its_call_without_ways_back() -> None:
    source = "One[^a] two[^b] and one again[^a].\n\n[^a]: Note *A*\n    over two lines.\n[^b]: Note B.\n\n    Its second paragraph.\n"
    html = _html(for_print(_chapter(source), "foot", LIMITS))
    assert '<span class="foot-note" id="fn-ch-x-1" data-n="1">Note <em>A</em> over two lines.</span>' in html  # spaces collapsed
    assert '<span class="foot-note" id="fn-ch-x-2" data-n="2">Note B.<span class="note-p">Its second paragraph.</span></span>' in html
    assert '<a class="noteref" href="#fn-ch-x-1"><sup>1</sup></a>' in html  # a further call: its number
    assert "aside" not in html and "doc-backlink" not in html and "\u21a9" not in html
    root = etree.fromstring(f'<div xmlns:epub="{EPUB}">{html}</div>')
    assert not root.findall(".//p//p") and not root.findall(".//p//ul")  # an HTML parser would end the paragraph


def test_print_sets_a_note_called_inside_a_note_after_it() -> None:
    html = _html(for_print(_chapter("Text[^o].\n\n[^o]: Outer[^i] note.\n[^i]: Inner.\n"), "foot", LIMITS))
    outer = '<span class="foot-note" id="fn-ch-x-1" data-n="1">Outer<sup class="note-call">2</sup> note.</span>'
    assert outer + '<span class="foot-note note-inner" id="fn-ch-x-2" data-n="2">Inner.</span>' in html


def test_print_cuts_a_long_note_into_pieces_after_its_paragraphs_and_sentences() -> None:
    long_paragraph = " ".join(f"Sentence {i} of the long paragraph says a little more." for i in range(20))
    source = f"Text[^n].\n\n[^n]: {'A first paragraph. ' * 10}\n\n    {long_paragraph}\n\n    {'A last paragraph. ' * 5}\n"
    html = _html(for_print(_chapter(source), "foot", LIMITS))
    floats = re.findall(r'<span class="(foot-note[^"]*)"[^>]*data-n="1">', html)
    assert floats[0] == "foot-note" and all("note-more" in f for f in floats[1:]) and len(floats) >= 4
    inline = [f for f in floats if "note-inline" in f]
    assert len(inline) >= 2 and "note-last" in inline[-1] and "note-para" in inline[0]
    words = re.sub(r"<[^>]+>", " ", html).split()
    assert words.count("Sentence") == 20 and words.count("last") == 5  # nothing lost in the cuts
    assert html.rstrip().endswith('data-n=""></span></p>')  # the chapter's end mark: the pieces stay in it


def test_print_keeps_notes_at_the_chapter_end_without_ways_back() -> None:
    chapter = _chapter("One[^a] and again[^a].\n\n[^a]: Note A.\n")
    html = _html(for_print(chapter, "chapter", LIMITS))
    assert '<aside id="fn-ch-x-1"' in html and '<span class="note-number">1</span> Note A.' in html
    assert "doc-backlink" not in html and "\u21a9" not in html
    assert 'href="#fn-ch-x-1"' in html  # the calls still lead to the notes


def test_print_document_of_a_book_with_notes_at_the_foot(tiny_book: Path) -> None:
    _chapters(tiny_book, **TWO)
    content = render_print(load_book(tiny_book, Reporter(), with_cover=False)).pages[0].content
    assert content.count('class="foot-note"') == 4 and 'class="footnotes"' not in content
    assert re.search(r'class="foot-note" id="fn-ch-01-one-2" data-n="2">Note B with <a href="#ch-02-two">a link</a>', content)


def test_print_document_of_a_book_with_a_notes_page(tiny_book: Path) -> None:
    _chapters(tiny_book, 'notes = "book"\n', **TWO)
    book = load_book(tiny_book, Reporter(), with_cover=False)
    assert [ch.title for ch in book.chapters][-1] == "Notes" and book.chapters[-1].role == "endnotes"
    content = render_print(book).pages[0].content
    assert 'href="#fn-ch-01-one-1"' in content and 'class="foot-note"' not in content
    assert '<li id="fn-ch-01-one-1"><p><span class="note-number">1</span> Note A.</p></li>' in content
    assert "doc-backlink" not in content
    assert replace(book.chapters[-1], blocks=()).kind == "back"


def test_print_sets_an_empty_note_as_its_number_alone() -> None:
    html = _html(for_print(_chapter("Text[^e].\n\n[^e]:\n"), "foot", LIMITS))  # found by tests/test_fuzz.py
    assert '<span class="foot-note" id="fn-ch-x-1" data-n="1"></span>' in html


def test_a_note_never_called_is_a_located_warning(tiny_book: Path) -> None:
    """mdit-py-plugins drops a note nobody calls; a call written in a caption (plain text) is none."""
    root = _chapters(tiny_book, **{"01-one": 'Text.[^1]\n\n![A photo](images/x.png "A caption[^2].")\n\n'
                                             "[^1]: Called.\n[^2]: Meant for the caption.\n[^3]: Forgotten.\n"})
    reporter = Reporter()
    load_book(root, reporter)
    path = root / "chapters" / "01-one.md"
    warnings = [str(w) for w in reporter.warnings]
    assert (f"{path}:10: warning: note [^2] is never called; it is left out (a figure's caption is plain text: "
            "a note cannot be called there; call it in the text)") in warnings
    assert f"{path}:11: warning: note [^3] is never called; it is left out" in warnings
    assert not any("[^1]" in w for w in warnings)


@pytest.mark.parametrize(("language", "title"), [("en", "Notes"), ("de", "Anmerkungen"), ("fr-CA", "Notes"), ("es", "Notas")])
def test_the_notes_page_is_titled_in_the_book_s_language(tiny_book: Path, language: str, title: str) -> None:
    root = _chapters(tiny_book, 'notes = "book"\n', **TWO)
    toml = root / "book.toml"
    toml.write_text(re.sub(r'(?m)^language = .*$', f'language = "{language}"', toml.read_text(encoding="utf-8")), encoding="utf-8")
    book = load_book(root, Reporter())
    assert book.chapters[-1].role == "endnotes" and book.chapters[-1].title == title
