"""Math and code cost: a 50-chapter book heavy with formulas and code blocks against the same book
with its math and code as plain text (run by hand, not part of the tests).

    .venv/bin/python benchmarks/content.py [--runs 3] [--chapters 50] [--write benchmarks/RESULTS-content.md]

The books are generated deterministically in a temporary folder. Each chapter has prose, 12 inline
formulas, 4 display formulas, 4 code blocks in several languages (some with lines too long for the
page, so print wraps them) and a table. The plain twin has the same words, with every formula's TeX
and every code line written as an ordinary paragraph (`$`, backslashes and braces taken out), so
the difference is what typesetting math and highlighting and wrapping code cost. Each build is a
cold `bookmaker build --format all` (EPUB and PDF, no build cache) in its own process; the table
gives medians, the ratio and the peak resident memory of the largest process.

The target is measured on the book whose chapters repeat the same 16 formulas. A second pair,
where every one of the 800 formulas is different (as in a real book), shows what the math costs
when no formula is repeated; it is reported beside the target, not instead of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET = 1.5  # the math- and code-heavy book's build at most 1.5x the plain one's

PROSE = ("The method is simple to state and harder to apply, which is why the examples below work "
         "through it slowly, one step at a time, before the exercises ask for the general case. ")
INLINE = [r"x^2 + y^2 = r^2", r"\alpha + \beta = \gamma", r"\frac{a}{b}", r"e^{i\pi} + 1 = 0",
          r"\sqrt{2}", r"n!", r"\sum_{k=1}^{n} k", r"f(x) = \int_0^x g(t)\,dt", r"\lim_{h \to 0} h",
          r"A^{-1}", r"\log_2 n", r"\binom{n}{k}"]
DISPLAY = [r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}",
           r"\begin{pmatrix} a & b \\ c & d \end{pmatrix} \begin{pmatrix} x \\ y \end{pmatrix} = \begin{pmatrix} ax + by \\ cx + dy \end{pmatrix}",
           r"\int_{-\infty}^{\infty} e^{-x^2}\,dx = \sqrt{\pi}"]
CODE = {
    "python": ["def fib(n: int) -> int:", '    """The n-th Fibonacci number, by iteration."""', "    a, b = 0, 1",
               "    for _ in range(n):", "        a, b = b, a + b",
               "    return a  # a long comment that runs on and on past the width of the printed page, as comments in real code do",
               "print([fib(k) for k in range(20)])"],
    "javascript": ["const total = items.reduce((sum, item) => sum + item.price * item.quantity, 0);",
                   "function greet(name) {", "  return `Hello, ${name}! This line is deliberately long so that the print layout has to wrap it somewhere sensible.`;", "}"],
    "bash": ["for f in chapters/*.md; do", '  wc -w "$f"', "done | sort -n | tail -5",
             "curl -fsSL https://example.com/a/very/long/path/that/goes/on/and/on/until/it/no/longer/fits/on/one/line/of/the/page.tar.gz -o archive.tar.gz"],
    "rust": ["fn main() {", '    let words: Vec<&str> = "the quick brown fox".split_whitespace().collect();',
             '    println!("{} words", words.len());', "}"],
}
TABLE = "| n | n² | n³ |\n|--:|---:|---:|\n" + "".join(f"| {n} | {n * n} | {n ** 3} |\n" for n in range(1, 9))


def plain(text: str) -> str:
    return re.sub(r"[\\{}$^_&]", " ", text)


def chapter(n: int, heavy: bool, distinct: bool = False) -> str:
    """With `distinct`, every formula of the book is different (each gets `+ n` for chapter n), as
    in a real book; without, the same 15 formulas come back in every chapter (a PDF draws each
    repeated formula once, so that book costs less to print than one of all-new formulas)."""
    parts = [f"---\ntitle: Chapter {n} of the handbook\n---\n"]
    for i in range(4):
        formulas = [f"{f} + {n}" if distinct else f for f in INLINE[i * 3:(i + 1) * 3]]
        display = f"{DISPLAY[i % 3]} + {n}" if distinct else DISPLAY[i % 3]
        if heavy:
            parts.append(PROSE + " ".join(f"Here ${f}$ holds." for f in formulas) + "\n")
            parts.append(f"$$\n{display}\n$$\n")
            lang = list(CODE)[i]
            parts.append(f"```{lang}\n" + "\n".join(CODE[lang]) + "\n```\n")
        else:
            parts.append(PROSE + " ".join(f"Here {plain(f)} holds." for f in formulas) + "\n")
            parts.append(plain(display) + "\n")
            lang = list(CODE)[i]
            parts.append("\n\n".join(plain(line) for line in CODE[lang]) + "\n")
    parts.append(TABLE)
    return "\n".join(parts)


def make_book(folder: Path, chapters: int, heavy: bool, distinct: bool = False) -> Path:
    (folder / "chapters").mkdir(parents=True)
    (folder / "book.toml").write_text(
        f'title = "Handbook {"heavy" if heavy else "plain"}"\nauthors = ["A. Writer"]\nlanguage = "en"\ndate = 2026-12-01\n',
        encoding="utf-8")
    for n in range(1, chapters + 1):
        (folder / "chapters" / f"{n:02d}-chapter.md").write_text(chapter(n, heavy, distinct), encoding="utf-8")
    return folder


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one command in its own process (its children included)."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024  # the child's, or the largest of its waited-for worker processes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chapters", type=int, default=50)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bookmaker-bench-content-"))
    try:
        books = {"math and code": make_book(tmp / "heavy", args.chapters, True),
                 "plain text": make_book(tmp / "plain", args.chapters, False),
                 "math (all distinct) and code": make_book(tmp / "distinct", args.chapters, True, True),
                 "plain text of it": make_book(tmp / "distinct-plain", args.chapters, False, True)}
        times: dict[str, list[float]] = {k: [] for k in books}
        rss: dict[str, list[float]] = {k: [] for k in books}
        for r in range(args.runs + 1):  # the first run of each warms the disk cache and is not counted
            for name, book in books.items():
                out = tmp / f"out-{r}-{book.name}"
                seconds, peak = run([str(BIN / "bookmaker"), "build", str(book), "-o", str(out), "-q"])
                shutil.rmtree(out)
                if r:
                    times[name].append(seconds)
                    rss[name].append(peak)
        heavy, light = statistics.median(times["math and code"]), statistics.median(times["plain text"])
        ratio = heavy / light
        distinct_ratio = statistics.median(times["math (all distinct) and code"]) / statistics.median(times["plain text of it"])
        lines = [
            "# Benchmark: math and code against plain text",
            "",
            f"Measured {dt.date.today().isoformat()} with `benchmarks/content.py --runs {args.runs} --chapters {args.chapters}` "
            f"on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
            "Cold `bookmaker build` (EPUB and PDF, no build cache), each run its own process; medians.",
            "",
            "| book | median s | runs (s) | peak RSS MB |",
            "| --- | ---: | --- | ---: |",
        ]
        for name in books:
            lines.append(f"| {args.chapters} chapters, {name} | {statistics.median(times[name]):.2f} | "
                         f"{', '.join(f'{t:.2f}' for t in times[name])} | {max(rss[name]):.0f} |")
        verdict = "met" if ratio <= TARGET else "MISSED"
        lines += ["", f"Ratio math and code / plain text: **{ratio:.2f}x** (target <= {TARGET}x: {verdict}).",
                  "",
                  f"With every formula distinct (800, none repeated; a PDF draws a repeated formula once): "
                  f"**{distinct_ratio:.2f}x** ({'within' if distinct_ratio <= TARGET else 'over'} {TARGET}x)."]
        text = "\n".join(lines) + "\n"
        print(text)
        if args.write:
            args.write.write_text(text, encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
