"""What makes a cached result stale, for every cache bookmaker keeps: the one place to look.

| cache | kept in | an entry is stale when |
| --- | --- | --- |
| images (build.py) | `<out>/.bookmaker-cache/images` | the file's bytes (or a placeholder's text and size) change, or `code_key("images")` |
| covers (build.py) | `<out>/.bookmaker-cache/covers` | the EPUB's typographic cover page (its HTML from the layouts' cover template), its fonts, fontconfig's state, its size, or `code_key("covers")` |
| PDF parts (build.py) | `<out>/.bookmaker-cache/parts` | the part's HTML, its assets, the profile, the identifier or the print fonts change, or `code_key("parts")`; a part whose first folio moved is laid out again |
| page map (pagemap.py) | the user cache folder | the whole map: book.toml, a layout file print uses, or `code_key("pagemap")`; a chapter's span: its text, title, number, kind, label, being last, or an image it shows |
| page breaks (pagebreaks.py) | the user cache folder | the page map's whole-map key (book.toml, a layout file print uses, `code_key("pagemap")`: `backends/pdf/wp_pages.py` measures them), the contents' entries, any chapter's text, title, number, kind, label or being last, or an image a chapter showed |
| ids (transform/crossref.py) | the user cache folder | the chapter's file name or text change, or `code_key("ids")` |
| glyph coverage (render/glyphs/coverage.py) | the user cache folder | a font file's size or time, or fontconfig's folders change |
| font configuration (backends/pdf/backend.py) | memory, one server's life | the @font-face rules, the font files or fontconfig's state change |

`code_key(cache)` stands for the code that computes the cache's entries: the bytes of its
modules (`CODE`) and the versions of the libraries it relies on (`LIBRARIES`). Editing one of those
files, in a source checkout as much as by an upgrade, makes that cache's entries stale. A file
that moves between modules must be named here to keep its cache honest.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..core.digest import digest

PACKAGE = Path(__file__).resolve().parents[1]  # src/bookmaker

# Modules (files or packages, inside src/bookmaker) whose code decides each cache's entries.
CODE: dict[str, tuple[str, ...]] = {
    "images": ("transform/images", "transform/decode.py", "transform/svg"),
    "covers": ("backends/pdf",),  # backends/pdf/cover_image.py, with the PDF back end and its WeasyPrint patches
    "parts": ("backends/pdf", "checks/preflight.py"),  # every WeasyPrint patch changes the PDF; preflight's boxes are kept with a part
    "pagemap": ("render", "transform", "backends/pdf"),  # what decides where print pages break
    "ids": ("transform/markdown", "transform/sanitize.py", "transform/links.py", "transform/crossref.py"),
}
LIBRARIES: dict[str, tuple[str, ...]] = {
    "images": ("pillow",),
    "covers": ("weasyprint", "pypdfium2", "pillow"),
    "parts": ("weasyprint", "pypdf"),
    "pagemap": ("weasyprint",),
    "ids": ("markdown-it-py", "mdit-py-plugins", "nh3"),
}


def _files(entry: str) -> list[Path]:
    path = PACKAGE / entry
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path] if path.is_file() else []


def library_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


@lru_cache(maxsize=None)
def code_key(cache: str) -> str:
    """The code and libraries that compute `cache`'s entries (read once a process)."""
    files = [path for entry in CODE[cache] for path in _files(entry)]
    return digest(cache, *(p.relative_to(PACKAGE).as_posix() for p in files), *(p.read_bytes() for p in files),
                  *(f"{d}={library_version(d)}" for d in LIBRARIES[cache]))
