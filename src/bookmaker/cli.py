"""Command line. Turns BookError into `path:line: error: message` and its exit code.

Heavy libraries (WeasyPrint, ebooklib, Pillow) are imported only by the commands that need them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .errors import BookError, Reporter

EXIT_INTERNAL = 70


def _print_warnings(reporter: Reporter) -> None:
    for w in reporter.warnings:
        click.echo(str(w), err=True)


def _fail(exc: BookError) -> None:
    for d in exc.diagnostics:
        click.echo(str(d), err=True)
    sys.exit(exc.exit_code)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bookmaker")
def main() -> None:
    """bookmaker: builds a manuscript of Markdown chapters into an EPUB 3 and a print-ready PDF."""


@main.command()
@click.argument("book_dir", default="book", type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["epub", "pdf", "all"]), default="all", show_default=True, help="What to build.")
@click.option("-o", "--out", "out_dir", default="build", type=click.Path(path_type=Path, file_okay=False), show_default=True, help="Output folder.")
@click.option("--strict", is_flag=True, help="Treat warnings (missing images, layout warnings) as errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
def build(book_dir: Path, fmt: str, out_dir: Path, strict: bool, quiet: bool) -> None:
    """Build BOOK_DIR (default: book) into OUT_DIR as <slug>.epub and <slug>.pdf."""
    from rich.console import Console

    from .pipeline import FORMATS
    from .pipeline import build as run_build

    console = Console(stderr=True, quiet=quiet)
    formats = FORMATS if fmt == "all" else (fmt,)
    reporter = Reporter()
    started = time.perf_counter()
    try:
        with console.status("building…") as status:
            outputs = run_build(book_dir, out_dir, formats, strict=strict, reporter=reporter,
                                progress=lambda msg: status.update(msg + "…"))
    except BookError as exc:
        if not strict:  # under --strict the warnings are the errors
            _print_warnings(reporter)
        _fail(exc)
        return
    _print_warnings(reporter)
    elapsed = time.perf_counter() - started
    if not quiet:
        for o in outputs:
            click.echo(f"wrote {o.path} ({_size(o.size)})")
        click.echo(f"built in {elapsed:.1f} s" + (f" with {len(reporter.warnings)} warning(s)" if reporter.warnings else ""))


if __name__ == "__main__":  # pragma: no cover
    main()
