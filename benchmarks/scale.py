"""Peak memory and time of the 1,000-chapter, 500,000-word book (run by hand).

    .venv/bin/python benchmarks/scale.py [--write benchmarks/RESULTS-scale.md]

The book is the one tests/test_scale.py builds (the sample's entries cycled, proof profile).
Each format is built in its own process, which reports its own peak resident memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_scale import CHAPTERS, RUN, WORDS, generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        book = generate(Path(tmp) / "book")
        for fmt in ("epub", "pdf"):
            out = Path(tmp) / fmt
            proc = subprocess.run([sys.executable, "-c", RUN, str(book), str(out), fmt], capture_output=True, text=True,
                                  env={**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}, check=True)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            pages = ""
            if fmt == "pdf":
                from pypdf import PdfReader

                pages = str(len(PdfReader(result["path"]).pages))
            workers = result["peak_rss_workers_mb"] or ""
            rows.append(f"| {fmt} | {result['seconds']:.1f} | {result['peak_rss_mb']} | {workers} | {result['bytes'] / 2**20:.1f} | {pages} |")
    import weasyprint

    text = "\n".join([
        f"# Scale: {CHAPTERS:,} chapters, {WORDS:,} words",
        "",
        f"Measured {dt.date.today().isoformat()} with `benchmarks/scale.py` on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, WeasyPrint {weasyprint.__version__}. One build per format, default `--jobs` "
        "(every core); peak RSS of the build's process and of its largest worker process.",
        "",
        "| format | seconds | peak RSS MB | largest worker MB | output MB | pages |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ]) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
