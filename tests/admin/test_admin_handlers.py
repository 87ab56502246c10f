"""Broker admin request codes added for mqadmin (pure handlers over a real small store, no sockets):
UPDATE_BROKER_CONFIG 25, GET_BROKER_CONFIG 26, VIEW_BROKER_STATS_DATA 315, QUERY_CONSUME_QUEUE 321,
GET_PRODUCER_CONNECTION_LIST 204's remark, GET_BROKER_RUNTIME_INFO's disk keys."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broker"))
from broker_harness import Harness  # noqa: E402

from rmqlite.remoting import fastjson  # noqa: E402
from rmqlite.remoting.codes import RequestCode, ResponseCode  # noqa: E402


@pytest.fixture()
def h(tmp_path):
    harness = Harness(str(tmp_path))
    harness.call(RequestCode.UPDATE_AND_CREATE_TOPIC, {"topic": "T", "defaultTopic": "TBW102", "readQueueNums": 2,
                                                       "writeQueueNums": 2, "perm": 6, "topicFilterType": "SINGLE_TAG",
                                                       "topicSysFlag": 0, "order": "false"})
    yield harness
    harness.close()


def test_update_broker_config_applies_and_refuses_bad_values(h) -> None:
    resp = h.call(RequestCode.UPDATE_BROKER_CONFIG, body=b"fileReservedTime=47\n")
    assert resp.code == ResponseCode.SUCCESS and h.state.config.get("fileReservedTime") == 47
    version = h.state.topics.data_version.counter
    assert h.call(RequestCode.UPDATE_BROKER_CONFIG, body=b"brokerPermission=4\n").code == ResponseCode.SUCCESS
    assert h.state.config.brokerPermission == 4 and h.state.topics.data_version.counter == version + 1
    bad = h.call(RequestCode.UPDATE_BROKER_CONFIG, body=b"brokerRole=CAPTAIN\n")
    assert bad.code == ResponseCode.SYSTEM_ERROR and "brokerRole" in bad.remark
    assert h.call(RequestCode.UPDATE_BROKER_CONFIG).code == ResponseCode.SUCCESS      # no body: nothing to do


def test_get_broker_config_omits_nulls_like_java(h) -> None:
    text = h.call(RequestCode.GET_BROKER_CONFIG).body.decode()
    keys = {line.split("=", 1)[0] for line in text.splitlines()}
    assert "brokerName" in keys and "isEnableBatchPush" in keys and "enableBatchPush" not in keys
    assert not keys & {"dLegerPeers", "dLegerGroup", "haMasterAddress", "storePathDLedgerCommitLog"}


def test_view_broker_stats_data_counts_from_the_store(h) -> None:
    for i in range(3):
        assert h.send("T", queue_id=i % 2).code == ResponseCode.SUCCESS
    resp = h.call(RequestCode.VIEW_BROKER_STATS_DATA, {"statsName": "TOPIC_PUT_NUMS", "statsKey": "T"})
    data = fastjson.loads(resp.body)
    assert data["statsMinute"]["sum"] == 3 and data["statsDay"]["sum"] == 3
    assert data["statsMinute"]["tps"] == pytest.approx(3 / 60)
    h.now += 120_000                                                   # two minutes later: out of the minute
    data = fastjson.loads(h.call(RequestCode.VIEW_BROKER_STATS_DATA,
                                 {"statsName": "TOPIC_PUT_NUMS", "statsKey": "T"}).body)
    assert data["statsMinute"]["sum"] == 0 and data["statsHour"]["sum"] == 3
    h.call(RequestCode.UPDATE_CONSUMER_OFFSET, {"consumerGroup": "G", "topic": "T", "queueId": 0, "commitOffset": 1})
    data = fastjson.loads(h.call(RequestCode.VIEW_BROKER_STATS_DATA,
                                 {"statsName": "GROUP_GET_NUMS", "statsKey": "T@G"}).body)
    assert data["statsDay"]["sum"] == 1
    missing = h.call(RequestCode.VIEW_BROKER_STATS_DATA, {"statsName": "TOPIC_PUT_NUMS", "statsKey": "Nope"})
    assert missing.code == ResponseCode.SYSTEM_ERROR and missing.remark == "The stats <TOPIC_PUT_NUMS> <Nope> not exist"


def test_query_consume_queue(h) -> None:
    h.send("T", queue_id=0)
    h.send("T", queue_id=0, props={"TAGS": "A"})
    body = fastjson.loads(h.call(RequestCode.QUERY_CONSUME_QUEUE, {"topic": "T", "queueId": 0, "index": 0,
                                                                   "count": 10}).body)
    assert body["minQueueIndex"] == 0 and body["maxQueueIndex"] == 2 and len(body["queueData"]) == 2
    assert body["queueData"][1]["physicOffset"] > body["queueData"][0]["physicOffset"]
    bad = h.call(RequestCode.QUERY_CONSUME_QUEUE, {"topic": "T", "queueId": 9, "index": 0, "count": 1})
    assert bad.code == ResponseCode.SYSTEM_ERROR and bad.remark == "9@T is not exist!"


def test_producer_connection_remark_and_runtime_disk_keys(h) -> None:
    resp = h.call(RequestCode.GET_PRODUCER_CONNECTION_LIST, {"producerGroup": "PG"})
    assert resp.code == ResponseCode.SYSTEM_ERROR and resp.remark == "the producer group[PG] not exist"
    table = fastjson.loads(h.call(RequestCode.GET_BROKER_RUNTIME_INFO).body)["table"]
    assert 0.0 <= float(table["commitLogDiskRatio"]) <= 1.0
    assert table["commitLogDirCapacity"].startswith("Total : ")
    assert any(k.startswith("commitLogDiskRatio_") for k in table)


def test_update_broker_config_rewrites_the_conf_file_like_java(tmp_path) -> None:
    """Java's Configuration.persist rewrites the -c file with every key; a restart reads the change back."""
    from rmqlite.broker.config import load_broker_config
    from rmqlite.broker.handlers.admin import broker_config_text
    conf = tmp_path / "broker.conf"
    conf.write_text(f"brokerName=broker-x\nstorePathRootDir={tmp_path / 'store'}\nlistenPort=12911\n")
    harness = Harness(str(tmp_path / "store"))
    try:
        harness.state.config = load_broker_config(str(conf))
        resp = harness.call(RequestCode.UPDATE_BROKER_CONFIG, body=b"fileReservedTime=47\nbrokerPermission=4\n")
        assert resp.code == ResponseCode.SUCCESS
        assert conf.read_text() == broker_config_text(harness.state)
        assert (tmp_path / "broker.conf.bak").read_text().startswith("brokerName=broker-x\n")
        again = load_broker_config(str(conf))
        assert (again.get("fileReservedTime"), again.brokerPermission, again.brokerName, again.listenPort) == (
            47, 4, "broker-x", 12911)
        assert again.to_properties() == harness.state.config.to_properties()
    finally:
        harness.close()
