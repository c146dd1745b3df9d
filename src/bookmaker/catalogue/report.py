"""The catalogue's report: a table in the terminal, and OUT_DIR/catalogue.json and catalogue.html
with, for each title, its status, pages, output sizes, preflight and EPUBCheck results, warnings
and time."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path

from .task import TitleResult


def _size(outputs: tuple[tuple[str, str, int], ...]) -> str:
    return ", ".join(f"{fmt} {size / 1024:.0f} KB" for fmt, _, size in outputs) or "-"


def summary(results: list[TitleResult]) -> dict[str, int]:
    counts = {"titles": len(results), "built": 0, "skipped": 0, "failed": 0}
    for r in results:
        counts[r.status] += 1
    return counts


def write_reports(results: list[TitleResult], out_dir: Path) -> tuple[Path, Path]:
    """catalogue.json and catalogue.html in `out_dir`, each written atomically."""
    from ..core.paths import write_atomic

    data = {"summary": summary(results), "titles": [asdict(r) for r in results]}
    json_path, html_path = out_dir / "catalogue.json", out_dir / "catalogue.html"
    write_atomic(json_path, json.dumps(data, indent=1).encode("utf-8"))
    write_atomic(html_path, _html(results).encode("utf-8"))
    return json_path, html_path


def _html(results: list[TitleResult]) -> str:
    e = html.escape
    counts = summary(results)
    rows = []
    for r in results:
        errors = "".join(f"<li><code>{e(line)}</code></li>" for line in r.errors)
        rows.append(f'<tr class="{e(r.status)}"><td>{e(r.name)}</td><td>{e(r.status)}</td><td>{r.pages or "-"}</td>'
                    f"<td>{e(_size(r.outputs))}</td><td>{e(r.preflight)}</td><td>{e(r.epubcheck)}</td><td>{r.warnings}</td>"
                    f"<td>{r.seconds:.1f} s</td><td>{'<ul>' + errors + '</ul>' if errors else ''}</td></tr>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>Catalogue report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
tr.failed td:nth-child(2){{color:#b00;font-weight:bold}}tr.built td:nth-child(2){{color:#070}}code{{font-size:.85em}}</style></head>
<body><h1>Catalogue report</h1>
<p>{counts['titles']} titles: {counts['built']} built, {counts['skipped']} unchanged (skipped), {counts['failed']} failed.</p>
<table><thead><tr><th>title</th><th>status</th><th>pages</th><th>outputs</th><th>preflight</th><th>EPUBCheck</th><th>warnings</th><th>time</th><th>errors</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""


def print_table(results: list[TitleResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    counts = summary(results)
    table = Table(title=f"Catalogue: {counts['titles']} titles, {counts['built']} built, {counts['skipped']} unchanged, "
                        f"{counts['failed']} failed")
    for column in ("title", "status", "pages", "outputs", "preflight", "EPUBCheck", "warnings", "time"):
        table.add_column(column)
    colour = {"built": "green", "skipped": "cyan", "failed": "red"}
    for r in results:
        table.add_row(r.name, f"[{colour[r.status]}]{r.status}[/]", str(r.pages or "-"), _size(r.outputs), r.preflight,
                      r.epubcheck, str(r.warnings), f"{r.seconds:.1f} s")
    Console().print(table)
