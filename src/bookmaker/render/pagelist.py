"""The print edition's page numbers inside the EPUB: where each print page begins, marked in the
EPUB's pages (`mark_chapter`, `mark_front`), and the entries of the nav's page-list.

Both outputs are rendered from the same chapter blocks, but print reshapes some of them (notes
moved to their calls as floats, long code lines wrapped with a mark, formulas drawn as images). A
position is therefore given in *units* of the chapter's text, counted the same way on both sides
(`units`): every character that is not white space or an invisible format character (soft
hyphens, zero-width spaces, variation selectors) is one unit, and every picture (`<img>`, `<svg>`,
`<math>`: a formula is MathML in the EPUB and a picture in print) is one unit, its inside not
counted. What only one output has is not counted in either (`SKIPPED`): note calls and numbers,
the ways back from notes, code's continuation marks, an Index entry's locators (page numbers in
print, chapter links in the EPUB); and the notes print sets at the foot of the
page, which the EPUB has after the chapter's text (`notes_floated`).

backends/pdf/wp_pages.py measures, on WeasyPrint's laid-out pages, how many units of its chapter
come before each page's first text or picture (model.PageStart); here the EPUB's page gets an
empty `<span epub:type="pagebreak" role="doc-pagebreak">` before the word holding that unit, or
before the picture (lifted out of the elements the word or picture opens: a page that begins
with a figure is marked before the `<figure>`, a chapter's first page before its `<section>`).
Front-matter pages are marked at the start of the EPUB page that has their content (half title
and title page: titlepage.xhtml; copyright page; contents: the nav document, before its toc).
A page without text of its own (the blank verso
before a chapter opening on the right, a blank page at the book's end) is marked where the next
page begins, or at the end of the last chapter, as the DAISY Knowledge Base advises: every
printed page has its marker, so the page-list has no holes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.model import Chapter, PageStart

_INVISIBLE = (r"\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
              r"\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0")
IGNORED = re.compile(f"[{_INVISIBLE}]+")
_COUNTED = re.compile(f"[^{_INVISIBLE}]")
_WORD = re.compile(r"\S+")
OBJECTS = frozenset({"img", "svg", "math"})  # one unit each, inside not counted
SKIPPED = frozenset({"noteref", "note-number", "backlink", "cont", "foot-note", "index-locators",
                     "plate-caption"})  # in neither count (the Index: pages in print, chapters in the EPUB; a
# bleeding plate's caption under the title in print, which the EPUB has in the figure)
FLOATED = frozenset({"footnotes", "footnote"})  # the notes print floats to the foot of the page: EPUB-only text
FRONT_PAGES = {"halftitle": "titlepage.xhtml", "titlepage": "titlepage.xhtml", "copyright": "copyright.xhtml", "toc": "nav.xhtml"}
END = 1 << 60  # a unit after every other: the end of a chapter


def _last_space(text: str) -> int | None:
    """Where the last white space of `text` is (read from the end: the last word only)."""
    for i in range(len(text) - 1, -1, -1):
        if text[i].isspace():
            return i
    return None


def stripped(text: str) -> str:
    """The counted characters of `text`."""
    return IGNORED.sub("", text)


def units(text: str) -> int:
    return len(stripped(text))


def plate_units(caption: str) -> int:
    """The units of a facing chapter's plate (its picture and caption), which the EPUB has at the
    start of the chapter's section and print on the page before it (layouts/_plate.j2): the print
    section counts from there (`data-plate-units`)."""
    return 1 + units(caption)


def skipped(classes: str | None, notes_floated: bool = False) -> bool:
    """Whether an element with these classes is counted in neither output."""
    if not classes:
        return False
    names = set(classes.split())
    return bool(names & SKIPPED) or (notes_floated and bool(names & FLOATED))


def notes_floated(chapter: Chapter, placement: str) -> bool:
    """Whether print floats this chapter's notes to the foot of the page (transform/notes/printed.for_print)."""
    return placement == "foot" and chapter.role is None


@dataclass(frozen=True)
class PrintPage:
    """One page of the print edition: its folio as printed and where it begins."""

    label: str
    start: PageStart


def roman(n: int) -> str:
    out = []
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                           (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def print_pages(starts: Sequence[PageStart], chapters: Sequence[Chapter]) -> tuple[PrintPage, ...]:
    """Each page's folio as layouts/print.css prints it: lower-roman from the first page up to the
    first body chapter, which starts the arabic folios at 1; a book without body chapters counts
    on in arabic after its front matter."""
    kinds = {ch.id: ch.kind for ch in chapters}
    opening_id = next((ch.id for ch in chapters if ch.kind == "body"), None)
    opening = next((i for i, s in enumerate(starts) if s.region == "chapter" and s.where == opening_id), None)
    pages = []
    for i, start in enumerate(starts):
        if opening is not None:
            label = roman(i + 1) if i < opening else str(i - opening + 1)
        else:
            front = start.region in FRONT_PAGES or (start.region == "chapter" and kinds.get(start.where) == "front")
            label = roman(i + 1) if front else str(i + 1)
        pages.append(PrintPage(label, start))
    return tuple(pages)


def placed(pages: Sequence[PrintPage]) -> tuple[PrintPage, ...]:
    """The pages with every blank page put where the next page with text begins, or at the end of
    the last chapter that has a page."""
    out: list[PrintPage] = []
    following: PageStart | None = None
    last = next((PageStart("chapter", p.start.where, END) for p in reversed(pages) if p.start.region == "chapter"),
                PageStart("toc"))
    for page in reversed(pages):
        if page.start.region == "blank":
            out.append(PrintPage(page.label, following or last))
        else:
            following = page.start
            out.append(page)
    return tuple(reversed(out))


# -- marking an EPUB page --------------------------------------------------------------------

_TOKEN = re.compile(r"<!--.*?-->|<\?.*?\?>|<![^>]*>|<[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>|[^<]+", re.S)
_TAG = re.compile(r"<(/?)([A-Za-z][\w:.-]*)")
_CLASS = re.compile(r"""\sclass\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ID = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CHAR = re.compile(r"&(?:#[xX][0-9a-fA-F]+|#\d+|\w+);|[^&]", re.S)
_BLOCKS = frozenset("p div section header footer h1 h2 h3 h4 h5 h6 li ol ul dl dt dd figure figcaption blockquote pre "
                    "table caption tr td th thead tbody tfoot aside nav br hr article main hgroup details summary".split())
_NO_PHRASING = frozenset("ol ul dl table thead tbody tfoot tr colgroup select optgroup datalist menu ruby picture "
                         "video audio hgroup html head".split())


@dataclass
class _Open:
    tag: str
    offset: int  # where its start tag begins in the page
    at: int  # units counted before it


def marker(label: str, ident: str) -> str:
    return f'<span epub:type="pagebreak" role="doc-pagebreak" id="{ident}" aria-label="{html.escape(label)}"></span>'


def marker_id(label: str, taken: set[str]) -> str:
    ident = f"page-{label}"
    n = 1
    while ident in taken:
        n += 1
        ident = f"page-{label}-{n}"
    taken.add(ident)
    return ident


class _Marking:
    """One scan of a chapter page: units counted inside the chapter's section, markers placed."""

    def __init__(self, content: str, chapter_id: str, wanted: Sequence[tuple[int, str]], floated: bool) -> None:
        self.content, self.chapter_id, self.floated = content, chapter_id, floated
        self.wanted = sorted(wanted, key=lambda w: w[0])  # (unit, marker): stable, so pages keep their order
        self.next = 0
        self.at = 0
        self.stack: list[_Open] = []
        self.section: int | None = None  # depth of the chapter's section in the stack
        self.skip: int | None = None  # depth of an element counted in neither output
        self.word: int | None = None  # where a marker before the current word goes (`_lifted`)
        self.inserts: list[tuple[int, str]] = []
        self._end = len(content)  # where the chapter's section closes

    def run(self) -> str:
        for m in _TOKEN.finditer(self.content):
            token = m.group(0)
            if token.startswith("<"):
                self._tag(token, m.start())
            elif self.section is not None and self.skip is None:
                self._text(token, m.start())
        for _, text in self.wanted[self.next:]:  # past the last unit: the chapter's end
            self.inserts.append((self._end, text))
        out, pos = [], 0
        for offset, text in sorted(self.inserts, key=lambda insert: insert[0]):  # stable: pages keep their order
            out.append(self.content[pos:offset])
            out.append(text)
            pos = offset
        out.append(self.content[pos:])
        return "".join(out)

    def _tag(self, token: str, offset: int) -> None:
        m = _TAG.match(token)
        if m is None:
            return
        closing, tag = m.group(1) == "/", m.group(2).split(":")[-1].lower()
        if closing:
            if self.stack and self.stack[-1].tag == tag:
                depth = len(self.stack) - 1
                if self.section == depth:
                    self._end = offset
                    self.section = None
                if self.skip == depth:
                    self.skip = None
                self.stack.pop()
            if tag in _BLOCKS:
                self.word = None
            return
        void = token.endswith("/>")
        counting = self.section is not None and self.skip is None
        if counting and tag in _BLOCKS:
            self.word = None
        if counting and tag in OBJECTS:
            classes = _CLASS.search(token)
            if not skipped(classes and (classes.group(1) or classes.group(2)), self.floated):
                self._reach(self._lifted(offset, self.at))
                self.at += 1
                self.word = None
            if not void:
                self.stack.append(_Open(tag, offset, self.at))
                self.skip = len(self.stack) - 1 if self.skip is None else self.skip
            return
        if void:
            return
        self.stack.append(_Open(tag, offset, self.at))
        depth = len(self.stack) - 1
        if self.section is None:
            ident = _ID.search(token)
            if tag == "section" and ident and (ident.group(1) or ident.group(2)) == self.chapter_id:
                self.section = depth
        elif self.skip is None:
            classes = _CLASS.search(token)
            if skipped(classes and (classes.group(1) or classes.group(2)), self.floated):
                self.skip = depth

    def _text(self, text: str, offset: int) -> None:
        if "&" in text:
            self._characters(text, offset)
            return
        count = units(text)
        if self.next >= len(self.wanted) or self.wanted[self.next][0] >= self.at + count:
            self._skim(text, offset, count)
            return
        end = self.at + count
        for m in _WORD.finditer(text):  # word by word up to the last marker in this run
            size = units(m.group(0))
            if not size:
                continue
            if m.start() > 0 or self.word is None:  # else the run goes on with the word before it
                first = _COUNTED.search(m.group(0))
                self.word = self._lifted(offset + m.start() + (first.start() if first else 0), self.at)
            self.at += size
            while self.next < len(self.wanted) and self.wanted[self.next][0] < self.at:
                self.inserts.append((self.word, self.wanted[self.next][1]))
                self.next += 1
            if self.next >= len(self.wanted) or self.wanted[self.next][0] >= end:
                self._skim(text[m.end():], offset + m.end(), end - self.at)
                return

    def _characters(self, text: str, offset: int) -> None:
        """A run with character references, one character at a time."""
        for m in _CHAR.finditer(text):
            char = html.unescape(m.group(0)) if m.group(0).startswith("&") else m.group(0)
            if not stripped(char):
                if char.isspace():
                    self.word = None
                continue
            if self.word is None:
                self.word = self._lifted(offset + m.start(), self.at)
            self._reach(self.word)
            self.at += 1

    def _skim(self, text: str, offset: int, count: int) -> None:
        """A run of text before the next marker: counted, and where its last word began kept."""
        if "&" in text:  # rare: character references in the run
            self._characters(text, offset)
            return
        last = _last_space(text)
        if last is not None or self.word is None:
            begin = last + 1 if last is not None else 0
            first = _COUNTED.search(text, begin)
            self.word = self._lifted(offset + first.start(), self.at + count - units(text[first.start():])) if first else None
        self.at += count

    def _reach(self, offset: int) -> None:
        """Place at `offset` every marker wanted at or before the unit counted next."""
        while self.next < len(self.wanted) and self.wanted[self.next][0] <= self.at:
            self.inserts.append((offset, self.wanted[self.next][1]))
            self.next += 1

    def _lifted(self, offset: int, unit: int) -> int:
        """Before the elements that the unit opens (no unit of theirs came before it), as far out as
        a `<span>` may stand: out of the chapter's section at most (a chapter's first page is
        marked before its section, which keeps its own content as it was)."""
        section = self.section if self.section is not None else 1
        for depth in range(len(self.stack) - 1, max(section - 1, 0), -1):
            element, parent = self.stack[depth], self.stack[depth - 1]
            if element.offset >= offset:
                continue  # opened after the word began
            if element.at != unit or parent.tag in _NO_PHRASING or element.tag in _NO_PHRASING:
                break
            offset = element.offset
        return offset


def mark_chapter(content: str, chapter: Chapter, pages: Sequence[tuple[int, str]], floated: bool) -> str:
    """`content` (a chapter's EPUB page) with a marker before the unit of each of `pages`, given
    as (unit, label) in reading order."""
    if not pages:
        return content
    taken = set(m.group(1) or m.group(2) for m in _ID.finditer(content))
    wanted = [(unit, marker(label, marker_id(label, taken))) for unit, label in pages]
    return _Marking(content, chapter.id, wanted, floated).run()


def mark_front(content: str, labels: Sequence[str]) -> str:
    """A front-matter page with the markers of its print pages at the start of its body."""
    if not labels:
        return content
    m = re.search(r"<body\b[^>]*>\n?", content)
    if m is None:
        return content
    taken = set(x.group(1) or x.group(2) for x in _ID.finditer(content))
    spans = "".join(marker(label, marker_id(label, taken)) + "\n" for label in labels)
    return content[:m.end()] + spans + content[m.end():]


def marker_hrefs(content: str, href: str) -> list[tuple[str, str]]:
    """(label, href) of each marker on a marked page, in order."""
    return [(html.unescape(m.group(2)), f"{href}#{m.group(1)}")
            for m in re.finditer(r'<span epub:type="pagebreak" role="doc-pagebreak" id="([^"]+)" aria-label="([^"]*)"', content)]


def by_page(pages: Sequence[PrintPage]) -> Mapping[str, list[tuple[int, str]]]:
    """The (unit, label) of the markers each EPUB page gets, by chapter id or front page href."""
    out: dict[str, list[tuple[int, str]]] = {}
    for page in pages:
        key = FRONT_PAGES.get(page.start.region, page.start.where)
        out.setdefault(key, []).append((page.start.unit, page.label))
    return out
