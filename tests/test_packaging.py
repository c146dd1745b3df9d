"""layouts/ lives in one place in the tree and ships inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import ROOT


def test_wheel_carries_the_layouts(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("bookmaker-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in sorted(p.relative_to(ROOT / "layouts").as_posix() for p in (ROOT / "layouts").rglob("*") if p.is_file()):
        assert f"bookmaker/layouts/{rel}" in names, rel
    assert not any(n.startswith("layouts/") for n in names)


def test_layouts_exist_only_once_in_the_tree() -> None:
    copies = [p for p in ROOT.rglob("chapter.xhtml.j2") if ".venv" not in p.parts and "build" not in p.parts]
    assert copies == [ROOT / "layouts" / "chapter.xhtml.j2"]


def test_readme_documents_every_exit_code() -> None:
    import re

    from bookmaker.core import errors

    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M))
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.BookError)]
    assert {str(c.exit_code) for c in classes} <= set(table)
    assert len({c.exit_code for c in classes if c is not errors.BookError}) == len(classes) - 1  # no two share a code
