"""A long book with notes at the foot of its pages: about 300 pages of text and 200 notes, laid out
in parts by worker processes (backends/pdf/parts.py), numbered on through the book.

The book is generated (deterministically, from a seed): chapters of plain prose, each note called
after a word `a<k>z` and opening with the word `n<k>z`, a few of them long enough to run on over
pages, some called in a chapter's last lines. What it holds to:

- every note's first words are on the page of its call, but for the few that WeasyPrint must move
  to the next page: fewer than 3%, and those on the very next page. (WeasyPrint alone moves 8%:
  to keep a paragraph's last or first line from standing alone on a page it moves the page's
  notes rather than lines, until backends/pdf/wp_internals._notes_kept_with_calls);
- the numbers run on across the parts: each is decided in the Markdown render, before layout, so a
  part's document numbers its notes as the whole book does;
- no word of a note is lost, whatever page its pieces run on to.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookmaker.backends.pdf.parts import split_parts
from bookmaker.core.errors import Reporter
from bookmaker.transform.book import load_book

from .conftest import Built, build_book

CHAPTERS = 20
WORDS = 5900  # a chapter's text: about 15 pages
NOTES = 200
LONG = {37, 81, 122, 160, 199}  # notes of 300-500 words: they run on to the next page
WORDLIST = ("the a of and to in that it was for on are with as his they be at one have this from or had by word but "
            "what some we can out other were all there when up use your how said an each she which do their time if "
            "will way about many then them write would like so these her long make thing see him two has look more day "
            "could go come did number sound no most people my over know water than call first who may down side been "
            "now find any new work part take get place made live where after back little only round man year came show "
            "every good me give our under name very through just form sentence great think say help low line differ "
            "turn cause much mean before move right boy old too same tell does set three want air well also play small "
            "end put home read hand port large spell add even land here must big high such follow act why ask men "
            "change went light kind off need house picture try us again animal point mother world near build self earth").split()


def _prose(rng: random.Random, words: int) -> str:
    out, sentence = [], []
    for _ in range(words):
        sentence.append(rng.choice(WORDLIST))
        if len(sentence) > rng.randint(9, 22):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def generate(root: Path, seed: int = 13, chapters: int = CHAPTERS, long: frozenset[int] | set[int] = LONG) -> Path:
    """The book: `chapters` chapters of prose with ten notes each; the notes numbered in `long` run long."""
    rng = random.Random(seed)
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text('title = "A Long Book of Notes"\nauthors = ["A. Writer"]\nlanguage = "en"\n'
                                    'notes = "foot"\nnote_numbers = "book"\n', encoding="utf-8")
    per_chapter = NOTES // CHAPTERS
    k = 0
    for c in range(1, chapters + 1):
        paragraphs = [_prose(rng, rng.randint(60, 160)) for _ in range(WORDS // 110)]
        paragraphs[0] = f"o{c}z {paragraphs[0]}"  # where the chapter starts
        notes = []
        # calls spread through the chapter, the last one in its final paragraph every other chapter
        places = sorted(rng.sample(range(len(paragraphs) - 1), per_chapter - c % 2)) + ([len(paragraphs) - 1] if c % 2 else [])
        for place in places:
            k += 1
            words = paragraphs[place].split(" ")
            at = rng.randint(1, len(words) - 1)
            words[at] = f"a{k}z[^{k}]" + ("." if words[at].endswith(".") else "")
            paragraphs[place] = " ".join(words)
            size = rng.randint(300, 500) if k in long else rng.randint(6, 45)
            body = _prose(rng, size)
            if k in long:  # in paragraphs, as a long note is written
                cut = body.split(". ")
                body = "\n\n    ".join(". ".join(cut[i:i + 7]) for i in range(0, len(cut), 7))
            notes.append(f"[^{k}]: n{k}z {body} e{k}z")
        text = "\n\n".join(paragraphs) + "\n\n" + "\n".join(notes) + "\n"
        (root / "chapters" / f"{c:02d}-chapter.md").write_text(f"---\ntitle: Chapter {c}\n---\n\n{text}", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Built]:
    root = generate(tmp_path_factory.mktemp("long-notes") / "book")
    return root, build_book(root, tmp_path_factory.mktemp("long-notes-out"), formats=("pdf",), jobs=2)


def _pages(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages]


def _page_of(pages: list[str], word: str) -> int | None:
    return next((i for i, text in enumerate(pages) if re.search(rf"(?<![a-z0-9]){word}(?![a-z])", text)), None)


def test_the_long_book_is_laid_out_in_parts(long_book: tuple[Path, Built]) -> None:
    root, built = long_book
    _, parts = split_parts(load_book(root, Reporter(), with_cover=False))
    assert len(parts) >= 3
    assert 280 <= len(_pages(built.pdf)) <= 360


def test_notes_are_on_the_page_of_their_call(long_book: tuple[Path, Built]) -> None:
    _, built = long_book
    pages = _pages(built.pdf)
    calls = {k: _page_of(pages, f"a{k}z") for k in range(1, NOTES + 1)}
    notes = {k: _page_of(pages, f"n{k}z") for k in range(1, NOTES + 1)}
    assert None not in calls.values() and None not in notes.values()
    moved = {k: (calls[k], notes[k]) for k in calls if calls[k] != notes[k]}
    share = len(moved) / NOTES
    print(f"\n{len(pages)} pages; notes on their call's page: {NOTES - len(moved)} of {NOTES}; moved to the next page: {sorted(moved)}")
    assert share < 0.03, moved
    assert all(note == call + 1 for call, note in moved.values()), moved  # type: ignore[operator]


def test_numbers_run_on_across_the_parts(long_book: tuple[Path, Built]) -> None:
    _, built = long_book
    text = "\n".join(_pages(built.pdf))
    for k in range(1, NOTES + 1):
        assert re.search(rf"(?<![0-9]){k}\s*n{k}z", text), f"note {k} does not open with its number"  # the marker
        assert re.search(rf"a{k}z{k}(?![0-9])", text), f"the call of note {k} is not numbered {k}"


def test_no_note_loses_a_word(long_book: tuple[Path, Built]) -> None:
    root, built = long_book
    pages = _pages(built.pdf)
    text = " ".join(pages)
    assert all(f"e{k}z" in text for k in range(1, NOTES + 1))  # every note's last word
    starts = [_page_of(pages, f"o{c}z") for c in range(1, CHAPTERS + 1)]
    for k in sorted(LONG):  # a long note ends in its own chapter, before the next one opens
        chapter = next(c for c in range(CHAPTERS, 0, -1) if f"[^{k}]:" in (root / "chapters" / f"{c:02d}-chapter.md").read_text())
        end = _page_of(pages, f"e{k}z")
        assert end is not None and (chapter == CHAPTERS or end < starts[chapter]), k  # type: ignore[operator]
