"""Whatever Markdown an author brings: each construct rendered, or reported at its own line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from bookmaker.core.errors import PreflightError, Reporter
from bookmaker.core.model import FigureBlock, HtmlBlock, Image
from bookmaker.pipeline import build
from bookmaker.transform import markdown

IMG = Image("images/a.jpg", "images/a.png", "image/png", b"", 1350, 900, 4.5, 3.0, False)
RAW = Image("images/raw.png", "images/raw.png", "image/png", b"", 600, 300, 4.5, 2.25, False)


def render(src: str, images: dict[str, Image] | None = None) -> tuple[markdown.Parsed, tuple, list[tuple[int, str]]]:
    warnings: list[tuple[int, str]] = []
    parsed = markdown.parse(Path("x.md"), src, 4, "ch-x", "Chapter 1")
    blocks = markdown.render(parsed, images if images is not None else {"images/a.jpg": IMG, "images/raw.png": RAW},
                             {}, warn=lambda line, msg: warnings.append((line, msg)))
    return parsed, blocks, warnings


def html_of(blocks: tuple) -> str:
    return "".join(b.html for b in blocks if isinstance(b, HtmlBlock))


def tree(html: str) -> etree._Element:
    return etree.fromstring(f'<div xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">{html}</div>')


X = "{http://www.w3.org/1999/xhtml}"


# --- images ------------------------------------------------------------------------------------

def test_an_inline_image_is_set_in_the_line_and_a_declared_size_is_kept() -> None:
    _, blocks, warnings = render('A ![icon](images/a.jpg) here and ![wide](images/a.jpg){width="1in"} there.\n')
    imgs = tree(html_of(blocks)).findall(f".//{X}img")
    assert [i.get("class") for i in imgs] == ["inline", "sized"]
    assert (imgs[1].get("width"), imgs[1].get("height")) == ("96", "64")  # 1in at 96 px/in, aspect 3:2 kept
    assert warnings == []
    css = (Path(__file__).resolve().parents[1] / "layouts" / "book.css").read_text(encoding="utf-8")
    assert re.search(r"img\.inline \{[^}]*height: 1\.15em", css) and re.search(r"\bimg \{ max-width: 100%; \}", css)


def test_a_size_in_em_is_reported_not_silently_dropped() -> None:
    _, _, warnings = render('A ![icon](images/a.jpg){width="2em"} here.\n')
    assert warnings == [(4, "image width '2em' is not used: give it in px, in, cm, mm or pt (e.g. width=\"1.5in\")")]


def test_an_image_alone_in_a_list_item_is_a_block_not_a_figure() -> None:
    _, blocks, _ = render("- ![A cat](images/a.jpg)\n- text\n")
    assert not any(isinstance(b, FigureBlock) for b in blocks)
    assert tree(html_of(blocks)).find(f".//{X}img").get("class") == "solo"


def test_a_figure_without_a_title_takes_its_alt_text_as_caption() -> None:
    _, blocks, _ = render("![A cat on a mat](images/a.jpg)\n")
    assert blocks[0].figure.caption == "A cat on a mat"


def test_raw_html_figure_img_sup_sub_are_kept_and_the_img_goes_through_the_pipeline() -> None:
    src = ('<figure>\n<img src="images/raw.png" alt="Raw">\n<figcaption>Its caption.</figcaption>\n</figure>\n\n'
           "Water is H<sub>2</sub>O, E = mc<sup>2</sup>, <kbd>Ctrl</kbd>, <abbr title=\"Hypertext\">HTML</abbr>.\n\n"
           "<details><summary>More</summary>Hidden text.</details>\n")
    parsed, blocks, warnings = render(src)
    assert [(r.src, r.line) for r in parsed.images] == [("images/raw.png", 5)]
    root = tree(html_of(blocks))
    img = root.find(f".//{X}figure/{X}img")
    assert (img.get("src"), img.get("width"), img.get("height"), img.get("alt")) == ("images/raw.png", "432", "216", "Raw")
    assert root.find(f".//{X}figcaption").text == "Its caption."
    for tag in ("sub", "sup", "kbd", "abbr", "details", "summary"):
        assert root.find(f".//{X}{tag}") is not None, tag
    assert warnings == []


def test_an_img_that_is_not_a_book_image_is_removed_with_its_line() -> None:
    _, blocks, warnings = render("Text.\n\nMore text <img src=\"images/gone.png\">\n", images={})
    assert "<img" not in html_of(blocks)
    assert warnings == [(6, "raw HTML not allowed in a book was removed: <img src='images/gone.png'> (not an image of the book)")]


# --- raw HTML: warnings at the tag's line, alignment survives ----------------------------------

def test_removed_html_is_warned_at_the_tags_own_line() -> None:
    src = "<div>\nfine\n\n<p>ok</p>\n<script>alert(1)</script>\n<p onclick=\"x()\">y</p>\n</div>\n"
    _, blocks, warnings = render(src)
    assert warnings == [(8, "raw HTML not allowed in a book was removed: <script>"),
                        (9, "raw HTML not allowed in a book was removed: onclick=")]
    assert "alert" not in html_of(blocks) and "onclick" not in html_of(blocks)


def test_table_alignment_survives_raw_html_in_the_chapter() -> None:
    src = "<!-- a comment -->\n\n| L | C | R |\n|:--|:-:|--:|\n| a | b | c |\n\nH<sub>2</sub>O\n"
    _, blocks, warnings = render(src)
    cells = tree(html_of(blocks)).findall(f".//{X}td")
    assert [c.get("class") for c in cells] == ["align-left", "align-center", "align-right"]
    assert not any("style" in message for _, message in warnings)
    assert "style=" not in html_of(blocks)


# --- pandoc-flavoured syntax -------------------------------------------------------------------

def test_definition_lists_sub_superscript_tasks_and_strikethrough() -> None:
    _, blocks, warnings = render("Term\n: Its definition.\n\nH~2~O and 2^10^ and ~~gone~~.\n\n- [x] done\n- [ ] to do\n")
    root = tree(html_of(blocks))
    assert root.find(f".//{X}dl/{X}dt").text == "Term"
    assert "Its definition." in etree.tostring(root.find(f".//{X}dd"), encoding="unicode")
    assert root.find(f".//{X}sub").text == "2" and root.find(f".//{X}sup").text == "10" and root.find(f".//{X}s").text == "gone"
    boxes = root.findall(f".//{X}span[@role='img']")
    assert [b.get("aria-label") for b in boxes] == ["done", "to do"] and "input" not in html_of(blocks)
    assert warnings == []


def test_fenced_divs_become_asides_or_classed_divs() -> None:
    _, blocks, _ = render("::: note\nA note.\n:::\n\n::: {.poem #p1}\nLines.\n:::\n\n::: callout-warning\nCareful.\n:::\n")
    root = tree(html_of(blocks))
    aside = root.find(f"{X}aside")
    assert (aside.get("class"), aside.get("role")) == ("callout note", "note")
    div = root.find(f"{X}div")
    assert (div.get("class"), div.get("id")) == ("poem", "p1")
    assert root.findall(f"{X}aside")[1].get("class") == "callout warning"


def test_a_pandoc_title_block_is_reported_and_left_out() -> None:
    _, blocks, warnings = render("% My Title\n% An Author\n\nBody text.\n")
    assert "My Title" not in html_of(blocks) and "Body text." in html_of(blocks)
    assert warnings == [(4, "a pandoc title block ('%' lines) is not read; the chapter's title comes from its front matter ('title:'); 2 lines left out")]


# --- headings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("source, levels", [
    ("# A\n\n## B\n\n# C\n", [2, 3, 2]),
    ("### A\n\n#### B\n", [2, 3]),
    ("# A\n\n### B\n\n###### C\n", [2, 3, 4]),
    ("## A\n\n#### B\n\n## C\n\n### D\n", [2, 3, 2, 3]),
])
def test_body_headings_nest_under_the_title_and_skip_no_level(source: str, levels: list[int]) -> None:
    parsed, blocks, _ = render(source)
    assert [h.level for h in parsed.headings] == levels
    found = [int(m) for m in re.findall(r"<h(\d)", html_of(blocks))]
    assert found == levels


def test_an_empty_heading_is_left_out_with_a_warning() -> None:
    parsed, blocks, warnings = render("## \n\nText.\n\n## Real\n")
    assert [h.text for h in parsed.headings] == ["Real"]
    assert html_of(blocks).count("<h2") == 1
    assert warnings == [(4, "an empty heading was left out (a heading needs text: screen readers list every heading)")]


# --- WeasyPrint messages at the manuscript's line ----------------------------------------------

def test_weasyprint_messages_are_located_in_the_chapter(tiny_book: Path) -> None:
    from bookmaker.backends.pdf.backend import locate, report_messages
    from bookmaker.core.context import BuildContext, build_timestamp
    from bookmaker.transform.book import load_book

    chapter = tiny_book / "chapters" / "02-two.md"
    chapter.write_text("---\ntitle: Two\n---\n\nLine one.\n\nA <span id=\"twice\">span</span>.\n", encoding="utf-8")
    book = load_book(tiny_book, Reporter(), with_cover=False)
    assert locate("Anchor defined twice: 'twice'", book) == (chapter, 7)
    reporter = Reporter()
    report_messages(["Anchor defined twice: 'twice'"] * 3, BuildContext(book, build_timestamp(), reporter))
    assert [str(w) for w in reporter.warnings] == [f"{chapter}:7: warning: WeasyPrint: Anchor defined twice: 'twice'"]


# --- partial success ---------------------------------------------------------------------------

def test_a_pdf_refused_by_preflight_still_lets_the_epub_be_written(tiny_book: Path, tmp_path: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '[print]\nprofile = "kdp"\n', encoding="utf-8")  # 2 chapters: under KDP's 24 pages
    out = tmp_path / "out"
    with pytest.raises(PreflightError) as err:
        build(tiny_book, out, ("epub", "pdf"))
    assert "page count" in str(err.value)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["tiny.epub"]
    assert [o.format for o in err.value.outputs] == ["epub"]


def test_pandoc_heading_attributes_are_read_not_printed() -> None:
    parsed, blocks, _ = render("## Intro {#intro .unnumbered}\n\n## Plain {-}\n\n## Not {an attribute\n")
    assert [(h.text, h.id) for h in parsed.headings] == [("Intro", "intro"), ("Plain", "ch-x-plain"), ("Not {an attribute", "ch-x-not-an-attribute")]
    assert "unnumbered" not in html_of(blocks) and "{-}" not in html_of(blocks)


def test_renderer_blocks_swallowed_by_an_unclosed_html_element_stay_valid_and_keep_their_text() -> None:
    src = "<p><span>open\n\n```python\nx = 1\ny = 2\n```\n\n$$a^2$$\n\nafter\n"  # the p and span are never closed
    _, blocks, _ = render(src)
    html = html_of(blocks)
    root = tree(html)
    for el in root.iter():
        if el.tag in (f"{X}pre", f"{X}div", f"{X}figure"):
            assert not any(a.tag in (f"{X}span", f"{X}p") for a in el.iterancestors()), html
    text = "".join(root.itertext())
    assert "x = 1" in text and "y = 2" in text and "after" in text
    assert root.find(".//{http://www.w3.org/1998/Math/MathML}math") is not None


def test_list_numbering_survives_raw_html_and_each_removed_tag_is_warned_where_it_is() -> None:
    src = "<!-- raw -->\n\n3. three\n4. four\n\nA <script>x()</script> here.\n\nAnd <script>y()</script> there.\n"
    _, blocks, warnings = render(src)
    assert tree(html_of(blocks)).find(f".//{X}ol").get("start") == "3"
    assert warnings == [(9, "raw HTML not allowed in a book was removed: <script>"),
                        (11, "raw HTML not allowed in a book was removed: <script>")]
