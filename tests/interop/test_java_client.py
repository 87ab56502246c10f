"""Interop: the unmodified Apache RocketMQ Java client 4.9.4 against a cluster (rmqlite, or the real thing).

The program lives in tests/interop/java (Maven; built once per session, rebuilt only when its sources change) and
prints one JSON line per scenario: {"scenario","sent","received","lost","duplicated","altered","unexpected","ok",
"error","seconds","notes"}. One pytest test per scenario.

Target cluster (fixture `java_target_addr`):
  * default: the `namesrv_addr` fixture of tests/interop/conftest.py (rmqlite namesrv + broker subprocesses);
  * RMQLITE_INTEROP_TARGET=real: the REAL Apache RocketMQ 4.9.4 (tests/interop/real_rocketmq.py; jars from Maven
    Central, cached in ~/.cache/rmqlite) - the differential baseline;
  * RMQLITE_INTEROP_NAMESRV=host:port: any already running cluster.

BROKER CONFIGURATION THE SCENARIOS NEED (put the same into rmqlite's test broker.conf):
  * brokerIP1=127.0.0.1 (clients connect to what the route says), brokerClusterName=DefaultCluster, one master.
  * messageDelayLevel: the DEFAULT table "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".
    retry_dlq sets ConsumeConcurrentlyContext.setDelayLevelWhenNextConsume(1) and `delay` sends with
    setDelayTimeLevel(1), so only level 1 = 1 s is exercised; no custom table needed.
  * maxMessageSize=4194304 (default). size_limits reads it with GET_BROKER_CONFIG and checks: body of exactly
    maxMessageSize (uncompressed) accepted, body of maxMessageSize+1 rejected by the BROKER with code 13
    MESSAGE_ILLEGAL (4.9.4 limits the stored body, not the whole record).
  * autoCreateSubscriptionGroup=true (default): groups are never created explicitly. Topics are created with
    UPDATE_AND_CREATE_TOPIC (DefaultMQAdminExt.createAndUpdateTopicConfig, perm 6); autoCreateTopicEnable unused.
  * %DLQ% topics must get a READABLE route (4.9.4 creates them with perm 6) so the DLQ can be pulled.
Request codes the program uses: 17 UPDATE_AND_CREATE_TOPIC, 26 GET_BROKER_CONFIG, 105 GET_ROUTEINFO_BY_TOPIC,
106 GET_BROKER_CLUSTER_INFO, 310/320 SEND_MESSAGE_V2/SEND_BATCH_MESSAGE, 11 PULL_MESSAGE, 34 HEART_BEAT,
35 UNREGISTER_CLIENT, 38 GET_CONSUMER_LIST_BY_GROUP, 14/15 QUERY/UPDATE_CONSUMER_OFFSET, 36 CONSUMER_SEND_MSG_BACK,
41/42 LOCK/UNLOCK_BATCH_MQ, 29 SEARCH_OFFSET_BY_TIMESTAMP, 30/31 GET_MAX/MIN_OFFSET, 33 VIEW_MESSAGE_BY_ID,
and the broker -> client NOTIFY_CONSUMER_IDS_CHANGED (40) for fast rebalance.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
JAVA_DIR = HERE / "java"
JAR = JAVA_DIR / "target" / "rmqlite-interop.jar"
SCENARIOS = ["produce", "size_limits", "clustering", "broadcasting", "tag_filter", "orderly", "retry_dlq", "delay",
             "pull_seek"]
SCENARIO_DEADLINE_S = 60
BUILD_TIMEOUT_S = 600
# Same delay table as conftest.INTEROP_BROKER_CONF, so real and rmqlite runs are configured alike (the scenarios
# only use level 1, which is 1 s in both this and the default table).


def _sources_newer_than_jar() -> bool:
    if not JAR.exists() or not (JAR.parent / "lib").is_dir():
        return True
    jar_mtime = JAR.stat().st_mtime
    files = [JAVA_DIR / "pom.xml", *(JAVA_DIR / "src").rglob("*")]
    return any(f.is_file() and f.stat().st_mtime > jar_mtime for f in files)


@pytest.fixture(scope="session")
def java_jar() -> Path:
    """Build tests/interop/java once (mvn package) unless the jar is newer than every source; skip without tools."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            pytest.skip(f"Java interop needs `{tool}` on PATH (JDK 11+ and Maven 3)")
    if _sources_newer_than_jar():
        try:
            proc = subprocess.run(["mvn", "-B", "-q", "package"], cwd=JAVA_DIR, capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"mvn package did not finish in {BUILD_TIMEOUT_S} s")
        if proc.returncode != 0 or not JAR.exists():
            pytest.fail(f"mvn package failed (rc={proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return JAR


@pytest.fixture
def java_target_addr(interop_namesrv: str) -> str:
    """namesrv address of the cluster under test (conftest ``interop_namesrv``: rmqlite, real, or explicit)."""
    return interop_namesrv


def run_program(jar: Path, namesrv: str, scenario: str) -> tuple[list[dict], subprocess.CompletedProcess]:
    """Run the Java program for one scenario (or "all"); return parsed JSON lines and the process result."""
    cmd = ["java", "-Xmx512m", "-XX:MaxDirectMemorySize=256m", "-jar", str(jar), "--namesrv", namesrv,
           "--scenario", scenario, "--deadline-s", str(SCENARIO_DEADLINE_S)]
    n = len(SCENARIOS) if scenario == "all" else scenario.count(",") + 1
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=n * (SCENARIO_DEADLINE_S + 30) + 30)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return lines, proc


def _stderr_digest(text: str, limit: int = 3000) -> str:
    """Log lines without stack frames, last `limit` chars."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("at ")]
    return "\n".join(kept)[-limit:]


def test_scenario_list_matches_program(java_jar: Path) -> None:
    proc = subprocess.run(["java", "-jar", str(java_jar), "--list"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_java_client(java_jar: Path, java_target_addr: str, scenario: str) -> None:
    lines, proc = run_program(java_jar, java_target_addr, scenario)
    results = [r for r in lines if r.get("scenario") == scenario]
    assert len(results) == 1, (f"no result line for {scenario} (rc={proc.returncode})\nstdout:\n{proc.stdout[-2000:]}"
                               f"\nstderr:\n{_stderr_digest(proc.stderr)}")
    res = results[0]
    detail = f"{json.dumps(res, indent=1)}\nstderr:\n{_stderr_digest(proc.stderr)}"
    assert res["ok"] is True, detail
    assert res["lost"] == 0 and res["duplicated"] == 0 and res["altered"] == 0, detail
    assert res["sent"] > 0 and res["received"] > 0, detail
    assert proc.returncode == 0, detail
