"""`bookmaker catalogue` (issue 16): a catalogue of six small books, one of them broken, built on a
LocalCluster of two workers on loopback; a worker killed during a build; a second run that skips
what did not change."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bookmaker.catalogue.run import WORKER_CONFIG, Plan, client_for, run
from bookmaker.catalogue.titles import find_titles
from bookmaker.source.scaffold import create

from .conftest import EPOCH, SAMPLE

pytest.importorskip("distributed")

TITLES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")
BROKEN = "delta"


def catalogue(root: Path) -> Path:
    """Six starter books (`bookmaker new`), `delta` with a chapter whose front matter is wrong."""
    for name in TITLES:
        create(root / name, title=f"Book {name.title()}")
    chapter = root / BROKEN / "chapters" / "02-going-on.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("title: Going On", "title: [Going On"), encoding="utf-8")
    (root / "notes").mkdir()  # a folder without a book.toml is not a title
    return root


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "SOURCE_DATE_EPOCH": EPOCH}
    return subprocess.run([sys.executable, "-m", "bookmaker", "catalogue", *args], check=False, capture_output=True,
                          text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    root = catalogue(tmp_path_factory.mktemp("catalogue") / "titles")
    out = root.parent / "out"
    return root, out, run_cli(str(root), "-o", str(out), "--workers", "2")


def test_five_titles_build_and_pass_and_the_broken_one_is_reported_with_its_line(first_run: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    root, out, proc = first_run
    assert proc.returncode == 10, proc.stdout + proc.stderr
    report = json.loads((out / "catalogue.json").read_text(encoding="utf-8"))
    assert report["summary"] == {"titles": 6, "built": 5, "skipped": 0, "failed": 1}
    by_name = {t["name"]: t for t in report["titles"]}
    assert list(by_name) == list(TITLES)
    for name in TITLES:
        title = by_name[name]
        if name == BROKEN:
            continue
        assert title["status"] == "built" and title["preflight"] == "passed" and title["epubcheck"] == "passed", title
        assert title["pages"] and title["pages"] > 0 and title["seconds"] > 0
        formats = {fmt for fmt, _, _ in title["outputs"]}
        assert formats == {"epub", "pdf"}  # the starter book's profile is proof: no cover wrap
        for _, path, size in title["outputs"]:
            assert Path(path).parent == out / name and Path(path).stat().st_size == size
    broken = by_name[BROKEN]
    chapter = root / BROKEN / "chapters" / "02-going-on.md"
    assert broken["status"] == "failed" and broken["errors"], broken
    assert all(line.startswith(f"{chapter}:2: error: ") for line in broken["errors"]), broken["errors"]
    assert f"{chapter}:2: error: " in proc.stderr
    assert not list((out / BROKEN).glob("*.epub")) and not list((out / BROKEN).glob("*.pdf"))
    html = (out / "catalogue.html").read_text(encoding="utf-8")
    assert html.count("<tr class=") == 6 and "5 built" in html and "1 failed" in html


def test_a_second_run_skips_the_unchanged_titles_and_rebuilds_an_edited_one(first_run: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    root, out, _ = first_run
    chapter = root / "echo" / "chapters" / "01-a-beginning.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    before = (out / "alpha" / "book-alpha.epub").stat().st_mtime_ns
    proc = run_cli(str(root), "-o", str(out), "--workers", "2", "--no-epubcheck")
    assert proc.returncode == 10, proc.stdout + proc.stderr  # delta is still broken
    status = {t["name"]: t["status"] for t in json.loads((out / "catalogue.json").read_text(encoding="utf-8"))["titles"]}
    assert status == {"alpha": "skipped", "bravo": "skipped", "charlie": "skipped", "delta": "failed",
                      "echo": "built", "foxtrot": "skipped"}
    assert (out / "alpha" / "book-alpha.epub").stat().st_mtime_ns == before
    forced = run_cli(str(root), "-o", str(out), "--workers", "2", "--no-epubcheck", "--force", "--format", "epub")
    assert {t["status"] for t in json.loads((out / "catalogue.json").read_text(encoding="utf-8"))["titles"]} == {"built", "failed"}
    assert forced.returncode == 10


def test_a_worker_killed_during_a_build_has_its_title_built_by_another(tmp_path: Path) -> None:
    """The sample (a few seconds to build) and two starter books; the worker building the sample
    is killed while it is at it; the title still completes, with nothing half-written."""
    root = tmp_path / "titles"
    shutil.copytree(SAMPLE, root / "sample")
    for name in ("one", "two"):
        create(root / name, title=f"Book {name}")
    out = tmp_path / "out"
    plan = Plan(find_titles(root), out, ("all",), epubcheck=False)
    killed: list[int] = []
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        with client_for(None, 2) as client:
            def kill_the_sample_s_worker() -> None:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and not killed:
                    for address, keys in client.processing().items():
                        if any(str(k).startswith("title-sample-") for k in keys):
                            time.sleep(1.0)  # well into the build
                            if any(str(k).startswith("title-sample-") for k in client.processing().get(address, ())):
                                pid = client.run(os.getpid, workers=[address])[address]
                                os.kill(pid, signal.SIGKILL)
                                killed.append(pid)
                            break
                    time.sleep(0.05)

            killer = threading.Thread(target=kill_the_sample_s_worker)
            killer.start()
            results = run(plan, client)
            killer.join()
            # the workers (the one started again after the kill too) run with the catalogue's settings
            import dask

            settings = client.run(lambda: {key: dask.config.get(key) for key in WORKER_CONFIG})
            assert len(settings) == 2 and all(s == WORKER_CONFIG for s in settings.values()), settings
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    assert killed, "the sample's worker was never seen building it"
    by_name = {r.name: r for r in results}
    assert by_name["sample"].status == "built", by_name["sample"]
    assert by_name["sample"].worker and by_name["sample"].worker != f"pid {killed[0]}"
    assert {r.status for r in results} == {"built"}
    sample_out = out / "sample"
    assert {p.suffix for p in sample_out.glob("*.*") if not p.name.startswith(".")} >= {".epub", ".pdf"}
    assert not list(sample_out.glob(".*.part")), "a temporary file of the killed build was left"
    from bookmaker.checks.preflight import page_count

    pdf = next(p for p in sample_out.glob("*.pdf") if not p.name.endswith("-cover.pdf"))
    assert page_count(pdf.read_bytes()) == by_name["sample"].pages == 66


def test_catalogue_toml_lists_titles_and_a_missing_one_is_a_located_error(tmp_path: Path) -> None:
    root = tmp_path / "titles"
    for name in ("one", "two"):
        create(root / name, title=f"Book {name}")
    (root / "catalogue.toml").write_text('# the list\ntitles = [\n  "two",\n  "gone",\n]\n', encoding="utf-8")
    proc = run_cli(str(root), "-o", str(tmp_path / "out"))
    assert proc.returncode == 3 and proc.stderr.strip() == f"{root / 'catalogue.toml'}:4: error: title 'gone': no book.toml in {root / 'gone'}"
    (root / "catalogue.toml").write_text('titles = ["two"]\n', encoding="utf-8")
    assert [t.name for t in find_titles(root)] == ["two"]


def test_an_existing_cluster_started_as_the_readme_says_builds_the_titles(tmp_path: Path) -> None:
    """`--scheduler`: a scheduler and a worker started with the `dask` commands of the README, on
    loopback; the titles are built and checked there (the worker keeps its own EPUBCheck JVM)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = Path(sys.executable).with_name("dask")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    root = tmp_path / "titles"
    for name in ("one", "two"):
        create(root / name, title=f"Book {name.title()}")
    out = tmp_path / "out"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    scheduler = subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)  # type: ignore[call-overload]
    worker = subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1",
                               "--memory-limit", "2GiB", "--no-dashboard"], **quiet)  # type: ignore[call-overload]
    try:
        proc = run_cli(str(root), "-o", str(out), "--scheduler", address)
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = json.loads((out / "catalogue.json").read_text(encoding="utf-8"))
        titles = {t["name"]: t for t in report["titles"]}
        assert set(titles) == {"one", "two"}
        for title in titles.values():
            assert title["status"] == "built" and title["epubcheck"] == "passed", title
            assert title["worker"].startswith("tcp://127.0.0.1:"), title  # built by that worker
            assert {p.suffix for p in (out / title["name"]).glob("*.*")} >= {".epub", ".pdf"}, title
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
