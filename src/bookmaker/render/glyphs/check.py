"""The letters of a book no print font has: its Markdown walked for the printed text (code
checked against the code chain), one warning per letter at its first line."""
from __future__ import annotations

import html
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ...core.errors import Reporter
from ...core.model import Book, Chapter
from ...core.resources import layouts_for
from .fonts import FontChain, PrintChains, print_chains

# Default-ignorable code points that Unicode lists outside the Cc/Cf categories: Pango draws nothing
# for them, never a box (variation selectors after an emoji or a CJK ideograph, Hangul fillers, CGJ).
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0000, 0xE0FFF))
# Where a family of the chain comes from, for the note that says what to install.
_PACKAGES = (("WenQuanYi", "fonts-wqy-microhei"), ("Droid Sans Fallback", "fonts-droid-fallback"),
             ("Symbola", "fonts-symbola"), ("Noto Sans Mono", "fonts-noto-mono"), ("Noto", "fonts-noto-core"))


def ignorable(char: str) -> bool:
    """Nothing is drawn for it: whitespace, controls, format characters, other default ignorables."""
    if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Cs"):
        return True
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


def describe_char(char: str) -> str:
    """`'ക' (U+0D15 MALAYALAM LETTER KA)`; a nameless one says what it is instead."""
    name = unicodedata.name(char, None)
    if name is None:
        name = {"Co": "a private-use character", "Cn": "an unassigned code point"}.get(unicodedata.category(char), "no name")
    return f"'{char}' (U+{ord(char):04X}{' ' if unicodedata.name(char, None) else ', '}{name})"


@lru_cache(maxsize=1)
def _parser() -> object:
    """CommonMark with the block syntaxes the manuscript parser also knows: only where code
    starts and ends matters here, not how anything renders."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin

    return MarkdownIt("commonmark").enable(["table"]).use(footnote_plugin)


def _inline_pieces(token: object, line: int) -> Iterator[tuple[int, str, bool]]:
    for child in getattr(token, "children", None) or ():
        kind = child.type
        if kind in ("softbreak", "hardbreak"):
            line += 1
        elif kind == "code_inline":
            yield line, child.content, True
        elif kind == "image":
            yield line, child.content + " " + str(child.attrGet("title") or ""), False
        elif kind == "html_inline":
            yield line, html.unescape(child.content), False
            line += child.content.count("\n")
        elif kind == "text":
            yield line, child.content, False


def pieces(source: str) -> Iterator[tuple[int, str, bool]]:
    """The printed text of a chapter's Markdown as (0-based source line, text, is code) pieces:
    entities decoded, markup and link targets left out."""
    line = 0
    for token in _parser().parse(source):  # type: ignore[attr-defined]
        if token.map:
            line = token.map[0]
        if token.type in ("fence", "code_block"):
            first = line + (1 if token.type == "fence" else 0)
            for i, text in enumerate(token.content.split("\n")):
                yield first + i, text, True
        elif token.type == "html_block":
            for i, text in enumerate(token.content.split("\n")):
                yield line + i, html.unescape(text), False
        elif token.type == "inline":
            yield from _inline_pieces(token, line)


def missing_in(source: str, chains: PrintChains) -> dict[str, tuple[int, FontChain]]:
    """Each character of the source no font of its chain has: the first source line (0-based)
    where it is missing, and that chain. A source every character of which the text fonts cover
    (nearly every chapter) is not parsed at all: code falls back to the text fonts too."""
    chars = {c for c in set(html.unescape(source)) | set(source) if not chains.text.has(c) and not ignorable(c)}
    if not chars:
        return {}
    found: dict[str, tuple[int, FontChain]] = {}
    for line, text, code in pieces(source):
        chain = chains.code if code else chains.text
        for char in chars.intersection(text):
            if not chain.has(char) and (char not in found or line < found[char][0]):
                found[char] = (line, chain)
    return found


def _line_in(path: Path, char: str, stop: int | None = None) -> int | None:
    """The first line of the file (1-based) before `stop` that has the character."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, text in enumerate(lines[: (stop - 1) if stop else None], 1):
        if char in text:
            return number
    return None


def _warn(reporter: Reporter, path: Path, line: int | None, char: str, chain: FontChain) -> None:
    reporter.warn(path, line, f"{describe_char(char)} is in none of the {chain.label} ({chain.describe()}); "
                              "it would print as an empty box")


def _check_strings(strings: Iterable[str], chain: FontChain) -> list[str]:
    return sorted({c for s in strings for c in set(s) if not chain.has(c) and not ignorable(c)}, key=ord)


def check_chapter(chapter: Chapter, reporter: Reporter, chains: PrintChains) -> int:
    """Warns once per character of the chapter no font of its chain has, at its first line (its
    title's line in the front matter, else its first line in the text); returns how many."""
    first: dict[str, tuple[int | None, FontChain]] = {}
    for char in _check_strings([s for s in (chapter.title, chapter.subtitle) if s], chains.text):
        first[char] = (_line_in(chapter.path, char, chapter.body_line), chains.text)
    for char, (index, chain) in missing_in(chapter.source, chains).items():
        first.setdefault(char, (chapter.body_line + index, chain))
    for char, (line, chain) in sorted(first.items(), key=lambda item: (item[1][0] or 0, ord(item[0]))):
        _warn(reporter, chapter.path, line, char, chain)
    return len(first)


def check_glyphs(book: Book, reporter: Reporter, chains: PrintChains | None = None) -> None:
    """Warn, at its line, about every character of the book no print font has (each once per
    chapter): its text and headings, and what book.toml prints (title, authors, credits …).

    `chains` defaults to the book's print.css on this machine (`print_chains`). When some of its
    families are not installed and a character is missing, a note says what to install.
    """
    chains = chains or print_chains(layouts_for(book.config))
    warned = 0
    for chapter in book.chapters:
        warned += check_chapter(chapter, reporter, chains)
    config = book.config
    printed = (config.title, config.subtitle or "", *config.authors, config.publisher, config.rights,
               config.chapter_label, *config.credits, config.edition or "")
    toml = config.root / "book.toml"
    for char in _check_strings(printed, chains.text):
        _warn(reporter, toml, _line_in(toml, char), char, chains.text)
        warned += 1
    if warned and chains.missing:
        reporter.note(None, missing_note(chains.missing))


def missing_note(families: Sequence[str]) -> str:
    packages = dict.fromkeys(next((pkg for prefix, pkg in _PACKAGES if f.startswith(prefix)), "?") for f in families)
    named = ", ".join(families[:3]) + (f" and {len(families) - 3} more" if len(families) > 3 else "")
    install = " ".join(p for p in packages if p != "?")
    return (f"print fonts not installed: {named}; the PDF falls back to other fonts or empty boxes"
            + (f" (install them: apt-get install {install})" if install else ""))
