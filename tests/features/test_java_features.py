"""Messaging features with the unmodified Java client 4.9.4 (tests/interop/java, FeatureScenarios and friends).

Each scenario runs against a feature cluster (feat_cluster.FEATURE_CONF: delay table "1s 2s 3s 1s 2s 3s 10s 1s ...",
transactionCheckInterval 2000 / transactionTimeOut 1000 / transactionCheckMax 15, enablePropertyFilter,
traceTopicEnable) in every topology: one broker, and a 3-node DLedger group. The ACL scenario gets its own
cluster with aclEnable=true and ROCKETMQ_HOME/conf/plain_acl.yml (ACL_YML below). Refusal remarks and SQL92
parse errors that the client reports are compared with Java's (rmqlite.broker.acl / sql92 reproduce them and
are themselves checked against Java's code in test_acl.py / test_sql92.py).

RMQLITE_FEATURES_TARGET=real runs the same tests against the real Apache RocketMQ 4.9.4 (single topology).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from feat_cluster import ACL_YML, TARGET, TOPOLOGIES, Cluster, start_cluster
from feat_java import interop_jar

from rmqlite.broker.sql92 import Sql92Error, compile_sql92

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]

DEADLINE_S = 90
SLACK_MS = 250 if TARGET == "real" else 100
TOPOS = ["single"] if TARGET == "real" else TOPOLOGIES

_ACL = "org.apache.rocketmq.acl.common.AclException: "
_V = ", org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:"
_C = ", org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:"


@pytest.fixture(scope="session")
def jar() -> Path:
    try:
        built = interop_jar()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    if built is None:
        pytest.skip("Java feature scenarios need java and mvn")
    return built


@pytest.fixture(scope="module", params=TOPOS)
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    c = start_cluster(tmp_path_factory.mktemp(f"feat-java-{request.param}"), request.param)
    yield c
    c.stop()


@pytest.fixture(scope="module", params=TOPOS)
def acl_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    c = start_cluster(tmp_path_factory.mktemp(f"feat-java-acl-{request.param}"), request.param,
                      {"aclEnable": "true"}, acl_yml=ACL_YML)
    yield c
    c.stop()


def run(jar: Path, cluster: Cluster, scenario: str, **props: Any) -> dict[str, Any]:
    defs = [f"-D{k.replace('_', '.')}={v}" for k, v in props.items()]
    cmd = ["java", "-Xmx512m", "-XX:MaxDirectMemorySize=256m", *defs, "-jar", str(jar), "--namesrv",
           cluster.namesrv_addr, "--scenario", scenario, "--deadline-s", str(DEADLINE_S)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DEADLINE_S + 120)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    res = [x for x in lines if x.get("scenario") == scenario]
    digest = "\n".join(x for x in proc.stderr.splitlines() if not x.lstrip().startswith("at "))[-3000:]
    assert len(res) == 1, f"no result for {scenario} (rc={proc.returncode}):\n{proc.stdout[-2000:]}\n{digest}"
    result = res[0]
    detail = json.dumps(result, indent=1, ensure_ascii=False) + "\nstderr:\n" + digest
    assert result["ok"] is True and proc.returncode == 0, detail
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["altered"] == 0, detail
    assert result["sent"] > 0 and result["received"] > 0, detail
    return result


def test_delay_levels_on_time_exactly_once(jar: Path, cluster: Cluster) -> None:
    res = run(jar, cluster, "feat_delay", rmqlite_delay_slackMs=SLACK_MS)
    assert res["notes"]["maxLateMs"] <= SLACK_MS


def test_retries_use_the_delay_levels(jar: Path, cluster: Cluster) -> None:
    res = run(jar, cluster, "feat_delay_retry", rmqlite_delay_slackMs=SLACK_MS)
    assert res["notes"]["expectedGapsMs"] == [3000, 1000]          # levels 3 and 4 of the feature table


def test_delay_schedule_survives_broker_restart(jar: Path, cluster: Cluster, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    run(jar, cluster, "feat_delay_restart_send", rmqlite_feature_state=state)
    cluster.restart_brokers()
    run(jar, cluster, "feat_delay_restart_recv", rmqlite_feature_state=state, rmqlite_restart_readyAt=cluster.ready_at_ms,
        rmqlite_delay_slackMs=SLACK_MS)


def test_transactions_commit_rollback_and_check_back(jar: Path, cluster: Cluster) -> None:
    res = run(jar, cluster, "feat_transaction", rmqlite_tx_checkIntervalMs=2000)
    assert res["notes"]["checkedMessages"] == 6


def test_transaction_check_back_survives_broker_restart(jar: Path, cluster: Cluster, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    run(jar, cluster, "feat_transaction_restart_send", rmqlite_feature_state=state)
    cluster.restart_brokers()
    run(jar, cluster, "feat_transaction_restart_recv", rmqlite_feature_state=state)


def test_sql92_selectors_and_parse_errors(jar: Path, cluster: Cluster) -> None:
    res = run(jar, cluster, "feat_sql92")
    for bad in ("a > 'x'", "a IS 5"):
        with pytest.raises(Sql92Error) as java_error:
            compile_sql92(bad)
        assert res["notes"][f"bad:{bad}"] == {"code": 23, "remark": java_error.value.java_message}


def test_trace_written_and_queryable_by_msg_id(jar: Path, cluster: Cluster) -> None:
    res = run(jar, cluster, "feat_trace")
    assert res["notes"]["traceTopicQueues"] == 1                   # traceTopicEnable: RMQ_SYS_TRACE_TOPIC, 1 queue


def test_broadcasting_keeps_offsets_in_the_client(jar: Path, cluster: Cluster) -> None:
    run(jar, cluster, "feat_broadcast_offsets")


def test_orderly_order_held_across_rebalance(jar: Path, cluster: Cluster) -> None:
    res = run(jar, cluster, "feat_orderly_rebalance")
    assert res["notes"]["handovers"] > 0


def test_acl_signed_clients_and_refusals(jar: Path, acl_cluster: Cluster) -> None:
    notes = run(jar, acl_cluster, "feat_acl")["notes"]
    assert notes["deniedTopic"] == {"code": 1, "remark": _ACL + "No default permission for topic:AclDeniedTopic" + _C + "610)"}
    assert notes["wrongSecret"] == {"code": 1, "remark": _ACL + "Check signature failed for accessKey=rmqlite_user" + _V + "683)"}
    assert notes["unknownKey"] == {"code": 1, "remark": _ACL + "No acl config for nobody_here" + _V + "667)"}
    assert notes["unsigned"] == {"code": 1, "remark": _ACL + "No accessKey is configured" + _V + "663)"}
    assert notes["nonAdminCreateTopic"] == {
        "code": 1, "remark": _ACL + "Need admin permission for request code=17, but accessKey=rmqlite_user is not" + _C + "580)"}
