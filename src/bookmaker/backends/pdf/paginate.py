"""The print PDF under a profile: lay out, count, adjust the gutter and the fill.

The gutter a printer requires grows with the page count, and the page count depends on the
gutter, so the book is laid out, counted and laid out again until both agree (twice at most for
a real book; bounded at four passes). Blank filler pages reach the printer's page multiple.

`_settle` is that loop, written once. A pass lays the book out either as one WeasyPrint document
(`_document_pass`: short books, `--one-document`) or in parts (`_parts_pass`: the body cut by
parts.split_parts, laid out by workers.lay_out_parts and put together by merge.merge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from ...core.context import BuildContext
from ...core.errors import OutputError
from ...core.model import Book, Chapter, PrintedBook
from ...render.layout import Asset, Rendered
from ...render.printed import PrintDocument, cmyk_profile, render_print
from .backend import PdfBackend, missing_libraries
from .folios import (
    document_folios,
    estimated_folios,
    front_folios,
    part_folios,
    remote_references,
    stale,
    wanted_anchors,
)
from .merge import merge
from .parts import (
    LaidOutPart,
    PassAbandoned,
    cache_part,
    cached_part,
    default_jobs,
    finish,
    part_keys,
    split_parts,
)
from .workers import lay_out_parts
from .wp_internals import chapter_starts, layout_summary, page_side, page_starts

MAX_PASSES = 4


def print_book(ctx: BuildContext, jobs: int | None = None, one_document: bool = False) -> PrintedBook:
    """The book's print PDF: in parts laid out by up to `jobs` processes (default: every core the
    process may use), or with `one_document` as one WeasyPrint document in this process.

    Both give the same pages (tests/test_parallel.py); the bytes differ, since each part embeds
    its own font subsets. Which of the two a book gets never depends on `jobs`.
    """
    from ...render.glyphs import check_glyphs

    check_glyphs(ctx.book, ctx.reporter)  # a letter no print font has: a located warning, not an empty box
    book = ctx.book
    jobs = jobs or default_jobs()
    missing_libraries(ctx.reporter)  # said here too: worker processes' notes stay in the workers
    back = tuple(ch for ch in book.chapters if ch.role == "index")  # laid out last, with every mark's folio
    front, body = split_parts(replace(book, chapters=tuple(ch for ch in book.chapters if ch not in back)))
    if back and not body:  # a short book with an Index: its body is one part, the Index after it
        rest = tuple(ch for ch in book.chapters[len(front):] if ch not in back)
        body = [rest] if rest else []
    if _has_math(book):  # ziamath is slow pure Python: the book's formulas drawn on every core first
        from ...transform.formula import draw_ahead

        draw_ahead(_block_texts(book), book.config.print.font_size_pt, jobs)
    if one_document or not body:
        return _settle(book, _DocumentPass(ctx))
    converted = cmyk_assets(render_print(book, PrintDocument.assets_only()), ctx).assets if book.config.print.profile.colour == "cmyk" else None

    known = _Known(estimated_folios(book, remote_references(front) | {a for part in body for a in remote_references(part)}))

    def in_parts(gutter: float, fillers: int) -> Pass:  # the parts pass counts its own filler pages
        try:
            printed = _parts_pass(ctx, (front, body, back), min(jobs, len(body)), gutter, converted, known)
        except PassAbandoned as exc:
            return Pass(exc.content_pages)
        return Pass(printed.pages - printed.fillers, printed)

    return _settle(book, in_parts)


@dataclass(frozen=True)
class Pass:
    """What one layout of the book gave: its pages before filler pages, and the finished PDF when
    the gutter it was laid out with and its filler pages are the ones that page count asks for."""

    content: int
    printed: PrintedBook | None = None


def _settle(book: Book, lay_out: Callable[[float, int], Pass]) -> PrintedBook:
    """Lay out with a gutter and a number of filler pages until the page count agrees with both."""
    settings = book.config.print
    gutter, fillers = settings.margin_inside, 0
    for passes in range(1, MAX_PASSES + 1):
        result = lay_out(gutter, fillers)
        if result.printed is not None:
            return replace(result.printed, passes=passes)
        gutter, fillers = settings.gutter_for(result.content), settings.profile.fill(result.content)
    raise OutputError.at(book.config.root / "book.toml", None,
                         f"the page count and the gutter did not settle after {MAX_PASSES} layouts; widen margin_inside")


class _DocumentPass:
    """The whole book as one WeasyPrint document, its filler pages in it. With an Index, laid out
    once more when its marks' folios are not the ones it was set with (folios.py)."""

    def __init__(self, ctx: BuildContext) -> None:
        from ...transform.index.gather import index_anchors

        self.ctx, self.backend = ctx, PdfBackend()
        self.converted: tuple[Asset, ...] | None = None
        self.marks = frozenset(index_anchors(ctx.book))
        self.folios: dict[str, str] = {}
        body = [ch.id for ch in ctx.book.chapters if ch.kind == "body"]
        self.opening = body[:1]

    def _lay_out(self, gutter: float, fillers: int) -> Any:
        ctx, book = self.ctx, self.ctx.book
        for _ in range(3):  # the Index is last: the second layout gives the marks the pages of the first
            rendered = render_print(book, PrintDocument.whole(gutter, fillers).with_folios(self.folios))
            if book.config.print.profile.colour == "cmyk":  # converted once, whatever the number of passes
                self.converted = self.converted or cmyk_assets(rendered, ctx).assets
                rendered = replace(rendered, assets=self.converted)
            document = self.backend.lay_out(rendered, ctx)
            if not self.marks:
                break
            opening = chapter_starts(document.pages, self.opening)[0] if self.opening else None
            actual = document_folios(document.pages, opening, self.marks)
            if not stale(self.folios, actual, self.marks):
                break
            self.folios = actual
        return document

    def __call__(self, gutter: float, fillers: int) -> Pass:
        ctx, book = self.ctx, self.ctx.book
        settings, profile = book.config.print, book.config.print.profile
        document = self._lay_out(gutter, fillers)
        total = len(document.pages)
        content = total - fillers
        if not settings.gutter_holds(gutter, content):
            return Pass(content)
        want = profile.fill(content)
        if want > fillers:
            extra = _blank_pages(document, total, want - fillers)
            if extra is not None:
                document = document.copy(list(document.pages) + extra)
                total, fillers = total + len(extra), want
        if want != fillers:
            return Pass(content)
        return Pass(content, PrintedBook(self.backend.write_document(document, ctx), total, fillers, gutter, 1,
                                         layout_summary(document), page_starts=page_starts(document.pages)))


class _Known:
    """Folios of anchors from the last layout, kept between the passes of a book in parts: what
    its cross-references to other parts print. `rounds`: passes repeated for them so far."""

    ROUNDS = 2

    def __init__(self, folios: dict[str, str]) -> None:
        self.folios, self.rounds = folios, 0


def _parts_pass(ctx: BuildContext, pieces: tuple[tuple[Chapter, ...], Sequence[tuple[Chapter, ...]], tuple[Chapter, ...]],
                jobs: int, gutter: float, converted: tuple[Asset, ...] | None, known: _Known) -> PrintedBook:
    """One pass over `split_parts`, with the filler pages the profile asks for; PassAbandoned as soon
    as the page count shows the gutter is wrong, or when a cross-reference printed another part's
    folio that this layout moved (`known` has the new ones for the next pass).

    The front part (half title, title page, copyright, contents, front chapters, roman folios) is
    laid out last, here, once every body chapter's folio is known, so the contents print real
    numbers; then the Index (`back`), with the folio of every mark. The printer's filler pages
    come from a small document of blank filler pages.
    """
    front, parts, back = pieces
    book = ctx.book
    settings = book.config.print
    profile = settings.profile
    backend = PdfBackend()
    done: dict[str, Any] = {}
    wanted = wanted_anchors(book)

    def with_assets(rendered: Rendered) -> Rendered:
        return replace(rendered, assets=converted) if converted is not None else rendered

    def on_counted(counts: list[int], starts: list[tuple[int, ...]]) -> None:
        folios, first = {}, 1
        for chapters, part_starts, count in zip(parts, starts, counts):
            folios.update({ch.id: first + s for ch, s in zip(chapters, part_starts)})
            first += count
        folios.update({ch.id: first for ch in back[:1]})
        after = parts[0][0] if parts and parts[0] else None  # its plate ends the front part
        rendered = with_assets(render_print(book, PrintDocument.front(front, gutter, {**known.folios, **folios}, after=after)))
        part = _front_part(ctx, backend, rendered, front, wanted)
        content = part.pages + sum(counts)
        if not back and not settings.gutter_holds(gutter, content):
            raise PassAbandoned(content)
        done.update(front=part, content=content, back_folio=first, chapter_folios=folios)

    laid_out = lay_out_parts(ctx, parts, gutter, jobs, converted, on_counted, known.folios, wanted, last=not back)
    for part in laid_out:
        for warning in part.warnings:
            if warning not in ctx.reporter.warnings:
                ctx.reporter.warnings.append(warning)
    actual = front_folios(done["front"].anchors)
    for part in laid_out:
        actual.update(part_folios(part.anchors, part.first_folio))
    content = done["content"]
    if back:
        folios = {**actual, **{k: str(v) for k, v in done["chapter_folios"].items()}}
        rendered = with_assets(render_print(book, PrintDocument.back(back, gutter, done["back_folio"], folios)))
        index = _back_part(ctx, backend, rendered, back, done["back_folio"])
        laid_out = [*laid_out, index]
        content += index.pages
        if not settings.gutter_holds(gutter, content):
            raise PassAbandoned(content)
    _check_references(ctx, known, actual, front, parts, content)
    fillers = profile.fill(content)
    filler_part = None
    if fillers:
        rendered = with_assets(render_print(book, PrintDocument.filler_pages(fillers + 1, gutter)))
        document = backend.lay_out(rendered, ctx)
        skip = 0 if (content + 1) % 2 else 1  # the first filler page's side
        done_fillers = finish(document, ctx, drops_last=False, pages_from=skip, pages_to=skip + fillers)
        filler_part = LaidOutPart(fillers, (), 0, done_fillers.pdf, done_fillers.layout, done_fillers.cross_links,
                                  page_starts=done_fillers.page_starts)
    return _joined(book, done["front"], laid_out, filler_part, gutter)


def _front_part(ctx: BuildContext, backend: PdfBackend, rendered: Rendered, front: Sequence[Chapter], wanted: frozenset[str]) -> LaidOutPart:
    """The front part laid out (or from the build cache); the front part's PDF gives the book its
    metadata, build time included."""
    (key,) = part_keys(ctx, [rendered], "front", ctx.timestamp.isoformat())
    part = cached_part(ctx, key)
    if part is None:
        document = backend.lay_out(rendered, ctx)
        front_starts = chapter_starts(document.pages, [ch.id for ch in front])
        done = finish(document, ctx, drops_last=True, wanted=wanted, dated=True)  # the book's metadata
        part = LaidOutPart(len(document.pages) - 1, front_starts, 1, done.pdf, done.layout, done.cross_links, (), done.anchors,
                           done.page_starts)
        cache_part(ctx, key, part)
    return part


def _back_part(ctx: BuildContext, backend: PdfBackend, rendered: Rendered, back: Sequence[Chapter], first_folio: int) -> LaidOutPart:
    """The Index laid out on its folios (or from the build cache)."""
    (key,) = part_keys(ctx, [rendered], "back")
    part = cached_part(ctx, key)
    if part is None:
        document = backend.lay_out(rendered, ctx)
        starts = chapter_starts(document.pages, [ch.id for ch in back])
        done = finish(document, ctx, drops_last=False)
        part = LaidOutPart(len(document.pages), starts, first_folio, done.pdf, done.layout, done.cross_links,
                           page_starts=done.page_starts)
        cache_part(ctx, key, part)
    return part


def _check_references(ctx: BuildContext, known: _Known, actual: dict[str, str], front: Sequence[Chapter],
                      parts: Sequence[Sequence[Chapter]], content: int) -> None:
    """A cross-reference to another part printed the folio of an earlier layout: when this one
    moved it, lay out again with the new folios (PassAbandoned), at most `_Known.ROUNDS` times;
    after that the book is kept, with a warning that those references may be a page off."""
    remote = remote_references(front).union(*(remote_references(part) for part in parts))
    moved = stale(known.folios, actual, remote)
    if not moved:
        return
    known.folios.update(actual)
    if known.rounds < _Known.ROUNDS:
        known.rounds += 1
        raise PassAbandoned(content)
    ctx.reporter.warn(ctx.book.config.root / "book.toml", None,
                      f"the pages printed by {len(moved)} cross-reference(s) to other parts of the book did not settle "
                      f"after {_Known.ROUNDS + 1} layouts (first: '{moved[0]}'); they may be a page off")


def _joined(book: Book, front: LaidOutPart, body: Sequence[LaidOutPart], fillers: LaidOutPart | None, gutter: float) -> PrintedBook:
    """The parts merged in order, with each chapter's first page and preflight's boxes."""
    profile = book.config.print.profile
    pieces = [front, *body, *([fillers] if fillers is not None else [])]
    offsets, at = [], 0
    for piece in pieces:
        offsets.append(at)
        at += piece.pages
    cross_links = [(offset + link.page, link) for piece, offset in zip(pieces, offsets) for link in piece.cross_links]
    data = merge([p.pdf for p in pieces], cross_links, profile.bookmarks, profile.annotations)
    starts_by_page = list(front.starts)
    for piece, offset in zip(body, offsets[1:]):
        starts_by_page.extend(offset + s for s in piece.starts)
    layout = [page for piece in pieces for page in piece.layout]
    page_starts = tuple(start for piece in pieces for start in piece.page_starts)
    return PrintedBook(data, at, fillers.pages if fillers is not None else 0, gutter, 1, layout, tuple(starts_by_page), page_starts)


def _blank_pages(document: Any, total: int, count: int) -> list[Any] | None:
    """`count` blank pages to follow page `total`, taken from the book's own blank pages.

    A blank page that opens no chapter carries nothing (no head, no folio) and has the bleed of its
    side, so the same page can end the book again: no second layout is needed. None when the
    book has no blank page of a side that is needed.
    """
    blanks: dict[str, Any] = {}
    for page in document.pages:
        side, blank = page_side(page)
        if blank:
            blanks.setdefault(side, page)
    pages = []
    for position in range(total + 1, total + count + 1):
        side = "right" if position % 2 else "left"
        if side not in blanks:
            return None
        pages.append(blanks[side])
    return pages


def cmyk_assets(rendered: Rendered, ctx: BuildContext) -> Rendered:
    """Colour images converted to CMYK for a CMYK printer; grey ones and other assets kept."""
    from ...transform.images import to_cmyk

    icc = cmyk_profile(ctx.book.config).read_bytes()
    assets = []
    for asset in rendered.assets:
        if asset.media_type.startswith("image/"):
            converted = to_cmyk(asset.data, icc)
            if converted is not asset.data:
                asset = Asset(asset.href, asset.media_type if asset.media_type == "image/svg+xml" else "image/jpeg", converted)
        assets.append(asset)
    return replace(rendered, assets=tuple(assets))


def _block_texts(book: Book) -> Iterator[str]:
    """Every string of every block of the book (the HTML the print document is made of)."""
    for chapter in book.chapters:
        for block in chapter.blocks:
            for f in fields(block):
                value = getattr(block, f.name)
                if isinstance(value, str):
                    yield value


def _has_math(book: Book) -> bool:
    return any("<math" in text for text in _block_texts(book))
