"""One title's build and check, as a Dask worker runs it: outputs written into the title's own
folder (each atomically, as `bookmaker build` writes them), the EPUB checked by EPUBCheck, and a
picklable result. A user's error (bad front matter, a missing image, a PDF its printer refuses)
is the title's result, with its located lines; it never stops the other titles."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .titles import RECORD, Title


@dataclass(frozen=True)
class Job:
    title: Title
    out_dir: Path  # OUT_DIR/<title>
    formats: tuple[str, ...]
    key: str  # titles.title_key: written with the result, for the next run to skip on
    epubcheck: bool = True
    epoch: str | None = None  # SOURCE_DATE_EPOCH of the command, for workers that do not share its environment
    epubcheck_socket: str | None = None  # the machine's resident EPUBCheck (a LocalCluster's workers share it)


@dataclass(frozen=True)
class TitleResult:
    name: str
    status: str  # "built", "failed" or "skipped" (unchanged since a run that built it)
    seconds: float = 0.0
    errors: tuple[str, ...] = ()  # path:line: error: … lines
    warnings: int = 0
    pages: int | None = None
    outputs: tuple[tuple[str, str, int], ...] = ()  # format, path, bytes
    preflight: str = "-"  # "passed", "failed", or "-" when not reached
    epubcheck: str = "-"  # "passed", "N errors…", "not run"
    worker: str = ""
    key: str = field(default="", compare=False)


def _clean(out_dir: Path) -> None:
    """What a killed attempt can leave: temporary files, and the record of the build before it."""
    if out_dir.is_dir():
        for part in out_dir.glob(".*.part"):
            part.unlink(missing_ok=True)
    (out_dir / RECORD).unlink(missing_ok=True)


def build_title(job: Job) -> TitleResult:
    """Build and check one title (runs on a Dask worker; one title a worker process at a time)."""
    from ..core.errors import BookError, PreflightError, Reporter
    from ..pipeline import build

    if job.epoch is not None:
        os.environ["SOURCE_DATE_EPOCH"] = job.epoch
    started = time.perf_counter()
    where = _worker_name()
    _clean(job.out_dir)
    reporter = Reporter()
    try:
        outputs = build(job.title.root, job.out_dir, formats=job.formats, reporter=reporter, jobs=1)
    except PreflightError as exc:
        return TitleResult(job.title.name, "failed", time.perf_counter() - started, tuple(map(str, exc.diagnostics)),
                           len(reporter.warnings), outputs=_listed(exc.outputs), preflight="failed", worker=where)
    except BookError as exc:
        return TitleResult(job.title.name, "failed", time.perf_counter() - started, tuple(map(str, exc.diagnostics)),
                           len(reporter.warnings), worker=where)
    epub = next((o.path for o in outputs if o.format == "epub"), None)
    epubcheck, errors = _epubcheck(epub, job.epubcheck_socket) if job.epubcheck and epub is not None else ("not run", ())
    result = TitleResult(
        job.title.name, "failed" if errors else "built", time.perf_counter() - started, errors, len(reporter.warnings),
        _pages(outputs), _listed(outputs), "passed", epubcheck, where, job.key,
    )
    if not errors:
        from ..core.paths import write_atomic

        write_atomic(job.out_dir / RECORD, json.dumps(asdict(result), indent=1).encode("utf-8"))
    return result


def _listed(outputs: object) -> tuple[tuple[str, str, int], ...]:
    return tuple((o.format, str(o.path), o.size) for o in outputs or ())  # type: ignore[attr-defined]


def _pages(outputs: list) -> int | None:  # type: ignore[type-arg]
    pdf = next((o.path for o in outputs if o.format == "pdf"), None)
    if pdf is None:
        return None
    from ..checks.preflight import page_count

    return page_count(pdf.read_bytes())


def _epubcheck(epub: Path, socket: str | None) -> tuple[str, tuple[str, ...]]:
    from ..checks.validate import ValidatorMissing, resident_epubcheck

    try:
        # one JVM for the machine's workers (or, without it, one a worker process), not one a title
        report = resident_epubcheck(Path(socket) if socket else None).check(epub)
    except ValidatorMissing as exc:
        return f"not run: {exc}", ()
    if report.clean:
        return "passed", ()
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items() if v)
    return counts, tuple(f"{epub}: error: EPUBCheck {f.severity} {f.code}: {f.message} ({f.location})" for f in report.findings)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def previous(out_dir: Path) -> TitleResult | None:
    """The result the last run recorded for this title's folder, if it built."""
    try:
        data = json.loads((out_dir / RECORD).read_text(encoding="utf-8"))
        data["errors"] = tuple(data["errors"])
        data["outputs"] = tuple(tuple(o) for o in data["outputs"])
        return TitleResult(**data)
    except (OSError, ValueError, TypeError, KeyError):
        return None
