"""What notes cost a long book's build (run by hand, not part of the tests).

    .venv/bin/python benchmarks/notes.py [--runs 3] [--vs OTHER_CHECKOUT/src]

The book is tests/test_notes_long.py's: 30 chapters of prose (about 118,000 words of text) with
200 notes, 12 of them long enough to run on over pages, numbered through the book. The same book
without its notes (calls and definitions taken out, `notes` keys dropped from book.toml so older
code reads it) is the yardstick. Each build runs in its own process with a fresh output folder,
the two books in turn; the table gives medians of wall and CPU seconds (the CPU time of the build
and its forked workers: on a busy machine it is the steadier figure). With `--vs`, the book
without notes is also built by another checkout's code (a `src` folder), for "a book without notes
builds as fast as before notes existed".
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def books(folder: Path) -> tuple[Path, Path]:
    from tests.test_notes_long import generate

    with_notes = generate(folder / "with-notes")
    without = folder / "without-notes"
    shutil.copytree(with_notes, without)
    toml = without / "book.toml"
    toml.write_text(re.sub(r"(?m)^note(s|_numbers) =.*\n", "", toml.read_text(encoding="utf-8")), encoding="utf-8")
    for chapter in (without / "chapters").glob("*.md"):
        text = chapter.read_text(encoding="utf-8").split("\n[^")[0]  # the notes follow the text
        chapter.write_text(re.sub(r"\[\^\d+\]", "", text) + "\n", encoding="utf-8")
    return with_notes, without


def timed(src: Path, book: Path, out: Path) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(src), "SOURCE_DATE_EPOCH": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bookmaker", "build", str(book), "-o", str(out), "-q"], check=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--vs", type=Path, help="another checkout's src folder, to build the book without notes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with_notes, without = books(Path(tmp))
        cases = {"200 notes": (ROOT / "src", with_notes), "no notes": (ROOT / "src", without)}
        if args.vs:
            cases["no notes, --vs code"] = (args.vs, without)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (src, book) in cases.items():
                times[name].append(timed(src, book, Path(tmp) / "out"))
        base = statistics.median(c for _, c in times["no notes"])
        print("| book | wall s (median) | CPU s (median) | CPU / no notes |\n| --- | ---: | ---: | ---: |")
        for name, runs in times.items():
            wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / base:.2f}x |")


if __name__ == "__main__":
    main()
