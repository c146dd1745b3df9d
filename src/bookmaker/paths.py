"""Paths: the one rule for files a book names (inside the book folder, symbolic links included)
and where bookmaker keeps its caches. Imports nothing of bookmaker, so every stage may use it."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


class OutsideBook(ValueError):
    """The path is not one inside the book folder; the message says why."""


def inside_book(root: Path, src: str, what: str = "image") -> Path:
    """`src` (as written, relative to the book folder) resolved, or OutsideBook."""
    if not src or "://" in src or src.startswith(("/", "\\", "data:", "file:")) or ":" in src.split("/")[0]:
        raise OutsideBook(f"{what} '{src}' must be a path inside the book folder, such as images/photo.jpg")
    pure = PurePosixPath(src)
    if ".." in pure.parts:
        raise OutsideBook(f"{what} '{src}' points outside the book folder")
    base = root.resolve()
    path = (base / pure).resolve()
    if not path.is_relative_to(base):
        raise OutsideBook(f"{what} '{src}' resolves outside the book folder (a symbolic link?)")
    return path


def user_cache_dir() -> Path:
    """bookmaker's folder in the user's cache (page maps, font coverage): `BOOKMAKER_CACHE_DIR`,
    else `$XDG_CACHE_HOME/bookmaker`, else `~/.cache/bookmaker`."""
    explicit = os.environ.get("BOOKMAKER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bookmaker"
