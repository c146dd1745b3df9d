"""Command line. Turns BookError into `path:line: error: message` and its exit code.

Heavy libraries (WeasyPrint, ebooklib, Pillow) are imported only by the commands that need them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from .core.errors import BookError, Reporter, grouped
from .core.process import collector_paused


def _print_warnings(reporter: Reporter, verbose: bool = False, notes: bool = True) -> None:
    """Warnings, those of one kind grouped after the first few unless `verbose`; then the notes."""
    lines = [str(w) for w in reporter.warnings] if verbose else grouped(reporter.warnings)
    for line in lines:
        click.echo(line, err=True)
    if notes:
        for n in reporter.notes:
            click.echo(str(n), err=True)


def _pending_summary(reporter: Reporter, verbose: bool) -> list[str]:
    """The art the book says is still to come, once, in the build summary."""
    pending = reporter.pending
    if not pending:
        return []
    n = len(pending)
    head = f"art still to come: {n} image{'s' if n != 1 else ''} drawn as placeholder{'s' if n != 1 else ''}"
    if verbose:
        return [head + ":"] + [f"  {src} ({where})" for src, where in pending.items()]
    names = list(pending)
    shown = ", ".join(names[:3]) + (f" and {n - 3} more (-v lists them)" if n > 3 else "")
    return [f"{head}: {shown}"]


def _fail(exc: BookError) -> None:
    """Every error (never grouped: each is one to fix), then exit with the error's code."""
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
@click.version_option(package_name="bookmaker", prog_name="bookmaker")
def main() -> None:
    """bookmaker: builds a manuscript of Markdown chapters into an EPUB 3 and a print-ready PDF."""


@main.command()
@click.argument("book_dir", default="book", type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["epub", "pdf", "cover", "all"]), default="all", show_default=True,
              help="What to build; all: the EPUB, the PDF and, under a print profile, the cover wrap (<slug>-cover.pdf).")
@click.option("-o", "--out", "out_dir", default="build", type=click.Path(path_type=Path, file_okay=False), show_default=True, help="Output folder.")
@click.option("--strict", is_flag=True, help="Treat warnings (missing images, layout warnings) as errors.")
@click.option("--no-check", is_flag=True, help="Write the PDF even if it fails its print profile's preflight.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Processes laying out a long book's PDF in parts  [default: every core]. The PDF is the same for any number.")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
@click.option("-v", "--verbose", is_flag=True, help="List every warning and every placeholder (warnings of one kind are grouped otherwise).")
@click.option("--proof", is_flag=True, help="With the cover, also write <slug>-cover-proof.png: the cover with its trim, spine and safe lines drawn.")
def build(book_dir: Path, fmt: str, out_dir: Path, strict: bool, no_check: bool, jobs: int | None, quiet: bool, verbose: bool,
          proof: bool) -> None:
    """Build BOOK_DIR (default: book) into OUT_DIR as <slug>.epub and <slug>.pdf."""
    from rich.console import Console

    from .pipeline import ALL
    from .pipeline import build as run_build

    console = Console(stderr=True, quiet=quiet)
    formats = (ALL,) if fmt == "all" else (fmt,)
    reporter = Reporter()
    started = time.perf_counter()
    try:
        with collector_paused(), console.status("building…") as status:
            outputs = run_build(book_dir, out_dir, formats, strict=strict, check=not no_check, reporter=reporter,
                                progress=lambda msg: status.update(msg + "…"), jobs=jobs, proof=proof)
    except BookError as exc:
        if not strict:  # under --strict the warnings are the errors
            _print_warnings(reporter, verbose, notes=not quiet)
        if not quiet:
            for o in getattr(exc, "outputs", ()):  # a refused PDF does not hold back a valid EPUB
                click.echo(f"wrote {o.path} ({_size(o.size)})")
        _fail(exc)
        return
    _print_warnings(reporter, verbose, notes=not quiet)
    elapsed = time.perf_counter() - started
    if not quiet:
        for o in outputs:
            click.echo(f"wrote {o.path} ({_size(o.size)})")
        for line in _pending_summary(reporter, verbose):
            click.echo(line)
        click.echo(f"built in {elapsed:.1f} s" + (f" with {len(reporter.warnings)} warning(s)" if reporter.warnings else ""))


@main.command()
@click.argument("book_dir", default="book", type=click.Path(path_type=Path, file_okay=False))
@click.option("--pdf", "pdf_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Check this PDF instead of building one.")
@click.option("--epub", "epub_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Check this EPUB instead of building one.")
@click.option("--cover", "cover_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Check this cover wrap PDF instead of building one (under a print profile the cover is always checked).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (for CI).")
@click.option("--no-epubcheck", is_flag=True, help="Skip EPUBCheck (it needs Java).")
@click.option("-v", "--verbose", is_flag=True, help="List every warning (warnings of one kind are grouped otherwise).")
@click.option("-o", "--out", "out_dir", default="build", type=click.Path(path_type=Path, file_okay=False), show_default=True,
              help="Output folder of earlier builds, whose cache the check reuses (read only).")
def check(book_dir: Path, pdf_file: Path | None, epub_file: Path | None, cover_file: Path | None, as_json: bool,
          no_epubcheck: bool, verbose: bool, out_dir: Path) -> None:
    """Preflight the PDF against BOOK_DIR's print profile, the EPUB against its stores' rules
    ([ebook] store), and run EPUBCheck on the EPUB.

    Builds both in memory unless --pdf/--epub name built files, the way `build` does (reusing what
    the build cache under --out holds; nothing is written there). Exits 9 when any rule fails.
    """
    from .cache.build import BuildCache
    from .checks.validate import ValidatorMissing, run_epubcheck
    from .core.context import BuildContext, build_timestamp
    from .core.errors import PreflightError
    from .pipeline import Made, preflight_of, target
    from .transform.book import load_book

    reporter = Reporter()
    try:
        cache = BuildCache.under(out_dir)  # read only: images and PDF parts a build of the same book left
        book = load_book(book_dir, reporter, with_cover=epub_file is None, cache=cache)
        ctx = BuildContext(book, build_timestamp(), reporter, cache=cache)
        quiet = lambda _: None  # noqa: E731 - the build's progress lines are not check's
        if pdf_file is None:
            with collector_paused():
                made = target(book_dir, "pdf").make(ctx, None, quiet)
        else:
            made = Made("pdf", pdf_file.read_bytes())
        report = preflight_of(made, book.config)
        cover_report = _check_cover(ctx, report.page_count, cover_file, out_dir)
        epub_summary = stores = None
        if not no_epubcheck or epub_file is not None:
            import tempfile

            data = target(book_dir, "epub").make(ctx, None, quiet, made.printed).data if epub_file is None else epub_file.read_bytes()
            stores = preflight_of(Made("epub", data), book.config)
            if not no_epubcheck and epub_file is not None:
                epub_summary = run_epubcheck(epub_file)
            elif not no_epubcheck:
                with tempfile.NamedTemporaryFile(suffix=".epub") as tmp:
                    tmp.write(data)
                    tmp.flush()
                    epub_summary = run_epubcheck(Path(tmp.name))
    except BookError as exc:
        _fail(exc)
        return
    except ValidatorMissing as exc:
        click.echo(f"{book_dir}: error: {exc}", err=True)
        sys.exit(PreflightError.exit_code)
    passed = (report.passed and (epub_summary is None or epub_summary.clean) and (cover_report is None or cover_report[0].passed)
              and (stores is None or stores.passed))
    _print_check(report, epub_summary, passed, as_json, cover_report[0] if cover_report else None, stores)
    if cover_report is not None:
        for d in cover_report[0].diagnostics(cover_report[1]):
            click.echo(str(d), err=True)
    if stores is not None:
        for d in stores.diagnostics(epub_file or out_dir / f"{book.config.slug}.epub"):
            click.echo(str(d), err=True)
    _print_warnings(reporter, verbose)
    if not passed:
        sys.exit(PreflightError.exit_code)



def _check_cover(ctx: Any, pages: int, cover_file: Path | None, out_dir: Path) -> tuple[Any, Path] | None:
    """The cover wrap's preflight for an interior of `pages` pages (a built cover, or `cover_file`),
    with the path its messages name; None under a profile that prints no cover and no file given."""
    from .backends.pdf.cover import geometry_for, print_cover
    from .checks.cover import preflight_cover
    from .core.cover import rules_for

    config = ctx.book.config
    if cover_file is None and rules_for(config.print.profile.name) is None:
        return None
    if cover_file is not None:
        data, geometry, path = cover_file.read_bytes(), geometry_for(ctx, pages), cover_file
    else:
        with collector_paused():
            made = print_cover(ctx, pages)
        data, geometry, path = made.data, made.geometry, out_dir / f"{config.slug}-cover.pdf"
    return preflight_cover(data, config, geometry), path


def _print_check(report: Any, epub_summary: Any, passed: bool, as_json: bool, cover: Any = None, stores: Any = None) -> None:
    """The preflight's rules, the cover's, the ebook stores' and EPUBCheck's counts: a table, or JSON for CI."""
    import json

    if as_json:
        out = report.as_json()
        if epub_summary is not None:
            out["epubcheck"] = {"version": epub_summary.version, "counts": epub_summary.counts, "passed": epub_summary.clean,
                                "messages": [f"{f.severity} {f.code} {f.message} ({f.location})" for f in epub_summary.findings]}
        if cover is not None:
            out["cover"] = cover.as_json()
        if stores is not None:
            out["stores"] = stores.as_json()
        out["passed"] = passed
        click.echo(json.dumps(out, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Preflight: profile {report.profile}, {report.page_count} pages")
        table.add_column("rule")
        table.add_column("result")
        table.add_column("measured")
        table.add_column("failing pages")
        for r in report.results:
            table.add_row(r.rule, "[green]pass[/]" if r.passed else "[red]FAIL[/]", r.measured, ", ".join(map(str, r.pages[:20])))
        if epub_summary is not None:
            table.add_row("EPUBCheck " + epub_summary.version, "[green]pass[/]" if epub_summary.clean else "[red]FAIL[/]",
                          ", ".join(f"{v} {k}" for k, v in epub_summary.counts.items()), "")
        Console().print(table)
        if cover is not None:
            _print_rules(cover, f"Cover wrap: profile {report.profile}, for {cover.page_count} pages")
        if stores is not None:
            _print_rules(stores, f"EPUB: {stores.profile}")
        if epub_summary is not None:
            for f in epub_summary.findings:
                click.echo(f"EPUBCheck: {f.severity} {f.code} {f.message} ({f.location})", err=True)

def _print_rules(report: Any, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("rule", "result", "measured"):
        table.add_column(column)
    for r in report.results:
        table.add_row(r.rule, "[green]pass[/]" if r.passed else "[red]FAIL[/]", r.measured)
    Console().print(table)


@main.command()
@click.argument("book_dir", type=click.Path(path_type=Path))
@click.option("--title", help="The book's title  [default: from the folder's name].")
@click.option("--author", default="Your Name", show_default=True, help="The author's name.")
@click.option("--language", default="en", show_default=True, help="The book's language (BCP 47).")
def new(book_dir: Path, title: str | None, author: str, language: str) -> None:
    """Create a book to start from in BOOK_DIR (a new or empty folder).

    A commented book.toml, two chapters, images/ and a .gitignore for build/; it builds as it is.
    """
    from .source.scaffold import create

    try:
        create(book_dir, title=title, author=author, language=language)
    except BookError as exc:
        _fail(exc)
        return
    click.echo(f"created {book_dir}: edit {book_dir / 'book.toml'} and the files in {book_dir / 'chapters'}, "
               f"then run: bookmaker build {book_dir}")


# --- Preview: one chapter while editing (preview.py, serve.py) ----------------------------------
# Imported lazily: `bookmaker --help` must not pay for WeasyPrint, Pillow or watchfiles.


@main.command()
@click.argument("chapter")
@click.argument("book_dir", default="book", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--out", "out_dir", default="build", type=click.Path(path_type=Path, file_okay=False), show_default=True, help="Output folder; the preview goes in its preview/ folder.")
@click.option("--pdf", is_flag=True, help="Also lay the chapter out for print, on its page numbers in the full book.")
@click.option("--no-fill", is_flag=True, help="Do not start the background layout that learns the book's page numbers.")
@click.option("-v", "--verbose", is_flag=True, help="List every warning (warnings of one kind are grouped otherwise).")
def preview(chapter: str, book_dir: Path, out_dir: Path, pdf: bool, no_fill: bool, verbose: bool) -> None:
    """Render one CHAPTER of BOOK_DIR (a file, a slug or a number) into OUT_DIR/preview/.

    Writes the chapter's EPUB page with the EPUB stylesheet and, with --pdf, a PDF of the chapter
    alone with the print stylesheet, opening on its folio in the full book.
    """
    from .preview.chapter import preview as run_preview

    reporter = Reporter()
    try:
        page, printed = run_preview(book_dir, chapter, out_dir, pdf=pdf, reporter=reporter, fill=not no_fill)
    except BookError as exc:
        _print_warnings(reporter, verbose)
        _fail(exc)
        return
    _print_warnings(reporter, verbose)
    click.echo(str(page.path))
    if printed is not None:
        click.echo(str(printed.path))
        if not printed.folio.exact:
            why = ", ".join(printed.folio.unknown)
            click.echo(f"{printed.path}: warning: provisional page numbers (opens on {printed.folio.first}): "
                       f"the page map does not know {why} yet"
                       + ("" if no_fill else "; laying the book out in the background for the next preview"), err=True)


@main.command()
@click.argument("book_dir", default="book", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--out", "out_dir", default="build", type=click.Path(path_type=Path, file_okay=False), show_default=True, help="Output folder; the server writes its files in its preview/ folder.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (0: any free port).")
def serve(book_dir: Path, out_dir: Path, port: int) -> None:
    """Preview BOOK_DIR in the browser, chapter by chapter, rebuilt on every save.

    Listens on 127.0.0.1 only. Each chapter page shows the reflowable EPUB view and the print
    pages, and reloads itself when the chapter, book.toml, an image or a layout changes.
    """
    import signal

    from .preview.serve import PreviewServer

    def stop(signum: int, frame: object) -> None:  # `kill` stops it as Ctrl-C does: threads and background layout end
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server = PreviewServer(book_dir, out_dir, port=port)
    except OSError as exc:
        click.echo(f"127.0.0.1:{port}: error: cannot listen: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"serving {book_dir} at {server.url} (Ctrl-C stops)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


CATALOGUE_FAILED = 10  # `bookmaker catalogue`: one title or more failed (README "Exit codes")


@main.command()
@click.argument("catalogue_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--out", "out_dir", default="build", type=click.Path(path_type=Path, file_okay=False), show_default=True,
              help="Output folder: each title's outputs in OUT/<title>/, and catalogue.json and catalogue.html.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="A running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a cluster on this machine).")
@click.option("--workers", type=click.IntRange(1, None), default=None, help="Worker processes of the cluster on this machine (default: one per core).")
@click.option("--format", "formats", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["epub", "pdf", "cover", "all"]), help="What each title builds (repeatable).")
@click.option("--force", is_flag=True, help="Build every title, also those unchanged since the last run.")
@click.option("--no-epubcheck", is_flag=True, help="Skip EPUBCheck on each title's EPUB.")
def catalogue(catalogue_dir: Path, out_dir: Path, scheduler: str | None, workers: int | None, formats: tuple[str, ...],
              force: bool, no_epubcheck: bool) -> None:
    """Build and check every title of CATALOGUE_DIR, each as one task on Dask.

    The titles are the folders catalogue.toml lists (titles = ["a", "b"]), else every subfolder
    with a book.toml. A failing title never stops the others; the exit code is 10 when any failed.
    Titles unchanged since they last built (sources, layouts, fonts, bookmaker) are skipped.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .catalogue.report import print_table, summary, write_reports
    from .catalogue.run import client_for, plan_for, run, shared_epubcheck

    try:
        plan = plan_for(catalogue_dir, out_dir.resolve(), tuple(formats), force, not no_epubcheck)
    except BookError as exc:
        _fail(exc)
        return
    columns = (TextColumn("catalogue"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]} failed, {task.fields[running]} running"), TimeElapsedColumn())
    try:
        with client_for(scheduler, workers) as client, shared_epubcheck(plan, local=scheduler is None) as planned, \
                Progress(*columns, transient=False) as progress:
            bar = progress.add_task("titles", total=len(plan.titles), failed=0, running=0)

            def show(counts: dict[str, int]) -> None:
                progress.update(bar, completed=counts["done"] + counts["failed"], failed=counts["failed"], running=counts["running"])

            results = run(planned, client, show)
    except OSError as exc:
        click.echo(f"{scheduler or 'localhost'}: error: cannot reach the Dask scheduler: {exc}", err=True)
        sys.exit(1)
    json_path, html_path = write_reports(results, plan.out_dir)
    print_table(results)
    for r in results:
        for line in r.errors:
            click.echo(line, err=True)
    counts = summary(results)
    click.echo(f"wrote {json_path} and {html_path}")
    if counts["failed"]:
        sys.exit(CATALOGUE_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
