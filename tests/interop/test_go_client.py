"""Interop: the unmodified Go client github.com/apache/rocketmq-client-go/v2 v2.0.0 against a cluster.

The program lives in tests/interop/go (a Go module with go.sum; see tests/interop/README.md, section "Go"). It is
built once into tests/interop/go/.bin/gocheck (git-ignored) and rebuilt only when a source file is newer. It prints
one JSON line per scenario: {"scenario","sent","received","lost","duplicated","altered","unexpected","ok","error",
"seconds"}; one pytest test per scenario, plus the harness's own `go test` (its checker catches every alteration).

Target cluster (fixture `go_target_addr`):
  * default: the `namesrv_addr` fixture of tests/interop/conftest.py (rmqlite namesrv + broker subprocesses);
  * RMQLITE_INTEROP_TARGET=real: the REAL Apache RocketMQ 4.9.4 (tests/interop/real_rocketmq.py), started with
    REAL_BROKER_CONF below - the differential baseline the program was proven against;
  * RMQLITE_INTEROP_NAMESRV=host:port: any already running cluster.

BROKER CONFIGURATION THE SCENARIOS NEED (rmqlite's interop broker.conf must match):
  * brokerIP1=127.0.0.1, one master (brokerId 0) registered with the nameserver.
  * autoCreateTopicEnable=true: v2.0.0 has no admin API; every topic is created by its first send (TBW102 template,
    4 queues = min(client's defaultTopicQueueNums 4, TBW102's 8)). autoCreateSubscriptionGroup=true.
  * messageDelayLevel = "1s" x 18: the retry scenario sends failures back with delayLevel 0 (broker picks
    3 + reconsumeTimes: 10 s and 30 s on a stock broker). The scenario also passes with the stock table, slower.
  * maxMessageSize=4194304 (default): a 4 MiB body is accepted, 4 MiB + 1 refused (4.9.4 checks the body length).
  * %RETRY%<group> created by the consumer's heartbeat; %DLQ%<group> created readable (perm 6) on the first
    dead letter.
  * 4.9.4 refuses v2.0.0 batches (SEND_BATCH_MESSAGE with empty header field "d" -> SYSTEM_ERROR
    NumberFormatException); the produce scenario asserts that refusal.
Request codes v2.0.0 sends: 10 SEND_MESSAGE (v1 header, also for singles), 320 SEND_BATCH_MESSAGE, 11 PULL_MESSAGE,
14/15 QUERY/UPDATE_CONSUMER_OFFSET (15 oneway), 29 SEARCH_OFFSET_BY_TIMESTAMP, 30 GET_MAX_OFFSET, 34 HEART_BEAT,
36 CONSUMER_SEND_MSG_BACK, 38 GET_CONSUMER_LIST_BY_GROUP, 41/42 LOCK/UNLOCK_BATCH_MQ, 105 GET_ROUTEINFO_BY_TOPIC;
it handles broker->client 40 NOTIFY_CONSUMER_IDS_CHANGED, 39 CHECK_TRANSACTION_STATE, 307 GET_CONSUMER_RUNNING_INFO.
The harness itself also sends 105 and 14 on its own connections (route and committed-offset waits).

Durations against the real broker: ~17 s for all scenarios (orderly ~5 s, retry_dlq ~4 s), plus ~10 s boot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]

HERE = Path(__file__).resolve().parent
GO_DIR = HERE / "go"
BINARY = GO_DIR / ".bin" / "gocheck"
SCENARIOS = ["produce", "clustering", "broadcasting", "tag_filter", "orderly", "retry_dlq", "pull_offset"]
BUILD_TIMEOUT_S = 600


def _go_env(tmp: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false")
    if tmp is not None:
        # broadcasting / pull consumers keep local offset files there (default would be $HOME/.rocketmq_client_go)
        env["rocketmq.client.localOffsetStoreDir"] = str(tmp)
    return env


def _sources_newer_than_binary() -> bool:
    if not BINARY.exists():
        return True
    built = BINARY.stat().st_mtime
    files = [p for p in GO_DIR.iterdir() if p.suffix in (".go", ".s", ".mod", ".sum")]
    return any(f.stat().st_mtime > built for f in files)


@pytest.fixture(scope="session")
def go_binary() -> Path:
    """Build tests/interop/go once (cached in .bin/) unless it is newer than every source; skip without Go."""
    if shutil.which("go") is None:
        pytest.skip("Go interop needs the `go` toolchain on PATH (Go 1.18+; module proxy for the first build)")
    if _sources_newer_than_binary():
        cmd = ["go", "build", "-o", str(BINARY), "."]
        try:
            proc = subprocess.run(cmd, cwd=GO_DIR, env=_go_env(), capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`go build` did not finish in {BUILD_TIMEOUT_S} s")
        if proc.returncode != 0 or not BINARY.exists():
            pytest.fail(f"`go build` failed (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return BINARY


@pytest.fixture
def go_target_addr(interop_namesrv: str) -> str:
    """Nameserver address of the cluster under test (conftest ``interop_namesrv``)."""
    return interop_namesrv


def _listed(binary: Path) -> dict[str, float]:
    """Scenario name -> deadline seconds, from `gocheck --list`."""
    proc = subprocess.run([str(binary), "--list"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        name, secs = line.split()[:2]
        out[name] = float(secs.rstrip("s"))
    return out


def _stderr_digest(text: str, limit: int = 4000) -> str:
    kept = [line for line in text.splitlines() if "] delivery " not in line]
    return "\n".join(kept)[-limit:]


def test_scenario_list_matches_program(go_binary: Path) -> None:
    assert list(_listed(go_binary)) == SCENARIOS


def test_harness_checker_self_test(go_binary: Path) -> None:
    """`go test` of the harness: the ledger flags every kind of alteration, loss, duplicate, stray delivery."""
    proc = subprocess.run(["go", "test", "-count=1", "."], cwd=GO_DIR, env=_go_env(), capture_output=True,
                          text=True, timeout=BUILD_TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_go_client(go_binary: Path, go_target_addr: str, scenario: str, tmp_path: Path) -> None:
    deadline = _listed(go_binary)[scenario]
    cmd = [str(go_binary), "--namesrv", go_target_addr, "--scenario", scenario, "--log-level", "warn"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_go_env(tmp_path), capture_output=True, text=True,
                          timeout=deadline + 60)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = [r for r in lines if r.get("scenario") == scenario]
    assert len(results) == 1, (f"no result line for {scenario} (rc={proc.returncode})\nstdout:\n"
                               f"{proc.stdout[-2000:]}\nstderr:\n{_stderr_digest(proc.stderr)}")
    res = results[0]
    detail = f"{json.dumps(res, indent=1, ensure_ascii=False)}\nstderr:\n{_stderr_digest(proc.stderr)}"
    assert res["ok"] is True, detail
    assert res["lost"] == 0 and res["duplicated"] == 0 and res["altered"] == 0 and res["unexpected"] == 0, detail
    assert res["sent"] > 0 and res["received"] > 0, detail
    assert proc.returncode == 0, detail
