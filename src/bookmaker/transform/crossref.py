"""The full build's book-wide checks of ids and links, for one chapter, from the others' ids.

The full build settles every chapter against the whole book (`book.figure_id_clashes`,
`links.check_links`); `settle` runs those same functions on one chapter and the others' ids. A
figure id another chapter already uses is an error. An id an earlier chapter already uses is
removed. A link to a missing fragment of another chapter leads to that chapter's start, and a link
to nothing is removed. Each fix is a warning. A one-chapter preview makes the same fixes, so its
page stays the full build's page. It needs only the other chapters' ids:

- `Ids.of` reads them from a rendered chapter;
- `cheap_ids` renders a chapter's Markdown without sizing or drawing its images (a few
  milliseconds), for the chapters the cache does not know;
- `IdCache` keeps them per chapter, keyed by the chapter's id and text, in memory (the server) or
  in a file beside the page map (`bookmaker preview`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from ..cache.keys import code_key
from ..core.digest import digest
from ..core.errors import BookError, ManuscriptError, Reporter
from ..core.model import (
    Book,
    BookConfig,
    Chapter,
    FigureBlock,
    FigureRef,
    Heading,
    HtmlBlock,
    Image,
    ImageRef,
)
from ..core.paths import write_atomic
from .links import check_links, html_ids, line_of, link_targets


def ids_key(chapter: Chapter) -> str:
    return digest(code_key("ids"), chapter.id, chapter.path.name, chapter.source, size=24)


@dataclass(frozen=True)
class Ids:
    key: str
    figures: tuple[tuple[str, int], ...]  # (figure id, line)
    html: tuple[str, ...]  # ids in the chapter's XHTML, in order (headings, notes, raw HTML)
    headings: tuple[str, ...]

    @classmethod
    def of(cls, chapter: Chapter) -> "Ids":
        figures = tuple((b.figure.id, b.figure.line) for b in chapter.blocks if isinstance(b, FigureBlock))
        html = tuple(html_ids(chapter))
        return cls(ids_key(chapter), figures, html, tuple(h.id for h in chapter.headings))

    def stub(self, chapter: Chapter) -> Chapter:
        """The chapter as the book-wide pass sees it: its ids, no text."""
        figures = tuple(FigureBlock(FigureRef(fid, "", "", "", None, line)) for fid, line in self.figures)
        spans = HtmlBlock("".join(f'<span id="{i}"></span>' for i in self.html))
        return replace(chapter, blocks=figures + (spans,), headings=tuple(Heading(2, "", h) for h in self.headings))


def _no_images(config: BookConfig, refs: Iterable[ImageRef], reporter: Reporter) -> tuple[Image, ...]:
    """An image loader that sizes nothing: ids and links do not depend on pictures."""
    seen: dict[str, Image] = {}
    for ref in refs:
        seen.setdefault(ref.src, Image(ref.src, "images/unsized.png", "image/png", b"", 1, 1, 1.0, 1.0, True))
    return tuple(seen.values())


def cheap_ids(book: Book, chapter: Chapter) -> Ids:
    """The chapter's ids, its Markdown rendered without images; none if it cannot be rendered."""
    from .book import render_chapters

    try:
        rendered = render_chapters(book, Reporter(), only=lambda ch: ch.id == chapter.id, with_cover=False, image_loader=_no_images)
    except BookError:  # that chapter's own error; its preview will say it
        return Ids(ids_key(chapter), (), (), ())
    return Ids.of(next(ch for ch in rendered.chapters if ch.id == chapter.id))


class IdCache:
    """Other chapters' ids by chapter id; `path` keeps them between runs of `bookmaker preview`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._ids: dict[str, Ids] = {}
        self._dirty = False
        if path is not None:
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                self._ids = {cid: Ids(v["key"], tuple((str(a), int(b)) for a, b in v["figures"]), tuple(v["html"]), tuple(v["headings"]))
                             for cid, v in raw.items()}
            except (OSError, ValueError, KeyError, TypeError):
                self._ids = {}

    @classmethod
    def for_book(cls, root: Path) -> "IdCache":
        from ..cache.pagemap import cache_path

        return cls(cache_path(root).with_name(cache_path(root).name.replace("pagemap-", "ids-")))

    def get(self, book: Book, chapter: Chapter) -> Ids:
        known = self._ids.get(chapter.id)
        if known is not None and known.key == ids_key(chapter):
            return known
        ids = cheap_ids(book, chapter)
        self.put(chapter.id, ids)
        return ids

    def put(self, chapter_id: str, ids: Ids) -> None:
        if self._ids.get(chapter_id) != ids:
            self._ids[chapter_id] = ids
            self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        data = {cid: {"key": i.key, "figures": [list(f) for f in i.figures], "html": list(i.html), "headings": list(i.headings)}
                for cid, i in self._ids.items()}
        try:
            write_atomic(self.path, json.dumps(data, separators=(",", ":")).encode("utf-8"), durable=False)
            self._dirty = False
        except OSError:
            pass  # a cache that cannot be written is not an error


def settle(book: Book, chapter: Chapter, cache: IdCache, reporter: Reporter) -> Chapter:
    """`chapter` (rendered) as the full build leaves it after its book-wide checks.

    Raises the build's error for a figure id an earlier chapter or a chapter already has; reports
    the build's warnings for this chapter's ids and links.
    """
    from .book import figure_id_clashes

    cache.put(chapter.id, Ids.of(chapter))  # what the others see of it: its ids before the checks
    # The pass over the chapters up to the last one this chapter links to decides all it does here.
    every_chapter = book.chapters  # a figure id may not be any chapter's id, later ones' too
    index = next(i for i, ch in enumerate(book.chapters) if ch.id == chapter.id)
    hrefs = link_targets(chapter)
    last = max([index] + [i for i, ch in enumerate(book.chapters) if ch.href in hrefs or ch.path.name in hrefs])
    book = replace(book, chapters=book.chapters[: last + 1])
    others = {ch.id: cache.get(book, ch) for ch in book.chapters if ch.id != chapter.id}
    earlier = [(ch.path, fid, line) for ch in book.chapters[:index] for fid, line in others[ch.id].figures]
    own = [(chapter.path, b.figure.id, b.figure.line) for b in chapter.blocks if isinstance(b, FigureBlock)]
    # The earlier chapters' own clashes are theirs to report, in their previews.
    problems = [d for d in figure_id_clashes(every_chapter, earlier + own) if d.location.path == chapter.path]
    if problems:
        raise ManuscriptError(*problems)
    stubs = tuple(chapter if ch.id == chapter.id else others[ch.id].stub(ch) for ch in book.chapters)

    def warn(ch: Chapter, needle: str, message: str) -> None:
        if ch.id == chapter.id:
            reporter.warn(ch.path, line_of(ch, needle), message)

    from .markdown.marks import strip_mark_data
    from .references import resolve_references

    checked = check_links(resolve_references(replace(book, chapters=stubs), warn), warn)
    settled = next(ch for ch in checked.chapters if ch.id == chapter.id)
    # the index marks as the build leaves them (transform/index); the Index page is the build's alone
    return replace(settled, blocks=tuple(replace(b, html=strip_mark_data(b.html)) if isinstance(b, HtmlBlock) else b
                                         for b in settled.blocks))


def settle_in_book(book: Book, chapter: Chapter, cache: IdCache, reporter: Reporter) -> tuple[Book, Chapter]:
    settled = settle(book, chapter, cache, reporter)
    if book.config.notes == "book":  # its notes are on the Notes page, as in the full build (notes/gather.py)
        from .notes import move_out, notes_page_slug

        settled, _ = move_out(settled, f"{notes_page_slug(book.chapters)}.xhtml")
    return replace(book, chapters=tuple(settled if ch.id == chapter.id else ch for ch in book.chapters)), settled
