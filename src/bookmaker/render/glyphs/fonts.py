"""The print chain resolved to font files: the stylesheet's faces, then what this machine's
fontconfig (`fc-match`) answers for the other families; the resolution is cached with the
coverages, keyed by the stylesheet and by `fontconfig_state`."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from ...core.digest import digest
from ...core.resources import Layouts
from .coverage import Cache, Coverage, PrintFont, coverages, file_stamp
from .stylesheet import as_layouts, stylesheet_fonts

MONOSPACE = "DejaVu Sans Mono"  # print.css: `pre, code { font-family: "DejaVu Sans Mono", <the text chain> }`
_GENERIC = frozenset({"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "math", "emoji"})


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
    return [font.family, str(font.file), font.index, file_stamp(font.file)]


def _cached_resolution(entry: object, state: str) -> tuple[tuple[PrintFont, ...], PrintFont | None, tuple[str, ...]] | None:
    """A resolution stored by `chains_for`, if fontconfig's state and every file it names are unchanged."""
    if not isinstance(entry, dict) or entry.get("state") != state:
        return None
    try:
        rows = [*entry["text"], *([entry["mono"]] if entry["mono"] else [])]
        if any(file_stamp(Path(row[1])) != row[3] for row in rows):
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
    cache = Cache()
    folders = "\n".join(str(f) for f in as_layouts(layouts).folders)  # one folder: the key it always had
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
