"""A manuscript of 1,000 chapters and 500,000 words builds its EPUB and its PDF without error.

Each build runs in its own process, which reports its peak resident memory; the figures are
printed (pytest -s) and recorded in benchmarks/RESULTS-scale.md by hand.

The PDF is built first: the EPUB built after it takes its print page numbers from that build's
record (`page_list = "print"`, README "Print page numbers in the EPUB"), as an author's EPUB built
after the PDF does, instead of laying the 1,500 pages out a second time. Run alone, the EPUB case
lays them out itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from .conftest import SAMPLE

CHAPTERS = 1000
WORDS = 500_000

RUN = """
import json, resource, sys, time
from pathlib import Path
from bookmaker.core.errors import Reporter
from bookmaker.pipeline import build
t = time.perf_counter()
outputs = build(Path(sys.argv[1]), Path(sys.argv[2]), (sys.argv[3],), reporter=Reporter())
print(json.dumps({"seconds": round(time.perf_counter() - t, 1), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "peak_rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
                  "path": str(outputs[0].path), "bytes": outputs[0].size}))
"""


def generate(dest: Path, chapters: int = CHAPTERS, words: int = WORDS) -> Path:
    """Deterministic: the sample's 28 entries cycled into `chapters` chapters of words/chapters words."""
    (dest / "chapters").mkdir(parents=True)
    toml = (SAMPLE / "book.toml").read_text(encoding="utf-8").replace('profile = "kdp"', 'profile = "proof"')
    (dest / "book.toml").write_text(toml, encoding="utf-8")
    entries = [p.read_text(encoding="utf-8").rstrip().split("\n")[-1] for p in sorted((SAMPLE / "chapters").glob("[0-9][0-9]-*.md"))[1:]]
    per = words // chapters
    total = 0
    for n in range(chapters):
        paras, count, k = [], 0, n
        while count < per:
            paras.append(entries[k % len(entries)])
            count += len(paras[-1].split())
            k += 1
        total += count
        (dest / "chapters" / f"{n:04d}-chapter.md").write_text(f"---\ntitle: Chapter {n + 1}\n---\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")
    assert total >= words
    return dest


@pytest.fixture(scope="module")
def big_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("scale") / "book")


@pytest.mark.parametrize("fmt", ["pdf", "epub"])
def test_a_thousand_chapters_and_half_a_million_words(big_book: Path, tmp_path: Path, fmt: str) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}
    proc = subprocess.run([sys.executable, "-c", RUN, str(big_book), str(tmp_path), fmt],
                          capture_output=True, text=True, env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nscale {fmt}: {result}")
    path = Path(result["path"])
    if fmt == "epub":
        with zipfile.ZipFile(path) as z:
            assert sum(1 for n in z.namelist() if n.endswith("-chapter.xhtml")) == CHAPTERS
            nav = next(z.read(n).decode() for n in z.namelist() if n.endswith("nav.xhtml"))
            assert 'epub:type="page-list"' in nav and nav.count('#page-') > 1500  # from the PDF's record: an entry a print page
    else:
        from pypdf import PdfReader

        assert len(PdfReader(path).pages) > 1500
