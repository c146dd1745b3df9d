"""A 20-title catalogue built with one worker and with two (run by hand, not part of the tests).

    .venv/bin/python benchmarks/catalogue.py [--titles 20] [--runs 1] [--write benchmarks/RESULTS-catalogue.md]

The titles are copies of the sample book, each with its own title (so each is a real book of 66
pages with 28 plates, its EPUB checked by EPUBCheck). Each run is `bookmaker catalogue DIR -o OUT
--workers N --force` in its own process with a fresh output folder, so nothing is skipped and no
build cache helps; the LocalCluster's start-up is in the time. The target (issue 16): on 2 cores,
two workers take at most 0.6x the time of one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_catalogue(folder: Path, titles: int) -> Path:
    for n in range(titles):
        book = folder / f"title-{n:02d}"
        shutil.copytree(ROOT / "book", book)
        toml = book / "book.toml"
        text = toml.read_text(encoding="utf-8").replace('title = "28 Banned Photos', f'title = "Volume {n + 1}: 28 Banned Photos', 1)
        toml.write_text(text, encoding="utf-8")
    return folder


def timed(catalogue: Path, out: Path, workers: int) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SOURCE_DATE_EPOCH": "1764115200"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bookmaker", "catalogue", str(catalogue), "-o", str(out),
                           "--workers", str(workers), "--force"], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"catalogue with {workers} workers failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    import json

    titles = json.loads((out / "catalogue.json").read_text(encoding="utf-8"))["titles"]
    return seconds, sum(t["seconds"] for t in titles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=20)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bookmaker-catalogue-") as tmp:
        catalogue = make_catalogue(Path(tmp) / "titles", args.titles)
        times: dict[int, list[float]] = {1: [], 2: []}
        tasks: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.runs):
            for workers in (1, 2):
                wall, busy = timed(catalogue, Path(tmp) / f"out-{workers}", workers)
                times[workers].append(wall)
                tasks[workers].append(busy)
                print(f"{workers} worker(s): {wall:.1f} s, the titles' own times adding up to {busy:.1f} s", flush=True)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    ratio = two / one
    verdict = "met" if ratio <= 0.6 else "MISSED"
    table = (f"# Catalogue: {args.titles} titles, one worker against two\n\n"
             f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/catalogue.py --titles {args.titles} --runs {args.runs}` "
             f"on {os.cpu_count()} cores, Python {sys.version.split()[0]}. Each title is a copy of the sample "
             "(66 pages, 28 plates, EPUB, PDF and cover wrap, EPUBCheck on the EPUB); every run is "
             "`bookmaker catalogue --force` with a fresh output folder, the LocalCluster's start included.\n\n"
             "| workers | seconds (median) | runs | the titles' own times, added up |\n| ---: | ---: | --- | --- |\n"
             f"| 1 | {one:.1f} | {', '.join(f'{t:.1f}' for t in times[1])} | {', '.join(f'{t:.1f}' for t in tasks[1])} |\n"
             f"| 2 | {two:.1f} | {', '.join(f'{t:.1f}' for t in times[2])} | {', '.join(f'{t:.1f}' for t in tasks[2])} |\n\n"
             f"Two workers take **{ratio:.2f}x** the time of one (target: at most 0.6x): {verdict}.\n")
    print(table)
    if args.write:
        args.write.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
