"""Paths: the one rule for files a book names (inside the book folder, symbolic links included),
where bookmaker keeps its caches, and the one way it writes a file (`write_atomic`). Imports
nothing of bookmaker, so every stage may use it."""

from __future__ import annotations

import os
import tempfile
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a temporary file beside `path`, then rename: `path` is old or complete, never
    partial, whoever reads it meanwhile (another thread or process included). `durable` syncs the
    data to disk before the rename (outputs); a cache that can be made again skips it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; files get the usual permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
