"""A user's mistake: one `path:line: error: message` line, a documented exit code, no output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bookmaker.core.errors import ConfigError, ManuscriptError, Reporter
from bookmaker.source.config import parse_length, parse_trim
from bookmaker.transform.book import load_book


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}
    return subprocess.run([sys.executable, "-m", "bookmaker", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def assert_one_error(proc: subprocess.CompletedProcess[str], location: str, fragment: str, code: int) -> None:
    assert proc.returncode == code, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert errors and errors[0].startswith(f"{location}: error: "), proc.stderr
    assert fragment in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_builds_and_reports_what_it_wrote(tiny_book: Path, tmp_path: Path) -> None:
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote " in proc.stdout and "tiny.epub" in proc.stdout and "tiny.pdf" in proc.stdout
    # the two outputs, and the build cache a rebuild reuses (buildcache.py)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".bookmaker-cache", "tiny.epub", "tiny.pdf"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out" / "tiny.pdf").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_bad_front_matter(tiny_book: Path, tmp_path: Path) -> None:
    bad = tiny_book / "chapters" / "02-two.md"
    bad.write_text("---\ntitle: Two\nsubtitle: [unclosed\n---\n\nText.\n", encoding="utf-8")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_error(proc, f"{bad}:3", "front matter", 4)
    assert not (tmp_path / "out").exists()


def test_missing_title(tiny_book: Path, tmp_path: Path) -> None:
    bad = tiny_book / "chapters" / "01-one.md"
    bad.write_text("---\nsubtitle: no title\n---\n\nText.\n", encoding="utf-8")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_error(proc, f"{bad}:1", "'title:'", 4)


def test_unknown_config_key_names_line_and_suggests(tiny_book: Path, tmp_path: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text() + 'publsher = "Oops"\n', encoding="utf-8")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_error(proc, f"{toml}:5", "did you mean 'publisher'", 3)


def test_toml_syntax_error(tiny_book: Path, tmp_path: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text('title = "Tiny\nauthors = ["x"]\n', encoding="utf-8")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_error(proc, f"{toml}:1", "TOML syntax error", 3)


def test_not_utf8_names_the_byte(tiny_book: Path, tmp_path: Path) -> None:
    bad = tiny_book / "chapters" / "01-one.md"
    bad.write_bytes(b"---\ntitle: One\n---\n\nCaf\xe9.\n")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_error(proc, f"{bad}:5", "byte offset 23", 4)


def test_strict_turns_a_missing_image_into_an_error(tiny_book: Path, tmp_path: Path) -> None:
    ch = tiny_book / "chapters" / "01-one.md"
    ch.write_text("---\ntitle: One\n---\n\n![A cat](images/cat.jpg)\n", encoding="utf-8")
    ok = run("build", str(tiny_book), "-o", str(tmp_path / "out"), "--format", "epub", cwd=tmp_path)
    assert ok.returncode == 0 and f"{ch}:5: warning: image 'images/cat.jpg' not found" in ok.stderr
    strict = run("build", str(tiny_book), "-o", str(tmp_path / "strict"), "--strict", cwd=tmp_path)
    assert_one_error(strict, f"{ch}:5", "not found", 8)
    assert not (tmp_path / "strict").exists()


def test_all_config_errors_at_once(tiny_book: Path) -> None:
    (tiny_book / "book.toml").write_text(
        'title = "T"\nauthors = "A"\nlanguage = "english!"\ncolour = 1\n[print]\ntrim = "6 by 9"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_book(tiny_book, Reporter())
    lines = sorted((d.location.line, d.message.split(":")[0]) for d in err.value.diagnostics)
    assert [ln for ln, _ in lines] == [3, 4, 6]


def test_impossible_margins(tiny_book: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text() + '[print]\ntrim = "4in x 6in"\nmargin_inside = "2in"\nmargin_outside = "1in"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_book(tiny_book, Reporter())
    assert "text block" in str(err.value)


def test_order_list_must_match_the_files(tiny_book: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text() + 'chapters = ["02-two.md", "03-three.md"]\n', encoding="utf-8")
    with pytest.raises(ManuscriptError) as err:
        load_book(tiny_book, Reporter())
    text = str(err.value)
    assert "names '03-three.md'" in text and "leaves out chapters/01-one.md" in text


def test_order_list_overrides_file_order(tiny_book: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text() + 'chapters = ["02-two.md", "01-one.md"]\n', encoding="utf-8")
    book = load_book(tiny_book, Reporter())
    assert [c.title for c in book.chapters] == ["Two", "One"]
    assert [c.number for c in book.chapters] == [1, 2]


def test_identifier_is_generated_and_stable(tiny_book: Path) -> None:
    a = load_book(tiny_book, Reporter()).config.identifier
    b = load_book(tiny_book, Reporter()).config.identifier
    assert a == b and a.startswith("urn:uuid:")


def test_lengths() -> None:
    assert parse_trim("6in x 9in") == (6, 9)
    assert parse_trim("6 x 9 in") == (6, 9)
    assert parse_trim("148mm x 210mm") == pytest.approx((5.827, 8.268), abs=1e-3)
    assert parse_length("72pt") == 1


def test_usage_error_is_exit_2(tmp_path: Path) -> None:
    proc = run("build", "--format", "docx", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_missing_book_folder(tmp_path: Path) -> None:
    proc = run("build", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert_one_error(proc, str(tmp_path / "nowhere" / "book.toml"), "no book.toml found", 3)


def test_another_weasyprint_version_is_one_clear_error_and_no_pdf(tiny_book: Path, tmp_path: Path) -> None:
    """bookmaker reaches into WeasyPrint's internals (backends/wp_internals.py): on a version it
    was not tested with it stops, naming both versions, instead of drawing wrong pages."""
    import weasyprint

    code = ("import sys, weasyprint; weasyprint.__version__ = '71.0'; from bookmaker.cli import main; "
            "sys.argv = ['bookmaker', *sys.argv[1:]]; main()")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", code, "build", str(tiny_book), "-o", str(out), "--format", "pdf"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert_one_error(proc, str(Path(weasyprint.__file__).parent), "needs WeasyPrint 70.0", 7)
    assert "71.0 is installed" in proc.stderr
    assert not (out / "tiny.pdf").exists()


def test_check_builds_as_build_does_and_leaves_the_build_folder_as_it_was(tiny_book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", str(tiny_book), "-o", str(out), cwd=tmp_path).returncode == 0

    def snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    before = snapshot()
    proc = run("check", str(tiny_book), "--no-epubcheck", "--json", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import json

    report = json.loads(proc.stdout)
    assert report["passed"] is True and report["pages"] >= 1
    assert snapshot() == before  # the cache is read, never written, by a check
