"""A clean first run: a starter book, a sample without warnings, grouped warnings, pending art,
one note for a missing optional library, and the bad-input findings of the first-run trials."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from .conftest import EPOCH, build_book, need

from bookmaker.core.errors import (
    ConfigError,
    Diagnostic,
    ImageError,
    ManuscriptError,
    Reporter,
    SourceLocation,
    grouped,
)
from bookmaker.transform.book import load_book


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    return subprocess.run([sys.executable, "-m", "bookmaker", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def _missing_figures(root: Path, n: int, attrs: str = "") -> Path:
    lines = "\n\n".join(f"![Figure {i}](images/fig-{i}.png){attrs}" for i in range(1, n + 1))
    chapter = root / "chapters" / "01-one.md"
    chapter.write_text(f"---\ntitle: One\n---\n\n{lines}\n", encoding="utf-8")
    return chapter


# --- bookmaker new, --version ------------------------------------------------------------------

def test_new_book_builds_clean_and_passes_epubcheck(tmp_path: Path) -> None:
    proc = run("new", "my-book", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "my-book"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        ".gitignore", "book.toml", "chapters", "chapters/01-a-beginning.md", "chapters/02-going-on.md", "images"]
    assert "/build/" in (root / ".gitignore").read_text(encoding="utf-8")
    toml = (root / "book.toml").read_text(encoding="utf-8")
    assert 'title = "My Book"' in toml and toml.count("\n# ") >= 10  # commented, every optional key shown
    built = run("build", "my-book", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "warning" not in built.stderr, built.stderr
    assert "art still to come: 1 image drawn as placeholder: images/figure-1.jpg" in built.stdout
    epub = tmp_path / "build" / "my-book.epub"
    assert epub.is_file() and (tmp_path / "build" / "my-book.pdf").is_file()
    from bookmaker.checks.validate import ValidatorMissing, resident_epubcheck

    try:
        report = resident_epubcheck().check(epub)
    except ValidatorMissing as exc:
        need(str(exc))
        return
    assert report.clean, report.findings


def test_every_key_the_new_book_toml_shows_is_a_real_key_with_a_value_that_loads(tmp_path: Path) -> None:
    """Each commented `# key = value` of the starter book.toml, uncommented alone, loads as it is
    (those that name a file the new book does not have yet are only required to be known keys)."""
    import re

    from bookmaker.core.errors import ConfigError
    from bookmaker.source.config import load_config
    from bookmaker.source.scaffold import create

    root = tmp_path / "b"
    create(root)
    toml = (root / "book.toml").read_text(encoding="utf-8").splitlines()
    shown = [(n, m.group(1)) for n, line in enumerate(toml) if (m := re.match(r"^# (\w+) = \S", line))]
    assert len(shown) >= 25, shown
    names_a_file = {"cover", "layouts", "chapters", "isbn"}
    needs = {"series_index": "series"}  # shown with the key it needs, which is uncommented with it
    where = {key: n for n, key in shown}
    for n, key in shown:
        lines = list(toml)
        for i in ([n, where[needs[key]]] if key in needs else [n]):
            lines[i] = lines[i][2:]
        table = next((i for i in range(n - 1, -1, -1) if re.match(r"^(# )?\[", lines[i])), None)
        if table is not None and lines[table].startswith("# "):  # a key of a table that is shown commented too
            lines[table] = lines[table][2:]
        (root / "book.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            load_config(root)
        except ConfigError as exc:
            messages = [d.message for d in exc.diagnostics]
            assert key in names_a_file and not any("unknown key" in m for m in messages), (key, messages)


def test_new_refuses_a_folder_that_is_not_empty(tiny_book: Path, tmp_path: Path) -> None:
    proc = run("new", str(tiny_book), cwd=tmp_path)
    assert proc.returncode == 7
    assert proc.stderr.strip() == f"{tiny_book}: error: already exists and is not empty; name a new folder for the book"
    assert (tiny_book / "chapters" / "01-one.md").read_text(encoding="utf-8").startswith("---\ntitle: One")


def test_new_takes_title_author_and_language(tmp_path: Path) -> None:
    proc = run("new", "b", "--title", 'Les "Misérables"', "--author", "Victor Hugo", "--language", "fr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    book = load_book(tmp_path / "b", Reporter(), with_cover=False)
    assert (book.config.title, book.config.authors, book.config.language) == ('Les "Misérables"', ("Victor Hugo",), "fr")


def test_version() -> None:
    proc = run("--version", cwd=Path.cwd())
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"bookmaker, version {version('bookmaker')}"


# --- pending art and grouped warnings ----------------------------------------------------------

def test_pending_art_draws_placeholders_without_warnings(tiny_book: Path) -> None:
    chapter = _missing_figures(tiny_book, 2, '{art="pending"}')
    reporter = Reporter()
    book = load_book(tiny_book, reporter, with_cover=False)
    assert reporter.warnings == []
    assert reporter.pending == {"images/fig-1.png": SourceLocation(chapter, 5), "images/fig-2.png": SourceLocation(chapter, 7)}
    assert all(img.placeholder for img in book.images)


def test_pending_images_in_book_toml_and_a_real_image_wins(tiny_book: Path) -> None:
    from PIL import Image as PILImage

    _missing_figures(tiny_book, 3)
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'pending_images = ["images/fig-*.png"]\n', encoding="utf-8")
    (tiny_book / "images").mkdir()
    PILImage.new("RGB", (300, 200), (200, 10, 10)).save(tiny_book / "images" / "fig-2.png")
    reporter = Reporter()
    book = load_book(tiny_book, reporter, with_cover=False)
    assert reporter.warnings == []
    assert list(reporter.pending) == ["images/fig-1.png", "images/fig-3.png"]  # fig-2 is there: used, not pending
    assert [img.placeholder for img in book.images] == [True, False, True]


def test_a_missing_image_not_marked_pending_still_warns(tiny_book: Path) -> None:
    chapter = _missing_figures(tiny_book, 1)
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'pending_images = ["images/other-*.png"]\n', encoding="utf-8")
    reporter = Reporter()
    load_book(tiny_book, reporter, with_cover=False)
    assert [str(w) for w in reporter.warnings] == [f"{chapter}:5: warning: image 'images/fig-1.png' not found; a placeholder marks its place"]
    assert reporter.pending == {}


def test_art_takes_only_pending(tiny_book: Path) -> None:
    chapter = _missing_figures(tiny_book, 1, '{art="soon"}')
    with pytest.raises(ManuscriptError) as err:
        load_book(tiny_book, Reporter(), with_cover=False)
    assert str(err.value) == f"{chapter}:5: error: art can only be \"pending\" (the image is still to come), got 'soon'"


def test_warnings_of_one_kind_are_grouped_and_v_lists_all(tiny_book: Path, tmp_path: Path) -> None:
    chapter = _missing_figures(tiny_book, 6)
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), "--format", "epub", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "HarfBuzz" not in line]
    assert lines == [
        f"{chapter}:5: warning: image 'images/fig-1.png' not found; a placeholder marks its place",
        f"{chapter}:7: warning: image 'images/fig-2.png' not found; a placeholder marks its place",
        f"{chapter}:9: warning: image 'images/fig-3.png' not found; a placeholder marks its place",
        f"{chapter}:11: note: 3 more warnings of this kind in {chapter} (-v lists every one)",
    ]
    assert "built in" in proc.stdout and "with 6 warning(s)" in proc.stdout
    verbose = run("build", str(tiny_book), "-o", str(tmp_path / "out"), "--format", "epub", "-v", cwd=tmp_path)
    assert sum("warning: image" in line for line in verbose.stderr.splitlines()) == 6
    assert "more warnings of this kind" not in verbose.stderr


def test_grouping_keeps_order_and_different_kinds_apart() -> None:
    def w(path: str, line: int, message: str) -> Diagnostic:
        return Diagnostic(SourceLocation(Path(path), line), message, "warning")

    warnings = [w("a.md", 1, "image 'x.png' not found"), w("a.md", 2, "link to 'b.md' is broken"),
                w("b.md", 3, "image 'y.png' not found"), w("c.md", 4, "image 'z.png' not found"),
                w("d.md", 5, "image 'w.png' not found"), w("e.md", 6, "image 'v.png' not found")]
    assert grouped(warnings) == [
        "a.md:1: warning: image 'x.png' not found", "b.md:3: warning: image 'y.png' not found",
        "c.md:4: warning: image 'z.png' not found",
        "d.md:5: note: 2 more warnings of this kind in 2 more files (-v lists every one)",
        "a.md:2: warning: link to 'b.md' is broken",
    ]
    few = warnings[:4]  # three of a kind: nothing to group; kinds still stand together
    assert grouped(few) == [str(few[0]), str(few[2]), str(few[3]), str(few[1])]


def test_strict_still_fails_on_a_missing_image_but_not_on_pending_art(tiny_book: Path, tmp_path: Path) -> None:
    _missing_figures(tiny_book, 1, '{art="pending"}')
    assert run("build", str(tiny_book), "-o", str(tmp_path / "a"), "--format", "epub", "--strict", cwd=tmp_path).returncode == 0
    _missing_figures(tiny_book, 1)
    assert run("build", str(tiny_book), "-o", str(tmp_path / "b"), "--format", "epub", "--strict", cwd=tmp_path).returncode == 8


# --- HarfBuzz subsetting: one note, not a warning per document ---------------------------------

def test_missing_harfbuzz_subset_is_one_note_naming_the_package(tiny_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint.pdf.fonts as wp_fonts

    monkeypatch.setattr(wp_fonts, "harfbuzz_subset", None)  # WeasyPrint then really takes its fontTools path
    from weasyprint.text import ffi

    import bookmaker.backends.pdf.backend as pdf_backend

    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    built = build_book(tiny_book, tmp_path / "out", jobs=1)
    assert built.warnings == ()
    assert built.notes == (f"bookmaker: note: {pdf_backend.HB_SUBSET_NOTE}",)
    assert "apt-get install libharfbuzz-subset0" in built.notes[0]


# --- bad input found by the first-run trials ---------------------------------------------------

def test_a_chapter_linked_from_outside_the_book_is_refused(tiny_book: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    outside.write_text("---\ntitle: Elsewhere\n---\n\nNot part of this book.\n", encoding="utf-8")
    link = tiny_book / "chapters" / "03-linked.md"
    link.symlink_to(outside)
    with pytest.raises(ManuscriptError) as err:
        load_book(tiny_book, Reporter(), with_cover=False)
    assert str(err.value) == (f"{link}: error: the chapter file is a symbolic link to '{outside.resolve()}', outside the book "
                              "folder; copy the file into chapters/ instead")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 4 and proc.stderr.startswith(f"{link}: error: "), proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_chapter_linked_from_inside_the_book_is_read(tiny_book: Path) -> None:
    drafts = tiny_book / "drafts"
    drafts.mkdir()
    (drafts / "three.md").write_text("---\ntitle: Three\n---\n\nFrom the drafts folder.\n", encoding="utf-8")
    (tiny_book / "chapters" / "03-three.md").symlink_to(drafts / "three.md")
    book = load_book(tiny_book, Reporter(), with_cover=False)
    assert [ch.title for ch in book.chapters] == ["One", "Two", "Three"]


@pytest.mark.parametrize("cover, message", [
    ("../outside.png", "'cover': cover image '../outside.png' points outside the book folder"),
    ("/etc/passwd", "'cover': cover image '/etc/passwd' must be a path inside the book folder, such as images/photo.jpg"),
    ("images/link.png", "'cover': cover image 'images/link.png' resolves outside the book folder (a symbolic link?)"),
    ("images/none.png", "'cover': cover image 'images/none.png' not found"),
])
def test_a_bad_cover_names_the_cover_key_and_its_line(tiny_book: Path, tmp_path: Path, cover: str, message: str) -> None:
    from PIL import Image as PILImage

    outside = tmp_path / "outside.png"
    PILImage.new("RGB", (16, 25)).save(outside)
    (tiny_book / "images").mkdir()
    (tiny_book / "images" / "link.png").symlink_to(outside)
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'description = "x"\ncover = "{cover}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_book(tiny_book, Reporter())
    assert str(err.value) == f"{toml}:6: error: {message}"


def test_an_unreadable_cover_names_the_cover_line(tiny_book: Path) -> None:
    (tiny_book / "images").mkdir()
    (tiny_book / "images" / "cover.png").write_bytes(b"not a picture")
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'cover = "images/cover.png"\n', encoding="utf-8")
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    assert str(err.value).startswith(f"{toml}:5: error: image 'images/cover.png' cannot be read")
