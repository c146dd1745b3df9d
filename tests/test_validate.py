"""The resident EPUBCheck (checks/validate.ResidentEpubCheck): one JVM checking EPUB after EPUB
for the catalogue's workers and this suite, with the same findings as a JVM of its own, shared
by other processes through its socket."""

from __future__ import annotations

import os
import signal
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bookmaker.checks import validate
from bookmaker.checks.validate import ResidentEpubCheck, ValidatorMissing, run_epubcheck

from .conftest import Built, need


def _broken_copy(epub: Path, out: Path) -> Path:
    """The sample's EPUB with a link to nowhere and an element XHTML does not have."""
    with zipfile.ZipFile(epub) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("titlepage.xhtml"):
                data = data.replace(b"</p>", b"</p><p><a href='nowhere.xhtml'>x</a><blink>y</blink></p>", 1)
            dst.writestr(info, data)
    return out


@pytest.fixture
def resident() -> Iterator[ResidentEpubCheck]:
    checker = ResidentEpubCheck()
    yield checker
    checker.close()


def _one_shot(epub: Path) -> validate.Report:
    try:
        return run_epubcheck(epub)
    except ValidatorMissing as exc:
        need(str(exc))
        raise


@pytest.fixture(scope="module")
def books(sample: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, validate.Report]]:
    """The sample's EPUB and a broken copy, each with the report of a JVM of its own."""
    broken = _broken_copy(sample.epub, tmp_path_factory.mktemp("broken") / "broken.epub")
    found = {"clean": (sample.epub, _one_shot(sample.epub)), "broken": (broken, _one_shot(broken))}
    assert found["clean"][1].clean
    assert found["broken"][1].counts["errors"] >= 2, found["broken"][1]
    return found


def test_one_jvm_checks_book_after_book_with_the_findings_of_a_jvm_each(
        books: dict[str, tuple[Path, validate.Report]], resident: ResidentEpubCheck) -> None:
    (clean, clean_report), (broken, broken_report) = books["clean"], books["broken"]
    first = resident.check(clean)
    if resident.unavailable is not None:
        need(f"the resident EPUBCheck cannot run here: {resident.unavailable}")
    jvm = resident.jvm
    assert jvm is not None
    assert first == clean_report
    # a broken book between two clean ones: nothing of one run is left in the next
    assert resident.check(broken) == broken_report
    assert resident.check(clean) == clean_report
    assert resident.check(broken) == broken_report
    assert resident.jvm == jvm  # all four in the one JVM


def test_a_jvm_that_died_is_started_again(sample: Built, books: dict[str, tuple[Path, validate.Report]],
                                          resident: ResidentEpubCheck) -> None:
    expected = books["clean"][1]
    assert resident.check(sample.epub) == expected
    if resident.unavailable is not None:
        need(f"the resident EPUBCheck cannot run here: {resident.unavailable}")
    first = resident.jvm
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert resident.check(sample.epub) == expected  # answered by a JVM of its own, and the resident one stopped
    assert resident.check(sample.epub) == expected
    assert resident.jvm not in (None, first)
    assert resident.unavailable is None


def test_a_runtime_that_cannot_run_it_falls_back_to_a_jvm_each(
        sample: Built, tmp_path: Path, resident: ResidentEpubCheck, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "RESIDENT_SOURCE", tmp_path / "EpubCheckResident.java")  # not there
    expected = _one_shot(sample.epub)  # (the sample's clean report needs no fixture here: it is compared once)
    assert resident.check(sample.epub) == expected
    assert resident.unavailable and "EpubCheckResident.java" in resident.unavailable, resident.unavailable
    assert resident.jvm is None
    assert resident.check(sample.epub) == expected  # and it is not tried again
    assert resident.jvm is None


def test_a_path_the_protocol_cannot_carry_is_checked_in_a_jvm_of_its_own(
        sample: Built, tmp_path: Path, resident: ResidentEpubCheck) -> None:
    odd = tmp_path / "a\tb.epub"
    odd.write_bytes(sample.epub.read_bytes())
    assert resident.check(odd) == _one_shot(odd)
    assert resident.jvm is None


def test_processes_share_one_jvm_through_its_socket(
        books: dict[str, tuple[Path, validate.Report]], resident: ResidentEpubCheck) -> None:
    """The catalogue's case: the command starts the JVM, its workers check there; when that JVM
    is gone, a worker starts its own."""
    socket = resident.start()
    if socket is None:
        need(f"the resident EPUBCheck cannot run here: {resident.unavailable}")
    (clean, expected), (broken, broken_report) = books["clean"], books["broken"]
    worker, other = ResidentEpubCheck(socket), ResidentEpubCheck(socket)
    try:
        assert worker.check(clean) == expected
        assert other.check(broken) == broken_report
        assert worker.check(clean) == expected
        assert worker.jvm is None and other.jvm is None  # neither started a JVM: they used the shared one
        assert worker.socket == socket
        resident.close()  # the command ends its JVM
        assert not socket.exists()
        assert worker.check(clean) == expected  # one JVM of its own for this check…
        assert worker.check(clean) == expected  # …then a resident one of its own
        assert worker.jvm is not None and worker.socket != socket
    finally:
        worker.close()
        other.close()
