"""Shared fixtures. Each built book is validated once per session, by one resident EPUBCheck JVM
for the whole session (checks/validate.resident_epubcheck)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from bookmaker.checks.validate import Report, ValidatorMissing, run_ace, resident_epubcheck
from bookmaker.core.errors import Reporter
from bookmaker.pipeline import Output, build

if TYPE_CHECKING:
    from .test_corpus import CorpusBook

ROOT = Path(__file__).resolve().parents[1]
# The preview's page maps go to a cache folder: the tests keep theirs out of the user's ~/.cache.
SESSION_CACHE = Path(os.environ.setdefault("BOOKMAKER_CACHE_DIR", tempfile.mkdtemp(prefix="bookmaker-test-cache-")))
SAMPLE = ROOT / "book"
EPOCH = "1764115200"  # 2025-11-26T00:00:00Z
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(reason: str) -> None:
    """A missing tool skips on a user's machine and fails under CI."""
    if IN_CI:
        pytest.fail(f"CI=true and a validator is missing: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Built:
    epub: Path
    pdf: Path
    warnings: tuple[str, ...]
    pending: tuple[str, ...] = ()  # art the book says is still to come (placeholders, no warning)
    notes: tuple[str, ...] = ()


def build_book(book_dir: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch | None = None, **kwargs: object) -> Built:
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        reporter = Reporter()
        outputs: list[Output] = build(book_dir, out_dir, reporter=reporter, **kwargs)  # type: ignore[arg-type]
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    paths = {o.format: o.path for o in outputs}
    return Built(paths.get("epub", Path()), paths.get("pdf", Path()), tuple(str(w) for w in reporter.warnings),
                 tuple(reporter.pending), tuple(str(n) for n in reporter.notes))


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sample book, built once for the whole session."""
    return build_book(SAMPLE, tmp_path_factory.mktemp("sample-build"))


@pytest.fixture(scope="session")
def epubcheck_report(sample: Built) -> Report:
    try:
        return resident_epubcheck().check(sample.epub)
    except ValidatorMissing as exc:
        need(str(exc))
        raise


@pytest.fixture(scope="session")
def ace_report(sample: Built) -> Report:
    try:
        return run_ace(sample.epub, ROOT)
    except ValidatorMissing as exc:
        need(str(exc))
        raise


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CorpusBook]]:
    """The corpus books (tests/corpus/), each built and validated once per session, for
    test_corpus.py and test_calibre.py alike (test_corpus.corpus_builds)."""
    from .test_corpus import corpus_builds

    yield from corpus_builds(tmp_path_factory)


@pytest.fixture
def tiny_book(tmp_path: Path) -> Path:
    """A two-chapter book to break in tests."""
    root = tmp_path / "tiny"
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text(
        'title = "Tiny"\nauthors = ["A. Writer"]\nlanguage = "en"\ndate = 2026-01-02\n', encoding="utf-8"
    )
    (root / "chapters" / "01-one.md").write_text("---\ntitle: One\n---\n\nFirst chapter text.\n", encoding="utf-8")
    (root / "chapters" / "02-two.md").write_text("---\ntitle: Two\n---\n\nSecond chapter text.\n", encoding="utf-8")
    return root


def which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        need(f"{tool} not found (Debian: apt-get install poppler-utils)")
    return str(path)
