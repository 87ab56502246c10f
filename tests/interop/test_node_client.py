"""Interop: the Node.js RocketMQ client ``ali-ons`` (npm, pinned 3.12.0), unmodified, against rmqlite.

ali-ons is a third, independent client implementation with its own wire quirks (wire-facts 1.1, 1.5, 3.6, trap 1):
it reads the header word as a plain length and parses JSON only, sends raw JS numbers/booleans in extFields, never
sends the V2 `m` (batch) key, sends "oneway" UPDATE_CONSUMER_OFFSET without the oneway flag bit, says language JAVA
version 121, and parses route bodies with a lenient JSON parser (compact ``{0:"ip:port"}`` keys).

What runs: ``tests/interop/node/interop.js`` (see its header) once per scenario — produce (bodies 0 B..1 MiB, tags,
keys, properties; exactly once, byte for byte), tags (``TagA || TagB``, broker-side filtering), retry (handler
throws; messages come back with reconsumeTimes > 0). Each prints one JSON line; we assert on it and on the frames
ali-ons read (``--trace``): every inbound frame must be JSON-typed with string-only extFields.

Target: the lead's ``namesrv_addr`` fixture (rmqlite subprocesses) by default. With ``RMQLITE_INTEROP_TARGET=real``
the same scenarios run against the REAL Apache RocketMQ 4.9.4 (``real_rocketmq.py``), started with
``messageDelayLevel`` = 1s for all 18 levels: ali-ons sends failed messages back with delayLevel 0, which the broker
turns into level 3 + reconsumeTimes (10 s on a stock broker). rmqlite's interop conf uses the same delay levels.

``npm ci`` runs once per package-lock.json (stamp file in node_modules); later runs are offline.
Durations: ~2-4 s per scenario against the real broker, plus ~10 s to boot it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"
SCENARIOS = ["produce", "tags", "retry"]
SCENARIO_TIMEOUT_MS = 90_000
NPM_CI_TIMEOUT_S = 300

pytestmark = pytest.mark.interop


def _lock_digest() -> str:
    return hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def node_project() -> Path:
    """The npm project with ali-ons installed (``npm ci`` once per lock file); skip without node/npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are required for the ali-ons interop tests (not found on PATH)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 16:
        pytest.skip(f"node >= 16 required for the ali-ons interop tests, found {version}")
    stamp = NODE_DIR / "node_modules" / ".rmqlite-npm-ci"
    digest = _lock_digest()
    installed = (NODE_DIR / "node_modules" / "ali-ons" / "package.json").exists()
    if installed and stamp.exists() and stamp.read_text().strip() == digest:
        return NODE_DIR
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=NPM_CI_TIMEOUT_S)
    if proc.returncode != 0:
        pytest.skip(f"`npm ci` failed in {NODE_DIR} (registry unreachable and no npm cache?):\n"
                    f"{proc.stderr[-2000:]}")
    stamp.write_text(digest + "\n")
    return NODE_DIR


@pytest.fixture(scope="session")
def node_target_addr(interop_namesrv: str) -> str:
    """Name server address for the node scenarios (conftest ``interop_namesrv``)."""
    return interop_namesrv


def _run_driver(project: Path, args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", "interop.js", *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout_s)


def _check_inbound_frames(trace: Path) -> dict[str, int]:
    """Every frame ali-ons read must be JSON-typed with string extFields; return a few counters."""
    counts = {"in": 0, "out": 0, "out_nonstring_ext": 0}
    for line in trace.read_text().splitlines():
        frame = json.loads(line)
        header = json.loads(frame["header"])
        counts[frame["dir"]] += 1
        ext = header.get("extFields") or {}
        if frame["dir"] == "out":
            assert header["version"] == 121 and header["language"] == "JAVA", header
            counts["out_nonstring_ext"] += any(not isinstance(v, str) for v in ext.values())
            continue
        assert frame["headerWord"] >> 24 == 0, f"non-JSON frame sent to ali-ons: {frame}"
        assert frame["lengthWord"] == 4 + frame["headerWord"] + frame["bodyLen"], frame
        bad = {k: v for k, v in ext.items() if not isinstance(v, str)}
        assert not bad, f"non-string extFields sent to ali-ons: {bad} in {header}"
    return counts


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ali_ons_scenario(scenario: str, node_project: Path, node_target_addr: str, tmp_path: Path) -> None:
    """One interop.js scenario: exactly-once, byte-identical delivery (plus the scenario's own checks)."""
    trace = tmp_path / "frames.jsonl"
    proc = _run_driver(node_project, ["--namesrv", node_target_addr, "--scenario", scenario,
                                      "--timeout-ms", str(SCENARIO_TIMEOUT_MS), "--trace", str(trace)],
                       timeout_s=SCENARIO_TIMEOUT_MS / 1000 + 60)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    diag = f"rc={proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert len(results) == 1, diag
    result = results[0]
    assert result["scenario"] == scenario
    assert result["ok"] is True and result["error"] is None, diag
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["altered"] == 0, diag
    assert result["sent"] > 0 and result["received"] == result["expected"], diag
    if scenario == "tags":
        assert result["broker_leaked"] == 0 and result["broker_delivered"] == result["expected"], diag
    if scenario == "retry":
        assert result["retried"] == result["failed_on_purpose"] > 0, diag
    assert proc.returncode == 0, diag
    counts = _check_inbound_frames(trace)
    assert counts["in"] > 0 and counts["out_nonstring_ext"] > 0, counts


def test_driver_rejects_bad_arguments(node_project: Path) -> None:
    """Usage errors exit 2 without touching the network."""
    proc = _run_driver(node_project, ["--scenario", "nope"], timeout_s=60)
    assert proc.returncode == 2 and "usage" in proc.stderr
    proc = _run_driver(node_project, ["--namesrv", "127.0.0.1:1", "--scenario", "nope"], timeout_s=60)
    assert proc.returncode == 2 and "--scenario must be one of" in proc.stderr
