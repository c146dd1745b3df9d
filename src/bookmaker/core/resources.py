"""The layouts a book is made with: templates, stylesheets, fonts.

bookmaker ships one folder of them (`layouts/`). A book may bring its own (`layouts = "…"` in
book.toml): each file it holds replaces the built-in file of that name, and every other file still
comes from the built-in folder. `Layouts` is that ordered pair of folders; `feeds` says which
output each layout file goes into, for the caches that must follow them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import LayoutError

if TYPE_CHECKING:
    from .model import BookConfig

Output = Literal["epub", "print"]
EPUB: frozenset[Output] = frozenset({"epub"})
PRINT: frozenset[Output] = frozenset({"print"})
BOTH: frozenset[Output] = EPUB | PRINT

# Which outputs each layout file feeds, by its name inside the layouts folder. The page map keeps
# its spans while only EPUB files change; the preview server rebuilds only the print pages when
# only print files change. A file not listed (a new partial, a picture) feeds both, to be safe.
LAYOUT_TARGETS: Mapping[str, frozenset[Output]] = {
    "book.css": BOTH,
    "epub.css": EPUB,
    "notes.css": EPUB,
    "print.css": PRINT,
    "print-cmyk.css": PRINT,
    "note-rule.svg": PRINT,
    "print.html.j2": PRINT,
    "chapter.xhtml.j2": EPUB,
    "page.xhtml.j2": EPUB,
    "nav.xhtml.j2": EPUB,
    "cover.xhtml.j2": EPUB,
    "titlepage.xhtml.j2": EPUB,
    "copyright.xhtml.j2": EPUB,
    "_chapter.j2": BOTH,
    "_copyright.j2": BOTH,
    "_figure.j2": BOTH,
    "_index.j2": BOTH,
    "_head.j2": BOTH,
    "_titlepage.j2": BOTH,
}
_PRINT_FOLDERS = ("fonts/",)  # the EPUB embeds no fonts: the reader's choice wins


def feeds(name: str) -> frozenset[Output]:
    """The outputs a layout file (`print.css`, `fonts/x.ttf`, as a path inside the folder) goes into."""
    if name.startswith(_PRINT_FOLDERS):
        return PRINT
    return LAYOUT_TARGETS.get(name, BOTH)


@lru_cache(maxsize=1)
def builtin_layouts_dir() -> Path:
    """layouts/ of a source checkout, or the copy shipped inside the wheel. Cached: it never
    changes while bookmaker runs (a book's own layouts are not this folder, see `layouts_for`)."""
    package = Path(__file__).resolve().parents[1]  # src/bookmaker, or bookmaker/ in site-packages
    for candidate in (package / "layouts", package.parents[1] / "layouts"):
        if (candidate / "chapter.xhtml.j2").is_file():
            return candidate
    raise LayoutError.at(package, None, "layouts folder not found: reinstall bookmaker")


@dataclass(frozen=True)
class Layouts:
    """Layout folders, first match wins: the book's own folder (if any), then the built-in one.
    The fallback is per file, so a book can replace only `print.css` or `_figure.j2`."""

    folders: tuple[Path, ...]

    @classmethod
    def builtin(cls) -> Layouts:
        return cls((builtin_layouts_dir(),))

    def find(self, name: str) -> Path:
        """The file `name` (a path inside the layouts, e.g. `fonts/x.ttf`) of the first folder that has it."""
        for folder in self.folders:
            path = folder / name
            if path.is_file():
                return path
        where = " or ".join(str(f) for f in self.folders)
        raise LayoutError.at(self.folders[0] / name, None, f"layout file '{name}' not found in {where}")

    def read_bytes(self, name: str) -> bytes:
        return self.find(name).read_bytes()

    def files(self) -> dict[str, Path]:
        """Every layout file by its name inside the folders, the earlier folder's winning; sorted by name."""
        merged: dict[str, Path] = {}
        for folder in reversed(self.folders):  # the built-in folder first, so the book's files overwrite
            for path in folder.rglob("*"):
                if path.is_file():
                    merged[path.relative_to(folder).as_posix()] = path
        return dict(sorted(merged.items()))

    def feeding(self, output: Output) -> dict[str, Path]:
        """The files of `files()` that go into `output`."""
        return {name: path for name, path in self.files().items() if output in feeds(name)}


def layouts_for(config: BookConfig) -> Layouts:
    """The book's layouts: its own folder (book.toml `layouts`, checked by config.py), then the
    shipped one (`builtin_layouts_dir`, looked up at each call)."""
    own = (config.layouts,) if config.layouts is not None else ()
    return Layouts((*own, builtin_layouts_dir()))
