"""Letters no print font has, warned about at their manuscript line before the PDF is laid out.

WeasyPrint draws a character that no font covers as an empty box (`.notdef`) and says so only in
a log line with no location. The print chain is `html { font-family: … }` in `layouts/print.css`:
Charis SIL (shipped in `layouts/fonts/`), then the system fonts the Makefile installs
(BOOK_PACKAGES), named by family so that fontconfig resolves the same files on every machine of
this kind. Code spans and fences are set in DejaVu Sans Mono (print.css). A letter that font lacks falls
back to the other installed fonts, the chain's among them, so code is checked against the
monospace font plus the print chain.

Only the families the stylesheet names count (generic families such as `serif` do not). Pango
would also fall back to any other installed font, but which ones are installed differs between
machines, and the warnings must not.

The first run costs about 0.4 s: fontTools reads each font's cmap (0.1 s for a CJK font) and
fc-match resolves the families. Both results are kept in `font-coverage.json` in the user's cache
folder. The coverages are kept as code-point ranges, keyed by each file's path, face, size and
mtime. The resolved chain is keyed by the stylesheet and by fontconfig's folders and caches. After
that, checking the 29 chapters of the sample book takes 5-10 ms.
"""
from __future__ import annotations

import html
import json
import os
import subprocess
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..core.digest import digest
from ..core.errors import Reporter
from ..core.model import Book, Chapter
from ..core.paths import write_atomic
from ..core.resources import Layouts, layouts_for

CACHE_VERSION = 1
MONOSPACE = "DejaVu Sans Mono"  # print.css: `pre, code { font-family: "DejaVu Sans Mono", <the text chain> }`
_GENERIC = frozenset({"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "math", "emoji"})
# Default-ignorable code points that Unicode lists outside the Cc/Cf categories: Pango draws nothing
# for them, never a box (variation selectors after an emoji or a CJK ideograph, Hangul fillers, CGJ).
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0000, 0xE0FFF))
# Where a family of the chain comes from, for the note that says what to install.
_PACKAGES = (("WenQuanYi", "fonts-wqy-microhei"), ("Droid Sans Fallback", "fonts-droid-fallback"),
             ("Symbola", "fonts-symbola"), ("Noto Sans Mono", "fonts-noto-mono"), ("Noto", "fonts-noto-core"))


# --- coverage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """The code points one or more fonts map, as sorted, merged, inclusive ranges."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @classmethod
    def of_code_points(cls, points: Iterable[int]) -> Coverage:
        return cls.of_ranges((p, p) for p in points)

    @classmethod
    def of_ranges(cls, ranges: Iterable[tuple[int, int]]) -> Coverage:
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(r[0] for r in merged), tuple(r[1] for r in merged))

    def ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple(zip(self.starts, self.ends))

    def union(self, *others: Coverage) -> Coverage:
        return Coverage.of_ranges(r for c in (self, *others) for r in c.ranges())

    def __contains__(self, code_point: object) -> bool:
        if not isinstance(code_point, int):
            return False
        i = bisect_right(self.starts, code_point) - 1
        return i >= 0 and code_point <= self.ends[i]


@dataclass(frozen=True)
class PrintFont:
    """One face of the chain: the family the stylesheet names and the file that serves it."""

    family: str
    file: Path
    index: int = 0  # the face within a font collection (.ttc)


@dataclass(frozen=True)
class FontChain:
    """The fonts a kind of text is set in, first to last, and what they cover together."""

    label: str  # for messages: "print fonts", "fonts for code"
    fonts: tuple[PrintFont, ...]
    coverage: Coverage

    def has(self, char: str) -> bool:
        return ord(char) in self.coverage

    def describe(self) -> str:
        """The chain for a one-line message: its first two families and how many follow."""
        names = list(dict.fromkeys(f.family for f in self.fonts))
        shown = ", ".join(names[:2])
        rest = len(names) - 2
        return f"{shown} and {rest} more in layouts/print.css" if rest > 0 else shown or "no font found"


@dataclass(frozen=True)
class PrintChains:
    """What prose and headings are set in, and what code is (`monospace`, then the same chain)."""

    text: FontChain
    code: FontChain
    missing: tuple[str, ...] = ()  # families the stylesheet names that are not installed

    def files(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(f.file for f in (*self.text.fonts, *self.code.fonts)))


def _cmap_ranges(font: PrintFont) -> tuple[tuple[int, int], ...]:
    """The font's cmap (read with fontTools, only that table) as merged ranges; none if unreadable."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(font.file), fontNumber=font.index, lazy=True) as tt:
            cmap = tt.getBestCmap() or {}
    except (OSError, TTLibError, AssertionError, KeyError, ValueError):
        return ()
    return Coverage.of_code_points(cmap).ranges()


def _stamp(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


class _Cache:
    """`font-coverage.json` in the user's cache folder: each font file's coverage ("fonts", by
    path and face, valid while the file keeps its size and mtime) and each stylesheet's chain as
    fontconfig resolved it ("chains", valid while fontconfig's state and those files are unchanged).
    Only a speed-up: unreadable is empty, unwritable is no error."""

    def __init__(self) -> None:
        from ..core.paths import user_cache_dir

        self.path = user_cache_dir() / "font-coverage.json"
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            data = {}
        self.fonts: dict[str, dict[str, object]] = data.get("fonts") if isinstance(data.get("fonts"), dict) else {}  # type: ignore[assignment]
        self.chains: dict[str, dict[str, object]] = data.get("chains") if isinstance(data.get("chains"), dict) else {}  # type: ignore[assignment]

    def save(self) -> None:
        if not self.changed:
            return
        fonts = {k: v for k, v in self.fonts.items() if os.path.exists(k.rsplit("#", 1)[0])}
        try:
            data = json.dumps({"version": CACHE_VERSION, "fonts": fonts, "chains": self.chains}, separators=(",", ":"))
            write_atomic(self.path, data.encode("utf-8"), durable=False)
        except OSError:
            pass
        self.changed = False


def coverages(fonts: Sequence[PrintFont], cache: _Cache | None = None) -> tuple[Coverage, ...]:
    """Each font's coverage: from the cache while its file keeps its size and mtime, else read
    from its cmap and added to the cache."""
    store = cache or _Cache()
    result = []
    for font in fonts:
        key, stamp = f"{font.file}#{font.index}", _stamp(font.file)
        entry = store.fonts.get(key)
        if not isinstance(entry, dict) or entry.get("stamp") != stamp or not isinstance(entry.get("ranges"), list):
            entry = {"stamp": stamp, "ranges": [list(r) for r in _cmap_ranges(font)]}
            if stamp is not None:
                store.fonts[key], store.changed = entry, True
        ranges = entry["ranges"]
        result.append(Coverage(tuple(r[0] for r in ranges), tuple(r[1] for r in ranges)))  # type: ignore[union-attr]
    if cache is None:
        store.save()
    return tuple(result)


# Where fontconfig finds fonts and its configuration (Debian's fonts.conf), and its caches, which a
# font package's install refreshes (fc-cache). Their mtimes, two folder levels down, stand for
# "the fonts installed": a resolved chain is reused only while they are unchanged.
_FONTCONFIG_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
                    "/etc/fonts", "/etc/fonts/conf.d", "/var/cache/fontconfig", "~/.cache/fontconfig", "~/.config/fontconfig")


def fontconfig_state() -> str:
    """A digest of what decides fontconfig's answers: its folders' mtimes and its environment."""
    parts = [os.environ.get(k, "") for k in ("FONTCONFIG_FILE", "FONTCONFIG_PATH", "FONTCONFIG_SYSROOT", "XDG_DATA_HOME", "HOME")]
    for top in _FONTCONFIG_DIRS:
        level = [os.path.expanduser(top)]
        for depth in range(3):  # the folder, its subfolders and theirs (truetype/noto)
            below: list[str] = []
            for folder in level:
                try:
                    parts.append(f"{folder}:{os.stat(folder).st_mtime_ns}")
                    if depth < 2:
                        below.extend(e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False))
                except OSError:
                    continue
            level = sorted(below)
    return digest(*parts)


# --- the chain --------------------------------------------------------------------------------


def _declarations(rule: object) -> dict[str, list[object]]:
    import tinycss2

    found: dict[str, list[object]] = {}
    for item in tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True, skip_comments=True):  # type: ignore[attr-defined]
        if item.type == "declaration":
            found[item.lower_name] = item.value
    return found


def _families(tokens: Sequence[object]) -> tuple[str, ...]:
    """`"Charis SIL", Noto Serif, serif` -> the names; unquoted names are joined by spaces."""
    names: list[str] = []
    words: list[str] = []
    for token in [*tokens, None]:
        kind = getattr(token, "type", None)
        if token is None or (kind == "literal" and token.value == ","):  # type: ignore[attr-defined]
            if words:
                names.append(" ".join(words))
            words = []
        elif kind == "string" or kind == "ident":
            words.append(token.value)  # type: ignore[attr-defined]
    return tuple(names)


def _url(token: object) -> str | None:
    """`url(x)` and `url("x")` (tinycss2 parses the quoted one as a function)."""
    kind = getattr(token, "type", None)
    if kind == "url":
        return str(token.value)  # type: ignore[attr-defined]
    if kind == "function" and token.lower_name == "url":  # type: ignore[attr-defined]
        return next((str(t.value) for t in token.arguments if t.type == "string"), None)  # type: ignore[attr-defined]
    return None


def _as_layouts(layouts: Layouts | Path) -> Layouts:
    """A single folder is the layouts of one folder."""
    return layouts if isinstance(layouts, Layouts) else Layouts((layouts,))


def _face_file(layouts: Layouts, src: str) -> Path:
    """The file a stylesheet's font url names once served as css/: `../fonts/x.ttf` is the layouts'
    `fonts/x.ttf`, the book's own where it has one (as render.layout serves it)."""
    name = os.path.normpath(os.path.join("css", src))
    if not name.startswith(".."):
        for folder in layouts.folders:
            if (folder / name).is_file():
                return folder / name
    return Path(os.path.normpath(layouts.folders[0] / "css" / src))


def stylesheet_fonts(css: str, layouts: Layouts | Path) -> tuple[tuple[str, ...], dict[str, Path]]:
    """The `html` rule's font-family chain, and each @font-face family's regular face: its file
    in the layouts (a folder, or the book's `Layouts`), where the stylesheet's `../fonts/x` url
    points once served as css/."""
    import tinycss2

    layouts = _as_layouts(layouts)
    chain: tuple[str, ...] = ()
    faces: dict[str, Path] = {}
    for rule in tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "font-face" and rule.content:
            decl = _declarations(rule)
            family = _families(decl.get("font-family", []))
            src = next((u for u in map(_url, decl.get("src", [])) if u), None)
            regular = all(tinycss2.serialize(decl.get(k, [])).strip() in ("", "normal", "400") for k in ("font-weight", "font-style"))
            if family and src and regular:
                faces.setdefault(family[0], _face_file(layouts, src))
        elif rule.type == "qualified-rule" and tinycss2.serialize(rule.prelude).strip() == "html":
            chain = _families(_declarations(rule).get("font-family", [])) or chain
    return chain, faces


def _fc_pattern(families: Sequence[str]) -> str:
    escaped = [f.replace("\\", "\\\\").replace("-", "\\-").replace(":", "\\:").replace(",", "\\,") for f in families]
    return ",".join(escaped)


def _fc_start(families: Sequence[str], every: bool) -> subprocess.Popen[str] | None:
    """fontconfig's sorted answer for the families, started (two queries run side by side)."""
    args = ["fc-match", "-f", "%{family}\\t%{file}\\t%{index}\\n"] + (["-a"] if every else []) + [_fc_pattern(families)]
    try:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


def _fc_answer(process: subprocess.Popen[str] | None) -> list[tuple[tuple[str, ...], Path, int]]:
    """(names of the face, file, index) for each face fontconfig answered, best first."""
    if process is None:
        return []
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return []
    faces = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1]:
            names = tuple(n.strip().replace("\\", "") for n in parts[0].split(","))
            faces.append((names, Path(parts[1]), int(parts[2] or 0)))
    return faces


def resolve(families: Sequence[str], faces: dict[str, Path],
            answer: Sequence[tuple[tuple[str, ...], Path, int]]) -> tuple[tuple[PrintFont, ...], tuple[str, ...]]:
    """Each family of the chain as a file: a stylesheet face, else fontconfig's best face of that
    very family in `answer` (fontconfig substitutes another for a missing one: that one counts as
    missing). Generic families are left out."""
    fonts: list[PrintFont] = []
    missing: list[str] = []
    for family in families:
        if family in faces:
            fonts.append(PrintFont(family, faces[family]))
            continue
        if family.lower() in _GENERIC:
            continue
        wanted = family.casefold()
        face = next(((file, index) for names, file, index in answer if wanted in (n.casefold() for n in names)), None)
        if face is None:
            missing.append(family)
        else:
            fonts.append(PrintFont(family, face[0], face[1]))
    return tuple(fonts), tuple(missing)


def _resolve_now(css: str, layouts: Layouts | Path) -> tuple[tuple[PrintFont, ...], PrintFont | None, tuple[str, ...]]:
    """The stylesheet's text fonts, the monospace font and the families not installed, asking
    fontconfig (both queries side by side)."""
    families, faces = stylesheet_fonts(css, layouts)
    system = [f for f in families if f not in faces and f.lower() not in _GENERIC]
    text_query = _fc_start(system, every=True) if system else None
    shipped = faces.get(MONOSPACE)  # the code font of layouts/fonts, when the stylesheet declares it
    mono_query = None if shipped else _fc_start(["monospace"], every=False)
    text_fonts, missing = resolve(families, faces, _fc_answer(text_query))
    if shipped:
        mono: PrintFont | None = PrintFont(MONOSPACE, shipped)
    else:
        mono_answer = _fc_answer(mono_query)
        mono = PrintFont(mono_answer[0][0][0], mono_answer[0][1], mono_answer[0][2]) if mono_answer else None
    return text_fonts, mono, missing


def _font_row(font: PrintFont) -> list[object]:
    return [font.family, str(font.file), font.index, _stamp(font.file)]


def _cached_resolution(entry: object, state: str) -> tuple[tuple[PrintFont, ...], PrintFont | None, tuple[str, ...]] | None:
    """A resolution stored by `chains_for`, if fontconfig's state and every file it names are unchanged."""
    if not isinstance(entry, dict) or entry.get("state") != state:
        return None
    try:
        rows = [*entry["text"], *([entry["mono"]] if entry["mono"] else [])]
        if any(_stamp(Path(row[1])) != row[3] for row in rows):
            return None
        text = tuple(PrintFont(r[0], Path(r[1]), int(r[2])) for r in entry["text"])
        mono = PrintFont(entry["mono"][0], Path(entry["mono"][1]), int(entry["mono"][2])) if entry["mono"] else None
        return text, mono, tuple(str(m) for m in entry["missing"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def chains_for(css: str, layouts: Layouts | Path) -> PrintChains:
    """The text and code chains of a print stylesheet, resolved by this machine's fontconfig;
    code is set in what `monospace` resolves to (Noto Sans Mono with fonts-noto-mono). The
    resolution is cached with the coverage: fc-match costs more than all the rest of the check.
    `layouts` (a folder, or the book's `Layouts`) holds the fonts its @font-face rules name."""
    cache = _Cache()
    folders = "\n".join(str(f) for f in _as_layouts(layouts).folders)  # one folder: the key it always had
    key = digest(str(folders), css, size=24)
    state = fontconfig_state()
    resolved = _cached_resolution(cache.chains.get(key), state)
    if resolved is None:
        resolved = _resolve_now(css, layouts)
        text_fonts, mono, missing = resolved
        entry = {"state": state, "text": [_font_row(f) for f in text_fonts], "mono": _font_row(mono) if mono else None,
                 "missing": list(missing)}
        kept = [(k, v) for k, v in cache.chains.items() if k != key][:3]  # a few stylesheets, the newest first
        cache.chains = dict([(key, entry), *kept])
        cache.changed = True
    text_fonts, mono, missing = resolved
    code_fonts = ((mono,) if mono else ()) + text_fonts
    unique = tuple(dict.fromkeys(code_fonts))
    by_font = dict(zip(unique, coverages(unique, cache)))
    cache.save()
    text_cov = Coverage().union(*(by_font[f] for f in text_fonts))
    code_cov = text_cov.union(by_font[mono]) if mono else text_cov
    return PrintChains(FontChain("print fonts", text_fonts, text_cov), FontChain("fonts for code", code_fonts, code_cov), missing)


def print_chains(layouts: Layouts | None = None) -> PrintChains:
    """The chains of the print.css of `layouts` (the book's, `layouts_for(config)`; default: the
    built-in layouts) on this machine. Its text is read at each call, so an edited stylesheet
    (`bookmaker serve`) gets its own chains; each is worked out once per process."""
    layouts = layouts or Layouts.builtin()
    return _chains(layouts.read_bytes("print.css").decode("utf-8"), layouts)


@lru_cache(maxsize=4)
def _chains(css: str, layouts: Layouts) -> PrintChains:
    return chains_for(css, layouts)


def print_font_files(layouts: Layouts | None = None) -> tuple[Path, ...]:
    """The files of the print chain of `layouts` (default: the built-in ones), in order, then the
    monospace font. A cache of laid-out PDF parts should key on these besides the layouts. Code
    may also take a letter from another installed font (fontconfig's fallback for `monospace`),
    which this does not list."""
    return print_chains(layouts).files()


def chains_of_files(text: Sequence[Path], code: Sequence[Path] = ()) -> PrintChains:
    """Chains made of the given files (each named by its file's stem), for tests and other layouts."""
    text_fonts = tuple(PrintFont(p.stem, p) for p in text)
    code_fonts = tuple(PrintFont(p.stem, p) for p in code) + text_fonts
    text_cov = Coverage().union(*coverages(text_fonts))
    code_cov = text_cov.union(*coverages(code_fonts[: len(code)]))
    return PrintChains(FontChain("print fonts", text_fonts, text_cov), FontChain("fonts for code", code_fonts, code_cov))


# --- the manuscript ---------------------------------------------------------------------------


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
