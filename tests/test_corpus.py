"""The corpus (tests/corpus/<book>/): manuscripts as authors bring them, and what bookmaker owes them.

Each book is built once per session (EPUB and PDF), and EPUBCheck and Ace run once on each EPUB,
in worker threads while the other books build and are read. For every book, as separate tests:

- EPUBCheck reports nothing and Ace no violation;
- the print preflight's "content inside the margins" rule passes: no code line, table or figure
  runs into the margin;
- every word of the manuscript's text is in the EPUB's visible text and in the PDF's text;
- no raw TeX is visible in either output (beyond a formula the build warned about);
- the build's warnings are the book's `expected-warnings.txt`, no more and no fewer.

Why words and not HTML: the corpus is about loss. A renderer, sanitiser or layout that drops a
paragraph, a table cell, a footnote or the end of a code line loses words, whatever the markup.

The words are taken from the Markdown with markdown-it and the plugins the README's manuscript
section describes, read here independently of bookmaker's own parser: text, code and footnotes,
not image alt texts (they are not printed as text), not math (typeset, not words), not raw HTML
tags, and not what the book's expected warnings say was left out (a `%` title block; the content
of a `<script>`, `<style>`, `<iframe>`… element whose removal is expected).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from .conftest import ROOT, Built, build_book, need
from lxml import etree
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from bookmaker.checks.preflight import preflight
from bookmaker.checks.validate import Report, ValidatorMissing, run_ace, resident_epubcheck
from bookmaker.source.config import load_config

CORPUS = Path(__file__).resolve().parent / "corpus"
BOOKS = sorted(p.name for p in CORPUS.iterdir() if (p / "book.toml").is_file())
MARGIN_RULE = "content inside the margins"
# C1 compiler only and the serial collector: a JVM that runs for seconds, not hours, starts faster.
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
RAW_TEX = ("$\\", "\\frac", "\\sum", "$$")
# Elements whose content goes with them when they are removed (README, "Raw HTML": scripts,
# styles, forms, iframe/object/embed); any other removed tag keeps its text.
CONTENT_REMOVED = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript", "form",
                             "textarea", "select"})
# Scripts written without spaces between words: compared letter by letter, since a line may
# break between any two of their letters.
UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "IDEOGRAPHIC")
# Marks that start a code line's printed continuation.
CONTINUATION = "\u2192\u21aa\u21b3\u2937\u23ce\u21b5\u2026"
HYPHENS = "-\u2010\u2011\u00ad"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.S)
# pandoc's attribute block at a heading's end ({#id}, {.class}, {-}, {#id .unnumbered key=v}): not text
_HEADING_ATTRS = re.compile(r"\s*\{\s*(?:[#.][^{}]*|-|[A-Za-z][\w-]*=[^{}]*)\}\s*$")
_EXPECTED = re.compile(r"^(?P<path>[^:]+?)(?::(?P<line>\d+))?: warning: (?P<text>.+)$")
XHTML = "http://www.w3.org/1999/xhtml"
SVG = "http://www.w3.org/2000/svg"
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "nav", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "math",
})
_INVISIBLE = frozenset({"head", "script", "style", "annotation", "annotation-xml", "title"})


# --- what the book expects ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """One line of a book's expected-warnings.txt: a warning at `path:line` whose message holds `text`."""

    path: str
    line: int | None
    text: str

    def __str__(self) -> str:
        return f"{self.path}{f':{self.line}' if self.line else ''}: warning: {self.text}"

    def matches(self, warning: Expected) -> bool:
        return warning.path == self.path and warning.line == self.line and self.text in warning.text


def parse_warning(line: str, root: Path | None = None) -> Expected:
    """`path:line: warning: message`, the path made relative to the book's folder."""
    m = _EXPECTED.match(line.strip())
    if not m:
        raise ValueError(f"not a warning line: {line!r}")
    path = m["path"]
    if root is not None and Path(path).is_absolute():
        try:
            path = Path(path).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return Expected(path, int(m["line"]) if m["line"] else None, m["text"])


def expected_warnings(root: Path) -> tuple[Expected, ...]:
    """The book's expected-warnings.txt; blank lines and `#` comments are skipped."""
    text = (root / "expected-warnings.txt").read_text(encoding="utf-8")
    return tuple(parse_warning(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


# --- words ---------------------------------------------------------------------------------------


def _unspaced(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(UNSPACED)


def words(text: str, marks: bool = True) -> list[str]:
    """The words of `text` as compared: NFKC, case-folded; punctuation and symbols separate words
    (so "don't", "don’t" and "don t" agree); letters and digits split apart (a footnote number set
    against a word, H₂O as H 2 O); marks stay with their letter; letters of unspaced scripts one
    by one. `marks=False` leaves out the nonspacing marks (Mn) for the PDF: text extractors place
    a Thai tone mark or an Arabic tanween by its drawn position, often after the next letter."""
    out: list[str] = []
    current: list[str] = []
    kind = ""

    def flush() -> None:
        if current:
            out.append("".join(current))
            current.clear()

    for ch in unicodedata.normalize("NFKC", text).casefold():
        cat = unicodedata.category(ch)
        if cat[0] == "M":
            if current and (marks or cat != "Mn"):
                current.append(ch)
            continue
        if cat[0] not in "LN":
            flush()
            kind = ""
            continue
        this = "unspaced" if cat[0] == "L" and _unspaced(ch) else cat[0]
        if this != kind or this == "unspaced":
            flush()
        kind = this
        current.append(ch)
    flush()
    return out


@lru_cache(maxsize=1)
def manuscript_parser() -> MarkdownIt:
    """Markdown as the README's manuscript section describes it (CommonMark, tables, footnotes,
    strikethrough, smart typography, definition lists, task lists, sub/superscript, fenced divs,
    `$…$`/`$$…$$` math, attributes on images)."""
    md = MarkdownIt("commonmark", {"html": True, "typographer": True})
    md.enable(["table", "strikethrough", "replacements", "smartquotes"])
    md.use(footnote_plugin).use(deflist_plugin).use(tasklists_plugin).use(sub_plugin).use(superscript_plugin)
    md.use(container_plugin, name="div", validate=lambda *_: True)
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True, allow_labels=True)
    md.use(attrs_plugin, after=("image",))
    return md


class _HtmlText(HTMLParser):
    """The text of raw HTML, without its tags, comments, or the content of removed elements."""

    def __init__(self, removed: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.removed = removed
        self.skipping: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.removed:
            self.skipping.append(tag)
        self.parts.append(" " if tag in _BLOCK else "")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        self.parts.append(" " if tag in _BLOCK else "")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _html_text(html: str, removed: frozenset[str]) -> str:
    parser = _HtmlText(removed)
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


_MATH = ("math_inline", "math_inline_double", "math_block", "math_block_label")


def _inline_text(token: Token, removed: frozenset[str]) -> str:
    """An inline token's text: text and code, breaks as spaces; not images, math or HTML tags."""
    parts: list[str] = []
    skipping: list[str] = []
    for child in token.children or []:
        if child.type == "html_inline":
            m = re.match(r"<\s*(/)?\s*([A-Za-z][\w-]*)", child.content)
            if m and m[2].lower() in removed:
                if m[1] and skipping:
                    skipping.pop()
                elif not m[1] and not child.content.rstrip().endswith("/>"):
                    skipping.append(m[2].lower())
            continue
        if skipping:
            continue
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak", "footnote_ref"):
            parts.append(" ")
    return "".join(parts)


def _removed_here(expected: tuple[Expected, ...], chapter: str) -> frozenset[str]:
    """Elements whose removal (with their content) the book expects in this chapter."""
    named = {t.lower() for e in expected if e.path == chapter for t in re.findall(r"<([A-Za-z][\w-]*)>", e.text)}
    return frozenset(named & CONTENT_REMOVED)


def _title_block_expected(expected: tuple[Expected, ...], chapter: str) -> bool:
    return any(e.path == chapter and "title block" in e.text for e in expected)


@dataclass(frozen=True)
class Chapter:
    path: str  # relative to the book: chapters/x.md
    body_line: int  # file line of the body's first line
    front: dict[str, object]
    tokens: tuple[Token, ...]


def read_chapter(root: Path, path: Path, expected: tuple[Expected, ...]) -> Chapter:
    source = path.read_text(encoding="utf-8")
    rel = path.relative_to(root).as_posix()
    m = _FRONT_MATTER.match(source)
    front = yaml.safe_load(m[1]) if m else {}
    body = source[m.end():] if m else source
    body_line = source[: m.end()].count("\n") + 1 if m else 1
    if _title_block_expected(expected, rel):  # the expected warning says these lines are left out
        lines = body.split("\n")
        n = next((i for i, line in enumerate(lines) if not line.startswith("%")), len(lines))
        body = "\n" * n + "\n".join(lines[n:])
    tokens = tuple(manuscript_parser().parse(body, {}))
    return Chapter(rel, body_line, front or {}, tokens)


def chapter_words(chapter: Chapter, expected: tuple[Expected, ...], marks: bool = True) -> list[str]:
    """Every word the chapter's reader must find: its title and subtitle, the text of its blocks,
    code and notes."""
    removed = _removed_here(expected, chapter.path)
    parts = [str(chapter.front.get(key, "")) for key in ("title", "subtitle")]
    for i, token in enumerate(chapter.tokens):
        if token.type == "inline":
            text = _inline_text(token, removed)
            in_heading = i > 0 and chapter.tokens[i - 1].type == "heading_open"
            parts.append(_HEADING_ATTRS.sub("", text) if in_heading else text)
        elif token.type in ("fence", "code_block") and token.info.strip().lower() != "math":
            parts.append(token.content)
        elif token.type == "html_block":
            parts.append(_html_text(token.content, removed))
    return words("\n".join(parts), marks)


def chapter_files(root: Path) -> list[Path]:
    return sorted((root / "chapters").glob("*.md"))


def _math_with_lines(chapter: Chapter) -> Iterator[tuple[str, int]]:
    """(TeX, file line) of every formula of the chapter, display and inline."""
    for token in chapter.tokens:
        at = chapter.body_line + (token.map[0] if token.map else 0)
        if token.type in _MATH or (token.type == "fence" and token.info.strip().lower() == "math"):
            yield token.content.strip(), at
        if token.type != "inline":
            continue
        for child in token.children or []:
            if child.type in _MATH:
                yield child.content.strip(), at
            if child.type in ("softbreak", "hardbreak"):
                at += 1
            elif child.type == "text":
                at += child.content.count("\n")


def warned_formulas(chapters: list[Chapter], expected: tuple[Expected, ...]) -> list[str]:
    """The TeX of each formula on a line where a warning is expected: the build may print those
    as they were written (and says so); no other TeX may show."""
    return [tex for ch in chapters for tex, line in _math_with_lines(ch)
            if any(e.path == ch.path and e.line == line for e in expected)]


# --- what the outputs show ------------------------------------------------------------------------


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _visible(el: Any, parts: list[str]) -> None:
    name = _local(el.tag)
    if not name or name in _INVISIBLE:  # comments and processing instructions, head, scripts, annotations
        if el.tail:
            parts.append(el.tail)
        return
    block = name in _BLOCK
    parts.append("\n" if block else "")
    if el.text:
        parts.append(el.text)
    for child in el:
        _visible(child, parts)
    parts.append("\n" if block else "")
    if el.tail:
        parts.append(el.tail)


def epub_text(epub: Path) -> str:
    """The visible text of every XHTML document of the EPUB: no head, scripts, styles or MathML
    annotations (attributes such as `alt` and `alttext` are not text)."""
    parts: list[str] = []
    with zipfile.ZipFile(epub) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith((".xhtml", ".html", ".htm"))):
            root = etree.fromstring(zf.read(name), etree.XMLParser(resolve_entities=False, no_network=True))
            body = root.find(f"{{{XHTML}}}body")
            _visible(body if body is not None else root, parts)
            parts.append("\n")
    return "".join(parts)


def pdf_text(pdf: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        need("pdftotext not found (Debian: apt-get install poppler-utils)")
    return subprocess.run([str(tool), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout


def _glued(lines: list[str]) -> str:
    """The lines with each line-end hyphen and each continuation mark taken out and the two lines
    put together: "pro-", "mo-", "tion" read "promotion"."""
    out: list[str] = []
    for line in lines:
        if out and line and line[0] in CONTINUATION:
            out[-1] += line.lstrip(CONTINUATION).lstrip()
        elif out and out[-1] and out[-1][-1] in HYPHENS and line:
            out[-1] = out[-1].rstrip(HYPHENS) + line
        else:
            out.append(line)
    return "\n".join(out)


def _across_page_ends(lines: list[str], reach: int = 4) -> Iterator[str]:
    """A word cut at a line end whose other half is a few lines on, past a folio and a running head
    at a page break: each pairing with the next (or, for a continuation, the previous) `reach`
    lines that are not empty is a candidate."""
    full = [line for line in lines if line]
    for i, here in enumerate(full):
        if here[-1] in HYPHENS:
            for after in full[i + 1: i + 1 + reach]:
                yield here.split()[-1].rstrip(HYPHENS) + after.split()[0]
        head = here.lstrip(CONTINUATION).split()
        if here[0] in CONTINUATION and head:
            for before in full[max(0, i - reach): i]:
                yield before.split()[-1] + head[0]


def printed_words(text: str, marks: bool = True) -> Counter[str]:
    """The words of a PDF's text, with the words a line end cut in two put together again: a word
    hyphenated at the end of a line, and a code line continued on the next after a mark (→, ↪).
    The halves count as well, since a break at a hyphen or a space also ends a word."""
    lines = [line.strip() for line in text.splitlines()]
    bag = Counter(words(text, marks)) | Counter(words(_glued(lines), marks))
    for candidate in _across_page_ends(lines):
        bag.update(words(candidate, marks))
    return bag


def missing(wanted: list[str], found: Counter[str]) -> Counter[str]:
    """The words of `wanted` that `found` has fewer of (a multiset difference)."""
    return Counter(wanted) - found


def shown_tex(text: str, allowed: list[str]) -> list[str]:
    """Raw TeX in `text` (whitespace made single spaces), after the `allowed` formulas, as printed
    with or without their dollars, are taken out."""
    flat = " ".join(text.split())
    for tex in sorted(allowed, key=len, reverse=True):
        tex = " ".join(tex.split())
        for form in (f"$${tex}$$", f"${tex}$", tex):
            flat = flat.replace(form, " ")
    found = []
    for pattern in RAW_TEX:
        for m in re.finditer(re.escape(pattern), flat):
            found.append(flat[max(0, m.start() - 30): m.end() + 30])
    return found


# --- the session's builds and validations ----------------------------------------------------------


@dataclass(frozen=True)
class CorpusBook:
    name: str
    root: Path
    expected: tuple[Expected, ...]
    outcome: Built | str  # the outputs, or why the book did not build
    epubcheck: Future[Report] | None = None
    ace: Future[Report] | None = None

    @property
    def built(self) -> Built:
        """The outputs; a book that did not build fails each of its tests, not the others'."""
        if isinstance(self.outcome, str):
            pytest.fail(f"the {self.name} book did not build: {self.outcome}")
        return self.outcome

    def chapters(self) -> list[Chapter]:
        return [read_chapter(self.root, p, self.expected) for p in chapter_files(self.root)]


def _build(root: Path, out: Path) -> Built | str:
    try:
        return build_book(root, out, check=False)
    except Exception as exc:  # noqa: BLE001 - reported by each of the book's tests
        return f"{type(exc).__name__}: {exc}"


def corpus_builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CorpusBook]]:
    """Every corpus book built once (EPUB and PDF, the PDF written whatever its preflight says,
    so the tests can read it), its EPUB handed to EPUBCheck and Ace in two worker threads while
    the next book builds. The session's `corpus` fixture (conftest.py), which test_calibre.py
    shares."""
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="corpus-validate")
    books: dict[str, CorpusBook] = {}
    java_options = os.environ.get("JAVA_TOOL_OPTIONS")
    if java_options is None:  # EPUBCheck's JVM in its quick-start mode: half the CPU, the same report
        os.environ["JAVA_TOOL_OPTIONS"] = QUICK_JVM
    try:
        for name in BOOKS:
            root = CORPUS / name
            outcome = _build(root, tmp_path_factory.mktemp(f"corpus-{name}"))
            book = CorpusBook(name, root, expected_warnings(root), outcome)
            if not isinstance(outcome, str):
                book = CorpusBook(name, root, book.expected, outcome, pool.submit(resident_epubcheck().check, outcome.epub),
                                  pool.submit(run_ace, outcome.epub, ROOT))
            books[name] = book
        yield books
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if java_options is None:
            os.environ.pop("JAVA_TOOL_OPTIONS", None)


def _report(book: CorpusBook, future: Future[Report] | None) -> Report:
    _ = book.built  # a book that did not build fails here
    assert future is not None
    try:
        return future.result()
    except ValidatorMissing as exc:
        need(str(exc))
        raise


@lru_cache(maxsize=None)
def _pdf_text(pdf: Path) -> str:
    return pdf_text(pdf)


@lru_cache(maxsize=None)
def _epub_text(epub: Path) -> str:
    return epub_text(epub)


def _wanted(book: CorpusBook, marks: bool = True) -> list[str]:
    return [w for ch in book.chapters() for w in chapter_words(ch, book.expected, marks)]


def _missing_report(gone: Counter[str], total: int, where: str) -> str:
    listed = ", ".join(f"{w!r}" + (f" x{n}" if n > 1 else "") for w, n in sorted(gone.items())[:80])
    return f"{sum(gone.values())} of {total} words of the manuscript are not in the {where}: {listed}"


# --- the tests ---------------------------------------------------------------------------------------


def test_the_corpus_has_the_books_the_brief_asks_for() -> None:
    assert {"syntax", "code", "math", "svg", "scripts", "story", "images"} <= set(BOOKS)
    for name in BOOKS:
        root = CORPUS / name
        assert 1 <= len(chapter_files(root)) <= 4, name
        assert (root / "expected-warnings.txt").is_file(), name
        assert all(e.path.startswith("chapters/") for e in expected_warnings(root)), name


@pytest.mark.parametrize("name", BOOKS)
def test_the_warnings_are_the_expected_ones(corpus: dict[str, CorpusBook], name: str) -> None:
    book = corpus[name]
    actual = [parse_warning(w, book.root) for w in book.built.warnings]
    absent = [str(e) for e in book.expected if not any(e.matches(a) for a in actual)]
    unexpected = [str(a) for a in actual if not any(e.matches(a) for e in book.expected)]
    assert not absent and not unexpected, f"expected but not given: {absent}; given but not expected: {unexpected}"


@pytest.mark.parametrize("name", BOOKS)
def test_the_pdf_keeps_its_content_inside_the_margins(corpus: dict[str, CorpusBook], name: str) -> None:
    book = corpus[name]
    report = preflight(book.built.pdf.read_bytes(), load_config(book.root))
    rule = next(r for r in report.results if r.rule.startswith(MARGIN_RULE))
    assert rule.passed, f"{rule.rule}: {rule.measured} (pages {rule.pages})"


@pytest.mark.parametrize("name", BOOKS)
def test_every_word_is_in_the_epub(corpus: dict[str, CorpusBook], name: str) -> None:
    book = corpus[name]
    wanted = _wanted(book)
    gone = missing(wanted, Counter(words(_epub_text(book.built.epub))))
    assert not gone, _missing_report(gone, len(wanted), "EPUB's visible text")


@pytest.mark.parametrize("name", BOOKS)
def test_every_word_is_in_the_pdf(corpus: dict[str, CorpusBook], name: str) -> None:
    # Indic words need the PDF's text per cluster (/ActualText, backends/wp_text.py): WeasyPrint 70's
    # ToUnicode map alone gives each glyph the text of the first cluster it was drawn in.
    book = corpus[name]
    wanted = _wanted(book, marks=False)
    gone = missing(wanted, printed_words(_pdf_text(book.built.pdf), marks=False))
    as_written = dict(zip(wanted, _wanted(book)))  # the same words with their marks, for the report
    gone = Counter({as_written[w]: n for w, n in gone.items()})
    assert not gone, _missing_report(gone, len(wanted), "PDF's text (pdftotext; nonspacing marks not compared)")


@pytest.mark.parametrize("name", BOOKS)
def test_no_raw_tex_is_visible(corpus: dict[str, CorpusBook], name: str) -> None:
    book = corpus[name]
    allowed = warned_formulas(book.chapters(), book.expected)
    shown = {"EPUB": shown_tex(_epub_text(book.built.epub), allowed), "PDF": shown_tex(_pdf_text(book.built.pdf), allowed)}
    assert not any(shown.values()), f"raw TeX visible: {shown}"


def gradient_starts(root: Path) -> dict[str, tuple[int, int, int]]:
    """The first stop colour of every gradient in the book's SVG files: the colour at a linear
    gradient's start edge, at a radial one's centre, so it covers an area of the drawing."""
    found: dict[str, tuple[int, int, int]] = {}
    for svg in sorted((root / "images").glob("*.svg")):
        tree = etree.parse(str(svg), etree.XMLParser(resolve_entities=False, no_network=True))
        for gradient in tree.iter(f"{{{SVG}}}linearGradient", f"{{{SVG}}}radialGradient"):
            stop = gradient.find(f"{{{SVG}}}stop")
            colour = (stop.get("stop-color") or "") if stop is not None else ""
            if re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
                found[f"{svg.name}#{gradient.get('id')}"] = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[assignment]
    return found


def drawn_colours(pdf: Path, out: Path, dpi: int = 40) -> Counter[tuple[int, int, int]]:
    """Every pixel colour of every page of the PDF, drawn by pdftoppm at `dpi`."""
    from PIL import Image

    tool = shutil.which("pdftoppm")
    if tool is None:
        need("pdftoppm not found (Debian: apt-get install poppler-utils)")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(tool), "-png", "-r", str(dpi), str(pdf), str(out / "page")], check=True, timeout=120)
    colours: Counter[tuple[int, int, int]] = Counter()
    for png in sorted(out.glob("page*.png")):
        with Image.open(png) as im:
            colours.update(dict((rgb, n) for n, rgb in im.convert("RGB").getcolors(maxcolors=1 << 24)))
    return colours


def near(colours: Counter[tuple[int, int, int]], rgb: tuple[int, int, int], tolerance: int = 32) -> int:
    return sum(n for c, n in colours.items() if max(abs(a - b) for a, b in zip(c, rgb)) <= tolerance)


@pytest.mark.parametrize("name", [b for b in BOOKS if gradient_starts(CORPUS / b)])
def test_svg_gradients_are_drawn_in_print(corpus: dict[str, CorpusBook], name: str, tmp_path: Path) -> None:
    """A gradient is part of the picture: the PDF shows its colours (the EPUB's SVG is the file itself)."""
    colours = drawn_colours(corpus[name].built.pdf, tmp_path)
    absent = [f"{where} ({'#%02x%02x%02x' % rgb})" for where, rgb in gradient_starts(CORPUS / name).items()
              if near(colours, rgb) < 20]
    assert not absent, f"gradients not drawn in the PDF: {absent}"


# EPUBCheck and Ace come last: their worker threads have run while the tests above did.

@pytest.mark.parametrize("name", BOOKS)
def test_epubcheck_reports_nothing(corpus: dict[str, CorpusBook], name: str) -> None:
    report = _report(corpus[name], corpus[name].epubcheck)
    assert report.clean, f"{report.summary()}: " + "; ".join(f"{f.code} {f.message} ({f.location})" for f in report.findings[:20])


@pytest.mark.parametrize("name", BOOKS)
def test_ace_reports_no_violation(corpus: dict[str, CorpusBook], name: str) -> None:
    report = _report(corpus[name], corpus[name].ace)
    assert report.clean, f"{report.summary()}: " + "; ".join(f"{f.severity} {f.code}: {f.message} ({f.location})" for f in report.findings[:20])


# --- the comparison itself, both ways ----------------------------------------------------------------


def test_words_agree_across_quotes_ligatures_case_and_scripts() -> None:
    assert words("Don’t ﬁnd “H₂O”") == words("don't find h 2 o") == ["don", "t", "find", "h", "2", "o"]
    assert words("人人生而自由") == ["人", "人", "生", "而", "自", "由"]
    assert words("मनुष्यों को") == ["मनुष्यों", "को"]  # vowel signs and virama stay with their letters
    assert words("word1") == ["word", "1"]  # a footnote number set against its word


def test_a_word_the_output_lost_is_reported() -> None:
    wanted = words("The old man was dead. The old man was dead.")
    assert not missing(wanted, Counter(words("The old man was dead. The old man was dead. Running head")))
    assert missing(wanted, Counter(words("The old man was dead. The man was dead."))) == Counter({"old": 1})


def test_printed_words_join_hyphenated_and_continued_lines() -> None:
    printed = printed_words("the disease had sharp-\nened my senses\nprint(f\"The ten most com\n  \u2192 mon words\")\n"
                            "a pro\u2010\nmo\u2010\ntion and my visit\u2010\n7\n\fThe Heart\nors all over\n")
    assert not missing(words("sharpened most common promotion visitors"), printed)
    assert missing(words("sharpened uncommon"), printed) == Counter({"uncommon": 1})
    assert missing(words("sharpened"), printed_words("sharp-\na\nb\nc\nd\nened")) == Counter({"sharpened": 1})


def test_raw_html_text_is_read_but_removed_content_is_not() -> None:
    html = '<p onclick="x()">Kept <b>words</b></p><script>alert("gone")</script><font>also kept</font>'
    assert words(_html_text(html, frozenset({"script"}))) == ["kept", "words", "also", "kept"]
    assert "gone" in words(_html_text(html, frozenset()))


def test_raw_tex_is_found_unless_the_formula_was_warned_about() -> None:
    assert shown_tex("the sum \\sum_{k=1}^n k is", [])
    assert shown_tex("area $$\\frac{1}{2}$$ here", [])
    assert not shown_tex("a price of $5 and a formula a2+b2=c2", [])
    assert not shown_tex("left as written: $\\notacommand{x} + 1$ with", ["\\notacommand{x} + 1"])
    assert shown_tex("left as written: $\\notacommand{x} + 1$ and \\frac{a}{b}", ["\\notacommand{x} + 1"])
