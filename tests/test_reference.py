"""The sample book's outputs against a recorded reference: the EPUB byte for byte, the PDF page by
page as pixels (poppler's rendering at 72 dpi, in grey).

The reference (tests/reference/sample.json) was recorded at the head before issue 12 (ed1e6b8), so
the reshaping of the code can be shown to change nothing a reader or a printer gets, and recorded
again for issue 13, when the sample gained its index: the EPUB (marks, the Index page), the PDF's
contents page and two Index pages, and 17 text pages where a mark splits a line into text runs
(shifts of a fraction of a pixel, no glyph moved visibly); and again for issue 14, when the sample
took the photo design (each photograph alone on the left-hand page facing its text: every PDF
page after the front matter moved; the EPUB's chapters open with their photograph, and link
css/design.css). A change that means to change the
sample's outputs records it again, and says so in its commit:

    BOOKMAKER_RECORD_REFERENCE=1 .venv/bin/python -m pytest tests/test_reference.py
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from .conftest import Built, which

REFERENCE = Path(__file__).parent / "reference" / "sample.json"
DPI = 72


def _pages(pdf: Path, folder: Path) -> list[str]:
    prefix = folder / "page"
    subprocess.run([which("pdftoppm"), "-r", str(DPI), "-gray", str(pdf), str(prefix)], check=True, timeout=300)
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("page-*.pgm"))]


def test_the_sample_gives_the_reference_epub_and_pdf_pages(sample: Built, tmp_path: Path) -> None:
    epub = hashlib.sha256(sample.epub.read_bytes()).hexdigest()
    pages = _pages(sample.pdf, tmp_path)
    now = {"epub_sha256": epub, "pdf_pages": len(pages), "pdf_page_pixels_sha256": pages}
    if os.environ.get("BOOKMAKER_RECORD_REFERENCE") == "1":
        REFERENCE.write_text(json.dumps(now, indent=1) + "\n", encoding="utf-8")
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert now["epub_sha256"] == reference["epub_sha256"], "the sample's EPUB bytes changed"
    assert now["pdf_pages"] == reference["pdf_pages"]
    changed = [i + 1 for i, (a, b) in enumerate(zip(pages, reference["pdf_page_pixels_sha256"])) if a != b]
    assert changed == [], f"PDF pages that look different: {changed}"
