"""bookmaker against pandoc and against WeasyPrint alone (run by hand, not part of the tests).

    .venv/bin/pip install pypandoc-binary        # benchmark-only: pandoc for the comparison
    .venv/bin/python benchmarks/run.py [--runs 3] [--books sample,photos,novel] [--write benchmarks/RESULTS.md]

Books, generated deterministically from the sample in a temporary folder:
- sample: the sample book;
- photos: ~500 photo chapters with ~500 images (the sample's 28 cycled, each image its own file);
- novel: a text-only book of ~150,000 words in 40 chapters.
Every image is a real file on disk (the sample's placeholders, drawn once and saved), so both tools
read the same Markdown and the same images. pandoc gets the same chapters with each front-matter
title as its `#` heading, since pandoc does not read a title per file.

Each command runs in its own process, alternating tools run by run; the table gives medians,
the ratio to the comparison and the peak resident memory (from wait4) of the process.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "book"
BIN = Path(sys.executable).parent


@dataclass
class Measure:
    seconds: list[float]
    rss_mb: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.rss_mb)


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one command in its own process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-2000:]}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


# --- books -----------------------------------------------------------------------------------------

def _entries() -> list[tuple[str, str]]:
    """(front matter + figure line, text) of the sample's 28 photo chapters."""
    out = []
    for path in sorted((SAMPLE / "chapters").glob("[0-9][0-9]-*.md"))[1:]:
        out.append((path.name[3:], path.read_text(encoding="utf-8")))
    return out


def _placeholders() -> dict[str, bytes]:
    """The sample's placeholder PNGs, drawn by bookmaker once."""
    from bookmaker.core.errors import Reporter
    from bookmaker.transform.book import load_book

    book = load_book(SAMPLE, Reporter(), with_cover=False)
    return {img.src: img.data for img in book.images}


def generate(kind: str, dest: Path) -> Path:
    (dest / "chapters").mkdir(parents=True)
    (dest / "images").mkdir()
    toml = (SAMPLE / "book.toml").read_text(encoding="utf-8")
    if kind != "sample":  # over 828 pages for KDP: the long books use the neutral proof profile
        toml = toml.replace('profile = "kdp"', 'profile = "proof"')
    (dest / "book.toml").write_text(toml, encoding="utf-8")
    images = _placeholders() if kind != "novel" else {}
    entries = _entries()
    if kind == "sample":
        shutil.copy(SAMPLE / "chapters" / "00-introduction.md", dest / "chapters")
        for path in sorted((SAMPLE / "chapters").glob("[0-9][0-9]-*.md"))[1:]:
            text = path.read_text(encoding="utf-8").replace(".jpg", ".png")
            (dest / "chapters" / path.name).write_text(text, encoding="utf-8")
        for src, data in images.items():
            (dest / src.replace(".jpg", ".png")).write_bytes(data)
    elif kind == "photos":
        shutil.copy(SAMPLE / "chapters" / "00-introduction.md", dest / "chapters" / "000-introduction.md")
        for i in range(504):
            name, text = entries[i % 28]
            src = re.search(r"\]\((images/photo-\d\d)\.jpg", text).group(1)  # type: ignore[union-attr]
            own = f"images/p{i + 1:03d}"
            text = text.replace(f"{src}.jpg", f"{own}.png")
            text = re.sub(r"\{#photo-(\d\d)", f"{{#photo-{i + 1:03d}", text)
            (dest / "chapters" / f"{i + 1:03d}-{name}").write_text(text, encoding="utf-8")
            (dest / f"{own}.png").write_bytes(images[f"{src}.jpg"])
    elif kind == "novel":
        toml = toml.replace('chapter_label = "Photo"', 'chapter_label = "Chapter"')
        (dest / "book.toml").write_text(toml, encoding="utf-8")
        paragraphs = [t.rstrip().split("\n")[-1] for _, t in entries]
        words = 0
        for c in range(40):
            body, count, k = [], 0, c
            while count < 3750:
                body.append(paragraphs[k % 28])
                count += len(body[-1].split())
                k += 3
            words += count
            (dest / "chapters" / f"{c + 1:02d}-chapter.md").write_text(
                f"---\ntitle: Chapter {c + 1}\n---\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        assert words >= 150_000
    return dest


def pandoc_input(book: Path, dest: Path) -> tuple[Path, Path]:
    """The same chapters for pandoc: each title as a level-1 heading, metadata in a YAML file."""
    import yaml

    dest.mkdir(parents=True)
    parts = []
    for path in sorted((book / "chapters").glob("*.md")):
        _, front, body = path.read_text(encoding="utf-8").split("---", 2)
        title = yaml.safe_load(front)["title"]
        body = re.sub(r"\{#[^}]*\}", "", body)  # pandoc's own attribute syntax differs for aspect=
        # absolute image paths: pandoc hands WeasyPrint its HTML from a temporary folder
        body = re.sub(r"\]\((images/[^ )]+)", lambda m: f"]({(book / m.group(1)).resolve()}", body)
        parts.append(f"# {title}\n\n{body.strip()}\n")
    md = dest / "book.md"
    md.write_text("\n\n".join(parts), encoding="utf-8")
    meta = dest / "meta.yaml"
    meta.write_text('title: "Benchmark"\nauthor: "Anonymous"\nlang: en\n', encoding="utf-8")
    return md, meta


def weasyprint_floor(book: Path, dest: Path) -> Path:
    """bookmaker's print HTML and its assets on disk, for WeasyPrint's own command line."""
    from bookmaker.core.errors import Reporter
    from bookmaker.render.printed import render_print
    from bookmaker.transform.book import load_book

    rendered = render_print(load_book(book, Reporter(), with_cover=False))
    for asset in rendered.assets:
        target = dest / asset.href
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(asset.data)
    html = dest / "book.html"
    html.write_text(rendered.pages[0].content, encoding="utf-8")
    return html


# --- the run -----------------------------------------------------------------------------------------

def bench(kind: str, work: Path, runs: int) -> dict[str, Measure]:
    import pypandoc

    pandoc = pypandoc.get_pandoc_path()
    book = generate(kind, work / kind / "book")
    md, meta = pandoc_input(book, work / kind / "pandoc")
    floor_html = weasyprint_floor(book, work / kind / "floor")
    out = work / kind / "out"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    bm = [str(BIN / "bookmaker"), "build", str(book), "-o", str(out), "-q"]
    commands = {
        "bookmaker epub": bm + ["--format", "epub"],
        "pandoc epub": [pandoc, str(md), "--metadata-file", str(meta), "-f", "markdown+smart", "--resource-path", str(book),
                        "--split-level=1", "-o", str(out / "pandoc.epub")],
        "bookmaker pdf": bm + ["--format", "pdf"],  # --jobs: every core
        "bookmaker pdf --jobs 1": bm + ["--format", "pdf", "--jobs", "1"],
        "pandoc+weasyprint pdf": [pandoc, str(md), "--metadata-file", str(meta), "-f", "markdown+smart", "--resource-path", str(book),
                                  "--pdf-engine=weasyprint", "-o", str(out / "pandoc.pdf")],
        "weasyprint alone": [str(BIN / "weasyprint"), str(floor_html), str(out / "floor.pdf")],
    }
    out.mkdir(parents=True, exist_ok=True)
    cache = out / ".bookmaker-cache"
    results = {name: Measure([], []) for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            shutil.rmtree(cache, ignore_errors=True)  # full builds: nothing reused from an earlier one
            seconds, rss = run(cmd, env=env, cwd=out)  # pandoc leaves temporary files in its folder
            results[name].seconds.append(seconds)
            results[name].rss_mb.append(rss)
    # one chapter edited, then the book rebuilt with the cache of the build before the edit
    chapters = sorted((book / "chapters").glob("*.md"))
    chapter = chapters[len(chapters) // 2]
    original = chapter.read_text(encoding="utf-8")
    rebuild = {"rebuild epub after an edit": Measure([], []), "rebuild pdf after an edit": Measure([], [])}
    run(bm, env=env)  # the build before the first edit
    for i in range(runs):
        chapter.write_text(original + f"\nEdited {i}.\n", encoding="utf-8")
        for fmt, name in (("epub", "rebuild epub after an edit"), ("pdf", "rebuild pdf after an edit")):
            seconds, rss = run(bm + ["--format", fmt], env=env)
            rebuild[name].seconds.append(seconds)
            rebuild[name].rss_mb.append(rss)
    chapter.write_text(original, encoding="utf-8")
    results.update(rebuild)
    return results


def startup(runs: int) -> Measure:
    m = Measure([], [])
    for _ in range(runs):
        seconds, rss = run([str(BIN / "bookmaker"), "--help"])
        m.seconds.append(seconds)
        m.rss_mb.append(rss)
    return m


# (book, command) -> [(what it is compared with, largest ratio allowed)], from issue 6
TARGETS: dict[tuple[str, str], list[tuple[str, float]]] = {
    ("sample", "bookmaker epub"): [("pandoc epub", 1.0)],
    ("photos", "bookmaker epub"): [("pandoc epub", 0.5)],
    ("sample", "bookmaker pdf --jobs 1"): [("weasyprint alone", 1.1)],
    ("photos", "bookmaker pdf --jobs 1"): [("weasyprint alone", 1.1)],
    ("novel", "bookmaker pdf --jobs 1"): [("weasyprint alone", 1.1)],
    ("photos", "bookmaker pdf"): [("pandoc+weasyprint pdf", 0.6), ("bookmaker pdf --jobs 1", 0.65)],
    ("novel", "bookmaker pdf"): [("bookmaker pdf --jobs 1", 0.65)],
    ("sample", "rebuild epub after an edit"): [("bookmaker epub", 0.25)],
    ("photos", "rebuild epub after an edit"): [("bookmaker epub", 0.25)],
    ("photos", "rebuild pdf after an edit"): [("bookmaker pdf", 1.0)],  # no figure in the issue: shown for scale
}
PEAK_MB = {("photos", "bookmaker pdf"): 300.0, ("photos", "bookmaker pdf --jobs 1"): 300.0}


def table(all_results: dict[str, dict[str, Measure]], help_time: Measure, runs: int) -> str:
    import weasyprint

    lines = [
        "# Benchmarks: bookmaker against pandoc and WeasyPrint alone",
        "",
        f"Measured {dt.date.today().isoformat()} with `benchmarks/run.py --runs {runs}` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, WeasyPrint {weasyprint.__version__}, "
        f"pandoc {_pandoc_version()}. Medians of {runs} runs, each command in its own process (imports included); "
        "RSS is the peak resident memory of the largest process (a build's worker processes included). "
        "Full builds start with no build cache; a rebuild follows a build of the book before a one-chapter edit.",
        "",
        "| book | command | median s | ratio | target | peak RSS MB |",
        "| --- | --- | ---: | ---: | --- | ---: |",
    ]
    for kind, results in all_results.items():
        for name, m in results.items():
            ratios, goals = [], []
            for base_name, limit in TARGETS.get((kind, name), []):
                r = m.median / results[base_name].median
                ratios.append(f"{r:.2f}x {base_name}")
                goals.append(f"<= {limit}x: {'met' if r <= limit else 'MISSED'}" if base_name != "bookmaker pdf" or name != "rebuild pdf after an edit" else "")
            peak = f"{m.peak:.0f}"
            if (kind, name) in PEAK_MB:
                limit_mb = PEAK_MB[(kind, name)]
                peak += f" (<= {limit_mb:.0f}: {'met' if m.peak <= limit_mb else 'MISSED'})"
            lines.append(f"| {kind} | {name} | {m.median:.2f} | {'; '.join(ratios)} | {'; '.join(g for g in goals if g)} | {peak} |")
    ok = help_time.median < 0.15
    lines.append(f"| - | bookmaker --help | {help_time.median:.3f} | | < 0.15 s: {'met' if ok else 'MISSED'} | {help_time.peak:.0f} |")
    return "\n".join(lines) + "\n"


def _pandoc_version() -> str:
    import pypandoc

    return str(pypandoc.get_pandoc_version())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--books", default="sample,photos,novel")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bookmaker-bench-") as tmp:
        results = {kind: bench(kind, Path(tmp), args.runs) for kind in args.books.split(",")}
    text = table(results, startup(max(5, args.runs)), args.runs)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
