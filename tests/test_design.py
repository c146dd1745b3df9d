"""A design that fits the book (issue 14): how chapters open (`opening`), plates facing their text,
scene breaks, a chapter's first line, headings kept with their text, and the designs themselves.

Positions are read from the PDF with pdfminer (already preflight's): the lines of the text block
of each page, in order from the top, without the running head and the folio.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookmaker.core.errors import ConfigError, ManuscriptError
from bookmaker.source.config import load_config
from bookmaker.source.manuscript import load_chapter

from .conftest import ROOT, build_book

WORDS = ("the morning came grey and slow over the harbour while the boats waited for a wind that "
         "would not come and the men on the quay spoke of other years").split()


def _text(n: int, seed: int = 0) -> str:
    return " ".join(WORDS[(seed + i * 7) % len(WORDS)] for i in range(n)).capitalize() + "."


def _book(root: Path, chapters: dict[str, str], toml: str = "") -> Path:
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text('title = "Design"\nauthors = ["A. Writer"]\nlanguage = "en"\ndate = 2026-01-02\n' + toml,
                                    encoding="utf-8")
    for name, body in chapters.items():
        (root / "chapters" / name).write_text(body, encoding="utf-8")
    return root


def _dests(pdf: Path) -> dict[str, int]:
    reader = PdfReader(pdf)
    return {name: reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()}


def _block_lines(pdf: Path, top: float = 0.75, bottom: float = 0.85, height: float = 9.0) -> list[list[str]]:
    """Each page's lines inside the text block (no running head, no folio), top to bottom."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer, LTTextLine

    pages = []
    for layout in extract_pages(str(pdf), laparams=LAParams(line_margin=0.1)):
        lines = []
        for element in layout:
            if not isinstance(element, LTTextContainer):
                continue
            for line in element:
                if isinstance(line, LTTextLine) and bottom * 72 - 2 <= line.y0 and line.y1 <= (height - top) * 72 + 2:
                    if line.get_text().strip():
                        lines.append((-line.y1, line.get_text().strip()))
        pages.append([text for _, text in sorted(lines)])
    return pages


# --- settings ------------------------------------------------------------------------------------

def test_the_design_gives_the_defaults_and_each_setting_wins(tmp_path: Path) -> None:
    root = _book(tmp_path / "a", {}, 'design = "photo"\n')
    config = load_config(root)
    assert (config.opening.front, config.opening.body, config.opening.back) == ("right", "facing", "right")
    assert config.lead_in == "none" and config.print.plates == "text-block"
    root = _book(tmp_path / "b", {}, 'design = "photo"\nopening = { body = "any" }\nlead_in = "drop-cap"\n'
                                     'scene_break = "* * *"\n[print]\nplates = "bleed"\n')
    config = load_config(root)
    assert (config.opening.front, config.opening.body, config.opening.back) == ("right", "any", "right")
    assert (config.lead_in, config.scene_break, config.print.plates) == ("drop-cap", "* * *", "bleed")
    config = load_config(_book(tmp_path / "c", {}, 'opening = "any"\n'))
    assert config.design == "classic" and config.lead_in == "none"
    assert (config.opening.front, config.opening.body, config.opening.back) == ("any", "any", "any")
    config = load_config(_book(tmp_path / "d", {}, 'design = "novel"\n'))
    assert (config.lead_in, config.scene_break, config.opening.body) == ("small-caps", "\u2766", "right")


@pytest.mark.parametrize("line, message", [
    ('design = "poster"', "'design': expected one of 'classic', 'novel', 'photo', got 'poster'"),
    ('opening = "left"', "'opening': expected one of 'right', 'any', 'facing'"),
    ('opening = { middle = "any" }', "unknown chapter kind 'middle'"),
    ('opening = { body = "spread" }', "'opening': body: expected one of"),
    ('lead_in = "swash"', "'lead_in': expected one of 'small-caps', 'drop-cap', 'none'"),
])
def test_a_bad_design_setting_is_one_located_error(tmp_path: Path, line: str, message: str) -> None:
    root = _book(tmp_path / "b", {}, f"\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    (problem,) = caught.value.diagnostics
    assert problem.location.line == 6 and message in problem.message, str(problem)


def test_a_chapter_may_open_its_own_way_and_a_bad_way_is_located(tmp_path: Path) -> None:
    path = tmp_path / "one.md"
    path.write_text("---\ntitle: One\nopening: any\n---\n\nText.\n", encoding="utf-8")
    assert load_chapter(path).opening == "any"
    path.write_text("---\ntitle: One\nopening: sideways\n---\n\nText.\n", encoding="utf-8")
    with pytest.raises(ManuscriptError) as caught:
        load_chapter(path)
    (problem,) = caught.value.diagnostics
    assert problem.location.line == 3 and "'opening' must be one of right, any, facing" in problem.message


# --- openings ------------------------------------------------------------------------------------

def _short_chapters(count: int) -> dict[str, str]:
    return {f"{i:02d}-c.md": f"---\ntitle: Chapter {i}\n---\n\n{_text(40, i)}\n" for i in range(1, count + 1)}


@pytest.mark.parametrize("opening, starts", [("right", [0, 2, 4, 6]), ("any", [0, 1, 2, 3])])
def test_chapters_open_on_the_right_or_on_the_next_page(tmp_path: Path, opening: str, starts: list[int]) -> None:
    built = build_book(_book(tmp_path / "b", _short_chapters(4), f'opening = "{opening}"\n'), tmp_path / "out", formats=("pdf",))
    dests = _dests(built.pdf)
    first = dests["ch-01-c"]
    assert [dests[f"ch-{i:02d}-c"] - first for i in range(1, 5)] == starts
    assert first % 2 == 0  # the body's first chapter opens on a right-hand page, folio 1, either way


def _photo_chapter(n: int, words: int) -> str:
    return (f"---\ntitle: Picture {n}\n---\n\n![A picture numbered {n}.](images/p{n}.jpg \"Caption of picture {n}.\"){{#p{n}}}\n\n"
            + "\n\n".join(_text(words // 4, n + k) for k in range(4)) + "\n")


def test_facing_sets_each_opening_figure_on_the_left_facing_its_text(tmp_path: Path) -> None:
    """Short texts: plate, text, plate, text… with no blank page. A text that runs onto a left-hand
    page leaves one blank right-hand page before the next plate, the one blank the spread needs.
    A facing chapter that does not open with a figure opens on the right, as `right` does."""
    chapters = {"01-a.md": _photo_chapter(1, 80), "02-b.md": _photo_chapter(2, 80), "03-c.md": _photo_chapter(3, 700),
                "04-d.md": _photo_chapter(4, 80), "05-e.md": f"---\ntitle: Words\n---\n\n{_text(60)}\n",
                "06-f.md": _photo_chapter(6, 80)}
    root = _book(tmp_path / "b", chapters, 'opening = "facing"\npending_images = ["images/*"]\n')
    built = build_book(root, tmp_path / "out", formats=("pdf",))
    dests = _dests(built.pdf)
    texts = [page.extract_text() or "" for page in PdfReader(built.pdf).pages]
    for n, name in ((1, "a"), (2, "b"), (3, "c"), (4, "d"), (6, "f")):
        plate, text = dests[f"p{n}"], dests[f"ch-0{n}-{name}"]
        assert plate % 2 == 1 and text == plate + 1, (n, plate + 1, text + 1)
        assert "Caption of picture" in texts[plate] and f"Picture {n}" not in texts[plate]
    assert dests["ch-02-b"] == dests["ch-01-a"] + 2
    long_pages = dests["p4"] - dests["ch-03-c"]  # chapter 3's text, then a blank page, then plate 4
    assert long_pages % 2 == 1 and not texts[dests["p4"] - 1].strip()
    assert dests["ch-05-e"] == dests["ch-04-d"] + 2 and dests["ch-05-e"] % 2 == 0  # no figure: on the right
    blanks = [i for i in range(dests["p1"], len(texts)) if not texts[i].strip()]
    # after the long text; before chapter 5, which opens on the right after chapter 4's text on the right
    assert blanks == [dests["p4"] - 1, dests["ch-05-e"] - 1]
    assert dests["p6"] == dests["ch-05-e"] + 1  # chapter 5 ends on a right-hand page: plate 6 follows at once


def test_a_facing_book_in_parts_gives_the_pages_of_one_document(tmp_path: Path) -> None:
    """Parts are cut between a plate and its text (the plate ends the part before): every part
    still opens on a right-hand page, and the book is the same as laid out in one document."""
    from bookmaker.backends.pdf import parts as pdf_parts
    from bookmaker.backends.pdf.paginate import print_book
    from bookmaker.core.context import BuildContext, build_timestamp
    from bookmaker.core.errors import Reporter
    from bookmaker.transform.book import load_book

    chapters = {f"{n:02d}-p.md": _photo_chapter(n, 160) for n in range(1, 41)}
    chapters["00-intro.md"] = f"---\ntitle: Introduction\nkind: front\n---\n\n{_text(80)}\n"
    root = _book(tmp_path / "b", chapters, 'opening = { body = "facing" }\npending_images = ["images/*"]\n')
    book = load_book(root, Reporter(), with_cover=False)
    front, body = pdf_parts.split_parts(book)
    assert len(body) >= 2 and all(part[0].kind == "body" for part in body)
    ctx = BuildContext(book, build_timestamp(), Reporter())
    whole, cut = print_book(ctx, one_document=True), print_book(ctx, jobs=2)
    assert cut.chapter_starts is not None
    assert whole.pages == cut.pages

    def page_texts(data: bytes) -> list[str]:
        import io

        return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(data)).pages]

    assert page_texts(whole.data) == page_texts(cut.data)


# --- scene breaks, headings, lead-ins --------------------------------------------------------------

def _scenes_book(root: Path, layouts: str | None = None) -> Path:
    """One chapter of 36 scenes of growing lengths: their breaks fall at every height of a page."""
    scenes = [_text(18 + (k * 37) % 140, k) for k in range(36)]
    toml = f'layouts = "{layouts}"\n' if layouts else ""
    return _book(root, {"01-s.md": "---\ntitle: Scenes\n---\n\n" + "\n\n***\n\n".join(scenes) + "\n"}, toml)


def _alone_at_an_edge(pages: list[list[str]], mark: str) -> list[int]:
    return [n for n, lines in enumerate(pages) if lines and (lines[0] == mark or lines[-1] == mark)]


def test_a_scene_break_is_the_ornament_and_never_alone_at_a_page_s_top_or_foot(tmp_path: Path) -> None:
    built = build_book(_scenes_book(tmp_path / "b"), tmp_path / "out", formats=("pdf",))
    pages = _block_lines(built.pdf)
    marks = sum(line == "\u2042" for lines in pages for line in lines)
    assert marks == 35
    assert _alone_at_an_edge(pages, "\u2042") == []
    # the same book without the rule that keeps the ornament with its text: the test can fail
    own = tmp_path / "c" / "own"
    root = _scenes_book(tmp_path / "c", "own")
    own.mkdir()
    rule = ".scene-break { break-before: auto; break-after: auto; page-break-before: auto; page-break-after: auto; }\n"
    (own / "book.css").write_text((ROOT / "layouts" / "book.css").read_text(encoding="utf-8") + rule, encoding="utf-8")
    loose = _block_lines(build_book(root, tmp_path / "out2", formats=("pdf",)).pdf)
    assert _alone_at_an_edge(loose, "\u2042"), "no scene break fell at a page's edge without the rule: the book tests nothing"


def test_headings_never_end_a_page(tmp_path: Path) -> None:
    body = []
    for k in range(30):
        body.append(f"{'##' if k % 2 else '####'} Heading {k}\n\n{_text(30 + (k * 29) % 120, k)}\n\n{_text(25, k + 1)}")
    built = build_book(_book(tmp_path / "b", {"01-h.md": "---\ntitle: Headings\n---\n\n" + "\n\n".join(body) + "\n"}),
                       tmp_path / "out", formats=("pdf",))
    pages = _block_lines(built.pdf)
    assert sum(line.startswith("Heading ") for lines in pages for line in lines) == 30
    assert [n for n, lines in enumerate(pages) if lines and lines[-1].startswith("Heading ")] == []


def test_a_drop_cap_sets_the_first_letter_large(tmp_path: Path) -> None:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTTextContainer

    chapter = {"01-d.md": f"---\ntitle: Drop\n---\n\n{_text(120)}\n\n{_text(60, 3)}\n"}
    built = build_book(_book(tmp_path / "b", chapter, 'lead_in = "drop-cap"\n'), tmp_path / "out", formats=("pdf",))
    index = _dests(built.pdf)["ch-01-d"]
    page = next(iter(extract_pages(str(built.pdf), page_numbers=[index])))
    chars = [c for box in page if isinstance(box, LTTextContainer) for line in box for c in line if isinstance(c, LTChar)]
    body = [c for c in chars if c.get_text() == "T"]
    assert body and max(c.size for c in body) > 2.4 * 10.5, "the first letter is not set large"
    assert 'class="chapter body opening lead-drop-cap"' in _print_html(tmp_path / "b")


def _print_html(root: Path) -> str:
    from bookmaker.core.errors import Reporter
    from bookmaker.render.printed import render_print
    from bookmaker.transform.book import load_book

    return render_print(load_book(root, Reporter(), with_cover=False)).pages[0].content


# --- the designs --------------------------------------------------------------------------------

@pytest.mark.parametrize("design", ["classic", "novel", "photo"])
def test_each_design_s_stylesheet_reaches_both_outputs(tmp_path: Path, design: str) -> None:
    from bookmaker.core.errors import Reporter
    from bookmaker.render.layout import render_epub
    from bookmaker.render.printed import render_print
    from bookmaker.transform.book import load_book

    root = _book(tmp_path / "b", _short_chapters(1), f'design = "{design}"\n')
    book = load_book(root, Reporter())
    sheet = (ROOT / "layouts" / "designs" / f"{design}.css").read_bytes()
    for rendered in (render_print(book), render_epub(book)):
        (asset,) = [a for a in rendered.assets if a.href == "css/design.css"]
        assert asset.data == sheet
        assert any('href="css/design.css"' in page.content for page in rendered.pages)


def test_bleed_plates_cover_the_page_to_the_bleed_and_pass_kdp(tmp_path: Path) -> None:
    """`[print] plates = "bleed"`: the picture covers the left-hand page to its trim edges and the
    bleed (the spine side has none); the caption moves under the facing title."""
    from pypdf import PdfReader

    chapters = {f"0{n}-p.md": _photo_chapter(n, 80) for n in range(1, 5)}
    chapters = {**chapters, **{f"1{n}-q.md": f"---\ntitle: More {n}\n---\n\n" + "\n\n".join(_text(90, n + k) for k in range(9)) + "\n"
                               for n in range(6)}}  # KDP's 24 pages at least
    root = _book(tmp_path / "b", chapters, 'design = "photo"\npending_images = ["images/*"]\n[print]\ntrim = "6in x 9in"\n'
                                           'profile = "kdp"\nplates = "bleed"\n')
    built = build_book(root, tmp_path / "out", formats=("pdf",))  # preflight under kdp runs in the build
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTFigure, LTImage

    reader = PdfReader(built.pdf)
    dests = _dests(built.pdf)
    pages = list(extract_pages(str(built.pdf)))
    for n in range(1, 5):
        index = dests[f"p{n}"]
        page = reader.pages[index]
        mx, my = float(page.mediabox[0]), float(page.mediabox[1])  # pdfminer measures from the MediaBox's corner
        width, height = float(page.mediabox[2]) - mx, float(page.mediabox[3]) - my
        (image,) = [e for e in pages[index] if isinstance(e, (LTImage, LTFigure))]
        x0, y0, x1, y1 = image.bbox
        assert abs(x0) < 0.5 and abs(y0) < 0.5 and abs(y1 - height) < 0.5, image.bbox  # outside edge, bottom, top: the bleed's edges
        assert abs(x1 - (float(page.trimbox[2]) - mx)) < 0.5 and abs(x1 - width) < 0.5, image.bbox  # the spine side: the trim
        text = reader.pages[dests[f"ch-0{n}-p"]].extract_text() or ""
        assert f"Caption of picture {n}." in text
