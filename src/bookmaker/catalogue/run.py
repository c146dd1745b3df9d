"""The catalogue's run: a Dask cluster (a LocalCluster of worker processes by default, or the
scheduler at `--scheduler`), one task a title, a live progress bar, unchanged titles skipped.

Each worker process builds one title at a time (`threads_per_worker=1`; the title's PDF is laid
out on that one core, `jobs=1`), so a worker's memory is one build's. A task whose worker dies is
given to another worker by the scheduler (`distributed.scheduler.allowed-failures`, 3 by
default); a task that raises is tried again once (`retries=1`). A title's own errors are its
result, not an exception, and are not retried.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .task import Job, TitleResult, build_title, previous
from .titles import Title, environment_key, find_titles, title_key

RETRIES = 1


@dataclass(frozen=True)
class Plan:
    titles: tuple[Title, ...]
    out_dir: Path
    formats: tuple[str, ...]
    force: bool = False
    epubcheck: bool = True


@contextmanager
def client_for(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client: of the scheduler at `scheduler`, else of a LocalCluster of `workers`
    processes (default: one per core), one thread each, on loopback, with no dashboard."""
    import dask
    from distributed import Client, LocalCluster

    # bookmaker's workers start processes of their own (EPUBCheck's JVM); they must not be daemons
    with dask.config.set({"distributed.worker.daemon": False, "distributed.logging.distributed": "error"}):
        if scheduler:
            with Client(scheduler, timeout="30s") as client:
                yield client
            return
        n = workers or os.cpu_count() or 1
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
            yield client


def jobs_of(plan: Plan) -> tuple[list[Job], list[TitleResult]]:
    """The titles to build, and the results of those skipped because nothing they follow from
    changed since the run that built them (unless `force`)."""
    environment = environment_key()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    jobs, skipped = [], []
    for title in plan.titles:
        out = plan.out_dir / title.name
        key = title_key(title, plan.formats, environment + (epoch or ""))
        last = previous(out)
        if not plan.force and last is not None and last.key == key and last.status == "built":
            skipped.append(replace(last, status="skipped", seconds=0.0))
            continue
        jobs.append(Job(title, out, plan.formats, key, plan.epubcheck, epoch))
    return jobs, skipped


def run(plan: Plan, client: Any, on_change: Callable[[dict[str, int]], None] = lambda _: None) -> list[TitleResult]:
    """Every title of `plan` built on `client`'s workers: the results in the plan's order."""
    from distributed import as_completed

    jobs, results = jobs_of(plan)
    counts = {"done": len(results), "failed": 0, "running": len(jobs), "total": len(plan.titles)}
    on_change(dict(counts))
    futures = {client.submit(build_title, job, key=f"title-{job.title.name}-{job.key[:12]}", retries=RETRIES,
                             pure=False): job for job in jobs}
    for future in as_completed(futures):
        job = futures[future]
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a task that failed twice, or whose workers kept dying
            result = TitleResult(job.title.name, "failed", errors=(f"{job.title.root / 'book.toml'}: error: the build "
                                                                   f"did not finish: {type(exc).__name__}: {exc}",))
        results.append(result)
        counts["running"] -= 1
        counts["done" if result.status != "failed" else "failed"] += 1
        on_change(dict(counts))
    order = {t.name: i for i, t in enumerate(plan.titles)}
    return sorted(results, key=lambda r: order[r.name])


def plan_for(catalogue: Path, out_dir: Path, formats: tuple[str, ...], force: bool, epubcheck: bool = True) -> Plan:
    return Plan(find_titles(catalogue), out_dir, formats, force, epubcheck)
