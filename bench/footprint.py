"""Footprint of a local cluster: time from command to ready, and memory, as a user would start it.

Runs, each as a fresh ``python`` (cold start, imports included):
  * ``python -m rmqlite cluster`` (default shape: 2 nameservers + 2 groups x replicas) with one OS
    process per node, and the same with ``--in-process``;
  * a one-broker ``rmqlite.testing.cluster()`` fixture (``with cluster() as c``), timing the
    ``with`` itself and the whole script from interpreter start.
Memory: RSS summed over the supervisor and every node process (what ``docker stats`` sums for the
original's containers), and PSS (shared pages split between processes: the honest total).

    python bench/footprint.py [--replicas N] [--runs 3] [--json]

Linux only (reads /proc). Uses free ports and temp data dirs; leaves nothing running.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

READY = "Cluster ready."

FIXTURE_SCRIPT = r"""
import time, json, os
t_start = time.perf_counter()
from rmqlite.testing import cluster
t_import = time.perf_counter()
with cluster() as c:                 # the first one also imports the broker and nameserver code
    t_ready = time.perf_counter()
    c.create_topic("FootprintTopic")
    t_topic = time.perf_counter()
    rss = pss = 0
    with open("/proc/self/status") as fh:
        rss = next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:"))
    with open("/proc/self/smaps_rollup") as fh:
        pss = next(int(l.split()[1]) for l in fh if l.startswith("Pss:"))
t_again = time.perf_counter()
with cluster() as c:                 # what every later test pays
    t_warm = time.perf_counter() - t_again
print(json.dumps({"import_s": t_import - t_start, "ready_s": t_ready - t_import, "topic_s": t_topic - t_ready,
                  "warm_ready_s": t_warm, "rss_kb": rss, "pss_kb": pss}))
"""


def cpu_seconds(pids: list[int]) -> float:
    """user + system CPU time used so far by ``pids``."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])      # utime, stime (clock ticks)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def _kb(pid: int, path: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(key))
    except (OSError, StopIteration):
        return 0


def memory(pids: list[int]) -> tuple[float, float]:
    """(RSS MiB, PSS MiB) summed over ``pids``."""
    rss = sum(_kb(p, "status", "VmRSS:") for p in pids)
    pss = sum(_kb(p, "smaps_rollup", "Pss:") for p in pids)
    return rss / 1024, pss / 1024


def run_cluster(extra: list[str], replicas: int, home: Path, console: bool = False) -> dict[str, float]:
    """Start ``python -m rmqlite cluster``; time to its ready line; memory; time to stop."""
    env = {**os.environ, "RMQLITE_HOME": str(home)}
    cmd = [sys.executable, "-m", "rmqlite", "cluster", "--ephemeral", "--base-port", "0",
           "--replicas", str(replicas), *([] if console else ["--no-console"]), *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith(READY):
                ready.set()
        ready.set()
    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(120) or not any(x.startswith(READY) for x in lines):
        proc.kill()
        raise RuntimeError(f"cluster not ready: {lines} {proc.stderr.read() if proc.stderr else ''}")
    t_ready = time.perf_counter() - t0
    nodes = [int(x.split()[-1]) for x in lines if x.startswith(("namesrv-", "broker-")) and x.split()[-1].isdigit()]
    pids = sorted({proc.pid, *nodes})
    cpu = cpu_seconds(pids)
    time.sleep(1.0)                     # settle: first periodic tasks ran
    rss, pss = memory(pids)
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    code = proc.wait(60)
    return {"ready_s": t_ready, "cpu_s": cpu, "rss_mib": rss, "pss_mib": pss, "processes": len(pids),
            "nodes": len(nodes), "stop_s": time.perf_counter() - t1, "exit": code}


def run_fixture() -> dict[str, float]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", FIXTURE_SCRIPT], capture_output=True, text=True, timeout=120)
    total = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return {"ready_s": data["ready_s"], "import_s": data["import_s"], "topic_s": data["topic_s"],
            "warm_ready_s": data["warm_ready_s"],
            "process_total_s": total, "rss_mib": data["rss_kb"] / 1024, "pss_mib": data["pss_kb"] / 1024}


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> int:
    from rmqlite.cluster.spec import DEFAULT_REPLICAS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS, help="nodes per group (CLI default)")
    ap.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--console", action="store_true", help="also measure with the web console (needs aiohttp)")
    args = ap.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="rmqlite-footprint-") as home:
        shape = f"2 namesrv + 2x{args.replicas} brokers"
        results[f"cluster, one process per node ({shape})"] = _median(
            [run_cluster([], args.replicas, Path(home)) for _ in range(args.runs)])
        results[f"cluster --in-process ({shape})"] = _median(
            [run_cluster(["--in-process"], args.replicas, Path(home)) for _ in range(args.runs)])
        if args.console:
            results[f"cluster with the web console ({shape})"] = _median(
                [run_cluster(["--console-port", "0"], args.replicas, Path(home), console=True)
                 for _ in range(args.runs)])
    results["fixture: rmqlite.testing.cluster() (1 namesrv + 1 broker, in-process)"] = _median(
        [run_fixture() for _ in range(args.runs)])
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    cpu = os.cpu_count()
    print(f"# rmqlite footprint ({args.runs} runs, median; Python {sys.version.split()[0]}, {cpu} CPUs)\n")
    print("| case | command to ready | CPU used until ready | RSS total | PSS total | processes |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        ready = f"{r['ready_s'] * 1000:.0f} ms"
        cpu = f"{r['cpu_s']:.2f} s" if "cpu_s" in r else "-"
        if "import_s" in r:
            ready = (f"{r['ready_s'] * 1000:.0f} ms first, {r['warm_ready_s'] * 1000:.0f} ms next "
                     f"(+{r['import_s'] * 1000:.0f} ms import; whole script {r['process_total_s']:.2f} s)")
        print(f"| {name} | {ready} | {cpu} | {r['rss_mib']:.0f} MiB | {r['pss_mib']:.0f} MiB "
              f"| {int(r.get('processes', 1))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
