"""Failover proof with a third-party client: the Node.js ``ali-ons`` keeps producing while a master dies.

Topology: the default ``python -m rmqlite cluster`` (2 nameservers, 2 DLedger groups of 3 brokers, every node
its own OS process), on free ports (``--base-port 0``), started with ``rmqlite.cluster.LocalCluster``.

1. ``tests/interop/node/interop.js --scenario failover --await-mark`` creates a topic on the master of both
   groups and produces from 4 concurrent send loops; it prints ``{"event":"producing"}`` once both groups
   acknowledged ``WARMUP_ACKS`` sends.
2. The test then SIGKILLs the master of RaftNode00 and measures the time from the signal until every
   nameserver names the same new live master (``wait_for_master``, polling every 20 ms): must be < 2 s.
3. It writes ``killed`` to the scenario's stdin. The scenario goes on until both groups acknowledged at least
   ``AFTER_MARK_MIN`` more sends, then a fresh push consumer group reads the topic back: every acknowledged
   send must arrive exactly once, byte for byte, with its msgId, queue id and offset (duplicates of
   UNacknowledged sends are allowed and reported).

The figures are printed (``NODE FAILOVER {...}``, run with ``-s``) and written to ``node_failover.json``.
Skips when node/npm are missing, or ali-ons cannot be installed (``npm ci``, as tests/interop/test_node_client.py).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from rmqlite.cluster.controller import LocalCluster
from rmqlite.cluster.spec import ClusterSpec

NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"
GROUP = "RaftNode00"                 # the group whose master is killed
FAILOVER_LIMIT_S = 2.0
AFTER_MARK_MIN = 50                  # acknowledged sends per group after the new master is registered
WARMUP_ACKS = 200                    # acknowledged sends per group before the kill
DURATION_MS = 3000                   # minimum production time after "producing"
SCENARIO_TIMEOUT_MS = 90_000

pytestmark = [pytest.mark.interop, pytest.mark.slow]


@pytest.fixture(scope="module")
def ali_ons() -> Path:
    """The npm project of tests/interop/node with ali-ons installed; skip without node >= 16 and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are required for the ali-ons failover test (not found on PATH)")
    version = subprocess.run([node, "--version"], check=False, capture_output=True, text=True,
                             timeout=30).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 16:
        pytest.skip(f"node >= 16 required for the ali-ons failover test, found {version}")
    stamp = NODE_DIR / "node_modules" / ".rmqlite-npm-ci"
    digest = hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()
    installed = (NODE_DIR / "node_modules" / "ali-ons" / "package.json").exists()
    if installed and stamp.exists() and stamp.read_text().strip() == digest:
        return NODE_DIR
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=NODE_DIR, check=False,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"`npm ci` failed in {NODE_DIR} (registry unreachable and no npm cache?):\n{proc.stderr[-2000:]}")
    stamp.write_text(digest + "\n")
    return NODE_DIR


async def next_json(stream: asyncio.StreamReader, seen: list[str], timeout_s: float) -> dict:
    """The next stdout line that is a JSON object (other lines are kept in ``seen``)."""
    async def read() -> dict:
        while True:
            line = (await stream.readline()).decode(errors="replace")
            if not line:
                raise AssertionError(f"scenario ended its output early; stdout so far: {seen}")
            seen.append(line.rstrip())
            if line.startswith("{"):
                return json.loads(line)
    return await asyncio.wait_for(read(), timeout_s)


def diag(seen: list[str], stderr: Path) -> str:
    err = stderr.read_text(errors="replace") if stderr.exists() else ""
    return "stdout:\n" + "\n".join(seen)[-4000:] + "\nstderr (tail):\n" + err[-4000:]


@pytest.mark.timeout(300)
async def test_ali_ons_keeps_producing_while_master_is_killed(ali_ons: Path, tmp_path: Path) -> None:
    spec = ClusterSpec(base_port=None, data_dir=tmp_path / "cluster")    # = python -m rmqlite cluster --base-port 0
    stderr_path = tmp_path / "node-stderr.log"
    seen: list[str] = []
    async with LocalCluster(spec) as cluster:
        assert sorted(cluster.groups) == ["RaftNode00", "RaftNode01"]
        with stderr_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                "node", "interop.js", "--namesrv", cluster.namesrv_addr, "--scenario", "failover", "--await-mark",
                "--duration-ms", str(DURATION_MS), "--after-mark-min", str(AFTER_MARK_MIN),
                "--warmup-acks", str(WARMUP_ACKS),
                "--timeout-ms", str(SCENARIO_TIMEOUT_MS), cwd=ali_ons,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err)
        try:
            assert proc.stdin is not None and proc.stdout is not None
            event = await next_json(proc.stdout, seen, 60)
            assert event.get("event") == "producing", diag(seen, stderr_path)
            assert sorted(event["groups"]) == ["RaftNode00", "RaftNode01"], event

            old = await cluster.wait_for_master(GROUP)
            t0 = time.perf_counter()
            await cluster.kill(old)                                             # SIGKILL
            new = await cluster.wait_for_master(GROUP, timeout_s=15, exclude=old)
            failover_s = time.perf_counter() - t0
            proc.stdin.write(b'{"event":"killed"}\n')
            await proc.stdin.drain()
            proc.stdin.close()

            result = await next_json(proc.stdout, seen, SCENARIO_TIMEOUT_MS / 1000 + 60)
            rc = await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    text = diag(seen, stderr_path)
    groups = result.get("per_group") or {}
    figures = {
        "failover_s": round(failover_s, 3), "killed": f"{old.name} ({old.addr})",
        "new_master": f"{new.name} ({new.addr})",
        "acked": result.get("acked"), "received": result.get("received"), "lost": result.get("lost"),
        "altered": result.get("altered"), "duplicated_acked": result.get("duplicated_acked"),
        "unacked_delivered": result.get("unacked_delivered"), "send_failures": result.get("send_failures"),
        "failure_kinds": result.get("failure_kinds"), "acked_per_s": result.get("acked_per_s"),
        "per_group": {g: {k: v for k, v in d.items() if k != "store_hosts_after_mark"} for g, d in groups.items()},
        "producer_max_gap_ms": result.get("max_ack_gap_ms"),
    }
    print("NODE FAILOVER", json.dumps(figures))
    (tmp_path / "node_failover.json").write_text(json.dumps(figures, indent=1))

    assert result.get("scenario") == "failover", text
    assert result["ok"] is True and result["error"] is None, text
    assert result["lost"] == 0 and result["altered"] == 0 and result["duplicated_acked"] == 0, text
    assert result["unexpected"] == 0 and result["received"] == result["expected"] == result["acked"] > 0, text
    assert rc == 0, text
    assert new.name != old.name and new.group == GROUP
    for g in ("RaftNode00", "RaftNode01"):
        assert groups[g]["acked_after_mark"] >= AFTER_MARK_MIN, (g, figures)
        assert groups[g]["received"] == groups[g]["acked"], (g, figures)
    hosts = groups[GROUP]["store_hosts_after_mark"]
    assert new.addr in hosts and old.addr not in hosts, (hosts, figures)   # the new master took the writes
    assert failover_s < FAILOVER_LIMIT_S, figures
