"""Delay levels and ACL with a third client: the Node.js client ali-ons 3.12.0 (tests/interop/node/interop.js).

The issue asks that a client that is neither Java nor Go sees delay and ACL behave as Apache RocketMQ does. This
module proves it by a differential run: the same interop.js scenarios, against rmqlite (one broker and a 3-node
DLedger group) and, with RMQLITE_FEATURES_TARGET=real or RMQLITE_INTEROP_TARGET=real, against the REAL Apache
RocketMQ 4.9.4 (single broker). The assertions below hold the real broker's answers. So a pass on both targets
means they match.

How it works:
1. Clusters come from feat_cluster.start_cluster, with feat_cluster.FEATURE_CONF: messageDelayLevel
   "1s 2s 3s 1s 2s 3s 10s 1s ...". The ACL cluster adds aclEnable=true and ROCKETMQ_HOME/conf/plain_acl.yml =
   feat_cluster.ACL_YML: an admin account, and a user with PUB|SUB by default and AclDeniedTopic=DENY.
2. `delay` is run once per cluster (module fixture). Its result feeds two tests. One covers timing and
   exactly-once delivery. The other covers what the broker puts into a delivered delayed message.
3. `acl` uses ali-ons' own signature (HmacSHA1 over the sorted header values + AccessKey + OnsChannel, then the
   body). The broker's answers (code, remark) to each refused request are compared with Java's.
4. Skips, with the reason, without node/npm (or without java/mvn for the real target).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import feat_cluster
import pytest
from feat_cluster import ACL_YML, FEATURE_CONF, TOPOLOGIES, Cluster, start_cluster

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]

REAL = feat_cluster.TARGET == "real" or os.environ.get("RMQLITE_INTEROP_TARGET", "").lower() == "real"
TOPOS = ["single"] if REAL else TOPOLOGIES
NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"
SCENARIO_TIMEOUT_MS = 90_000
SLACK_MS = 250                 # broker store time of a delivered message: at most this after due (both targets)
ARRIVAL_SLACK_MS = 1000        # arrival at the ali-ons handler: at most this after due
MAX_LEVEL = len(FEATURE_CONF["messageDelayLevel"].split())

_ACL = "org.apache.rocketmq.acl.common.AclException: "
_V = ", org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:"
_C = ", org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:"
#: what the REAL Apache RocketMQ 4.9.4 answered to ali-ons (SYSTEM_ERROR = 1, Java's remark)
REAL_REFUSALS = {
    "wrongSecret": (310, _ACL + "Check signature failed for accessKey=rmqlite_user" + _V + "683)"),
    "deniedTopic": (310, _ACL + "No default permission for topic:AclDeniedTopic" + _C + "610)"),
    "unsigned": (310, _ACL + "No accessKey is configured" + _V + "663)"),
    "unknownKey": (310, _ACL + "No acl config for nobody_here" + _V + "667)"),
    "userCreateTopic": (17, _ACL + "Need admin permission for request code=17, but accessKey=rmqlite_user is not"
                        + _C + "580)"),
}


@pytest.fixture(scope="session")
def node_project() -> Path:
    """The npm project with ali-ons installed (same `npm ci` stamp as test_node_client.py); skip without node/npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are required for the ali-ons feature tests (not found on PATH)")
    proc = subprocess.run([node, "--version"], check=False, capture_output=True, text=True, timeout=30)
    version = proc.stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 16:
        pytest.skip(f"node >= 16 required for the ali-ons feature tests, found {version}")
    if REAL and (shutil.which("java") is None or shutil.which("mvn") is None):
        pytest.skip("the real RocketMQ 4.9.4 target needs java and mvn")
    stamp = NODE_DIR / "node_modules" / ".rmqlite-npm-ci"
    digest = hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()
    installed = (NODE_DIR / "node_modules" / "ali-ons" / "package.json").exists()
    if installed and stamp.exists() and stamp.read_text().strip() == digest:
        return NODE_DIR
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=NODE_DIR,
                          check=False, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"`npm ci` failed in {NODE_DIR} (registry unreachable and no npm cache?):\n{proc.stderr[-2000:]}")
    stamp.write_text(digest + "\n")
    return NODE_DIR


def _start(work: Path, topology: str, conf: dict[str, str] | None = None, acl_yml: str | None = None) -> Cluster:
    """feat_cluster.start_cluster, on the real broker when RMQLITE_INTEROP_TARGET=real is set as well."""
    saved = feat_cluster.TARGET
    feat_cluster.TARGET = "real" if REAL else saved
    try:
        return start_cluster(work, topology, conf, acl_yml=acl_yml)
    finally:
        feat_cluster.TARGET = saved


@pytest.fixture(scope="module", params=TOPOS)
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, node_project: Path):
    c = _start(tmp_path_factory.mktemp(f"feat-node-{request.param}"), request.param)
    yield c
    c.stop()


@pytest.fixture(scope="module", params=TOPOS)
def acl_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, node_project: Path):
    c = _start(tmp_path_factory.mktemp(f"feat-node-acl-{request.param}"), request.param, {"aclEnable": "true"},
               acl_yml=ACL_YML)
    yield c
    c.stop()


def run(project: Path, cluster: Cluster, scenario: str, *extra: str) -> dict[str, Any]:
    """One interop.js scenario; returns its JSON line after the common exactly-once checks."""
    cmd = ["node", "interop.js", "--namesrv", cluster.namesrv_addr, "--scenario", scenario,
           "--timeout-ms", str(SCENARIO_TIMEOUT_MS), *extra]
    proc = subprocess.run(cmd, cwd=project, check=False, capture_output=True, text=True,
                          timeout=SCENARIO_TIMEOUT_MS / 1000 + 60)
    results = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    diag = f"rc={proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert len(results) == 1 and results[0]["scenario"] == scenario, diag
    result = results[0]
    print(f"[{cluster.target}/{cluster.topology}] {json.dumps(result, ensure_ascii=False)}")   # shown with -s
    assert result["ok"] is True and result["error"] is None and proc.returncode == 0, diag
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["altered"] == 0, diag
    assert result["unexpected"] == 0 and result["sent"] > 0 and result["received"] == result["expected"], diag
    return result


@pytest.fixture(scope="module")
def delay_result(node_project: Path, cluster: Cluster) -> dict[str, Any]:
    return run(node_project, cluster, "delay", "--delay-levels", FEATURE_CONF["messageDelayLevel"],
               "--delay-slack-ms", str(SLACK_MS), "--arrival-slack-ms", str(ARRIVAL_SLACK_MS))


def test_delay_levels_on_time_exactly_once(delay_result: dict[str, Any]) -> None:
    """Levels 0, 1, 2, 3, 4, 18 and 20 (clamped to 18): each arrives once, never early, within the slack."""
    res = delay_result
    assert res["sent"] == 9 and res["received"] == 9, res
    assert res["max_store_late_ms"] <= SLACK_MS and res["max_arrival_late_ms"] <= ARRIVAL_SLACK_MS, res
    table = [int(x[:-1]) * 1000 for x in FEATURE_CONF["messageDelayLevel"].split()]
    for o in res["observed"]:
        level = o["level"]
        assert o["delay_ms"] == (table[min(level, MAX_LEVEL) - 1] if level else 0), o
        if level == 0:      # not scheduled: stored as sent, DELAY "0" kept, same msgId
            assert (o["DELAY"], o["REAL_TOPIC"], o["REAL_QID"], o["new_msg_id"]) == ("0", None, None, False), o
        else:               # a new record in the real topic, REAL_TOPIC / REAL_QID kept, as 4.9.4 does
            assert (o["REAL_TOPIC"], o["REAL_QID"], o["new_msg_id"]) == ("<topic>", "<queueId>", True), o
        assert o["WAIT"] is None, o
        keys = set(o["property_keys"].split(",")) - {"DELAY"}   # DELAY: see the next test
        system = {"CLUSTER", "KEYS", "MAX_OFFSET", "MIN_OFFSET", "TAGS"}
        system |= {"REAL_QID", "REAL_TOPIC"} if level else set()
        assert keys == system | {"level", "nid", "uni"}, o


def test_delivered_delayed_message_keeps_delay_property(delay_result: dict[str, Any]) -> None:
    """Real 4.9.4: a delivered delayed message still carries DELAY = the (clamped) level in its properties."""
    got = {o["level"]: o["DELAY"] for o in delay_result["observed"] if o["level"] > 0}
    assert got == {lv: str(min(lv, MAX_LEVEL)) for lv in got}, got


def test_acl_signed_by_ali_ons_and_refusals(node_project: Path, acl_cluster: Cluster) -> None:
    """ali-ons' signature is accepted; wrong secret, DENY topic, unsigned, unknown key, non-admin are refused."""
    res = run(node_project, acl_cluster, "acl")
    assert res["received"] == 8, res          # (a) the user produced and consumed on a permitted topic
    observed = res["observed"]
    assert set(observed) == set(REAL_REFUSALS), observed
    for case, (request, remark) in REAL_REFUSALS.items():
        got = observed[case]
        assert (got["request"], got["code"], got["remark"]) == (request, 1, remark), (case, got)
        if request == 310:                    # ali-ons swallows code 1 and reports a generic failure
            assert got["sent"] is None and got["error"].startswith("Error: Send [1] times, still failed"), got
    label_remark = {("userCreate" if k == "userCreateTopic" else k): r for k, (_, r) in REAL_REFUSALS.items()}
    seen = {(r["who"], r["request"]) for r in res["refusals"]}
    assert {("wrongSecret", 310), ("deniedTopic", 310), ("unsigned", 310), ("unknownKey", 310),
            ("userCreate", 17)} <= seen, res["refusals"]
    for r in res["refusals"]:   # nothing else; a bad account's UNREGISTER_CLIENT (35) on close is refused too
        assert r["code"] == 1 and r["remark"] == label_remark.get(r["who"]), r
        assert r["request"] in (310, 17, 35, 34), r
