"""Finds chapter files, splits YAML front matter, keeps the line where the body starts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import Diagnostic, ManuscriptError, SourceLocation
from ..core.model import CHAPTER_KINDS, OPENINGS, BookConfig, Chapter
from ..core.text import slugify

CHAPTERS_DIR = "chapters"
_FRONT_KEYS = {"title", "subtitle", "kind", "opening"}
# Characters XML 1.0 (and so XHTML and EPUB) does not allow.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def chapter_files(config: BookConfig) -> list[Path]:
    folder = config.root / CHAPTERS_DIR
    if not folder.is_dir():
        raise ManuscriptError.at(folder, None, "no chapters folder; chapter files go in chapters/*.md")
    found = found_files(config)
    _refuse_outside(config.root, found)
    if config.order is None:
        if not found:
            raise ManuscriptError.at(folder, None, "no chapter files (*.md) found")
        return found
    config_path = config.root / "book.toml"
    problems = []
    ordered = []
    for name in config.order:
        p = folder / name
        if p not in found:
            problems.append(Diagnostic(SourceLocation(config_path, None), f"'chapters' names '{name}', which is not a file in chapters/"))
        ordered.append(p)
    for p in found:
        if p not in ordered:
            problems.append(Diagnostic(SourceLocation(config_path, None), f"'chapters' leaves out chapters/{p.name}; list it or remove the file"))
    if problems:
        raise ManuscriptError(*problems)
    return ordered


def found_files(config: BookConfig) -> list[Path]:
    """The chapter files in chapters/, by name, whatever book.toml's order says; none without the folder.

    `chapter_files` checks them against the order; the preview server lists them even when that
    check fails, so each chapter still shows in its index.
    """
    folder = config.root / CHAPTERS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.md") if p.is_file())


def _refuse_outside(root: Path, files: list[Path]) -> None:
    """A book is its folder: a chapter behind a symbolic link to a file elsewhere is refused, as images are."""
    inside = root.resolve()
    problems = []
    for p in files:
        target = p.resolve()
        if not target.is_relative_to(inside):
            problems.append(Diagnostic(SourceLocation(p, None), f"the chapter file is a symbolic link to '{target}', outside the book "
                                       "folder; copy the file into chapters/ instead"))
    if problems:
        raise ManuscriptError(*problems)


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManuscriptError.at(path, line, f"not valid UTF-8 (byte offset {exc.start}); save the file as UTF-8") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if m := _NOT_XML.search(text):
        line = text.count("\n", 0, m.start()) + 1
        column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        raise ManuscriptError.at(path, line, f"control character U+{ord(m.group()):04X} at column {column} cannot appear in a book; delete it")
    return text


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str, int]:
    """Returns (front matter, body, line where the body starts)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ManuscriptError.at(path, 1, "a chapter starts with YAML front matter between '---' lines (at least 'title:')")
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise ManuscriptError.at(path, 1, "front matter is not closed: add a '---' line after it")
    front = "\n".join(lines[1:end])
    try:
        data = yaml.load(front, Loader=_FAST_LOADER)  # libyaml: a 500-chapter book's front matter in ~20 ms, not 170
    except yaml.YAMLError:
        data = None  # the pure-Python loader below gives the error its usual wording and line
    try:
        if data is None:
            data = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ManuscriptError.at(path, line, f"front matter: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ManuscriptError.at(path, 2, "front matter must be a mapping of keys to values, such as 'title: …'")
    return data, "\n".join(lines[end + 1 :]), end + 2


def _key_line(text: str, key: str) -> int:
    for n, line in enumerate(text.split("\n")[1:], start=2):
        if line.startswith(f"{key}:"):
            return n
    return 2


def chapter_slug(path: Path) -> str:
    """A chapter's slug (its pages' names and ids) comes from its file name, even while the file is broken."""
    return slugify(path.stem) or "chapter"


def load_chapter(path: Path) -> Chapter:
    text = _decode(path, path.read_bytes())
    front, body, body_line = split_front_matter(path, text)
    problems: list[Diagnostic] = []
    for key in front:
        if key not in _FRONT_KEYS:
            problems.append(Diagnostic(SourceLocation(path, _key_line(text, str(key))), f"unknown front matter key '{key}' (known: {', '.join(sorted(_FRONT_KEYS))})"))
    title = front.get("title")
    if not isinstance(title, str) or not title.strip():
        line = _key_line(text, "title") if "title" in front else 1
        problems.append(Diagnostic(SourceLocation(path, line), "front matter needs 'title:' with a non-empty text"))
    subtitle = front.get("subtitle")
    if subtitle is not None and not isinstance(subtitle, str):
        problems.append(Diagnostic(SourceLocation(path, _key_line(text, "subtitle")), "'subtitle' must be text"))
    kind = front.get("kind", "body")
    if kind not in CHAPTER_KINDS:
        problems.append(Diagnostic(SourceLocation(path, _key_line(text, "kind")), f"'kind' must be one of {', '.join(CHAPTER_KINDS)}, got {kind!r}"))
    opening = front.get("opening")
    if opening is not None and opening not in OPENINGS:
        problems.append(Diagnostic(SourceLocation(path, _key_line(text, "opening")),
                                   f"'opening' must be one of {', '.join(OPENINGS)}, got {opening!r}"))
    if not body.strip():
        problems.append(Diagnostic(SourceLocation(path, body_line), "the chapter has no text after its front matter"))
    if problems:
        raise ManuscriptError(*problems)
    return Chapter(path=path, slug=chapter_slug(path), title=title.strip(), subtitle=subtitle, kind=kind, source=body, body_line=body_line,
                   opening=opening)


def load_chapters(config: BookConfig) -> tuple[Chapter, ...]:
    chapters: list[Chapter] = []
    problems: list[Diagnostic] = []
    for path in chapter_files(config):
        try:
            chapters.append(load_chapter(path))
        except ManuscriptError as exc:
            problems.extend(exc.diagnostics)
    problems.extend(duplicate_slugs(chapters))
    if problems:
        raise ManuscriptError(*problems)
    return tuple(chapters)


def duplicate_slugs(chapters: Iterable[Chapter]) -> list[Diagnostic]:
    """One error at each chapter whose slug an earlier one has: two files would make one page
    (`01 One.md` and `01-one!.md` are both `01-one`). The earlier chapter keeps the slug."""
    seen: dict[str, Path] = {}
    problems = []
    for ch in chapters:
        if ch.slug in seen:
            problems.append(Diagnostic(SourceLocation(ch.path, 1), f"chapter id '{ch.slug}' is also the id of {seen[ch.slug].name}; rename one file"))
        seen.setdefault(ch.slug, ch.path)
    return problems
