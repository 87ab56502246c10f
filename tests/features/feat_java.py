"""Build and run the Java side of the feature tests (tests/interop/java: scenarios + FeatureOracle).

How it works: ``interop_jar()`` builds the Maven project once (``mvn -B -q package``, offline when the local
repository already has everything) unless the jar is newer than every source, and returns its path, or None
when java/mvn are missing (callers skip). ``Oracle`` keeps one ``rmqlite.interop.FeatureOracle`` JVM for the
session and sends it JSON requests, one line each (the JVM answers one line each).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

JAVA_DIR = Path(__file__).resolve().parents[1] / "interop" / "java"
JAR = JAVA_DIR / "target" / "rmqlite-interop.jar"
BUILD_TIMEOUT_S = 600
_build_lock = threading.Lock()


def _stale() -> bool:
    if not JAR.exists() or not (JAR.parent / "lib").is_dir():
        return True
    built = JAR.stat().st_mtime
    files = [JAVA_DIR / "pom.xml", *(JAVA_DIR / "src").rglob("*")]
    return any(f.is_file() and f.stat().st_mtime > built for f in files)


def interop_jar() -> Path | None:
    """The built jar, or None without java/mvn. Raises RuntimeError when the build fails."""
    if shutil.which("java") is None or shutil.which("mvn") is None:
        return None
    with _build_lock:
        if _stale():
            proc = subprocess.run(["mvn", "-B", "-q", "package"], cwd=JAVA_DIR, capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT_S)
            if proc.returncode != 0 or not JAR.exists():
                raise RuntimeError(f"mvn package failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return JAR


class Oracle:
    """One FeatureOracle JVM; ``ask(request) -> answer`` (both JSON objects)."""

    def __init__(self, jar: Path) -> None:
        self.proc = subprocess.Popen(["java", "-Xmx256m", "-cp", str(jar), "rmqlite.interop.FeatureOracle"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, encoding="utf-8")

    def ask_many(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send all requests, then read all answers (the JVM answers in order)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        writer = threading.Thread(target=self._write, args=(requests,), daemon=True)
        writer.start()
        answers = [json.loads(self.proc.stdout.readline()) for _ in requests]
        writer.join()
        return answers

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.ask_many([request])[0]

    def _write(self, requests: list[dict[str, Any]]) -> None:
        assert self.proc.stdin is not None
        for r in requests:
            self.proc.stdin.write(json.dumps(r) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
