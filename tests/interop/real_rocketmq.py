"""Launcher for the REAL Apache RocketMQ 4.9.4 nameserver + broker (differential baseline, benchmarks).

How it works:
 1. `ensure_rocketmq_lib()` resolves org.apache.rocketmq:rocketmq-namesrv and rocketmq-broker 4.9.4 plus all their
    dependencies from Maven Central with `mvn dependency:copy-dependencies` into
    ~/.cache/rmqlite/rocketmq-4.9.4/lib (override the root with env RMQLITE_CACHE_DIR). A `.complete` marker makes
    later calls free. The same dir holds `conf/logback_{namesrv,broker}.xml` (our own minimal files) and serves as
    ROCKETMQ_HOME, which BrokerStartup/NamesrvStartup require.
 2. `start_real_cluster()` writes namesrv.conf/broker.conf into the workdir (every store/config path inside it,
    brokerIP1=127.0.0.1, small mapped files), starts `java -cp lib/* ...NamesrvStartup` then `...BrokerStartup`,
    each in its own process group, and waits (bounded) for the boot lines "The Name Server boot success" and
    "The broker[...] boot success" on stdout, then for the broker's registration to show up (TCP check only).
 3. Ports: namesrv `namesrv_port`; broker `broker_port` plus the fixed neighbours RocketMQ 4.9.4 always opens:
    fast/VIP port = broker_port - 2 and HA port = broker_port + 1. `free_broker_port()` finds a port whose
    neighbours are free. Note: 4.9.4 has no bind-address option, so the Java servers listen on the wildcard
    address; every connection we make goes to 127.0.0.1.
 4. `stop()` sends SIGTERM to both process groups (broker first), waits up to 15 s, then SIGKILLs. Idempotent.

Heaps are small and stated: -Xms256m -Xmx256m -XX:MaxDirectMemorySize=256m (namesrv -Xmx128m).
Run by hand: `python tests/interop/real_rocketmq.py --workdir /tmp/x` prints the namesrv address until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

ROCKETMQ_VERSION = "4.9.4"
BOOT_TIMEOUT_S = 90.0
# A boot line containing one of these means the process will never become ready.
FATAL_MARKERS = ("Address already in use", "java.lang.OutOfMemoryError", "Error: Could not find or load main class",
                 "Please set the ROCKETMQ_HOME")
STOP_TIMEOUT_S = 15.0

# Java 17 needs these for RocketMQ 4.9.4 (mmap cleaner via reflection, netty, fastjson).
JAVA17_OPENS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
]
BROKER_HEAP = ["-Xms256m", "-Xmx256m", "-XX:MaxDirectMemorySize=256m"]
NAMESRV_HEAP = ["-Xms128m", "-Xmx128m", "-XX:MaxDirectMemorySize=64m"]
COMMON_JVM = ["-server", "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-Djava.net.preferIPv4Stack=true",
              "-Drocketmq.client.logUseSlf4j=true"]

# Broker settings every run uses (callers may override/extend with extra_broker_conf).
DEFAULT_BROKER_CONF: dict[str, str] = {
    "brokerClusterName": "DefaultCluster",
    "brokerName": "broker-a",
    "brokerId": "0",
    "brokerRole": "ASYNC_MASTER",
    "flushDiskType": "ASYNC_FLUSH",
    "brokerIP1": "127.0.0.1",
    "autoCreateTopicEnable": "true",
    "autoCreateSubscriptionGroup": "true",
    "mappedFileSizeCommitLog": str(64 * 1024 * 1024),
    "mappedFileSizeConsumeQueue": str(30000 * 20),
    "maxHashSlotNum": "50000",
    "maxIndexNum": "200000",
    "deleteWhen": "04",
    "fileReservedTime": "48",
    "diskMaxUsedSpaceRatio": "95",
    "sendMessageThreadPoolNums": "4",
    "pullMessageThreadPoolNums": "8",
}

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>rmqlite</groupId><artifactId>real-rocketmq-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-namesrv</artifactId>
      <version>{v}</version></dependency>
    <dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-broker</artifactId>
      <version>{v}</version></dependency>
  </dependencies>
</project>
"""

_LOGBACK = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${{rmqlite.logdir:-/tmp}}/{name}.log</file>
    <append>true</append>
    <encoder><pattern>%d{{yyy-MM-dd HH:mm:ss.SSS}} %-5p [%t] %c{{0}} - %m%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{{HH:mm:ss.SSS}} %-5p %c{{0}} - %m%n</pattern></encoder>
  </appender>
  <logger name="{console_logger}" additivity="true" level="INFO"><appender-ref ref="STDOUT"/></logger>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
"""


def cache_dir() -> Path:
    """Root of the cached RocketMQ install (lib/ + conf/), also used as ROCKETMQ_HOME."""
    root = os.environ.get("RMQLITE_CACHE_DIR") or str(Path.home() / ".cache" / "rmqlite")
    return Path(root) / f"rocketmq-{ROCKETMQ_VERSION}"


def ensure_rocketmq_lib(timeout_s: float = 600.0) -> Path:
    """Download (once) RocketMQ namesrv+broker jars with Maven; return the home dir (contains lib/ and conf/)."""
    home = cache_dir()
    lib = home / "lib"
    marker = home / ".complete"
    conf = home / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "logback_namesrv.xml").write_text(_LOGBACK.format(name="namesrv", console_logger="RocketmqNamesrvConsole"))
    (conf / "logback_broker.xml").write_text(_LOGBACK.format(name="broker", console_logger="RocketmqBrokerConsole"))
    if marker.exists() and any(lib.glob("rocketmq-broker-*.jar")):
        return home
    (home / "pom.xml").write_text(_POM.format(v=ROCKETMQ_VERSION))
    cmd = ["mvn", "-B", "-q", "-f", str(home / "pom.xml"), "dependency:copy-dependencies",
           f"-DoutputDirectory={lib}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0 or not any(lib.glob("rocketmq-broker-*.jar")):
        raise RuntimeError(f"mvn failed to fetch RocketMQ {ROCKETMQ_VERSION}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    marker.write_text("ok\n")
    return home


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free TCP port (kernel-chosen)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_broker_port() -> int:
    """A free port P such that P-2 (fast/VIP port) and P+1 (HA port) are free too."""
    for _ in range(200):
        p = free_port()
        if p > 1100 and all(_port_free(q) for q in (p - 2, p - 1, p + 1)):
            return p
    raise RuntimeError("no free broker port triple found")


def write_props(path: Path, props: dict[str, str]) -> None:
    """A Java properties file (broker.conf / namesrv.conf) of ``key=value`` lines; creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


class LineWatcher:
    """Reads a process's stdout in a thread into a log file; lets callers wait for a substring (bounded).

    A line holding one of ``fatal`` (default FATAL_MARKERS) ends a wait early (None). bench/topology.py uses
    this class for every process it starts.
    """

    def __init__(self, stream: IO[bytes], log_path: Path, fatal: tuple[str, ...] = FATAL_MARKERS) -> None:
        self.fatal = fatal
        self._cond = threading.Condition()
        self._lines: list[str] = []
        self._eof = False
        self._log = log_path.open("a", encoding="utf-8")
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            self._log.write(line)
            self._log.flush()
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        self._log.close()

    def wait_for(self, needle: str, timeout_s: float) -> str | None:
        """Return the first line containing needle, or None on timeout / end of output / a fatal line."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    if needle in line:
                        return line.rstrip("\n")
                    if any(marker in line for marker in self.fatal):
                        return None
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def tail(self, n: int = 40) -> str:
        with self._cond:
            return "".join(self._lines[-n:])


class RealCluster:
    """A running real RocketMQ 4.9.4 namesrv + one master broker. Context manager; `stop()` is idempotent."""

    def __init__(self, workdir: Path, namesrv_port: int, broker_port: int, broker_conf: dict[str, str]) -> None:
        self.workdir = workdir
        self.namesrv_port = namesrv_port
        self.broker_port = broker_port
        self.broker_conf = broker_conf
        self.namesrv_addr = f"127.0.0.1:{namesrv_port}"
        self.broker_addr = f"127.0.0.1:{broker_port}"
        self.broker_boot_line = ""
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> "RealCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, home: Path, jvm: list[str], main: str, args: list[str]) -> LineWatcher:
        logdir = self.workdir / "logs"
        logdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, ROCKETMQ_HOME=str(home), JAVA_OPT="")
        cmd = ["java", *COMMON_JVM, *jvm, *JAVA17_OPENS, f"-Drmqlite.logdir={logdir}",
               f"-Drocketmq.client.logRoot={logdir}", f"-Duser.home={self.workdir}",
               "-cp", str(home / "lib" / "*"), main, *args]
        proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self._procs.append(proc)
        return LineWatcher(proc.stdout, logdir / f"{name}.stdout")  # type: ignore[arg-type]

    def start(self, home: Path) -> None:
        """Start namesrv, then broker; raise RuntimeError (after stopping) if either does not boot in time."""
        wd = self.workdir
        write_props(wd / "namesrv.conf", {
            "listenPort": str(self.namesrv_port),
            "kvConfigPath": str(wd / "namesrv" / "kvConfig.json"),
            "configStorePath": str(wd / "namesrv" / "namesrv.properties"),
        })
        ns = self._spawn("namesrv", home, NAMESRV_HEAP, "org.apache.rocketmq.namesrv.NamesrvStartup",
                         ["-c", str(wd / "namesrv.conf")])
        if ns.wait_for("The Name Server boot success", BOOT_TIMEOUT_S) is None:
            tail = ns.tail()
            self.stop()
            raise RuntimeError(f"real namesrv did not boot:\n{tail}")
        write_props(wd / "broker.conf", self.broker_conf)
        br = self._spawn("broker", home, BROKER_HEAP, "org.apache.rocketmq.broker.BrokerStartup",
                         ["-c", str(wd / "broker.conf")])
        line = br.wait_for("boot success", BOOT_TIMEOUT_S)
        if line is None:
            tail = br.tail()
            self.stop()
            raise RuntimeError(f"real broker did not boot:\n{tail}")
        self.broker_boot_line = line

    def stop(self) -> None:
        """SIGTERM each process group (broker first), wait up to 15 s, then SIGKILL. Safe to call twice."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=STOP_TIMEOUT_S)
        self._procs.clear()


def start_real_cluster(workdir: Path, namesrv_port: int, broker_port: int,
                       extra_broker_conf: dict | None = None) -> RealCluster:
    """Start real RocketMQ 4.9.4 namesrv (namesrv_port) + master broker (broker_port, also uses -2 and +1).

    All data/config/logs live under workdir. Returns a started RealCluster (use as a context manager).
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    home = ensure_rocketmq_lib()
    conf = dict(DEFAULT_BROKER_CONF)
    store = workdir / "store"
    conf.update({
        "namesrvAddr": f"127.0.0.1:{namesrv_port}",
        "listenPort": str(broker_port),
        "storePathRootDir": str(store),   # consumequeue/, index/, config/, checkpoint, abort, lock live here
        "storePathCommitLog": str(store / "commitlog"),
    })
    conf.update({k: str(v) for k, v in (extra_broker_conf or {}).items()})
    cluster = RealCluster(workdir, namesrv_port, broker_port, conf)
    cluster.start(home)
    return cluster


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run real Apache RocketMQ 4.9.4 namesrv+broker on 127.0.0.1")
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--namesrv-port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--broker-port", type=int, default=0, help="0 = pick a free port (also uses -2 and +1)")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra broker.conf entry")
    args = ap.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.conf)
    ns_port = args.namesrv_port or free_port()
    br_port = args.broker_port or free_broker_port()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with start_real_cluster(args.workdir, ns_port, br_port, extra) as cluster:
        print(f"namesrv {cluster.namesrv_addr}  broker {cluster.broker_addr}", flush=True)
        print(cluster.broker_boot_line, flush=True)
        try:
            while not stop.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        print("stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
