"""Messaging features with the unmodified Go client rocketmq-client-go v2.0.0 (tests/interop/go, scn_features.go).

Same clusters as test_java_features.py (feat_cluster: one broker and a 3-node DLedger group; an ACL cluster with
ACL_YML); the delay table and slack reach the program through RMQLITE_DELAY_LEVELS / RMQLITE_DELAY_SLACK_MS, and
facts the pytest checks (trace message ids, refusal remarks) come back through the file RMQLITE_FEATURE_OUT.
RMQLITE_FEATURES_TARGET=real runs them against the real Apache RocketMQ 4.9.4 (single topology).
feat_orderly_rebalance takes 60-100 s: v2.0.0 never unlocks the queues a rebalance takes from a consumer, so the
second consumer gets them when the broker lock expires (60 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from feat_cluster import (
    ACL_YML,
    FEATURE_CONF,
    TARGET,
    TOPOLOGIES,
    Cluster,
    start_cluster,
)
from feat_query import trace_types

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]

GO_DIR = Path(__file__).resolve().parents[1] / "interop" / "go"
BINARY = GO_DIR / ".bin" / "gocheck"
SLACK_MS = 250 if TARGET == "real" else 100
TOPOS = ["single"] if TARGET == "real" else TOPOLOGIES
_ACL = "org.apache.rocketmq.acl.common.AclException: "


def _go_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false", **(extra or {}))


@pytest.fixture(scope="session")
def gocheck() -> Path:
    if shutil.which("go") is None:
        pytest.skip("Go feature scenarios need the go toolchain")
    built = BINARY.stat().st_mtime if BINARY.exists() else 0
    sources = [p for p in GO_DIR.iterdir() if p.suffix in (".go", ".s", ".mod", ".sum")]
    if any(p.stat().st_mtime > built for p in sources):
        proc = subprocess.run(["go", "build", "-o", str(BINARY), "."], cwd=GO_DIR, env=_go_env(),
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            pytest.fail(f"go build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return BINARY


@pytest.fixture(scope="module", params=TOPOS)
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    c = start_cluster(tmp_path_factory.mktemp(f"feat-go-{request.param}"), request.param)
    yield c
    c.stop()


@pytest.fixture(scope="module", params=TOPOS)
def acl_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    c = start_cluster(tmp_path_factory.mktemp(f"feat-go-acl-{request.param}"), request.param,
                      {"aclEnable": "true"}, acl_yml=ACL_YML)
    yield c
    c.stop()


def run(gocheck: Path, cluster: Cluster, scenario: str, tmp_path: Path) -> Any:
    out = tmp_path / "out.json"
    env = _go_env({"RMQLITE_DELAY_LEVELS": FEATURE_CONF["messageDelayLevel"], "RMQLITE_DELAY_SLACK_MS": str(SLACK_MS),
                   "RMQLITE_FEATURE_OUT": str(out), "rocketmq.client.localOffsetStoreDir": str(tmp_path / "offsets")})
    proc = subprocess.run([str(gocheck), "--namesrv", cluster.namesrv_addr, "--scenario", scenario,
                           "--log-level", "warn"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=300)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    res = [x for x in lines if x.get("scenario") == scenario]
    assert len(res) == 1, f"no result (rc={proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    detail = json.dumps(res[0], indent=1, ensure_ascii=False) + "\n" + proc.stderr[-3000:]
    assert res[0]["ok"] is True and proc.returncode == 0, detail
    assert res[0]["lost"] == 0 and res[0]["duplicated"] == 0 and res[0]["altered"] == 0, detail
    assert res[0]["unexpected"] == 0 and res[0]["sent"] > 0, detail
    return json.loads(out.read_text()) if out.exists() else None


def test_delay_levels(gocheck: Path, cluster: Cluster, tmp_path: Path) -> None:
    run(gocheck, cluster, "feat_delay", tmp_path)


def test_transaction_producer(gocheck: Path, cluster: Cluster, tmp_path: Path) -> None:
    run(gocheck, cluster, "feat_transaction", tmp_path)


def test_sql92_selectors(gocheck: Path, cluster: Cluster, tmp_path: Path) -> None:
    run(gocheck, cluster, "feat_sql92", tmp_path)


def test_trace_queryable_by_msg_id(gocheck: Path, cluster: Cluster, tmp_path: Path) -> None:
    out = run(gocheck, cluster, "feat_trace", tmp_path)
    deadline = time.monotonic() + 30
    found: dict[str, set[str]] = {}
    while time.monotonic() < deadline:
        found = {i: trace_types(cluster.namesrv_addr, i) for i in out["msgIds"]}
        if all({"Pub", "SubBefore", "SubAfter"} <= kinds for kinds in found.values()):
            break
        time.sleep(0.5)
    assert all({"Pub", "SubBefore", "SubAfter"} <= kinds for kinds in found.values()), found


def test_acl_credentials(gocheck: Path, acl_cluster: Cluster, tmp_path: Path) -> None:
    refusals = run(gocheck, acl_cluster, "feat_acl", tmp_path)
    assert refusals["wrongSecret"] == _ACL + "Check signature failed for accessKey=rmqlite_user, " \
        "org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:683)"
    assert refusals["unsigned"] == _ACL + "No accessKey is configured, " \
        "org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:663)"
    assert refusals["deniedTopic"] == _ACL + "No default permission for topic:AclDeniedTopic, " \
        "org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:610)"


def test_retry_uses_the_delay_levels(gocheck: Path, cluster: Cluster, tmp_path: Path) -> None:
    out = run(gocheck, cluster, "feat_retry", tmp_path)
    assert out["expectedGapsMs"] == [3000, 1000]                   # levels 3 and 4 of the feature table


def test_broadcasting_keeps_offsets_in_the_client(gocheck: Path, cluster: Cluster, tmp_path: Path) -> None:
    out = run(gocheck, cluster, "feat_broadcast_offsets", tmp_path)
    assert Path(out["localOffsetFile"]).is_relative_to(tmp_path / "offsets")


def test_orderly_order_held_across_rebalance(gocheck: Path, cluster: Cluster, tmp_path: Path) -> None:
    out = run(gocheck, cluster, "feat_orderly_rebalance", tmp_path)
    assert out["handovers"] > 0
