"""Topologies for the benchmark: the same layout started as rmqlite, as Apache RocketMQ 4.9.4, or as the floor.

How it works:
 1. `plan(name, workdir)` turns a topology name into a `Topology`: nameserver ports and one broker.conf (dict of
    RocketMQ keys) per broker node. The confs are identical for both systems (same keys, same values), so
    DLedger groups are just brokers with enableDLegerCommitLog / dLegerGroup / dLegerPeers / dLegerSelfId.
    Topologies: `single` (1 namesrv + 1 master), `dledger` (1 namesrv + one 3-node DLedger group),
    `cluster` (2 namesrv + 2 DLedger groups x 3 nodes = the default 2x3+2).
 2. A `System` knows how to turn a namesrv port or a broker.conf into a command line: `RmqliteSystem`
    (`python -m rmqlite namesrv|broker`), `RocketMQSystem` (java -cp lib/* NamesrvStartup|BrokerStartup with the
    heaps below; jars fetched by tests/interop/real_rocketmq.py's `ensure_rocketmq_lib`), `FloorSystem`
    (`python -m rmqlite bench floor`: one process answering as namesrv AND broker, no storage).
 3. `start(system, topology)` spawns every node as its own OS process (own process group): nameservers first,
    then all brokers at once; waits (bounded) for each boot line, then polls GET_BROKER_CLUSTER_INFO on the first
    namesrv until every broker name has a master (id 0) and every node is registered (DLedger: a leader was
    elected). Start-to-ready = first spawn -> that moment.
 4. `RssSampler` sums VmRSS (and RssAnon) of every node process every 0.25 s and keeps the peak.
 5. `Running.stop()` SIGTERMs every process group (brokers first), waits, then SIGKILLs. Idempotent.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BOOT_TIMEOUT_S = 120.0
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
FATAL_MARKERS = ("Address already in use", "java.lang.OutOfMemoryError", "Error: Could not find or load main class",
                 "cannot start", "Traceback (most recent call last)")


TOPOLOGIES = ("single", "dledger", "cluster")


def load_real_rocketmq():
    """tests/interop/real_rocketmq.py, imported by path (owner: the java helper; we only reuse its jar fetching)."""
    name = "rmqlite_bench_real_rocketmq"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "interop" / "real_rocketmq.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------------------------------- ports
class PortAllocator:
    """Free loopback ports; broker ports keep P-2 (VIP/fast), P-1 and P+1 (HA) free and unused by others."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    @staticmethod
    def _free(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                return False
        return True

    def _take(self, span: range) -> int:
        for _ in range(500):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                p = s.getsockname()[1]
            ports = [p + d for d in span]
            if p > 2000 and p < 65000 and not self.used.intersection(ports) and all(self._free(q) for q in ports):
                self.used.update(ports)
                return p
        raise RuntimeError("no free port found")

    def port(self) -> int:
        return self._take(range(0, 1))

    def broker_port(self) -> int:
        return self._take(range(-2, 2))


# ---------------------------------------------------------------------------------------------------- plans
@dataclass
class BrokerNode:
    name: str                    # unique node name, e.g. "broker-a-n0"
    conf: dict[str, str]         # broker.conf keys (system-neutral; paths inside the node's dir)

    @property
    def port(self) -> int:
        return int(self.conf["listenPort"])


@dataclass
class Topology:
    name: str
    workdir: Path
    namesrv_ports: list[int]
    brokers: list[BrokerNode]
    groups: dict[str, int]       # brokerName -> nodes in it

    @property
    def namesrv_addr(self) -> str:
        return ";".join(f"127.0.0.1:{p}" for p in self.namesrv_ports)

    @property
    def first_namesrv(self) -> str:
        return f"127.0.0.1:{self.namesrv_ports[0]}"

    def describe(self) -> str:
        groups = ", ".join(f"{g} x{n}" for g, n in self.groups.items())
        return f"{len(self.namesrv_ports)} namesrv + {len(self.brokers)} broker process(es) ({groups})"


def _base_conf(name: str, namesrv: str, port: int, root: Path) -> dict[str, str]:
    return {
        "brokerClusterName": "BenchCluster",
        "brokerName": name,
        "brokerId": "0",
        "brokerRole": "ASYNC_MASTER",
        "flushDiskType": "ASYNC_FLUSH",
        "brokerIP1": "127.0.0.1",
        "namesrvAddr": namesrv,
        "listenPort": str(port),
        "storePathRootDir": str(root),
        "storePathCommitLog": str(root / "commitlog"),
        "autoCreateTopicEnable": "true",
        "autoCreateSubscriptionGroup": "true",
        "deleteWhen": "04",
        "fileReservedTime": "48",
    }


def _dledger_group(group: str, namesrv: str, workdir: Path, ports: PortAllocator, size: int = 3) -> list[BrokerNode]:
    broker_ports = [ports.broker_port() for _ in range(size)]
    peer_ports = [ports.port() for _ in range(size)]
    peers = ";".join(f"n{i}-127.0.0.1:{peer_ports[i]}" for i in range(size))
    nodes = []
    for i in range(size):
        root = workdir / f"{group}-n{i}"
        conf = _base_conf(group, namesrv, broker_ports[i], root)
        conf.update({
            "enableDLegerCommitLog": "true",
            "dLegerGroup": group,
            "dLegerPeers": peers,
            "dLegerSelfId": f"n{i}",
            "sendMessageThreadPoolNums": "16",
        })
        nodes.append(BrokerNode(f"{group}-n{i}", conf))
    return nodes


def plan(name: str, workdir: Path, ports: PortAllocator | None = None) -> Topology:
    """The node layout of topology `name` with fresh ports and data dirs under workdir."""
    ports = ports or PortAllocator()
    workdir = Path(workdir).resolve()
    if name == "single":
        ns = [ports.port()]
        addr = f"127.0.0.1:{ns[0]}"
        node = BrokerNode("broker-a", _base_conf("broker-a", addr, ports.broker_port(), workdir / "broker-a"))
        return Topology(name, workdir, ns, [node], {"broker-a": 1})
    if name == "dledger":
        ns = [ports.port()]
        addr = f"127.0.0.1:{ns[0]}"
        return Topology(name, workdir, ns, _dledger_group("broker-a", addr, workdir, ports), {"broker-a": 3})
    if name == "cluster":
        ns = [ports.port(), ports.port()]
        addr = ";".join(f"127.0.0.1:{p}" for p in ns)
        nodes = _dledger_group("broker-a", addr, workdir, ports) + _dledger_group("broker-b", addr, workdir, ports)
        return Topology(name, workdir, ns, nodes, {"broker-a": 3, "broker-b": 3})
    raise ValueError(f"unknown topology {name!r} (choose from {', '.join(TOPOLOGIES)})")


# ---------------------------------------------------------------------------------------------------- systems
@dataclass
class Cmd:
    argv: list[str]
    env: dict[str, str]
    ready_text: str


class System:
    """How one system turns nodes into processes."""

    name = "?"
    supports_dledger = True

    def prepare(self) -> None:
        """One-time setup (downloads) before anything is timed."""

    def namesrv_cmd(self, topo: Topology, port: int) -> Cmd:
        raise NotImplementedError

    def broker_cmd(self, topo: Topology, node: BrokerNode, conf_path: Path) -> Cmd:
        raise NotImplementedError

    def version(self) -> str:
        return "?"

    def settings(self) -> str:
        return ""


def rmqlite_supports_dledger() -> bool:
    """True once rmqlite's broker runs a DLedger commitlog: some module of rmqlite/broker imports rmqlite.dledger."""
    broker_dir = REPO / "rmqlite" / "broker"
    for path in broker_dir.rglob("*.py"):
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"^\s*(from|import)\s+rmqlite\.dledger", text, re.M):
            return True
    return False


class RmqliteSystem(System):
    name = "rmqlite"

    def __init__(self) -> None:
        self.supports_dledger = rmqlite_supports_dledger()

    def prepare(self) -> None:
        """Byte-compile the package once, as ``pip install`` does for a regular install, so that no node
        compiles sources at start (an editable install in an env with PYTHONDONTWRITEBYTECODE=1 would, on
        every start, and that is not what a user's installed rmqlite does)."""
        import compileall
        compileall.compile_dir(str(REPO / "rmqlite"), quiet=1)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def namesrv_cmd(self, topo: Topology, port: int) -> Cmd:
        kv = topo.workdir / f"namesrv-{port}" / "kvConfig.json"
        return Cmd([sys.executable, "-m", "rmqlite", "namesrv", "-p", str(port), "--kv-config", str(kv)],
                   self._env(), "boot success")

    def broker_cmd(self, topo: Topology, node: BrokerNode, conf_path: Path) -> Cmd:
        return Cmd([sys.executable, "-m", "rmqlite", "broker", "-c", str(conf_path)], self._env(), "boot success")

    def version(self) -> str:
        try:
            from importlib.metadata import version
            v = version("rmqlite")
        except Exception:
            v = "?"
        try:
            import uvloop  # noqa: F401
            loop = "uvloop " + uvloop.__version__
        except ImportError:
            loop = "asyncio"
        return f"rmqlite {v} (Python {sys.version.split()[0]}, {loop})"

    def settings(self) -> str:
        return "one OS process per node; default event loop policy of `python -m rmqlite` (uvloop when installed)"


class RocketMQSystem(System):
    name = "rocketmq"

    def __init__(self) -> None:
        self.home: Path | None = None

    def prepare(self) -> None:
        self.home = load_real_rocketmq().ensure_rocketmq_lib()

    def _java(self, topo: Topology, name: str, heap: list[str], main: str, args: list[str]) -> list[str]:
        rr = load_real_rocketmq()
        assert self.home is not None, "prepare() first"
        logdir = topo.workdir / "logs"
        return ["java", *rr.COMMON_JVM, *heap, *rr.JAVA17_OPENS, f"-Drmqlite.logdir={logdir / name}",
                f"-Drocketmq.client.logRoot={logdir / name}", f"-Duser.home={topo.workdir / name}",
                "-cp", str(self.home / "lib" / "*"), main, *args]

    def _env(self) -> dict[str, str]:
        return dict(os.environ, ROCKETMQ_HOME=str(self.home), JAVA_OPT="")

    def namesrv_cmd(self, topo: Topology, port: int) -> Cmd:
        d = topo.workdir / f"namesrv-{port}"
        conf = d / "namesrv.conf"
        d.mkdir(parents=True, exist_ok=True)
        conf.write_text(f"listenPort={port}\nkvConfigPath={d / 'kvConfig.json'}\n"
                        f"configStorePath={d / 'namesrv.properties'}\n")
        rr = load_real_rocketmq()
        argv = self._java(topo, f"namesrv-{port}", rr.NAMESRV_HEAP, "org.apache.rocketmq.namesrv.NamesrvStartup",
                          ["-c", str(conf)])
        return Cmd(argv, self._env(), "The Name Server boot success")

    def broker_cmd(self, topo: Topology, node: BrokerNode, conf_path: Path) -> Cmd:
        rr = load_real_rocketmq()
        argv = self._java(topo, node.name, rr.BROKER_HEAP, "org.apache.rocketmq.broker.BrokerStartup",
                          ["-c", str(conf_path)])
        return Cmd(argv, self._env(), "boot success")

    def version(self) -> str:
        rr = load_real_rocketmq()
        java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
        return f"Apache RocketMQ {rr.ROCKETMQ_VERSION} (DLedger 0.2.6; {java[0] if java else 'java ?'})"

    def settings(self) -> str:
        rr = load_real_rocketmq()
        return (f"broker JVM {' '.join(rr.BROKER_HEAP)}, namesrv JVM {' '.join(rr.NAMESRV_HEAP)}, G1GC; "
                "jars from Maven Central (rocketmq-broker/namesrv 4.9.4 + dependencies)")


class FloorSystem(System):
    """The floor: a no-storage server answering the same frames (single topology only)."""

    name = "floor"
    supports_dledger = False

    def namesrv_cmd(self, topo: Topology, port: int) -> Cmd:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        return Cmd([sys.executable, "-m", "rmqlite", "bench", "floor", "-p", str(port)], env, "floor ready")

    def broker_cmd(self, topo: Topology, node: BrokerNode, conf_path: Path) -> Cmd:
        raise RuntimeError("the floor has no brokers: it is its own namesrv and broker")

    def version(self) -> str:
        return RmqliteSystem().version().replace("rmqlite", "floor", 1)

    def settings(self) -> str:
        return "one asyncio (uvloop when installed) process, answers route/heartbeat/send frames, stores nothing"


SYSTEMS = {"rmqlite": RmqliteSystem, "rocketmq": RocketMQSystem, "floor": FloorSystem}


# ---------------------------------------------------------------------------------------------------- processes
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    watcher: Any           # tests/interop/real_rocketmq.py LineWatcher
    ready_text: str
    boot_line: str = ""


def proc_rss(pid: int) -> tuple[int, int, int]:
    """(VmRSS, RssAnon, VmHWM) in bytes of one process, zeros when it is gone."""
    vals = {"VmRSS": 0, "RssAnon": 0, "VmHWM": 0}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key in vals:
                    vals[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return vals["VmRSS"], vals["RssAnon"], vals["VmHWM"]


class RssSampler:
    """Samples the summed RSS of a set of pids every `interval` s in a thread; keeps the peaks."""

    def __init__(self, pids: list[int], interval: float = 0.25) -> None:
        self.pids = pids
        self.interval = interval
        self.peak_rss = 0
        self.peak_anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        rss = anon = 0
        for pid in self.pids:
            r, a, _ = proc_rss(pid)
            rss += r
            anon += a
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_anon = max(self.peak_anon, anon)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> "RssSampler":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()

    def hwm_sum(self) -> int:
        return sum(proc_rss(pid)[2] for pid in self.pids)


@dataclass
class Running:
    system: System
    topology: Topology
    procs: list[Proc] = field(default_factory=list)
    start_to_ready_s: float = 0.0
    boot_lines_s: float = 0.0
    rss: RssSampler | None = None
    cluster_info: dict = field(default_factory=dict)

    @property
    def namesrv_addr(self) -> str:
        return self.topology.namesrv_addr

    def pids(self) -> list[int]:
        return [p.popen.pid for p in self.procs]

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def alive(self) -> list[str]:
        return [p.name for p in self.procs if p.popen.poll() is None]

    def stop(self) -> None:
        """SIGTERM every process group (brokers first), wait, then SIGKILL. Safe to call twice."""
        if self.rss is not None:
            self.rss.stop()
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self.procs):
            try:
                proc.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.popen.wait(timeout=STOP_TIMEOUT_S)
        self.procs.clear()


def _spawn(topo: Topology, name: str, cmd: Cmd) -> Proc:
    logdir = topo.workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    popen = subprocess.Popen(cmd.argv, cwd=topo.workdir, env=cmd.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    watcher = load_real_rocketmq().LineWatcher(popen.stdout, logdir / f"{name}.out", FATAL_MARKERS)
    return Proc(name, popen, watcher, cmd.ready_text)  # type: ignore[arg-type]


def _wait_boot(procs: list[Proc], deadline: float) -> None:
    for p in procs:
        line = p.watcher.wait_for(p.ready_text, deadline - time.monotonic())
        if line is None:
            raise RuntimeError(f"{p.name} did not boot:\n{p.watcher.tail()}")
        p.boot_line = line


async def _cluster_ready(namesrv: str, topo: Topology, deadline: float) -> dict:
    from rmqlite.client.api import Client

    expected_nodes = len(topo.brokers)
    last: dict = {}
    async with Client(namesrv, timeout_ms=2000) as client:
        while time.monotonic() < deadline:
            try:
                info = await client.cluster_info()
            except Exception:
                info = {}
            table = info.get("brokerAddrTable", {})
            nodes = sum(len(b.get("brokerAddrs", {})) for b in table.values())
            masters = [name for name, b in table.items() if 0 in {int(k) for k in b.get("brokerAddrs", {})}]
            last = info
            if set(masters) >= set(topo.groups) and nodes >= expected_nodes:
                return info
            await asyncio.sleep(0.01)
    raise RuntimeError(f"cluster not ready in time; last cluster info: {last}")


def start(system: System, topo: Topology) -> Running:
    """Start every node of `topo` as `system`; returns when the cluster is ready (see module doc, rule 3)."""
    run = Running(system, topo)
    topo.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    deadline = t0 + BOOT_TIMEOUT_S
    try:
        ns_procs = [_spawn(topo, f"namesrv-{p}", system.namesrv_cmd(topo, p)) for p in topo.namesrv_ports]
        run.procs += ns_procs
        _wait_boot(ns_procs, deadline)
        if isinstance(system, FloorSystem):
            run.boot_lines_s = run.start_to_ready_s = time.monotonic() - t0
        else:
            br_procs = []
            for node in topo.brokers:
                conf_path = topo.workdir / "conf" / f"{node.name}.conf"
                load_real_rocketmq().write_props(conf_path, node.conf)
                br_procs.append(_spawn(topo, node.name, system.broker_cmd(topo, node, conf_path)))
            run.procs += br_procs
            _wait_boot(br_procs, deadline)
            run.boot_lines_s = time.monotonic() - t0
            run.cluster_info = asyncio.run(_cluster_ready(topo.first_namesrv, topo, t0 + READY_TIMEOUT_S))
            run.start_to_ready_s = time.monotonic() - t0
        run.rss = RssSampler(run.pids()).start()
    except BaseException:
        run.stop()
        raise
    return run


def clean(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """`python bench/topology.py SYSTEM TOPOLOGY` starts it, prints the namesrv address, runs until Ctrl-C."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("system", choices=sorted(SYSTEMS))
    ap.add_argument("topology", choices=TOPOLOGIES)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rmqlite-bench-topology"))
    ap.add_argument("--check", action="store_true", help="stop as soon as it is ready (prints the timing)")
    args = ap.parse_args(argv)
    clean(args.workdir)
    system = SYSTEMS[args.system]()
    system.prepare()
    topo = plan(args.topology, args.workdir)
    with start(system, topo) as run:
        print(f"{system.name} {topo.name}: {topo.describe()} ready in {run.start_to_ready_s:.2f}s "
              f"(boot lines {run.boot_lines_s:.2f}s); namesrv {topo.namesrv_addr}", flush=True)
        for p in run.procs:
            print(f"  {p.name} pid {p.popen.pid}: {p.boot_line}", flush=True)
        for name, b in sorted(run.cluster_info.get("brokerAddrTable", {}).items()):
            print(f"  registered {name}: {dict(sorted(b.get('brokerAddrs', {}).items()))}", flush=True)
        if not args.check:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
