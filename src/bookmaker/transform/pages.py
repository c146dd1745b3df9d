"""The back-matter pages bookmaker makes itself (the Notes page, the Index): a Chapter with no file
of its own, located at book.toml for messages, its semantics in `role`, its slug one no chapter
file already takes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.model import Block, BookConfig, Chapter
from ..core.text import unique


def page_slug(base: str, chapters: Iterable[Chapter]) -> str:
    """`base`, unless a chapter file already makes a page of that name: then `base-2`, `base-3`…"""
    return unique(base, {ch.slug for ch in chapters})


def generated_page(config: BookConfig, slug: str, title: str, role: str, blocks: Sequence[Block]) -> Chapter:
    return Chapter(path=config.root / "book.toml", slug=slug, title=title, kind="back", source="", body_line=1,
                   blocks=tuple(blocks), role=role)
