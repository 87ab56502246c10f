"""One command: rmqlite against Apache RocketMQ 4.9.4, side by side, with the same Java load generator.

    python bench/run.py --full          # the documented run (< 20 min on the 2-core reference machine)
    python bench/run.py --quick         # a few minutes, small counts (development, CI smoke)

How it works:
 1. Prepare (not timed): fetch RocketMQ 4.9.4 namesrv + broker + DLedger 0.2.6 jars with mvn into
    ~/.cache/rmqlite (tests/interop/real_rocketmq.py), build the load generator bench/java (mvn package, only
    when its sources are newer than the jar), pip-install matplotlib if it is missing (for the plot).
 2. For each topology (single, dledger, cluster) and system (RocketMQ, rmqlite, and the floor on `single`):
    start the topology (bench/topology.py; each node its own OS process), record start-to-ready, sample the
    summed RSS of all its processes, run ONE load-generator JVM with the step list of `plan_steps`, run the
    Python protocol tool once (single topology), stop, wipe the data. A system that cannot run a topology
    (rmqlite before its DLedger mode exists) is recorded as skipped with the reason.
 3. Write bench/results/<stamp>-<mode>/{results.json, report.md, report.png} and copy the report to
    bench/results/latest.md (+ latest.png).
Every wait is bounded; a failing system or step is reported in the table, never hangs the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import topology as topo_mod  # noqa: E402

from rmqlite.bench import report  # noqa: E402

JAVA_DIR = HERE / "java"
JAR = JAVA_DIR / "target" / "rmqlite-bench.jar"
LOADGEN_JVM = ["-Xms512m", "-Xmx512m", "-XX:+UseG1GC"]
SEND_TOPIC, BACKLOG_TOPIC, E2E_TOPIC = "BenchSend", "BenchBacklog", "BenchE2E"
QUEUES = 8

MODES = {
    # seconds measured per timed step, warmup, backlog messages, e2e rate (msg/s) and seconds
    "quick": {"seconds": 1.5, "warmup": 0.5, "backlog": 50_000, "e2e_rate": 500, "e2e_seconds": 2, "pytool": 2},
    "full": {"seconds": 3, "warmup": 1, "backlog": 1_000_000, "e2e_rate": 1000, "e2e_seconds": 4, "pytool": 3},
}
SIZES = (128, 1024, 16384)
INFLIGHTS = (1, 8, 64)


def plan_steps(mode: str, system: str) -> list[str]:
    """The load generator's steps for one system (the floor only takes sends: it stores nothing)."""
    m = MODES[mode]
    t = f"seconds={m['seconds']},warmup={m['warmup']}"
    steps = [] if system == "floor" else [f"topic:name={n},queues={QUEUES}" for n in (SEND_TOPIC, BACKLOG_TOPIC,
                                                                                     E2E_TOPIC)]
    # JIT/connection warmup of the load generator itself (and of the server), left out of the report.
    steps.append(f"sync:topic={SEND_TOPIC},size=1024,inflight=8,seconds={m['warmup'] + 1},warmup=0,tag=warmup")
    steps += [f"sync:topic={SEND_TOPIC},size={s},inflight={i},{t}" for s in SIZES for i in INFLIGHTS]
    steps += [f"async:topic={SEND_TOPIC},size=1024,inflight=64,{t}",
              f"batch:topic={SEND_TOPIC},size=1024,batch=32,inflight=8,{t}"]
    if system != "floor":
        steps += [f"fill:topic={BACKLOG_TOPIC},size=128,count={m['backlog']},batch=128,inflight=4,timeout=400",
                  f"consume:topic={BACKLOG_TOPIC},count={m['backlog']},idle=20",
                  f"e2e:topic={E2E_TOPIC},size=1024,rate={m['e2e_rate']},seconds={m['e2e_seconds']},warmup=1"]
    return steps


# ------------------------------------------------------------------------------------------------ preparation
def build_loadgen(log) -> None:
    sources = [JAVA_DIR / "pom.xml", *(JAVA_DIR / "src").rglob("*")]
    if JAR.exists() and (JAR.parent / "lib").is_dir() and all(
            f.stat().st_mtime <= JAR.stat().st_mtime for f in sources if f.is_file()):
        return
    log("building the load generator (mvn package) ...")
    proc = subprocess.run(["mvn", "-B", "-q", "-f", str(JAVA_DIR / "pom.xml"), "package", "-DskipTests"],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not JAR.exists():
        raise RuntimeError(f"load generator build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def ensure_matplotlib(log) -> None:
    """The plot needs matplotlib (the `bench` extra); install it with pip when it is missing."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    log("installing matplotlib (pip install 'matplotlib>=3.8', the bench extra) ...")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib>=3.8"], capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        log(f"matplotlib not installed (the report will have no plot): {proc.stderr.strip()[-300:]}")


def machine_info() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1048576:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    osname = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": osname, "kernel": platform.release()}


# ------------------------------------------------------------------------------------------------ one run
def run_loadgen(namesrv: str, steps: list[str], workdir: Path, timeout_s: float, log) -> list[dict]:
    """One JVM runs all steps; returns their JSON lines (a step that did not report gets an error entry)."""
    logroot = workdir / "loadgen-logs"
    logroot.mkdir(parents=True, exist_ok=True)
    argv = ["java", *LOADGEN_JVM, f"-Drocketmq.client.logRoot={logroot}", "-Drocketmq.client.logLevel=WARN",
            f"-Duser.home={logroot}", "-jar", str(JAR), namesrv, *steps]
    out: list[dict] = []
    errlog = (workdir / "loadgen.err").open("w")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errlog, text=True, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            step = json.loads(line)
            out.append(step)
            log("    " + _step_line(step))
            if time.monotonic() > deadline:
                break
    finally:
        if proc.poll() is None:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        errlog.close()
    done = {s.get("spec") for s in out}
    for spec in steps:
        if spec not in done:
            out.append({"kind": spec.split(":", 1)[0], "spec": spec, "error": "load generator did not report "
                        f"(exit {proc.returncode}; see {workdir / 'loadgen.err'})"})
    return out


def _step_line(step: dict) -> str:
    kind = step.get("kind")
    if step.get("error") and not step.get("count"):
        return f"{kind}: ERROR {step['error'][:150]}"
    if kind == "topic":
        return f"topic {step.get('topic')} on {step.get('masters')} master(s)"
    if kind == "e2e":
        return (f"e2e {step.get('size')}B @{step.get('rate'):.0f}/s: p50 {step.get('e2e_p50_ms'):.2f} "
                f"p99 {step.get('e2e_p99_ms'):.2f} p999 {step.get('e2e_p999_ms'):.2f} ms, lost {step.get('lost')}")
    tps = step.get("tps_from_first") or step.get("tps") or 0
    lat = ""
    if "rt_p99_ms" in step:
        lat = f"  p50 {step['rt_p50_ms']:.2f} p99 {step['rt_p99_ms']:.2f} p999 {step['rt_p999_ms']:.2f} ms"
    return (f"{kind} size={step.get('size', '-')} x{step.get('inflight', '-')} b{step.get('batch', '-')}: "
            f"{tps:,.0f} msg/s ({step.get('count')} msgs, {step.get('failed', 0)} failed){lat}")


def run_pytool(namesrv: str, seconds: float, system: str) -> dict:
    """`python -m rmqlite bench produce` 1 KiB x64 against the running system (JSON summary)."""
    topic = "BenchSend" if system != "floor" else "PyTool"
    argv = [sys.executable, "-m", "rmqlite", "bench", "produce", "-n", namesrv, "-t", topic, "-s", "1024",
            "-c", "64", "-d", str(seconds), "--json", "-q"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, env=env)
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        summary.pop("per_second", None)
        return summary
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_one(system: topo_mod.System, topology: str, mode: str, workroot: Path, log) -> dict:
    entry: dict = {"system": system.name, "topology": topology}
    if topology != "single" and not system.supports_dledger:
        reason = ("the floor answers sends only (single topology)" if system.name == "floor" else
                  "rmqlite's broker has no DLedger mode yet (no rmqlite/broker module imports rmqlite.dledger)")
        log(f"  {system.name} {topology}: skipped: {reason}")
        return {**entry, "status": "skipped", "reason": reason}
    workdir = workroot / f"{topology}-{system.name}"
    topo_mod.clean(workdir)
    topo = topo_mod.plan(topology, workdir)
    entry["describe"] = topo.describe() if system.name != "floor" else "one process: namesrv + broker, no storage"
    log(f"  {system.name} {topology}: starting {entry['describe']} ...")
    try:
        running = topo_mod.start(system, topo)
    except Exception as exc:
        log(f"  {system.name} {topology}: start FAILED: {exc}")
        return {**entry, "status": "error", "reason": f"start failed: {str(exc)[:300]}"}
    try:
        entry.update(start_to_ready_s=round(running.start_to_ready_s, 3), boot_lines_s=round(running.boot_lines_s, 3))
        log(f"  {system.name} {topology}: ready in {running.start_to_ready_s:.2f} s; load generator ...")
        steps = plan_steps(mode, system.name)
        entry["steps"] = run_loadgen(topo.namesrv_addr, steps, workdir, 1500, log)
        if topology == "single":
            entry["pytool"] = run_pytool(topo.namesrv_addr, MODES[mode]["pytool"], system.name)
            p = entry["pytool"]
            log(f"    python tool produce 1KiB x64: {p.get('tps', 0):,.0f} msg/s p99 {p.get('rt_p99_ms', 0)} ms "
                f"{p.get('error', '')}")
        dead = [n for n in (p.name for p in running.procs) if n not in running.alive()]
        if dead:
            entry["reason"] = f"process(es) exited during the run: {', '.join(dead)}"
        assert running.rss is not None
        running.rss.stop()
        entry.update(peak_rss_bytes=running.rss.peak_rss, peak_anon_bytes=running.rss.peak_anon,
                     hwm_sum_bytes=running.rss.hwm_sum(), status="ok")
        log(f"  {system.name} {topology}: peak RSS {running.rss.peak_rss / 1048576:,.0f} MiB "
            f"(anon {running.rss.peak_anon / 1048576:,.0f} MiB)")
    finally:
        running.stop()
        topo_mod.clean(workdir)
    return entry


# ------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="rmqlite vs Apache RocketMQ 4.9.4, side by side")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="mode", action="store_const", const="quick", help="short run (default)")
    g.add_argument("--full", dest="mode", action="store_const", const="full", help="the documented full run")
    ap.add_argument("--topologies", default=",".join(topo_mod.TOPOLOGIES), help="comma list (single,dledger,cluster)")
    ap.add_argument("--systems", default="rocketmq,rmqlite,floor", help="comma list (rocketmq,rmqlite,floor)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rmqlite-bench"), help="data dirs (wiped)")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    ap.add_argument("--no-install", action="store_true", help="do not pip-install matplotlib when it is missing")
    args = ap.parse_args(argv)
    mode = args.mode or "quick"
    t0 = time.monotonic()
    started = dt.datetime.now().astimezone()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - t0:7.1f}s] {msg}", flush=True)

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt  # unwinds through every `finally`, which stops the servers

    signal.signal(signal.SIGTERM, on_term)
    systems = {name: topo_mod.SYSTEMS[name]() for name in args.systems.split(",") if name}
    log(f"mode {mode}; preparing (RocketMQ jars via mvn, load generator build) ...")
    for s in systems.values():
        s.prepare()
    build_loadgen(log)
    if not args.no_install:
        ensure_matplotlib(log)
    log("prepared")
    tprep = time.monotonic() - t0
    load_before = os.getloadavg()
    runs = []
    for topology in [t for t in args.topologies.split(",") if t]:
        log(f"topology {topology}")
        for name in ("rocketmq", "rmqlite", "floor"):
            if name in systems and (name != "floor" or topology == "single"):
                runs.append(run_one(systems[name], topology, mode, args.workdir, log))
    m = MODES[mode]
    load_after = os.getloadavg()
    meta = {
        "mode": mode, "started": started.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "total_seconds": time.monotonic() - t0, "prepare_seconds": tprep,
        "machine": {**machine_info(), "load average before / after": " / ".join(
            f"{a:.1f}, {b:.1f}, {c:.1f}" for a, b, c in (load_before, load_after))},
        "versions": {s.name: s.version() for s in systems.values()},
        "settings": {
            "load generator": "bench/java (Apache RocketMQ Java client 4.9.4), one JVM per system and topology, "
                              f"{' '.join(LOADGEN_JVM)}; no send retries; body compression off",
            "workloads": f"timed steps {m['warmup']} s warmup + {m['seconds']} s measured; topics with {QUEUES} "
                         f"queues per master; backlog {m['backlog']:,} x 128 B filled in batches of 128; "
                         f"e2e {m['e2e_rate']} msg/s for {m['e2e_seconds']} s",
            "brokers": "ASYNC_MASTER / ASYNC_FLUSH, stock RocketMQ store sizes; DLedger groups "
                       "sendMessageThreadPoolNums=16; the same broker.conf keys for both systems",
            **{f"{s.name} settings": s.settings() for s in systems.values() if s.settings()},
        },
        "notes": [
            "Latency = time the Java client's send() took (sync/batch) or send -> callback (async); "
            "produce-to-consume = send start -> push-consumer listener, both in the load generator JVM.",
            "Peak RSS = peak of the summed VmRSS of every server process (sampled every 0.25 s); it includes "
            "mapped store pages (commitlog / consume queue), which both systems mmap; 'anonymous' excludes them.",
            "The load generator runs on the same 2 cores as the servers, for both systems alike.",
        ],
    }
    results = {"meta": meta, "runs": runs}
    stamp = started.strftime("%Y%m%d-%H%M%S")
    outdir = args.out / f"{stamp}-{mode}"
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "results.json").write_text(json.dumps(results, indent=1))
    has_plot = report.render_plot(results, outdir / "report.png")
    md = report.render_markdown(results, "report.png" if has_plot else None)
    (outdir / "report.md").write_text(md)
    latest = md.replace("](report.png)", f"]({outdir.name}/report.png)")
    (args.out / "latest.md").write_text(latest)
    log(f"report: {outdir / 'report.md'}" + ("" if has_plot else " (no plot: pip install matplotlib)"))
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
