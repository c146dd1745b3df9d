"""Benchmark of one-chapter preview against full builds (run by hand, not part of the tests).

    .venv/bin/python benchmarks/preview.py [--chapters 504] [--write benchmarks/RESULTS-preview.md]

Generates, deterministically, a long book from the sample (its introduction, then the 28 photo
chapters repeated with renumbered files, figure ids and image names) in a temporary folder, then
measures, each against its target:

1. preview HTML of one chapter vs the full EPUB build of the long book (target: under a tenth);
2. preview PDF of the same chapter in the sample book and in the long book, with a page map
   (target: within 1.5x, i.e. its time does not grow with the book);
3. inside a running `bookmaker serve` on the long book: from saving the chapter file to the open
   page being told its new page is written (target: under 0.3 s), and to its new print pages;
4. the size of a `bookmaker serve` process (its own, so RSS is the server's alone) on the long
   book while one open chapter is saved hundreds of times, one save every 0.25 s at most, each
   waited for until its print pages are pictured: RSS after a warm-up, after N more saves, and
   the growth per save (target: under 20 kB a save, i.e. no growth beyond noise).

`--only memory` runs part 4 alone and prints its rows (the other parts take minutes).

In-process timings are the median of several runs after one warm-up (reported too); command-line
timings are wall-clock medians of `python -m bookmaker …`, imports included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "book"
QUERY = "3"  # "Pushing a Broken Bus" in the sample; in the long book, body chapter 3 is the same text


def generate(dest: Path, body_chapters: int) -> Path:
    """The sample's introduction and `body_chapters` photo chapters cycling through its 28."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "chapters").mkdir(parents=True)
    shutil.copy(SAMPLE / "book.toml", dest / "book.toml")
    chapters = sorted((SAMPLE / "chapters").glob("*.md"))
    intro, photos = chapters[0], chapters[1:]
    shutil.copy(intro, dest / "chapters" / "000-introduction.md")
    for i in range(body_chapters):
        src = photos[i % len(photos)]
        rnd = i // len(photos)
        text = src.read_text(encoding="utf-8")
        text = re.sub(r"\{#([\w-]+)", lambda m: "{#%s-r%02d" % (m.group(1), rnd), text)
        text = re.sub(r"\]\(images/([\w-]+)\.jpg", lambda m: "](images/%s-r%02d.jpg" % (m.group(1), rnd), text)
        (dest / "chapters" / f"{i + 1:03d}-{src.name[3:]}").write_text(text, encoding="utf-8")
    return dest


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    """Median of `runs` after one warm-up run, whose time is the list's first element."""
    t = time.perf_counter()
    fn()  # warm-up: imports, fonts; for previews also the first cheap pass over the other chapters' ids
    times = [time.perf_counter() - t]
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:]), times


def cli(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bookmaker", *args], check=True, capture_output=True, env=os.environ.copy())
    return time.perf_counter() - t


class Events:
    """`/events?chapter=…` of a running server; each state stamped when it arrived."""

    def __init__(self, port: int, chapter: str) -> None:
        self.q: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.conn.request("GET", f"/events?chapter={chapter}")
        resp = self.conn.getresponse()
        threading.Thread(target=self._read, args=(resp,), daemon=True).start()

    def _read(self, resp: Any) -> None:
        event = ""
        try:
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "chapter":
                    self.q.put((time.perf_counter(), json.loads(line[6:])))
        except (OSError, ValueError):
            pass

    def wait(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 600) -> tuple[float, dict[str, Any]]:
        deadline = time.perf_counter() + timeout
        while True:
            at, state = self.q.get(timeout=max(0.01, deadline - time.perf_counter()))
            if pred(state):
                return at, state


def server_latency(root: Path, out: Path, slug: str, saves: int) -> dict[str, list[float]]:
    from bookmaker.preview.serve import PreviewServer

    chapter = next((root / "chapters").glob(f"{slug}.md"))
    original = chapter.read_text(encoding="utf-8")
    srv = PreviewServer(root, out, port=0).start_http()
    html_times, print_times = [], []
    try:
        events = Events(srv.port, slug)
        _, state = events.wait(lambda s: s["html_version"] and s["print_version"] and s["folio_exact"])
        for n in range(saves):
            time.sleep(0.5)  # let the watcher settle between saves, as between an author's saves
            saved = time.perf_counter()
            chapter.write_text(original + f"\nA sentence added by save {n + 1}.\n", encoding="utf-8")
            html_at, new = events.wait(lambda s, v=state["html_version"]: s["html_version"] > v)
            print_at, new = events.wait(lambda s, v=state["print_version"]: s["print_version"] > v and not s["print_busy"])
            html_times.append(html_at - saved)
            print_times.append(print_at - saved)
            state = new
    finally:
        srv.stop()
        chapter.write_text(original, encoding="utf-8")
    return {"html": html_times, "print": print_times}


def rss_mb(pid: int) -> float:
    """A process's resident set size (VmRSS of /proc/PID/status), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def server_memory(root: Path, out: Path, slug: str, warm_up: int, saves: int, every: float = 0.25) -> dict[str, Any]:
    """RSS of a `bookmaker serve` process while the open chapter `slug` is saved again and again.

    Each save changes a word and is waited for until the page and its print pages are rebuilt;
    saves come at most one every `every` seconds, as an editor's autosave would.
    """
    chapter = next((root / "chapters").glob(f"{slug}.md"))
    original = chapter.read_text(encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "bookmaker", "serve", str(root), "-o", str(out), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ.copy())
    samples: list[tuple[int, float]] = []
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split("http://127.0.0.1:")[1].split("/")[0])
        events = Events(port, slug)
        _, state = events.wait(lambda s: s["html_version"] and s["print_version"] and not s["print_busy"] and not s["filling"])
        samples.append((0, rss_mb(proc.pid)))
        for n in range(1, warm_up + saves + 1):
            started = time.perf_counter()
            chapter.write_text(original + f"\nA sentence changed by save {n}.\n", encoding="utf-8")
            events.wait(lambda s, v=state["html_version"]: s["html_version"] > v)
            _, state = events.wait(lambda s, v=state["print_version"]: s["print_version"] > v and not s["print_busy"])
            if n % 50 == 0 or n == warm_up or n == warm_up + saves:
                samples.append((n, rss_mb(proc.pid)))
            time.sleep(max(0.0, every - (time.perf_counter() - started)))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        chapter.write_text(original, encoding="utf-8")
    at = dict(samples)
    warm, after = at[warm_up], at[warm_up + saves]
    return {"warm_up": warm_up, "saves": saves, "first": at[0], "warm": warm, "after": after,
            "per_save": (after - warm) / saves, "samples": samples}


def memory_rows(m: dict[str, Any]) -> tuple[str, str]:
    """The Markdown rows of part 4 (the full report and `--only memory` share them) and its RSS curve."""
    kb = m["per_save"] * 1024
    verdict = "**met**" if kb < 20 else "**not met**"
    curve = ", ".join(f"{n}: {mb:.1f}" for n, mb in m["samples"])
    return (f"| `bookmaker serve`, long book, one chapter open: RSS after {m['warm_up']} warm-up saves → after {m['saves']} more "
            f"(its own process; started at {m['first']:.1f} MB) | {m['warm']:.1f} MB → {m['after']:.1f} MB | | |\n"
            f"| the same: growth per save | {kb:.1f} kB | < 20 kB (flat) | {verdict} |\n"), curve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", type=int, default=504, help="body chapters of the long book (default 504: 505 with the introduction)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--memory-warm-up", type=int, default=30, help="saves before the first RSS reading of part 4")
    parser.add_argument("--memory-saves", type=int, default=300, help="saves measured in part 4")
    parser.add_argument("--only", choices=("memory",), help="run part 4 alone and print its rows")
    parser.add_argument("--write", type=Path, help="write the results as Markdown to this file")
    args = parser.parse_args()
    if args.only == "memory":
        return only_memory(args)

    from bookmaker.core.errors import Reporter
    from bookmaker.core.process import collector_paused
    from bookmaker.pipeline import build
    from bookmaker.preview.chapter import preview
    from bookmaker.preview.fill import fill

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bookmaker-bench-"))
    os.environ["BOOKMAKER_CACHE_DIR"] = str(work / "cache")
    os.environ["SOURCE_DATE_EPOCH"] = "1764115200"
    try:
        small = work / "sample"
        shutil.copytree(SAMPLE, small)
        big = generate(work / "long", args.chapters)
        n_big = len(list((big / "chapters").glob("*.md")))
        slug_big = next((big / "chapters").glob("003-*.md")).stem
        slug_small = next((small / "chapters").glob("03-*.md")).stem
        r: dict[str, Any] = {"chapters_big": n_big, "chapters_small": len(list((small / "chapters").glob("*.md")))}
        print(f"long book: {n_big} chapters in {big}", flush=True)

        # 1. HTML preview vs the full EPUB build (in process, and from the command line)
        def cold_build() -> None:  # a full build: nothing reused from an earlier one's cache (buildcache.py)
            shutil.rmtree(work / "out-epub" / ".bookmaker-cache", ignore_errors=True)
            build(big, work / "out-epub", formats=("epub",))

        r["epub_build"], r["epub_build_runs"] = timed(cold_build, 2)
        r["html_preview"], r["html_preview_runs"] = timed(lambda: preview(big, QUERY, work / "out-big", reporter=Reporter()), args.runs)
        last = sorted((big / "chapters").glob("*.md"))[-1].stem
        os.environ["BOOKMAKER_CACHE_DIR"] = str(work / "cold-cache")
        t = time.perf_counter()
        preview(big, last, work / "out-cold", reporter=Reporter())  # the last chapter needs every other chapter's ids
        r["html_last_cold"] = time.perf_counter() - t
        os.environ["BOOKMAKER_CACHE_DIR"] = str(work / "cache")
        shutil.rmtree(work / "out-epub" / ".bookmaker-cache", ignore_errors=True)
        r["epub_build_cli"] = cli("build", str(big), "-o", str(work / "out-epub"), "--format", "epub", "-q")
        r["html_preview_cli"] = statistics.median(cli("preview", QUERY, str(big), "-o", str(work / "out-big")) for _ in range(3))
        print(f"EPUB build {r['epub_build']:.2f} s, HTML preview {r['html_preview']:.3f} s", flush=True)

        # 2. PDF preview, same chapter, sample vs long book, each with its page map filled
        t = time.perf_counter()
        with collector_paused():  # as its own program (`python -m bookmaker.preview.fill`) runs it
            fill(big)
        r["fill_big"] = time.perf_counter() - t
        fill(small)
        r["pdf_small"], r["pdf_small_runs"] = timed(lambda: preview(small, QUERY, work / "out-small", pdf=True, fill=False), args.runs)
        r["pdf_big"], r["pdf_big_runs"] = timed(lambda: preview(big, QUERY, work / "out-big", pdf=True, fill=False), args.runs)
        _, last = preview(big, QUERY, work / "out-big", pdf=True, fill=False)
        r["pdf_big_exact"] = bool(last and last.folio.exact)
        r["pdf_small_cli"] = statistics.median(cli("preview", QUERY, str(small), "-o", str(work / "out-small"), "--pdf", "--no-fill") for _ in range(3))
        r["pdf_big_cli"] = statistics.median(cli("preview", QUERY, str(big), "-o", str(work / "out-big"), "--pdf", "--no-fill") for _ in range(3))
        print(f"PDF preview sample {r['pdf_small']:.3f} s, long {r['pdf_big']:.3f} s (fill {r['fill_big']:.1f} s)", flush=True)

        # 3. Inside a running server, from a save to the page knowing of it
        lat = server_latency(big, work / "out-serve", slug_big, args.saves)
        r["serve_html"], r["serve_print"] = lat["html"], lat["print"]
        r["slug_big"], r["slug_small"] = slug_big, slug_small
        print(f"serve: save -> new page median {statistics.median(lat['html']) * 1000:.0f} ms, "
              f"max {max(lat['html']) * 1000:.0f} ms; -> new print pages median {statistics.median(lat['print']) * 1000:.0f} ms", flush=True)

        # 4. The server's size over hundreds of saves of the open chapter
        r["memory"] = server_memory(big, work / "out-memory", slug_big, args.memory_warm_up, args.memory_saves)
        print(f"serve RSS: {r['memory']['warm']:.1f} MB after warm-up, {r['memory']['after']:.1f} MB after "
              f"{args.memory_saves} saves ({r['memory']['per_save'] * 1024:.1f} kB a save)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    r["load"] = (load_before, os.getloadavg())
    report = markdown(r)
    print(report)
    if args.write:
        args.write.write_text(report, encoding="utf-8")
    return 0


def only_memory(args: argparse.Namespace) -> int:
    """Part 4 alone, on the same long book with its page map filled, printed as Markdown rows."""
    from bookmaker.preview.fill import fill

    work = Path(tempfile.mkdtemp(prefix="bookmaker-bench-"))
    os.environ["BOOKMAKER_CACHE_DIR"] = str(work / "cache")
    os.environ["SOURCE_DATE_EPOCH"] = "1764115200"
    try:
        big = generate(work / "long", args.chapters)
        slug = next((big / "chapters").glob("003-*.md")).stem
        fill(big)  # as in the full run: exact folios, no background layout during the saves
        load_before = os.getloadavg()
        m = server_memory(big, work / "out-memory", slug, args.memory_warm_up, args.memory_saves)
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows, curve = memory_rows(m)
    print(f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; versions: {_versions()}")
    print(f"- load average before and after: {', '.join(f'{x:.2f}' for x in load_before)} / {', '.join(f'{x:.2f}' for x in load_after)}")
    print(f"- RSS (MB) by saves done: {curve}\n")
    print(rows, end="")
    return 0


def _versions() -> str:
    from importlib.metadata import version

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    parts = [f"bookmaker {commit}{' (+ uncommitted changes)' if dirty else ''}", f"Python {platform.python_version()}"]
    parts += [f"{d} {version(d)}" for d in ("weasyprint", "ebooklib", "pypdfium2", "watchfiles")]
    return ", ".join(parts)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def markdown(r: dict[str, Any]) -> str:
    ok = lambda b: "**met**" if b else "**not met**"  # noqa: E731
    html_ratio = r["html_preview"] / r["epub_build"]
    cli_ratio = r["html_preview_cli"] / r["epub_build_cli"]
    pdf_ratio = r["pdf_big"] / r["pdf_small"]
    pdf_cli_ratio = r["pdf_big_cli"] / r["pdf_small_cli"]
    sh, sp = r["serve_html"], r["serve_print"]
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    mem_rows, mem_curve = memory_rows(r["memory"])
    return f"""# Preview benchmark

Run by hand: `.venv/bin/python benchmarks/preview.py --write benchmarks/RESULTS-preview.md`

- date: {dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
- machine: {_machine()}
- versions: {_versions()}
- books: the sample ({r["chapters_small"]} chapters) and a long book generated from it ({r["chapters_big"]} chapters: its
  introduction and the 28 photo chapters repeated, each with its own figure id and (missing, so drawn) image)
- load average (1, 5, 15 min) before and after: {", ".join(f"{x:.2f}" for x in r["load"][0])} / {", ".join(f"{x:.2f}" for x in r["load"][1])}
  (2 cores: above about 1 something else was running and the figures are noisier)
- chapter previewed: number {QUERY} (`{r["slug_small"]}` / `{r["slug_big"]}`), the same text in both books

| figure | measured | target | |
| --- | --- | --- | --- |
| full EPUB build, long book (in process, no build cache, median of {len(r["epub_build_runs"]) - 1} after a warm-up) | {r["epub_build"]:.2f} s | | |
| preview HTML of one chapter, long book (in process, median of {len(r["html_preview_runs"]) - 1}) | {ms(r["html_preview"])} = {html_ratio:.3f} × the build | < 0.1 × the EPUB build | {ok(html_ratio < 0.1)} |
| preview HTML of the last chapter with no id cache yet (it renders the 504 other chapters' Markdown once, for their ids) | {ms(r["html_last_cold"])} = {r["html_last_cold"] / r["epub_build"]:.3f} × | < 0.1 × | {ok(r["html_last_cold"] / r["epub_build"] < 0.1)} |
| the same from the command line (`bookmaker build --format epub` vs `bookmaker preview`, imports included) | {r["html_preview_cli"]:.2f} s vs {r["epub_build_cli"]:.2f} s = {cli_ratio:.3f} × | < 0.1 × | {ok(cli_ratio < 0.1)} |
| preview PDF of the chapter, sample book (in process, median) | {ms(r["pdf_small"])} | | |
| preview PDF of the chapter, long book (in process, median; folio exact: {r["pdf_big_exact"]}) | {ms(r["pdf_big"])} = {pdf_ratio:.2f} × the sample's | within 1.5 × | {ok(pdf_ratio <= 1.5)} |
| the same from the command line (`bookmaker preview 3 --pdf`) | {r["pdf_big_cli"]:.2f} s vs {r["pdf_small_cli"]:.2f} s = {pdf_cli_ratio:.2f} × | within 1.5 × | {ok(pdf_cli_ratio <= 1.5)} |
| `bookmaker serve`, long book: save → open page told its new page is written ({len(sh)} saves) | median {ms(statistics.median(sh))}, max {ms(max(sh))} | < 0.3 s | {ok(max(sh) < 0.3)} |
| `bookmaker serve`, long book: save → new print pages pictured | median {ms(statistics.median(sp))}, max {ms(max(sp))} | (none) | |
| background layout of the whole long book that fills the page map (`preview/fill.fill`) | {r["fill_big"]:.1f} s | (never waited for) | |
{mem_rows}
All runs (s), the warm-up first: EPUB build {", ".join(f"{t:.2f}" for t in r["epub_build_runs"])}; HTML preview
{", ".join(f"{t:.3f}" for t in r["html_preview_runs"])}; PDF sample {", ".join(f"{t:.3f}" for t in r["pdf_small_runs"])};
PDF long {", ".join(f"{t:.3f}" for t in r["pdf_big_runs"])}; serve HTML {", ".join(f"{t:.3f}" for t in sh)};
serve print {", ".join(f"{t:.3f}" for t in sp)}. Server RSS (MB) by saves done: {mem_curve}.

The in-server latency includes the file watcher's batching (watchfiles, 30 ms step), re-reading
the one changed file, rendering and writing its page, and the server-sent event reaching a client
on the same machine; the browser's reload of the frame comes after.

The RSS figures are of the server process alone (`python -m bookmaker serve`), read from
/proc/PID/status after each save's print pages are pictured.
"""


if __name__ == "__main__":
    sys.exit(main())
