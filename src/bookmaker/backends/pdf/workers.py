"""Who lays the parts out: this process, one part after another (`SerialRunner`), or forked worker
processes, several parts at a time (`ForkedRunner`). Both sit behind one interface, and
`lay_out_parts` drives either the same way (as Sphinx's SerialTasks and ParallelTasks do).

A part is laid out from folio 1. When WeasyPrint has broken it into pages, and before it draws the
running heads and folios (its last step, `make_margin_boxes`), the part reports its page count and
waits. As soon as the parts before it have reported, it is told its first folio and draws the heads
with the page counter shifted to it. Layout, the expensive step, runs in parallel; only counts travel.
"""

from __future__ import annotations

import os
import traceback
from typing import Any, Callable, Mapping, Protocol, Sequence

from ...core.context import BuildContext
from ...core.errors import BookError, Diagnostic, OutputError
from ...render.layout import Asset, Rendered
from . import parts
from .backend import PdfBackend
from .parts import LaidOutPart
from .wp_internals import chapter_starts, layout_hooks, shift_page_counter

OnCounted = Callable[[list[int], list[tuple[int, ...]]], None]


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


def _one_part(folios: _Folios, backend: PdfBackend, ctx: BuildContext, rendered: Sequence[Rendered],
              chapter_ids: Sequence[Sequence[str]], index: int, wanted: frozenset[str]) -> tuple[parts.Finished, tuple[Diagnostic, ...]]:
    """Lay out and write part `index`: (pdf, preflight layout, cross links, page starts, the pages of
    the `wanted` anchors: index marks and cross-references' targets; warnings)."""
    import gc

    before = len(ctx.reporter.warnings)
    drops_last = parts.ends_on_verso(rendered[index])  # one more page opened, and dropped
    folios.expect(index, chapter_ids[index], drops_last)
    document = backend.lay_out(rendered[index], ctx)
    finished = parts.finish(document, ctx, drops_last, wanted=wanted)
    del document
    folios.page_boxes = []
    gc.collect()  # a part's boxes go before the next, even with the collector paused
    return finished, tuple(ctx.reporter.warnings[before:])


def _worker(conn: Any, ctx: BuildContext, rendered: Sequence[Rendered], chapter_ids: Sequence[Sequence[str]], wanted: frozenset[str]) -> None:
    """A forked process laying out the parts it is given, one after another.

    One process keeps its warm caches (Pango's shaping, the hyphenation dictionary's words) from
    part to part: a fresh process a part costs about a third more time a page.
    """
    import gc

    gc.disable()  # this process is bookmaker's own: see core/process.collector_paused
    folios = _Folios(conn)
    backend = PdfBackend()
    try:
        with folios.installed():
            while True:
                message = conn.recv()
                if message[0] != "part":
                    return
                index = message[1]
                conn.send(("done", index, *_one_part(folios, backend, ctx, rendered, chapter_ids, index, wanted)))
    except BookError as exc:
        conn.send(("error", exc))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


class _Agreement:
    """Each part's page count and chapter starts as they come in, and the first folios they give."""

    def __init__(self, counts: dict[int, int], starts: dict[int, tuple[int, ...]]) -> None:
        self.counts, self.starts = counts, starts

    def counted(self, index: int, count: int, starts: tuple[int, ...]) -> None:
        self.counts[index], self.starts[index] = count, tuple(starts)

    def first_folio(self, index: int) -> int | None:
        if any(j not in self.counts for j in range(index)):
            return None
        return 1 + sum(self.counts[j] for j in range(index))


Done = tuple[int, parts.Finished, tuple[Diagnostic, ...]]  # (part, its pages written, warnings)


class Runner(Protocol):
    def hand_out(self, todo: list[int]) -> None:
        """Start the parts at the head of `todo` it has room for (taken off the list)."""

    def release(self) -> None:
        """Tell every part waiting for its first folio the folio, once the agreement knows it."""

    def wait(self) -> list[Done]:
        """Block until parts are done; their results. Counts go to the agreement as they come."""

    def close(self, complete: bool) -> None:
        """Stop: workers exit (complete) or are killed (the pass failed or was abandoned)."""


class _Direct:
    """The folio exchange of a part laid out in this process: parts come in order, so each part's
    first folio is known when it asks."""

    def __init__(self, agreement: _Agreement) -> None:
        self.agreement = agreement
        self.part = 0

    def send(self, message: Any) -> None:
        _, self.part, count, starts = message
        self.agreement.counted(self.part, count, starts)

    def recv(self) -> Any:
        return ("go", self.agreement.first_folio(self.part))


class SerialRunner:
    """`--jobs 1`: the parts one after another in this process, with the same folio exchange.

    A forked worker lays out a part about a fifth slower than this process does (measured on the
    novel benchmark; the cause was not found), so one job uses no worker.
    """

    def __init__(self, ctx: BuildContext, rendered: Sequence[Rendered], ids: Sequence[Sequence[str]], agreement: _Agreement,
                 wanted: frozenset[str] = frozenset()) -> None:
        self.ctx, self.rendered, self.ids, self.wanted = ctx, rendered, ids, wanted
        self.folios = _Folios(_Direct(agreement))
        self.backend = PdfBackend()
        self.next: int | None = None

    def hand_out(self, todo: list[int]) -> None:
        if self.next is None and todo:
            self.next = todo.pop(0)

    def release(self) -> None:
        pass  # a part here asks for its folio when it needs it (_Direct)

    def wait(self) -> list[Done]:
        index, self.next = self.next, None
        if index is None:
            return []
        with self.folios.installed():
            return [(index, *_one_part(self.folios, self.backend, self.ctx, self.rendered, self.ids, index, self.wanted))]

    def close(self, complete: bool) -> None:
        pass


class ForkedRunner:
    """Parts handed in order to at most `jobs` forked workers, each keeping its warm caches."""

    def __init__(self, ctx: BuildContext, rendered: Sequence[Rendered], ids: Sequence[Sequence[str]], agreement: _Agreement, jobs: int,
                 wanted: frozenset[str] = frozenset()) -> None:
        import multiprocessing

        self.fork = multiprocessing.get_context("fork")
        self.ctx, self.rendered, self.ids, self.agreement, self.jobs = ctx, rendered, ids, agreement, max(1, jobs)
        self.wanted = wanted
        self.workers: dict[Any, Any] = {}  # connection -> process
        self.busy: set[Any] = set()  # connections of workers with a part
        self.idle: list[Any] = []
        self.waiting: dict[int, Any] = {}  # part -> connection of the worker waiting for its folio

    def hand_out(self, todo: list[int]) -> None:
        while todo and (self.idle or len(self.workers) < self.jobs):
            if self.idle:
                conn = self.idle.pop()
            else:
                if not self.workers:
                    parts.warm_up(self.ctx)  # once here rather than in every worker
                conn, theirs = self.fork.Pipe()
                process = self.fork.Process(target=_worker, args=(theirs, self.ctx, self.rendered, self.ids, self.wanted), daemon=True)
                process.start()
                theirs.close()
                self.workers[conn] = process
            conn.send(("part", todo.pop(0)))
            self.busy.add(conn)

    def release(self) -> None:
        for index in sorted(self.waiting):
            first = self.agreement.first_folio(index)
            if first is not None:
                self.waiting.pop(index).send(("go", first))

    def wait(self) -> list[Done]:
        from multiprocessing.connection import wait

        done: list[Done] = []
        for conn in wait(list(self.busy)):
            try:
                message: Any = conn.recv()  # type: ignore[union-attr,call-arg]  # wait() gives back the pipes it was given
            except EOFError:
                process = self.workers.pop(conn)
                process.join()
                raise OutputError.at(self.ctx.book.config.root, None, f"a process laying out the PDF stopped (exit code {process.exitcode})") from None
            if message[0] == "count":
                _, index, count, starts = message
                self.agreement.counted(index, count, starts)
                self.waiting[index] = conn
            elif message[0] == "done":
                done.append(message[1:])
                self.busy.discard(conn)
                self.idle.append(conn)
            elif message[0] == "error":
                raise message[1]
            else:
                raise RuntimeError(f"a process laying out the PDF failed:\n{message[1]}")
        return done

    def close(self, complete: bool) -> None:
        for conn, process in self.workers.items():
            if process.is_alive():
                if complete:
                    conn.send(("exit",))
                else:
                    process.kill()
            process.join()
            conn.close()


def lay_out_parts(
    ctx: BuildContext,
    body: Sequence[tuple[Any, ...]],
    gutter: float,
    jobs: int,
    assets: tuple[Asset, ...] | None,
    on_counted: OnCounted,
    folios: Mapping[str, str] | None = None,
    wanted: frozenset[str] = frozenset(),
    last: bool = True,
) -> list[LaidOutPart]:
    """Every body part laid out, by this process (`jobs` 1) or at most `jobs` workers, folios agreed in order.

    Parts are handed out in order, so a part waiting for its folio waits only for parts already
    being laid out. A part the build cache holds is not laid out unless its first folio moved.
    `on_counted(pages_by_part, starts_by_part)` runs once, when every part's pages are known (the
    parts write meanwhile); it may raise PassAbandoned, which stops every part. `folios`: those of
    anchors in other parts that cross-references name (from an earlier layout); `wanted`: the
    anchors whose pages each part reports; `last`: no Index is laid out after the parts.
    """
    rendered = [parts.render_part(ctx, body, i, gutter, assets, folios, last) for i in range(len(body))]
    keys = parts.part_keys(ctx, rendered)
    ids = [[c.id for c in p] for p in body]
    agreement = _Agreement({}, {})
    cached: dict[int, LaidOutPart] = {}
    for i, key in enumerate(keys):
        hit = parts.cached_part(ctx, key)
        if hit is not None:
            cached[i] = hit
            agreement.counted(i, hit.pages, hit.starts)
    runner: Runner = (SerialRunner(ctx, rendered, ids, agreement, wanted) if jobs <= 1
                      else ForkedRunner(ctx, rendered, ids, agreement, jobs, wanted))
    todo = [i for i in range(len(body)) if i not in cached]
    results: dict[int, LaidOutPart] = {}
    settled = 0  # parts before this one have their first folio settled (cached or told)
    checked = False

    def check() -> None:
        nonlocal checked
        if not checked and len(agreement.counts) == len(body):
            checked = True  # every part is told its folio first: they write while this runs
            on_counted([agreement.counts[i] for i in range(len(body))], [agreement.starts[i] for i in range(len(body))])

    try:
        while len(results) < len(body):
            while settled < len(body) and agreement.first_folio(settled) is not None:
                if settled in cached:  # laid out by an earlier build: used if its folios did not move
                    if cached[settled].first_folio == agreement.first_folio(settled):
                        results[settled] = cached.pop(settled)
                    else:
                        todo.append(settled)
                        todo.sort()
                        del cached[settled]
                settled += 1
            runner.release()
            check()
            runner.hand_out(todo)
            if len(results) == len(body):
                break
            for index, finished, warnings in runner.wait():
                part = LaidOutPart(agreement.counts[index], agreement.starts[index], agreement.first_folio(index) or 1, finished.pdf,
                                   finished.layout, finished.cross_links, warnings, finished.anchors, finished.page_starts)
                results[index] = part
                parts.cache_part(ctx, keys[index], part)
        check()
    finally:
        runner.close(complete=len(results) == len(body))
    return [results[i] for i in range(len(body))]
