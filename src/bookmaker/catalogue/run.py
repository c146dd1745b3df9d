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

# Dask settings for a LocalCluster's workers (an existing cluster's workers keep their own).
# bookmaker's workers start processes of their own (EPUBCheck's JVM), so they must not be
# daemons. A worker's event loop wakes every 20 ms (its tick), samples the running task's stack
# every 10 ms for the dashboard's profile, reads its memory every 100 ms and the machine's load
# every 500 ms for the dashboard; each wake takes the GIL from the build. Measured on 20 titles,
# alternating runs (benchmarks/RESULTS-catalogue.md): the first three at 1 s, off and 1 s made
# both one worker and two 7-11% faster (one of them alone changed nothing measurable); the
# machine's load read every 5 s made two workers 3% faster and one no faster. A catalogue run
# opens no dashboard, and the memory limit is still enforced, a second at most after a worker
# goes over it.
WORKER_CONFIG = {
    "distributed.worker.daemon": False,
    "distributed.logging.distributed": "error",
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}


@dataclass(frozen=True)
class Plan:
    titles: tuple[Title, ...]
    out_dir: Path
    formats: tuple[str, ...]
    force: bool = False
    epubcheck: bool = True
    epubcheck_socket: str | None = None  # where the workers find a resident EPUBCheck (shared_epubcheck)


@contextmanager
def client_for(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client: of the scheduler at `scheduler`, else of a LocalCluster of `workers`
    processes (default: one per core), one thread each, on loopback, with no dashboard."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(WORKER_CONFIG):
        if scheduler:
            with Client(scheduler, timeout="30s") as client:
                yield client
            return
        n = workers or os.cpu_count() or 1
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
            yield client


@contextmanager
def shared_epubcheck(plan: Plan, local: bool) -> Iterator[Plan]:
    """The plan, with the socket of a resident EPUBCheck JVM started for it when its workers are
    this machine's (a LocalCluster): they all check there, so the JVM's start and cold code
    (about 4 s of CPU) are paid once, not once a worker. Workers elsewhere, or a runtime where
    the resident JVM cannot start, check in JVMs of their own."""
    if not (local and plan.epubcheck):
        yield plan
        return
    from ..checks.validate import ResidentEpubCheck, ValidatorMissing

    resident = ResidentEpubCheck()
    try:
        try:
            socket = resident.start()
        except ValidatorMissing:
            socket = None  # each title's result says EPUBCheck did not run, and why
        yield replace(plan, epubcheck_socket=str(socket) if socket else None)
    finally:
        resident.close()


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
        jobs.append(Job(title, out, plan.formats, key, plan.epubcheck, epoch, plan.epubcheck_socket))
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
