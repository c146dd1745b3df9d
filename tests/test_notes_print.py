"""Notes at the foot of the printed page, laid out by WeasyPrint: its footnote problems a real
book meets, each shown, and bookmaker's way round it (transform/notes/printed.py, layouts/print.css,
backends/pdf/wp_internals.py).

Every book here is built to a PDF and read back page by page (pypdf): a note's call is a word
`a<k>z` set right before it, the note's first word `n<k>z`, so "the note is on its call's page"
is a search of two words on one page's text. Words that short are never hyphenated.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from .conftest import build_book

FILLER = ("The text around the calls runs on in sentences of ordinary length, so that every page is "
          "full and the calls fall at every height of the page, its first lines and its last. ")


def _book(root: Path, chapters: dict[str, str], toml: str = "") -> Path:
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text('title = "Notes"\nauthors = ["A. Writer"]\nlanguage = "en"\n' + toml, encoding="utf-8")
    for name, body in chapters.items():
        (root / "chapters" / f"{name}.md").write_text(f"---\ntitle: {name[3:].title()}\n---\n\n{body}\n", encoding="utf-8")
    return root


def _pages(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages]


def _page_of(pages: list[str], word: str) -> int | None:
    return next((i for i, text in enumerate(pages) if re.search(rf"(?<![a-z0-9]){word}(?![a-z])", text)), None)


def _misplaced(pages: list[str], count: int) -> list[int]:
    """The notes (1-based) whose first word is not on the page of their call."""
    return [k for k in range(1, count + 1) if _page_of(pages, f"a{k}z") != _page_of(pages, f"n{k}z")]


def _calls(count: int, per_paragraph: int = 2) -> str:
    """Paragraphs of text with `count` calls spread through them, and the notes."""
    paragraphs, k = [], 1
    while k <= count:
        words = []
        for _ in range(per_paragraph):
            if k <= count:
                words.append(f"{FILLER} a{k}z[^{k}]")
                k += 1
        paragraphs.append(" ".join(words) + " " + FILLER)
    notes = "\n".join(f"[^{k}]: n{k}z says what note {k} has to say, in a line or two at most." for k in range(1, count + 1))
    return "\n\n".join(paragraphs) + "\n\n" + notes + "\n"


# --- every note on its call's page ---------------------------------------------------------------


def test_notes_stay_on_the_page_of_their_call(tmp_path: Path) -> None:
    """`footnote-policy: line`: a note that no longer fits takes its call's line to the next page."""
    built = build_book(_book(tmp_path / "b", {"01-one": _calls(40)}), tmp_path / "out", formats=("pdf",))
    pages = _pages(built.pdf)
    assert len(pages) > 6  # the notes are spread over several pages, some called in a page's last lines
    assert _misplaced(pages, 40) == []
    assert "\u21a9" not in "".join(pages)  # no way back is printed


def test_a_fractional_rule_on_the_footnote_area_no_longer_moves_every_note() -> None:
    """WeasyPrint 70 compares two sums of the footnote area's lengths added in another order: with a
    border of a fraction of a pixel (a 0.4pt rule) they differ in the last bit and every note
    "overflows". With `footnote-policy: line` each call's line then goes to a page of its own;
    wp_internals._footnotes_fit takes such a rounding error back."""
    from weasyprint import HTML

    from bookmaker.backends.pdf.wp_internals import patched

    css = ("@page { size: 6in 4in; margin: 0.75in 0.6in 0.85in; @footnote { margin-top: 1em; border-top: 0.4pt solid } }"
           " body { font-size: 10pt; line-height: 1.38 } p { margin: 0 }"
           " .footnote { float: footnote; font-size: 0.85em; footnote-policy: line }")
    body = "".join(f"<p>Some text a{i}z<span class='footnote'>n{i}z and a few words.</span> more.</p>" for i in range(1, 7))
    html = f"<style>{css}</style>{body}"

    def pages(document: object) -> list[str]:
        return [p.extract_text() for p in PdfReader(io.BytesIO(document.write_pdf())).pages]  # type: ignore[attr-defined]

    alone = pages(HTML(string=html).render())
    assert len(alone) == 7 and _misplaced(alone, 6) == [1, 2, 3, 4, 5, 6]  # WeasyPrint alone: each note a page late
    with patched():
        fixed = pages(HTML(string=html).render())
    assert len(fixed) < 3 and _misplaced(fixed, 6) == []


def test_a_note_is_not_moved_off_its_call_s_page_for_a_widow(tmp_path: Path) -> None:
    """A line that would leave a widow or an orphan if it went to the next page: WeasyPrint makes
    room for it by moving the page's last notes to the next page, whatever their footnote-policy.
    wp_internals._notes_kept_with_calls has it move lines instead when the notes must stay."""
    from weasyprint import HTML

    from bookmaker.backends.pdf import backend
    from bookmaker.core.context import BuildContext, build_timestamp
    from bookmaker.core.errors import Reporter
    from bookmaker.render.printed import render_print
    from bookmaker.transform.book import load_book

    from .test_notes_long import generate

    alone, kept = [], []
    for seed in (2, 3):  # two prose books of 20 notes where it happens
        root = generate(tmp_path / f"b{seed}", seed=seed, chapters=2, long=set())
        book = load_book(root, Reporter(), with_cover=False)
        rendered = render_print(book)
        assets = {a.href: a for a in rendered.assets}
        raw = HTML(string=rendered.pages[0].content, base_url=backend.BASE_URL, url_fetcher=backend._fetcher(assets)).render()
        fixed = backend.PdfBackend().lay_out(rendered, BuildContext(book, build_timestamp(), Reporter()))
        for document, found in ((raw, alone), (fixed, kept)):
            found.extend(_misplaced([p.extract_text() for p in PdfReader(io.BytesIO(document.write_pdf())).pages], 20))
    assert alone and not kept, (alone, kept)  # WeasyPrint alone moves a note (remove the first half when it no longer does)


def test_a_book_with_its_own_fractional_rule_keeps_its_notes_in_place(tmp_path: Path) -> None:
    root = _book(tmp_path / "b", {"01-one": _calls(30)}, 'layouts = "mine"\n')
    builtin = Path(__file__).resolve().parents[1] / "layouts" / "print.css"
    (root / "mine").mkdir()
    (root / "mine" / "print.css").write_text(builtin.read_text(encoding="utf-8") +
                                             "@page { @footnote { border-top: 0.4pt solid #000; background: none; } }\n", encoding="utf-8")
    built = build_book(root, tmp_path / "out", formats=("pdf",))
    assert _misplaced(_pages(built.pdf), 30) == []


def test_the_rule_above_the_notes_is_a_third_of_the_text_width(tmp_path: Path) -> None:
    """A one-colour gradient would be the simple rule, but WeasyPrint paints a gradient over the
    whole area whatever its background-size: the rule is a stretched SVG (layouts/note-rule.svg)."""
    import pypdfium2 as pdfium

    built = build_book(_book(tmp_path / "b", {"01-one": "Text a1z[^1].\n\n[^1]: n1z.\n"}), tmp_path / "out", formats=("pdf",))
    doc = pdfium.PdfDocument(built.pdf.read_bytes())
    index = next(i for i, text in enumerate(_pages(built.pdf)) if "n1z" in text)
    scale = 4
    image = doc[index].render(scale=scale).to_pil().convert("L")
    width, height = image.size
    rows = [y for y in range(height) if sum(image.getpixel((x, y)) < 128 for x in range(width)) > width * 0.15]
    runs = [sum(image.getpixel((x, y)) < 128 for x in range(width)) for y in rows]
    doc.close()
    assert rows, "no rule drawn"
    text_width = (6 - 0.875 - 0.625) * 72 * scale
    assert all(abs(run - text_width / 3) < text_width * 0.03 for run in runs)  # a third of the text block, not the page
    assert len(rows) <= 3  # 0.4pt: a hairline, not a box


# --- notes where WeasyPrint needs help ------------------------------------------------------------


def test_a_note_written_over_several_lines_is_set_as_one_paragraph(tmp_path: Path) -> None:
    """WeasyPrint collapses white space after it has taken the notes out of the text: a note's
    line breaks in the Markdown would stay line breaks (printed.py collapses them itself)."""
    note = "n1z begins here and the sentence goes\n    on over the source's line breaks, which are\n    not the printed ones at all."
    built = build_book(_book(tmp_path / "b", {"01-one": f"Text a1z[^1].\n\n[^1]: {note}\n"}), tmp_path / "out", formats=("pdf",))
    text = " ".join(_pages(built.pdf))
    assert "goes on over" in text and "are not the printed" in text


def test_a_note_longer_than_a_page_runs_on_and_nothing_is_lost(tmp_path: Path) -> None:
    """WeasyPrint never splits a note: one taller than the page overflows it (its own test,
    test_footnote_longer_than_page: "the content simply overflows"). printed.py cuts it after
    paragraphs and sentences; the pieces run on to the next pages of the chapter."""
    sentences = " ".join(f"Sentence s{i}z of the long note tells a little more of its story." for i in range(1, 121))
    paragraphs = "\n\n".join("    " + sentences[i:i + 1800] for i in range(0, len(sentences), 1800))
    body = f"{FILLER * 3} a1z[^1] {FILLER * 30}\n\n[^1]: n1z opens the long note.\n\n{paragraphs}\n"
    built = build_book(_book(tmp_path / "b", {"01-one": body, "02-two": "The second chapter o2z."}, "[print]\nprofile = \"kdp\"\n"
                                                                                                     "[print.overrides]\nmin_pages = 1\n"),
                       tmp_path / "out", formats=("pdf",))  # kdp: the preflight's margin rule passes, nothing ran off the page
    pages = _pages(built.pdf)
    call, first, last, two = (_page_of(pages, w) for w in ("a1z", "n1z", "s120z", "o2z"))
    assert call == first and last is not None and call < last < two  # type: ignore[operator]
    text = " ".join(pages)
    assert all(f"s{i}z" in text for i in range(1, 121))


def test_notes_in_table_cells_stay_with_their_rows(tmp_path: Path) -> None:
    rows = "\n".join(f"| row {k} | a{k}z[^{k}] and a cell of text |" for k in range(1, 61))
    notes = "\n".join(f"[^{k}]: n{k}z is the note of row {k}." for k in range(1, 61))
    body = f"{FILLER}\n\n| Row | Cell |\n| --- | --- |\n{rows}\n\n{notes}\n"
    built = build_book(_book(tmp_path / "b", {"01-one": body}), tmp_path / "out", formats=("pdf",))
    pages = _pages(built.pdf)
    assert len(pages) > 3 and _misplaced(pages, 60) == []


def test_a_note_called_inside_a_note_follows_it_on_the_same_page(tmp_path: Path) -> None:
    """WeasyPrint lays out a float inside a float a page before the outer note and leaves the page
    after the call empty: the inner note is set after the outer one instead."""
    body = f"{FILLER * 2} a1z[^1] {FILLER}\n\n[^1]: n1z is the outer note, which calls a2z[^2].\n[^2]: n2z is the inner note.\n"
    built = build_book(_book(tmp_path / "b", {"01-one": body}), tmp_path / "out", formats=("pdf",))
    pages = _pages(built.pdf)
    call = _page_of(pages, "a1z")
    assert _page_of(pages, "n1z") == call == _page_of(pages, "n2z")
    assert pages[call].index("n1z") < pages[call].index("n2z")  # type: ignore[index]
    assert re.search(r"a1z1(?!2)", pages[call])  # type: ignore[index]  # the inner note's call is in the outer note only
    assert len(pages) == call + 1  # type: ignore[operator]  # the short chapter keeps to one page: none left empty


def test_the_pieces_of_a_long_note_at_a_chapter_end_stay_in_their_chapter(tmp_path: Path) -> None:
    """Pieces still waiting for a page when the chapter's text ends would go onto the next page
    WeasyPrint makes: the next chapter's opening page, or a blank page. The chapter's end mark
    (`notes-end`) carries them onto a page of their own chapter."""
    sentences = " ".join(f"Sentence s{i}z of the note at the chapter's end goes on." for i in range(1, 91))
    paragraphs = "\n\n".join("    " + sentences[i:i + 1500] for i in range(0, len(sentences), 1500))
    for lines in (6, 9, 12, 25, 31):  # the chapter ends at other heights of its last page
        root = _book(tmp_path / f"b{lines}", {"01-one": f"{FILLER * lines} a1z[^1]\n\n[^1]: n1z begins.\n\n{paragraphs}\n",
                                              "02-two": "o2z opens the second chapter.", "03-three": "o3z."})
        built = build_book(root, tmp_path / f"out{lines}", formats=("pdf",))
        pages = _pages(built.pdf)
        two = _page_of(pages, "o2z")
        assert two is not None and all(f"s{i}z" not in pages[two] for i in range(1, 91)), lines
        assert _page_of(pages, "s90z") < two, lines  # type: ignore[operator]
        for index in range(_page_of(pages, "a1z"), two):  # type: ignore[arg-type]
            if not pages[index].strip():
                continue  # the blank page before a chapter that opens on the right
            assert re.search(r"s\d+z|a1z", pages[index]), (lines, index)  # every page between carries the note


@pytest.mark.parametrize("placement", ["chapter", "book"])
def test_notes_at_the_end_are_printed_without_ways_back(tmp_path: Path, placement: str) -> None:
    long = " ".join(f"Sentence s{i}z of the long note." for i in range(1, 200))  # longer than a page: it breaks as text does
    body = f"Text a1z[^1] and a2z[^2] and again[^1]. {FILLER * 12} The text ends q9z.\n\n[^1]: n1z is a note.\n[^2]: n2z is another. {long}\n"
    toml = f'notes = "{placement}"\n[print]\nprofile = "kdp"\n[print.overrides]\nmin_pages = 1\n'  # kdp: nothing runs off a page
    built = build_book(_book(tmp_path / "b", {"01-one": body, "02-two": "o2z."}, toml), tmp_path / "out", formats=("pdf",))
    pages = _pages(built.pdf)
    text = " ".join(pages)
    assert "\u21a9" not in text and re.search(r"1\s*n1z is a note", text) and re.search(r"2\s*n2z is another", text)
    end, first, last, two = (_page_of(pages, w) for w in ("q9z", "n1z", "s199z", "o2z"))
    assert end <= first < last  # type: ignore[operator]  # after the text, over more than one page
    assert (last < two) if placement == "chapter" else (two < first and "Notes" in pages[first])  # type: ignore[index,operator]


def test_a_long_note_s_call_is_not_taken_from_its_page_by_the_widow_rule(tmp_path: Path) -> None:
    """The corpus's long note is called on the last line but one of a paragraph whose last line
    calls another note. That note may not go below the long one's first part, so its line moves on;
    WeasyPrint's widow rule took the long note's call line with it, and the note, and left the
    chapter's opening page with three lines and nothing at its foot (wp_internals._CALLS_STAY)."""
    corpus = Path(__file__).parent / "corpus" / "notes"
    built = build_book(corpus, tmp_path / "out", formats=("pdf",))
    pages = _pages(built.pdf)
    opening = next(i for i, text in enumerate(pages) if "Scholarly books carry notes" in text)
    assert "The long note begins" in pages[opening]
    assert "last line of text.13" in pages[opening]
