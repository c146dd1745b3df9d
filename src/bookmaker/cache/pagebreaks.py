"""Where each print page began in the last print build, remembered between runs, so that an EPUB
built alone gets the print edition's page-list without laying the print out again.

The store is a small JSON file per book beside the page map (pagemap.py), in the user cache
folder. Its key (`book_key`) is everything the page breaks depend on: the page map's layout key
(book.toml, every layout file print uses, the code and the WeasyPrint version), the contents
page's entries, and each chapter (its text, title, number, kind, label, being last); and the
images the chapters showed (their size and time, checked at each load). Any change of these
makes the whole store stale: one chapter that grows moves the pages of every chapter after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..core.digest import digest
from ..core.model import Book, PageStart
from ..core.paths import write_atomic
from .pagemap import cache_dir, chapter_images, chapter_key, front_key, image_signature, layout_key

VERSION = 1


def book_key(book: Book) -> str:
    """What the breaks depend on besides the images: read from the manuscript's chapters and their
    sources, so that a book with only one chapter rendered (a preview, which has no generated
    Notes page either) checks it as the full build does. The pages bookmaker makes (the Notes
    page) follow from the chapters."""
    manuscript = replace(book, chapters=tuple(ch for ch in book.chapters if ch.role is None))
    chapters = [(ch.id, chapter_key(ch, manuscript)) for ch in manuscript.chapters]
    return digest(VERSION, layout_key(book.config), front_key(manuscript), chapters, size=24)


def _images(book: Book) -> list[list[str]]:
    root = book.config.root
    srcs = dict.fromkeys(src for ch in book.chapters for src in chapter_images(book, ch))
    return [[src, image_signature(root, src)] for src in srcs]


def _path(book: Book) -> Path:
    ident = digest(str(book.config.root.resolve()), size=16)
    return cache_dir() / f"pagebreaks-{ident}.json"


def load(book: Book) -> tuple[PageStart, ...] | None:
    """The page starts the last print build of this book recorded, when they still hold; else None."""
    try:
        raw = json.loads(_path(book).read_text(encoding="utf-8"))
        if raw.get("version") != VERSION or raw.get("key") != book_key(book):
            return None
        root = book.config.root
        if any(image_signature(root, src) != sig for src, sig in raw["images"]):
            return None
        return tuple(PageStart(region, str(where), int(unit)) for region, where, unit in raw["starts"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record(book: Book, starts: Sequence[PageStart]) -> None:
    """Saved atomically after a build that laid the print out; a cache that cannot be written is not an error."""
    if not starts:
        return
    try:
        data = {"version": VERSION, "key": book_key(book), "root": str(book.config.root.resolve()),
                "images": _images(book), "starts": [[s.region, s.where, s.unit] for s in starts]}
        write_atomic(_path(book), json.dumps(data, separators=(",", ":")).encode("utf-8"), durable=False)
    except Exception:  # noqa: BLE001 - a cache must never fail a build
        pass
