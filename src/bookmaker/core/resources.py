"""The files bookmaker ships: layouts/ (templates, stylesheets, fonts, ICC profiles)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import LayoutError


@lru_cache(maxsize=1)
def layouts_dir() -> Path:
    """layouts/ of a source checkout, or the copy shipped inside the wheel."""
    package = Path(__file__).resolve().parents[1]  # src/bookmaker, or bookmaker/ in site-packages
    for candidate in (package / "layouts", package.parents[1] / "layouts"):
        if (candidate / "chapter.xhtml.j2").is_file():
            return candidate
    raise LayoutError.at(package, None, "layouts folder not found: reinstall bookmaker")


