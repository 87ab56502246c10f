"""Runs the REAL Apache RocketMQ mqadmin (rocketmq-tools 4.9.4 from Maven Central) for tests.

How it works:
1. ``ensure_tools_home()`` returns a ROCKETMQ_HOME holding ``lib/`` (rocketmq-tools 4.9.4 and its
   dependencies) and ``conf/logback_tools.xml``: it reuses the jars that tests/interop/real_rocketmq.py
   cached when they include rocketmq-tools, else runs ``mvn dependency:copy-dependencies`` once into
   ~/.cache/rmqlite/rocketmq-tools-4.9.4 (``.complete`` marker). MqadminBatch.java is compiled there.
2. ``run_mqadmin(commands)`` starts ONE JVM running MqadminBatch, which calls
   ``MQAdminStartup.main0`` for each command in order (so Netty's ~3 s shutdown is paid once), and
   returns each command's output (stdout and stderr interleaved, as a terminal shows them).
3. ``skip_reason()`` says why mqadmin cannot run here (no java / javac / mvn, download failed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

VERSION = "4.9.4"
JAVA_OPTS = ["-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-Drocketmq.client.logUseSlf4j=true", "-Djava.net.preferIPv4Stack=true",
             "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
             "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"]
_LOGBACK = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <appender name="NOP" class="ch.qos.logback.core.helpers.NOPAppender"/>
  <root level="OFF"><appender-ref ref="NOP"/></root>
</configuration>
"""
_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>rmqlite</groupId><artifactId>mqadmin-fetch</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies><dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-tools</artifactId>
    <version>{v}</version></dependency></dependencies>
</project>
"""
BEGIN, END = "@@@MQADMIN-BEGIN ", "@@@MQADMIN-END "
_SOURCE = Path(__file__).with_name("MqadminBatch.java")


def _cache_root() -> Path:
    return Path(os.environ.get("RMQLITE_CACHE_DIR") or Path.home() / ".cache" / "rmqlite")


def _lib_has_tools(lib: Path) -> bool:
    return any(lib.glob(f"rocketmq-tools-{VERSION}.jar"))


def ensure_tools_home(timeout_s: float = 600.0) -> Path:
    """ROCKETMQ_HOME for mqadmin (lib/, conf/logback_tools.xml, classes/MqadminBatch.class)."""
    home = _cache_root() / f"rocketmq-tools-{VERSION}"
    lib = home / "lib"
    shared = _cache_root() / f"rocketmq-{VERSION}" / "lib"     # real_rocketmq.py's download
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "logback_tools.xml").write_text(_LOGBACK)
    if not (home / ".complete").exists() or not _lib_has_tools(lib):
        if _lib_has_tools(shared):
            if lib.is_symlink() or lib.exists():
                shutil.rmtree(lib) if lib.is_dir() and not lib.is_symlink() else lib.unlink()
            lib.symlink_to(shared, target_is_directory=True)
        else:
            (home / "pom.xml").write_text(_POM.format(v=VERSION))
            proc = subprocess.run(["mvn", "-B", "-q", "-f", str(home / "pom.xml"), "dependency:copy-dependencies",
                                   f"-DoutputDirectory={lib}"], capture_output=True, text=True, timeout=timeout_s)
            if proc.returncode != 0 or not _lib_has_tools(lib):
                raise RuntimeError(f"mvn could not fetch rocketmq-tools {VERSION}: {proc.stdout[-2000:]} "
                                   f"{proc.stderr[-2000:]}")
        (home / ".complete").write_text("ok\n")
    classes = home / "classes"
    target = classes / "MqadminBatch.class"
    if not target.exists() or target.stat().st_mtime < _SOURCE.stat().st_mtime:
        classes.mkdir(exist_ok=True)
        proc = subprocess.run(["javac", "-d", str(classes), "-cp", str(lib / "*"), str(_SOURCE)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"javac MqadminBatch failed: {proc.stderr[-2000:]}")
    return home


def skip_reason() -> str | None:
    """Why the real mqadmin cannot run here, or None."""
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            return f"{tool} not installed: the real mqadmin (rocketmq-tools {VERSION}) needs a JDK and Maven"
    try:
        ensure_tools_home()
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        return f"cannot prepare rocketmq-tools {VERSION}: {exc}"
    return None


def _command_line(home: Path, workdir: Path) -> tuple[list[str], dict[str, str]]:
    cp = f"{home / 'classes'}{os.pathsep}{home / 'lib' / '*'}"
    env = dict(os.environ, ROCKETMQ_HOME=str(home), JAVA_OPT="")
    return ["java", *JAVA_OPTS, f"-Duser.home={workdir}", f"-Drocketmq.client.logRoot={workdir}",
            "-cp", cp, "MqadminBatch"], env


def _split(output: str, count: int) -> list[str]:
    outs: list[str] = []
    for i in range(count):
        start, end = output.find(f"{BEGIN}{i}\n"), output.find(f"{END}{i}\n")
        if start < 0 or end < 0:
            outs.append(output[start + len(f"{BEGIN}{i}\n"):] if start >= 0 else "")
            continue
        text = output[start + len(f"{BEGIN}{i}\n"):end]
        outs.append(text[:-1] if text.endswith("\n") else text)
    return outs


async def run_mqadmin(commands: list[list[str]], workdir: Path, timeout_s: float = 180.0) -> list[str]:
    """Run mqadmin ``commands`` (each a list of args) in one JVM; returns their outputs, in order."""
    home = ensure_tools_home()
    workdir.mkdir(parents=True, exist_ok=True)
    argv, env = _command_line(home, workdir)
    stdin = "".join("\t".join(c) + "\n" for c in commands).encode("utf-8")
    proc = await asyncio.create_subprocess_exec(*argv, cwd=workdir, env=env, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return _split(out.decode("utf-8", "replace"), len(commands))
