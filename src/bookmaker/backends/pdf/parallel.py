"""The print PDF laid out in parts, by parallel worker processes, and put together with pypdf.

Every body chapter opens on a right-hand page, so a run of chapters has the same pages wherever it
falls in the book: only the folios printed in its running heads depend on what comes before. A book
whose body comes to at least two parts of about `PART_PAGES` estimated pages is cut into parts (the
cut depends on the manuscript alone, never on the number of processes, so every `--jobs` gives the
same bytes):

- the front part: half title, title page, copyright page, contents and the front chapters, with
  roman folios; laid out last, by this process, once every body chapter's folio is known, so the
  contents print real numbers;
- body parts, handed in order to at most `jobs` forked workers, each laying its parts out from
  folio 1. When WeasyPrint has broken a part into pages, and before it draws the running heads and
  folios (its last step, `make_margin_boxes`), the worker reports the page count and waits. As soon
  as the parts before it have reported, it is told its first folio and draws the heads with the
  page counter shifted to it. Layout, the expensive step, runs in parallel; only counts travel.

Each part but the last ends on a left-hand page (a part-end marker opens one more right-hand page,
which is dropped), so the next part opens on the right as the chapter would in one document. The
printer's filler pages come from a small document of blank filler pages. Links between parts are
taken out of the part and put back as link annotations to the merged file's named destinations;
bookmarks are merged in order. `printing.print_book` checks the page count against the gutter and
the filler pages exactly as for one document. Parts an earlier build laid out come from the build
cache (buildcache.py) when their first folio has not moved.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from ...core.context import BuildContext
from ...core.errors import BookError, OutputError
from ...core.model import Book, Chapter, FigureBlock, PageContent, PrintedBook
from ...render.layout import Asset, PrintDocument, render_print
from .backend import PdfBackend
from .pypdf_internals import set_info_and_id
from .wp_internals import (
    chapter_starts,
    layout_hooks,
    layout_summary,
    shift_page_counter,
)

PART_PAGES = 80  # estimated pages a body part aims at; a shorter book is laid out as one document
WORDS_A_PAGE = 300  # estimates only: a wrong guess costs balance, never correctness


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def warm_up(ctx: BuildContext) -> None:
    """Import WeasyPrint and set a line in the book's fonts here, before forking, not once per process.

    WeasyPrint's import, Pango's and fontconfig's first use of the book's fonts and the first
    document's style caches cost 0.3-0.9 s in a fresh process.
    """
    PdfBackend().lay_out(render_print(ctx.book, PrintDocument.font_specimen()), ctx)


def estimate_pages(chapter: Chapter) -> float:
    figures = sum(isinstance(block, FigureBlock) for block in chapter.blocks)
    return 1.0 + len(chapter.source.split()) / WORDS_A_PAGE + 0.7 * figures


def split_parts(book: Book) -> tuple[tuple[Chapter, ...], list[tuple[Chapter, ...]]]:
    """(front chapters, body parts): the leading front chapters, then runs of about PART_PAGES.

    No body parts when the body would make fewer than two: one document is faster then.
    """
    chapters = list(book.chapters)
    n_front = 0
    while n_front < len(chapters) and chapters[n_front].kind == "front":
        n_front += 1
    front, rest = tuple(chapters[:n_front]), chapters[n_front:]
    if not rest:
        return front, []
    weights = [estimate_pages(ch) for ch in rest]
    count = min(len(rest), math.ceil(sum(weights) / PART_PAGES))
    if count < 2:
        return front, []
    share = sum(weights) / count
    parts: list[tuple[Chapter, ...]] = []
    current: list[Chapter] = []
    done = 0.0
    for ch, weight in zip(rest, weights):
        if current and done + weight / 2 > share * (len(parts) + 1) and len(parts) < count - 1:
            parts.append(tuple(current))
            current = []
        current.append(ch)
        done += weight
    parts.append(tuple(current))
    return front, parts


@dataclass(frozen=True)
class CrossLink:
    page: int  # in the part
    rect: tuple[float, float, float, float]  # PDF points, as WeasyPrint places its own links
    anchor: str


@dataclass(frozen=True)
class LaidOutPart:
    pages: int
    starts: tuple[int, ...]  # each chapter's first page in the part (0-based)
    first_folio: int
    pdf: bytes = field(repr=False)
    layout: list[Any] = field(repr=False)  # preflight's per-page boxes
    cross_links: tuple[CrossLink, ...] = ()
    warnings: tuple[Any, ...] = ()


class _Folios:
    """In a worker: report a part's page count, wait for its first folio, shift the page counter."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.part = -1
        self.ids: Sequence[str] = ()
        self.drops_last = False
        self.page_boxes: list[Any] = []
        self.shift: int | None = None

    def expect(self, part: int, chapter_ids: Sequence[str], drops_last: bool) -> None:
        self.part, self.ids, self.drops_last, self.page_boxes, self.shift = part, chapter_ids, drops_last, [], None

    def _pages(self, page_boxes: list[Any]) -> None:
        self.page_boxes = page_boxes

    def _margin_state(self, state: Any) -> Any:
        if self.shift is None:
            count = len(self.page_boxes) - (1 if self.drops_last else 0)
            self.conn.send(("count", self.part, count, chapter_starts(self.page_boxes, self.ids)))
            message = self.conn.recv()
            if message[0] != "go":
                os._exit(0)  # the pass is abandoned (the gutter changed, or another part failed)
            self.shift = int(message[1]) - 1
        return shift_page_counter(state, self.shift) if self.shift else state

    def installed(self) -> Any:
        """WeasyPrint's layout reporting to this worker's parent, for the `with` block."""
        return layout_hooks(self._pages, self._margin_state)


def _take_cross_links(pages: Sequence[Any]) -> tuple[CrossLink, ...]:
    """Remove the internal links whose anchor is in another part; return them for the merge."""
    anchors = {name for page in pages for name in page.anchors}
    taken = []
    for index, page in enumerate(pages):
        kept = []
        for link in page.links:
            kind, target, rect = link[0], link[1], link[2]
            if kind == "internal" and target not in anchors:
                x1, y1, x2, y2 = rect
                h = page.height
                taken.append(CrossLink(index, (x1 * 0.75, (h - y1) * 0.75, x2 * 0.75, (h - y2) * 0.75), target))
            else:
                kept.append(link)
        page.links = kept
    return tuple(taken)


def _finish(document: Any, ctx: BuildContext, drops_last: bool, pages_from: int = 0, pages_to: int | None = None) -> tuple[bytes, list[Any], tuple[CrossLink, ...]]:
    pages = list(document.pages)
    if drops_last:
        pages = pages[:-1]
    pages = pages[pages_from:pages_to]
    document = document.copy(pages)
    cross = _take_cross_links(document.pages)
    backend = PdfBackend()
    return backend.write_document(document, ctx), layout_summary(document), cross


def _render_part(ctx: BuildContext, parts: Sequence[tuple[Chapter, ...]], index: int, gutter: float, assets: tuple[Asset, ...] | None) -> Any:
    rendered = render_print(ctx.book, PrintDocument.part(parts[index], gutter, last=index == len(parts) - 1))
    return replace(rendered, assets=assets) if assets is not None else rendered


def _one_part(folios: _Folios, backend: PdfBackend, ctx: BuildContext, rendered: Sequence[Any],
              chapter_ids: Sequence[Sequence[str]], index: int) -> tuple[bytes, list[Any], tuple[CrossLink, ...], tuple[Any, ...]]:
    """Lay out and write part `index`: (pdf, preflight layout, cross links, warnings)."""
    import gc

    before = len(ctx.reporter.warnings)
    drops_last = index < len(rendered) - 1
    folios.expect(index, chapter_ids[index], drops_last)
    document = backend.lay_out(rendered[index], ctx)
    pdf, layout, cross = _finish(document, ctx, drops_last)
    del document
    folios.page_boxes = []
    gc.collect()  # the collector is paused during layout; a part's boxes go before the next
    return pdf, layout, cross, tuple(ctx.reporter.warnings[before:])


def _worker(conn: Any, ctx: BuildContext, rendered: Sequence[Any], chapter_ids: Sequence[Sequence[str]]) -> None:
    """A forked process laying out the parts it is given, one after another.

    One process keeps its warm caches (Pango's shaping, the hyphenation dictionary's words) from
    part to part: a fresh process a part costs about a third more time a page.
    """
    folios = _Folios(conn)
    backend = PdfBackend()
    try:
        with folios.installed():
            while True:
                message = conn.recv()
                if message[0] != "part":
                    return
                index = message[1]
                conn.send(("done", index, *_one_part(folios, backend, ctx, rendered, chapter_ids, index)))
    except BookError as exc:
        conn.send(("error", exc))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


class PassAbandoned(Exception):
    """The gutter the pass was laid out with is not the one its page count asks for."""

    def __init__(self, content_pages: int) -> None:
        super().__init__(content_pages)
        self.content_pages = content_pages


def lay_out_parts(
    ctx: BuildContext,
    parts: Sequence[tuple[Chapter, ...]],
    gutter: float,
    jobs: int,
    assets: tuple[Asset, ...] | None,
    on_counted: Any,
) -> list[LaidOutPart]:
    """Every body part laid out by at most `jobs` worker processes, folios agreed in order.

    Parts are handed out in order, so a part waiting for its folio waits only for parts already
    being laid out. A part the build cache holds is not laid out unless its first folio moved.
    `on_counted(pages_by_part, starts_by_part)` runs once, when every part's pages are known (the
    parts write meanwhile); it may raise PassAbandoned, which stops every worker.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    fork = multiprocessing.get_context("fork")
    book = ctx.book
    rendered = [_render_part(ctx, parts, i, gutter, assets) for i in range(len(parts))]
    keys = _part_keys(ctx, rendered)
    ids = [[c.id for c in p] for p in parts]
    counts: dict[int, int] = {}
    starts: dict[int, tuple[int, ...]] = {}
    cached: dict[int, LaidOutPart] = {}
    for i, key in enumerate(keys):
        hit = _cached_part(ctx, key)
        if hit is not None:
            cached[i], counts[i], starts[i] = hit, hit.pages, hit.starts
    if jobs <= 1:
        return _lay_out_here(ctx, rendered, ids, keys, counts, starts, cached, on_counted)
    todo = [i for i in range(len(parts)) if i not in cached]
    workers: dict[Any, Any] = {}  # connection -> process
    busy: set[Any] = set()  # connections of workers with a part
    idle: list[Any] = []
    waiting: dict[int, Any] = {}  # part -> connection of the worker waiting for its folio
    results: dict[int, LaidOutPart] = {}
    settled = 0  # parts before this one have their first folio settled (cached or told)
    checked = False

    def first_folio(index: int) -> int | None:
        if any(j not in counts for j in range(index)):
            return None
        return 1 + sum(counts[j] for j in range(index))

    def hand_out() -> None:
        while todo and (idle or len(workers) < max(1, jobs)):
            if idle:
                conn = idle.pop()
            else:
                if not workers:
                    warm_up(ctx)  # once here rather than in every worker
                conn, theirs = fork.Pipe()
                process = fork.Process(target=_worker, args=(theirs, ctx, rendered, ids), daemon=True)
                process.start()
                theirs.close()
                workers[conn] = process
            conn.send(("part", todo.pop(0)))
            busy.add(conn)

    try:
        while len(results) < len(parts):
            while settled < len(parts) and first_folio(settled) is not None:
                if settled in cached:  # laid out by an earlier build: used if its folios did not move
                    if cached[settled].first_folio == first_folio(settled):
                        results[settled] = cached.pop(settled)
                    else:
                        todo.append(settled)
                        todo.sort()
                        del cached[settled]
                settled += 1
            for index in sorted(waiting):
                first = first_folio(index)
                if first is not None:
                    waiting.pop(index).send(("go", first))
            if not checked and len(counts) == len(parts):
                checked = True  # every part is told its folio first: they write while this runs
                on_counted([counts[i] for i in range(len(parts))], [starts[i] for i in range(len(parts))])
            hand_out()
            if len(results) == len(parts):
                break
            for conn in wait(list(busy)):
                try:
                    message = conn.recv()
                except EOFError:
                    process = workers.pop(conn)
                    process.join()
                    raise OutputError.at(book.config.root, None, f"a process laying out the PDF stopped (exit code {process.exitcode})") from None
                if message[0] == "count":
                    _, index, counts[index], starts[index] = message
                    waiting[index] = conn
                elif message[0] == "done":
                    _, index, pdf, layout, cross, warnings = message
                    part = LaidOutPart(counts[index], starts[index], first_folio(index) or 1, pdf, layout, cross, warnings)
                    results[index] = part
                    _cache_part(ctx, keys[index], part)
                    busy.discard(conn)
                    idle.append(conn)
                elif message[0] == "error":
                    raise message[1]
                else:
                    raise RuntimeError(f"a process laying out the PDF failed:\n{message[1]}")
    finally:
        for conn, process in workers.items():
            if process.is_alive():
                if len(results) < len(parts):
                    process.kill()
                else:
                    conn.send(("exit",))
            process.join()
            conn.close()
    return [results[i] for i in range(len(parts))]


class _Here:
    """The worker's side of the folio exchange, in this process: parts come in order, so each
    part's first folio is known when it asks."""

    def __init__(self, counts: dict[int, int]) -> None:
        self.counts = counts
        self.part = 0

    def send(self, message: Any) -> None:
        _, self.part, self.counts[self.part], _starts = message
        self.starts = _starts

    def recv(self) -> Any:
        return ("go", 1 + sum(self.counts[j] for j in range(self.part)))


def _lay_out_here(
    ctx: BuildContext, rendered: Sequence[Any], ids: Sequence[Sequence[str]], keys: Sequence[str | None],
    counts: dict[int, int], starts: dict[int, tuple[int, ...]], cached: dict[int, LaidOutPart], on_counted: Any,
) -> list[LaidOutPart]:
    """`--jobs 1`: the parts one after another in this process, with the same folio exchange.

    A forked worker lays out a part about a fifth slower than this process does (measured on the
    novel benchmark; the cause was not found), so one job uses no worker.
    """
    here = _Here(counts)
    folios = _Folios(here)
    backend = PdfBackend()
    results = []
    with folios.installed():
        for index in range(len(rendered)):
            first = 1 + sum(counts[j] for j in range(index))
            part = cached.get(index)
            if part is None or part.first_folio != first:
                written = _one_part(folios, backend, ctx, rendered, ids, index)  # sets counts[index], here.starts
                part = LaidOutPart(counts[index], here.starts, first, *written)
                _cache_part(ctx, keys[index], part)
            starts[index] = part.starts
            results.append(part)
    on_counted([counts[i] for i in range(len(rendered))], [starts[i] for i in range(len(rendered))])
    return results


def _code_key() -> str:
    """The code a part's PDF comes from: these modules' source and WeasyPrint's version."""
    import weasyprint

    from ...cache.build import digest
    from ...checks import preflight
    from . import backend as pdf
    from . import png_passthrough, wp_internals, wp_svg, wp_text

    modules = (preflight, pdf, png_passthrough, wp_internals, wp_svg, wp_text)  # every patch changes the PDF
    sources = [Path(m.__file__).read_bytes() for m in modules if m.__file__]
    return digest(Path(__file__).read_bytes(), *sources, weasyprint.__version__)


def _assets_key(assets: Sequence[Asset]) -> str:
    from ...cache.build import digest

    return digest(*(f"{a.href}\0{a.media_type}\0{hashlib.sha256(a.data).hexdigest()}" for a in assets))


def _part_keys(ctx: BuildContext, rendered: Sequence[Any], *extra: str) -> list[str | None]:
    if ctx.cache is None or not rendered:
        return [None] * len(rendered)
    from ...cache.build import digest
    from ...render.glyphs import print_font_files

    fonts = (f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in print_font_files())  # a font update lays out again
    common = digest(_code_key(), _assets_key(rendered[0].assets), repr(ctx.book.config.print.profile),
                    ctx.book.config.identifier, *fonts, *extra)
    return [digest(common, r.pages[0].content) for r in rendered]


def _cached_part(ctx: BuildContext, key: str | None) -> LaidOutPart | None:
    if key is None or ctx.cache is None:
        return None
    hit = ctx.cache.get("parts", key)
    if hit is None:
        return None
    meta, pdf = hit
    try:
        from ...core.errors import Diagnostic, SourceLocation

        layout = [PageContent([tuple(t) for t in text], [tuple(i) for i in images]) for text, images in meta["layout"]]
        cross = tuple(CrossLink(page, tuple(rect), anchor) for page, rect, anchor in meta["cross"])  # type: ignore[arg-type]
        warnings = tuple(Diagnostic(SourceLocation(Path(path), line), message, "warning") for path, line, message in meta["warnings"])
        return LaidOutPart(int(meta["pages"]), tuple(meta["starts"]), int(meta["first_folio"]), pdf, layout, cross, warnings)
    except (KeyError, TypeError, ValueError):
        return None


def _cache_part(ctx: BuildContext, key: str | None, part: LaidOutPart) -> None:
    if key is None or ctx.cache is None:
        return
    ctx.cache.put("parts", key, {
        "pages": part.pages, "starts": list(part.starts), "first_folio": part.first_folio,
        "layout": [[page.text, page.images] for page in part.layout],
        "cross": [[c.page, list(c.rect), c.anchor] for c in part.cross_links],
        "warnings": [[str(w.location.path), w.location.line, w.message] for w in part.warnings],
    }, part.pdf)


def merge(pieces: Sequence[bytes], cross_links: Sequence[tuple[int, CrossLink]], bookmarks: bool, annotations: bool) -> bytes:
    """One PDF from the parts, in order: catalog, information and /ID from the first part.

    Named destinations and (when `bookmarks`) outlines of every part are kept; `cross_links` (page
    in the merged file, link) become link annotations to the named destinations.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    readers = [PdfReader(io.BytesIO(data)) for data in pieces]
    writer = PdfWriter()
    for reader in readers:
        writer.append(reader, import_outline=bookmarks)
    first = readers[0]
    writer.pdf_header = first.pdf_header
    root = first.trailer["/Root"].get_object()
    for key in ("/Lang", "/OutputIntents", "/Metadata", "/MarkInfo", "/ViewerPreferences", "/PageMode"):
        if key in root:
            writer.root_object[NameObject(key)] = root[key].clone(writer)
    if not bookmarks and "/Outlines" in writer.root_object:
        del writer.root_object["/Outlines"]
    set_info_and_id(writer, first.trailer["/Info"].get_object(), first.trailer["/ID"])  # the book's own, as one document has
    if annotations:
        for page_index, link in cross_links:
            annotation = DictionaryObject({
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject(FloatObject(v) for v in link.rect),
                NameObject("/BS"): DictionaryObject({NameObject("/W"): NumberObject(0)}),
                NameObject("/Dest"): TextStringObject(link.anchor),
            })
            writer.add_annotation(page_index, annotation)
    # Each part embeds its own copy of every image it shows (and of the ICC profile, the
    # metadata...): written once. Font subsets differ from part to part and stay apart.
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def print_in_parts(ctx: BuildContext, front: tuple[Chapter, ...], parts: Sequence[tuple[Chapter, ...]], jobs: int,
                   gutter: float, converted: tuple[Asset, ...] | None) -> PrintedBook:
    """One pass of `printing.print_book` over `split_parts`; PassAbandoned when the gutter is wrong.

    Returns the PrintedBook, with the filler pages the profile asks for.
    """

    book = ctx.book
    settings = book.config.print
    profile = settings.profile
    backend = PdfBackend()
    done: dict[str, Any] = {}

    def with_assets(rendered: Any) -> Any:
        return replace(rendered, assets=converted) if converted is not None else rendered

    def on_counted(counts: list[int], starts: list[tuple[int, ...]]) -> None:
        folios, first = {}, 1
        for part, part_starts, count in zip(parts, starts, counts):
            folios.update({ch.id: first + s for ch, s in zip(part, part_starts)})
            first += count
        rendered = with_assets(render_print(book, PrintDocument.front(front, gutter, folios)))
        # the front part's PDF gives the book its metadata, build time included
        (key,) = _part_keys(ctx, [rendered], "front", ctx.timestamp.isoformat())
        part = _cached_part(ctx, key)
        document = None
        if part is None:
            document = backend.lay_out(rendered, ctx)
            front_pages = len(document.pages) - 1
        else:
            front_pages = part.pages
        content = front_pages + sum(counts)
        fillers = profile.fill(content)
        if abs(settings.gutter_for(content) - gutter) > 1e-9:
            raise PassAbandoned(content)
        if document is not None:
            front_starts = chapter_starts(document.pages, [ch.id for ch in front])
            pdf, layout, cross = _finish(document, ctx, drops_last=True)
            part = LaidOutPart(front_pages, front_starts, 1, pdf, layout, cross)
            _cache_part(ctx, key, part)
        done.update(front=part, content=content, fillers=fillers)

    laid_out = lay_out_parts(ctx, parts, gutter, jobs, converted, on_counted)
    for part in laid_out:
        for warning in part.warnings:
            if warning not in ctx.reporter.warnings:
                ctx.reporter.warnings.append(warning)
    pieces = [done["front"], *laid_out]
    content, fillers = done["content"], done["fillers"]
    if fillers:
        rendered = with_assets(render_print(book, PrintDocument.filler_pages(fillers + 1, gutter)))
        document = backend.lay_out(rendered, ctx)
        skip = 0 if (content + 1) % 2 else 1  # the first filler page's side
        pdf, layout, cross = _finish(document, ctx, drops_last=False, pages_from=skip, pages_to=skip + fillers)
        pieces.append(LaidOutPart(fillers, (), 0, pdf, layout, cross))
    offsets, at = [], 0
    for piece in pieces:
        offsets.append(at)
        at += piece.pages
    cross_links = [(offset + link.page, link) for piece, offset in zip(pieces, offsets) for link in piece.cross_links]
    data = merge([p.pdf for p in pieces], cross_links, profile.bookmarks, profile.annotations)
    starts_by_page = list(done["front"].starts)
    for piece, offset in zip(laid_out, offsets[1:]):
        starts_by_page.extend(offset + s for s in piece.starts)
    layout = [page for piece in pieces for page in piece.layout]
    return PrintedBook(data, at, fillers, gutter, 1, layout, tuple(starts_by_page))
