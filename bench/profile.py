"""Profile an rmqlite node under the benchmark load and summarise where its time goes.

    python bench/profile.py summarize STACKS.txt [--top 25]
    python bench/profile.py record --system rmqlite --topology single --step sync:size=1024,inflight=64 [--seconds 8]
    python bench/profile.py record --topology dledger --node leader --step sync:size=1024,inflight=64
    python bench/profile.py record --pre fill:size=128,count=300000,batch=128,inflight=4 --step consume:count=300000

How it works:
 1. `record` starts the topology (bench/topology.py), creates the topic, runs the `--pre` steps (e.g. a backlog
    fill), then the Java load generator with ONE step for `seconds` + warmup, and meanwhile runs `py-spy record --format raw` (collapsed stacks) on the
    first broker process (or `--node NAME`), then prints the summary. py-spy comes from PyPI (`pip install
    py-spy`); it samples from outside, so the broker runs unmodified.
 2. `summarize` reads collapsed stacks ("frame;frame;frame COUNT" per line) and prints self time per area
    (rmqlite package, json, the rest), the top functions by self time and by inclusive time, as % of all samples (idle samples included: the event loop waiting in
    select/epoll shows up as such).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _short(frame: str) -> str:
    # py-spy frame: "function (path/to/file.py:LINE)" -> "function (file.py)"
    m = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    parts = Path(path).parts
    if "rmqlite" in parts:
        path = "/".join(parts[parts.index("rmqlite"):])
    else:
        path = Path(path).name
    return f"{func} ({path})"


def _area(frame: str) -> str:
    m = re.search(r"\((rmqlite/[a-z_]+)(/handlers)?", frame)
    if m:
        return m.group(1) + (m.group(2) or "")
    if re.search(r"\((encoder|decoder|__init__)\.py\)", frame) and "JSON" in frame or frame.startswith(("dumps", "loads")):
        return "json (stdlib)"
    return "event loop, runtime, other"


def summarize(path: Path, top: int = 25) -> str:
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if f]
        frames = [f for f in frames if not f.startswith("process ")]
        total += n
        if frames:
            self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    areas: Counter[str] = Counter()
    for f, c in self_c.items():
        areas[_area(f)] += c
    out = [f"{total} samples", "", "self time by area:"]
    out += [f"  {100 * c / total:5.1f}%  {a}" for a, c in areas.most_common()]
    out += ["", "top self time:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in self_c.most_common(top)]
    out += ["", "top inclusive time:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(top)]
    return "\n".join(out)


def _step(spec: str, seconds: float | None) -> str:
    kind, _, params = spec.partition(":")
    timing = f",seconds={seconds},warmup=1" if seconds is not None and kind in ("sync", "async", "batch") else ""
    return f"{kind}:topic=Prof,{params}{timing}"


def _target(running, topo, node: str | None):
    """The process to profile: a node by name, 'leader' (the id-0 broker of the first group), or the first broker."""
    brokers = running.procs[len(topo.namesrv_ports):] or running.procs
    if node == "leader":
        addrs = next(iter(running.cluster_info.get("brokerAddrTable", {}).values()), {}).get("brokerAddrs", {})
        leader = {int(k): v for k, v in addrs.items()}.get(0, "")
        for proc, spec in zip(brokers, topo.brokers):
            if leader.endswith(f":{spec.port}"):
                return proc
    if node:
        for proc in running.procs:
            if proc.name == node:
                return proc
    return brokers[0]


def record(args: argparse.Namespace) -> int:
    import topology as topo_mod
    from run import JAR, build_loadgen

    if shutil.which("py-spy") is None:
        print("py-spy not found: pip install py-spy", file=sys.stderr)
        return 2
    build_loadgen(print)
    system = topo_mod.SYSTEMS[args.system]()
    system.prepare()
    workdir = Path(args.workdir)
    topo_mod.clean(workdir)
    topo = topo_mod.plan(args.topology, workdir)
    with topo_mod.start(system, topo) as running:
        target = _target(running, topo, args.node)
        print(f"profiling {target.name} (pid {target.popen.pid})", flush=True)
        jar = ["java", "-Xmx512m", "-jar", str(JAR), topo.namesrv_addr]
        subprocess.run([*jar, "topic:name=Prof,queues=8", *(_step(s, None) for s in args.pre)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900, check=False)
        lg = subprocess.Popen([*jar, _step(args.step, args.seconds + 4)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
        time.sleep(3)
        out = Path(args.out)
        subprocess.run(["py-spy", "record", "-p", str(target.popen.pid), "-d", str(args.seconds), "-r", "250",
                        "-f", "raw", "-o", str(out), "--nonblocking", *(["--native"] if args.native else [])],
                       check=False)
        stdout, _ = lg.communicate(timeout=900)
        print(stdout.strip())
    topo_mod.clean(workdir)
    print(summarize(out, args.top))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("summarize")
    s.add_argument("stacks", type=Path)
    s.add_argument("--top", type=int, default=25)
    r = sub.add_parser("record")
    r.add_argument("--system", default="rmqlite")
    r.add_argument("--topology", default="single")
    r.add_argument("--node", default=None, help="node name, or 'leader' (default: the first broker)")
    r.add_argument("--pre", action="append", default=[], help="load-generator step to run before profiling")
    r.add_argument("--step", default="sync:size=1024,inflight=64")
    r.add_argument("--seconds", type=int, default=8)
    r.add_argument("--top", type=int, default=25)
    r.add_argument("--native", action="store_true", help="py-spy --native: show C frames (uvloop, syscalls)")
    r.add_argument("--workdir", default="/tmp/rmqlite-bench-profile")
    r.add_argument("--out", default="/tmp/rmqlite-profile.txt")
    args = ap.parse_args(argv)
    if args.cmd == "summarize":
        print(summarize(args.stacks, args.top))
        return 0
    return record(args)


if __name__ == "__main__":
    raise SystemExit(main())
