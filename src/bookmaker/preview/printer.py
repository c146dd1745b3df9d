"""The preview server's printer: lays open chapters out for print, one at a time, and pictures their pages.

The printer thread runs `Printer.run`: it takes the newest job of a chapter (WeasyPrint, never in
the builder's way), writes its PDF and page pictures into OUT/preview/, and hands the result back
to the builder thread through the builder's queue, where it lands in the chapter's view.

What the builder thread and the printer thread share is the job queue and the slug being laid
out: `Printer._lock` (a condition) guards both. The builder calls `submit` and `busy`; the
printer never touches the builder's views or workspace, and the builder never the fonts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..backends.pdf.backend import PrintFonts
from ..core.errors import BookError, Reporter
from .chapter import PREVIEW_DIR, LinkFor, page_images, write_pdf
from .ui import error_lines


@dataclass(frozen=True)
class PrintJob:
    slug: str
    key: str
    book: Any  # Book with the chapter rendered
    chapter: Any


@dataclass(frozen=True)
class PrintDone:
    slug: str
    key: str
    pages: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    first_folio: int | None = None
    exact: bool = False
    unknown: tuple[str, ...] = ()
    recto: bool = True


class Printer:
    """The print jobs of the open chapters, newest per chapter, and the thread that lays them out.

    `tell` is the builder's queue (`Builder.poke`): it gets None when a job starts (the page shows
    "laying out…") and the job's `PrintDone` when it ends. `stopping` is the server's: once set,
    `wake` ends the printer's wait.
    """

    def __init__(self, root: Path, out: Path, link: LinkFor, tell: Callable[[object], None], stopping: threading.Event) -> None:
        self.root = root
        self.out = out
        self.link = link
        self._tell = tell
        self._stopping = stopping
        self._jobs: dict[str, PrintJob] = {}
        self._lock = threading.Condition()  # guards _jobs and _printing
        self._printing: str | None = None
        # One font configuration for every layout: a new one per layout stayed in memory (Pango
        # keeps its fontconfig config, ~0.25 MB), so the server grew at every save (backends/pdf.PrintFonts).
        self._fonts = PrintFonts()

    # --- called from other threads ------------------------------------------------------

    def submit(self, job: PrintJob) -> None:
        """From the builder thread: lay `job` out, in place of a job of its chapter still waiting."""
        with self._lock:
            self._jobs[job.slug] = job
            self._lock.notify()

    def busy(self, slug: str) -> bool:
        """From the builder thread: is `slug` waiting for the printer or being laid out?"""
        with self._lock:
            return slug in self._jobs or self._printing == slug

    def wake(self) -> None:
        """From `PreviewServer.stop`, once `stopping` is set: the printer stops waiting for jobs."""
        with self._lock:
            self._lock.notify_all()

    # --- the printer thread ----------------------------------------------------------------

    def run(self) -> None:
        import pypdfium2  # noqa: F401 - imported here, once, before the first save needs them

        from ..backends.pdf.backend import import_weasyprint

        import_weasyprint()

        while not self._stopping.is_set():
            with self._lock:
                while not self._jobs and not self._stopping.is_set():
                    self._lock.wait(0.5)
                if self._stopping.is_set():
                    return
                slug = next(iter(self._jobs))
                job = self._jobs.pop(slug)
                self._printing = slug
            self._tell(None)  # the page shows "laying out…"
            done = self._print(job)
            with self._lock:
                self._printing = None
            self._tell(done)  # takes effect in the builder thread (Builder._apply_print)

    def _print(self, job: PrintJob) -> PrintDone:
        from ..cache import pagemap

        reporter = Reporter()
        try:
            printed = write_pdf(job.book, job.chapter, self.out, reporter, link=self.link, fonts=self._fonts)
            pictures = page_images(printed.data, self.out / "print", job.slug)
            recto = pagemap.load(self.root).recto
            urls = tuple(f"/{PREVIEW_DIR}/print/{p.name}" for p in pictures)
            f = printed.folio
            return PrintDone(job.slug, job.key, urls, (), f.first, f.exact, f.unknown, recto is not False)
        except BookError as exc:
            return PrintDone(job.slug, job.key, errors=error_lines(exc))
        except Exception as exc:  # noqa: BLE001 - WeasyPrint failures show in the page, the server goes on
            return PrintDone(job.slug, job.key, errors=(f"{job.chapter.path}: error: print layout failed: {exc}",))
