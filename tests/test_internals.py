"""Third-party internals are touched in one module per library, each checked against the version
it was written for: another version stops the build with one clear error (backends/epub.py,
backends/pypdf_internals.py, backends/wp_internals.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "bookmaker"


def test_another_ebooklib_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import ebooklib

    from bookmaker.backends import epub

    epub.check_ebooklib()  # the installed one passes
    monkeypatch.setattr(ebooklib, "VERSION", (0, 21, 0))
    with pytest.raises(epub.EbooklibVersionError, match=r"needs ebooklib 0\.20.*0\.21 is installed"):
        epub.check_ebooklib()


def test_another_pypdf_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdf

    from bookmaker.backends.pdf import pypdf_internals

    pypdf_internals.check_version()
    monkeypatch.setattr(pypdf, "__version__", "8.0.0")
    with pytest.raises(pypdf_internals.PypdfVersionError, match=r"needs pypdf 7\.x.*8\.0\.0 is installed"):
        pypdf_internals.check_version()


def test_another_pillow_major_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import PIL

    from bookmaker.transform import decode

    decode.check_version.cache_clear()
    decode.check_version()
    monkeypatch.setattr(PIL, "__version__", "14.0.0")
    decode.check_version.cache_clear()
    try:
        with pytest.raises(decode.PillowVersionError, match=r"needs Pillow 13\.x.*Pillow 14\.0\.0 is installed"):
            decode.check_version()
    finally:
        decode.check_version.cache_clear()


def _private_uses(path: Path) -> set[str]:
    """Attribute names with one leading underscore read on something other than self/cls/a module of ours."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls", "super"):
                continue
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                continue
            found.add(node.attr)
    return found


def test_weasyprint_and_pypdf_private_names_are_read_in_their_own_modules_only() -> None:
    weasyprint_private = {"_page_box", "_get_png_data", "_resources", "_update_footnote_area", "_linebox_layout"}
    pypdf_private = {"_info", "_ID"}
    pillow_private = {"_getdecoder", "_get_oserror", "_Tile"}
    homes = {"_page_box": "wp_internals.py", "_get_png_data": "wp_internals.py", "_resources": "wp_internals.py",
             "_update_footnote_area": "wp_internals.py", "_linebox_layout": "wp_internals.py",
             "_info": "pypdf_internals.py", "_ID": "pypdf_internals.py",
             "_getdecoder": "decode.py", "_get_oserror": "decode.py", "_Tile": "decode.py"}
    for path in sorted(SRC.rglob("*.py")):
        for name in _private_uses(path) & (weasyprint_private | pypdf_private | pillow_private):
            assert path.name == homes[name], f"{path.relative_to(SRC)} reads {name}: only {homes[name]} may"


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """bookmaker modules `module` imports anywhere in its file (in functions and TYPE_CHECKING too)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != module}


def test_layers_contract() -> None:
    """import-linter's contracts in pyproject.toml: the stage packages import downwards only, and
    only back ends import ebooklib and WeasyPrint (pypdf: back ends and checks)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout and "3 kept" in result.stdout, result.stdout[-2000:]


def test_no_import_cycles() -> None:
    """Stages import one way (DESIGN.md): no module reaches, however indirectly, back to itself."""
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = ("bookmaker", *path.relative_to(SRC).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(module):] + [module]))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, trail + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_every_cache_names_modules_that_exist() -> None:
    """cache/keys.py lists the code each cache's entries come from: a module moved or renamed
    without updating it would leave that cache blind to edits of the moved code."""
    from bookmaker.cache import keys

    for cache, entries in keys.CODE.items():
        for entry in entries:
            assert keys._files(entry), f"cache/keys.py: {cache} names {entry}, which is not in src/bookmaker"
    assert set(keys.CODE) == set(keys.LIBRARIES)


def test_weasyprint_warnings_go_to_the_layout_on_their_own_thread() -> None:
    """One handler on WeasyPrint's logger for the process, not one per layout: each layout
    collects what its own thread logs (the preview server lays out while other threads run)."""
    import threading

    from weasyprint.logger import LOGGER

    from bookmaker.backends.pdf import backend

    barrier = threading.Barrier(2)
    got: dict[str, list[str]] = {}

    def lay_out(name: str) -> None:
        with backend.collected() as messages:
            barrier.wait()
            LOGGER.warning("from %s", name)
            with backend.collected() as inner:
                LOGGER.warning("inner %s", name)
            barrier.wait()
        got[name] = messages + inner

    threads = [threading.Thread(target=lay_out, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {"a": ["from a", "inner a"], "b": ["from b", "inner b"]}
    assert LOGGER.handlers.count(backend._COLLECT) == 1
