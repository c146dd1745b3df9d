"""Diagnostics and the errors a user can cause.

Every diagnostic carries a source location and prints as ``path:line: level: message``.
Exit codes are declared on the error classes and documented in the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class SourceLocation:
    path: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else f"{self.path}"


@dataclass(frozen=True)
class Diagnostic:
    location: SourceLocation
    message: str
    level: str = "error"  # "error" | "warning" | "note"

    def __str__(self) -> str:
        return f"{self.location}: {self.level}: {self.message}"


class BookError(Exception):
    """A mistake in the book the user can fix. Printed as one line per diagnostic.

    Exit codes: 1 other book error, 2 command-line usage (click), 3 config, 4 manuscript, 5 image,
    6 layout, 7 output, 8 --strict with warnings, 9 preflight failed. Documented in the README.
    """

    exit_code = 1

    def __init__(self, *diagnostics: Diagnostic) -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics: tuple[Diagnostic, ...] = diagnostics

    @classmethod
    def at(cls, path: Path, line: int | None, message: str) -> "BookError":
        return cls(Diagnostic(SourceLocation(path, line), message))


class ConfigError(BookError):
    """book.toml is missing, malformed or has wrong keys or values."""

    exit_code = 3


class ManuscriptError(BookError):
    """A chapter file cannot be read: encoding, front matter, Markdown."""

    exit_code = 4


class ImageError(BookError):
    """An image is unreadable, of an unsupported format, or outside the book folder."""

    exit_code = 5


class LayoutError(BookError):
    """A template in layouts/ failed or produced invalid XHTML."""

    exit_code = 6


class OutputError(BookError):
    """An output could not be written or failed its own validation."""

    exit_code = 7


class StrictError(BookError):
    """Warnings were raised and --strict turns them into failures."""

    exit_code = 8


class PreflightError(BookError):
    """The PDF fails a rule of its print profile (see `bookmaker check`)."""

    exit_code = 9
    outputs: tuple[object, ...] = ()  # a build's other outputs, written all the same (pipeline.Output)


class Reporter:
    """Collects what a build has to say; the CLI prints it and --strict fails on the warnings.

    - warnings: something in the book that is probably wrong (``--strict`` makes them errors);
    - notes: facts about this run, each said once (a missing optional system library);
    - pending: art the book says is still to come, drawn as placeholders and listed once in the
      build summary, not warned about (``art="pending"`` on a figure, ``pending_images`` in book.toml).
    """

    def __init__(self) -> None:
        self.warnings: list[Diagnostic] = []
        self.notes: list[Diagnostic] = []
        self.pending: dict[str, SourceLocation] = {}  # image src -> where it is first named

    def warn(self, path: Path, line: int | None, message: str) -> None:
        self.warnings.append(Diagnostic(SourceLocation(path, line), message, "warning"))

    def note(self, path: Path | None, message: str) -> None:
        """Said once per run, however often it is noted; never a failure."""
        note = Diagnostic(SourceLocation(path or Path("bookmaker")), message, "note")
        if note not in self.notes:
            self.notes.append(note)

    def pending_art(self, src: str, path: Path, line: int | None) -> None:
        self.pending.setdefault(src, SourceLocation(path, line))


# Quoted names, numbers and paths vary between warnings of one kind.
_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\d+(?:\.\d+)?")


def warning_kind(message: str) -> str:
    """What warnings of one kind share: the message with its quoted names and numbers taken out."""
    return _VARYING.sub("…", message)


def grouped(warnings: Sequence[Diagnostic], first: int = 3) -> list[str]:
    """Lines to print: each kind's first `first` warnings in full, then one line for the rest.

    Order is kept: a kind is printed where its first warning stands.
    """
    kinds: dict[str, list[Diagnostic]] = {}
    for w in warnings:
        kinds.setdefault(warning_kind(w.message), []).append(w)
    lines: list[str] = []
    for same in kinds.values():
        lines.extend(str(w) for w in same[:first])
        rest = same[first:]
        if rest:
            files = len({w.location.path for w in rest})
            where = f"in {files} more file{'s' if files != 1 else ''}" if files > 1 else f"in {rest[0].location.path}"
            lines.append(f"{rest[0].location}: note: {len(rest)} more warning{'s' if len(rest) != 1 else ''} of this kind {where}"
                         " (-v lists every one)")
    return lines
