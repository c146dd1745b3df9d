"""Diagnostics and the errors a user can cause.

Every diagnostic carries a source location and prints as ``path:line: level: message``.
Exit codes are declared on the error classes and documented in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    level: str = "error"  # "error" | "warning"

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


class Reporter:
    """Collects warnings during a build; the CLI prints them and --strict fails on them."""

    def __init__(self) -> None:
        self.warnings: list[Diagnostic] = []

    def warn(self, path: Path, line: int | None, message: str) -> None:
        self.warnings.append(Diagnostic(SourceLocation(path, line), message, "warning"))
