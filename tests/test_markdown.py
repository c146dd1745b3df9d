"""Markdown -> XHTML: figures, footnotes, headings, typography, links between chapters."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from bookmaker.core.errors import ManuscriptError
from bookmaker.core.model import FigureBlock, HtmlBlock, Image
from bookmaker.transform import markdown

IMG = Image("images/a.jpg", "images/a.png", "image/png", b"", 1350, 900, 4.5, 3.0, True)


def render(src: str, doc_id: str = "ch-x") -> tuple[markdown.Parsed, tuple]:
    parsed = markdown.parse(Path("x.md"), src, 4, doc_id, "Chapter 1")
    return parsed, markdown.render(parsed, {"images/a.jpg": IMG}, {"02-other.md": "02-other.xhtml"})


def wellformed(html: str) -> etree._Element:
    return etree.fromstring(f'<div xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">{html}</div>')


def test_an_image_alone_in_its_paragraph_is_a_figure() -> None:
    parsed, blocks = render('Before.\n\n![A cat](images/a.jpg "The cat."){#cat aspect="2:3"}\n\nAfter.\n')
    assert [type(b) for b in blocks] == [HtmlBlock, FigureBlock, HtmlBlock]
    fig = blocks[1].figure
    assert (fig.id, fig.alt, fig.caption, fig.aspect, fig.line) == ("cat", "A cat", "The cat.", (2, 3), 6)


def test_inline_images_carry_their_size() -> None:
    _, blocks = render("Text ![A cat](images/a.jpg) more.\n")
    # the pixel size stays on the element (readers reserve the space); class "inline" sets it in the line
    assert '<img class="inline" src="images/a.png" alt="A cat" width="1350" height="900" />' in blocks[0].html


def test_footnotes_have_book_wide_ids_and_epub_semantics() -> None:
    _, blocks = render("Text[^n] here.\n\n[^n]: The note.\n", doc_id="ch-07")
    text, notes = blocks
    wellformed(text.html), wellformed(notes.html)
    assert 'href="#fn-ch-07-1"' in text.html and 'id="fnref-ch-07-1"' in text.html
    assert 'epub:type="noteref"' in text.html and 'role="doc-noteref"' in text.html
    assert notes.notes and not text.notes  # the notes are a block of their own, after the text
    assert '<aside id="fn-ch-07-1" class="footnote" epub:type="footnote" role="doc-footnote">' in notes.html
    assert 'href="#fnref-ch-07-1" role="doc-backlink"' in notes.html


def test_heading_ids_are_prefixed_and_unique() -> None:
    parsed, blocks = render("## Part\n\nx\n\n## Part\n\ny\n", doc_id="ch-3")
    assert [h.id for h in parsed.headings] == ["ch-3-part", "ch-3-part-2"]


def test_typography_and_raw_script_is_removed() -> None:
    _, blocks = render('"Quoted" -- and <script>alert(1)</script> it\'s.\n')
    html = blocks[0].html
    assert "“Quoted”" in html and "it’s" in html
    assert "script" not in html and "alert" not in html  # the element and its content
    wellformed(html)


def test_links_to_other_chapter_files_point_at_their_pages() -> None:
    _, blocks = render("See [the other](02-other.md#sec).\n")
    assert 'href="02-other.xhtml#sec"' in blocks[0].html


def test_a_bad_aspect_is_an_error_with_its_line() -> None:
    with pytest.raises(ManuscriptError) as err:
        render('x\n\n![A](images/a.jpg){aspect="wide"}\n')
    assert err.value.diagnostics[0].location.line == 6


def test_explicit_heading_ids() -> None:
    parsed, blocks = render("## The end {#the-end}\n\nDone.\n")
    assert parsed.headings[0].id == "the-end" and parsed.headings[0].text == "The end"
    assert '<h2 id="the-end">The end</h2>' in blocks[0].html
