"""Nameserver handlers, pure: byte-exact bodies (expected strings captured from a real 4.9.4
namesrv fed the same registrations), codes, remarks, bad input."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from rmqlite.namesrv.bodies import DataVersion, TopicConfig, encode_register_body
from rmqlite.namesrv.config import NamesrvConfig
from rmqlite.namesrv.handlers import HANDLERS, ConnInfo, NamesrvState
from rmqlite.namesrv.kvconfig import KVConfigStore
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import HeaderError

JAVA_ROUTE_STANDARD = (
    b'{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10931"},"brokerName":"broker-b",'
    b'"cluster":"DefaultCluster"},{"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"},'
    b'"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":'
    b'[{"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},'
    b'{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}')
JAVA_ROUTE_COMPACT = (
    b'{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10931"},"brokerName":"broker-b",'
    b'"cluster":"DefaultCluster"},{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},'
    b'"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":'
    b'[{"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},'
    b'{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}')
JAVA_CLUSTER_INFO = (
    b'{"brokerAddrTable":{"broker-b":{"brokerAddrs":{0:"127.0.0.1:10931"},"brokerName":"broker-b",'
    b'"cluster":"DefaultCluster"},"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},'
    b'"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":'
    b'["broker-b","broker-a"]}}')


@pytest.fixture
def state(tmp_path: Path) -> NamesrvState:
    config = NamesrvConfig(str(tmp_path / "kvConfig.json"), str(tmp_path / "namesrv.properties"))
    return NamesrvState(config=config, kv=KVConfigStore(tmp_path / "kvConfig.json"))


def call(state: NamesrvState, code: int, ext: dict[str, str] | None = None,
         body: bytes | None = None, version: int = 401, conn: ConnInfo = ConnInfo(1, "x:1"),
         now: int = 0) -> RemotingCommand:
    cmd = RemotingCommand.request(code, ext, body)
    cmd.version = version
    resp = HANDLERS[code](state, cmd, now, conn)
    assert resp is not None and resp.opaque == cmd.opaque and resp.is_response
    return resp


def register(state: NamesrvState, name: str, addr: str, bid: int, topics: list[TopicConfig],
             compressed: bool = False, crc: int | None = None, conn: int = 1,
             dv: DataVersion = DataVersion(1, 1)) -> RemotingCommand:
    body = encode_register_body(dv, topics, compressed=compressed)
    ext = {"brokerName": name, "brokerAddr": addr, "clusterName": "DefaultCluster",
           "haServerAddr": "127.0.0.1:10912", "brokerId": str(bid),
           "compressed": str(compressed).lower(),
           "bodyCrc32": str(zlib.crc32(body) & 0x7FFFFFFF if crc is None else crc)}
    return call(state, RequestCode.REGISTER_BROKER, ext, body, conn=ConnInfo(conn, "x:1"))


def java_setup(state: NamesrvState, compressed: bool = False) -> None:
    register(state, "broker-a", "127.0.0.1:10911", 0,
             [TopicConfig("TopicTest", 4, 4, 6), TopicConfig("TBW102", 8, 8, 7)], compressed)
    slave = register(state, "broker-a", "127.0.0.1:10921", 1, [TopicConfig("TopicTest", 4, 4, 6)],
                     compressed, conn=2)
    assert slave.ext_fields == {"haServerAddr": "127.0.0.1:10912", "masterAddr": "127.0.0.1:10911"}
    register(state, "broker-b", "127.0.0.1:10931", 0, [TopicConfig("TopicTest", 2, 2, 6)],
             compressed, conn=3)


@pytest.mark.parametrize("compressed", [False, True])
def test_route_and_cluster_bodies_match_java(state: NamesrvState, compressed: bool) -> None:
    java_setup(state, compressed)
    assert call(state, 105, {"topic": "TopicTest"}).body == JAVA_ROUTE_STANDARD
    assert call(state, 105, {"topic": "TopicTest"}, version=317).body == JAVA_ROUTE_COMPACT
    assert call(state, 105, {"topic": "TopicTest", "acceptStandardJsonOnly": "true"},
                version=317).body == JAVA_ROUTE_STANDARD
    assert call(state, 106).body == JAVA_CLUSTER_INFO
    assert call(state, 206).body == b'{"topicList":["TopicTest","TBW102"]}'


def test_topic_not_exist(state: NamesrvState) -> None:
    resp = call(state, 105, {"topic": "Nope"})
    assert resp.code == ResponseCode.TOPIC_NOT_EXIST and resp.body is None
    assert resp.remark == ("No topic route info in name server for the topic: Nope"
                           "\nSee http://rocketmq.apache.org/docs/faq/ for further details.")


def test_register_crc_mismatch_and_bad_bodies_change_nothing(state: NamesrvState) -> None:
    resp = register(state, "a", "127.0.0.1:1", 0, [TopicConfig("T")], crc=12345)
    assert (resp.code, resp.remark) == (ResponseCode.SYSTEM_ERROR, "crc32 not match")
    ext = {"brokerName": "a", "brokerAddr": "127.0.0.1:1", "clusterName": "c",
           "haServerAddr": "h", "brokerId": "0"}
    for body, compressed in ((b"{not json", "false"), (b"[1,2]", "false"),
                             (b"garbage", "true"), (zlib.compress(b"\x00\x00"), "true")):
        resp = call(state, 103, dict(ext, compressed=compressed), body)
        assert resp.code == ResponseCode.SYSTEM_ERROR
        assert resp.remark and resp.remark.startswith("Failed to decode RegisterBrokerBody")
    assert state.routes.broker_addr_table == {}
    with pytest.raises(HeaderError):
        call(state, 103, {"brokerName": "a"})


def test_register_without_body_and_old_version(state: NamesrvState) -> None:
    ext = {"brokerName": "a", "brokerAddr": "127.0.0.1:1", "clusterName": "c",
           "haServerAddr": "h", "brokerId": "0"}
    assert call(state, 103, ext).code == ResponseCode.SUCCESS
    assert state.routes.query_data_version("127.0.0.1:1") == DataVersion(0, 0)
    wrapper = (b'{"dataVersion":{"counter":2,"timestamp":3},"topicConfigTable":{"Old":'
               b'{"perm":6,"readQueueNums":2,"topicName":"Old","writeQueueNums":2}}}')
    assert call(state, 103, ext, wrapper, version=36).code == ResponseCode.SUCCESS
    assert state.routes.topic_queue_table["Old"]["a"].read_queue_nums == 2


def test_register_answers_order_topic_kv_list(state: NamesrvState) -> None:
    call(state, 100, {"namespace": "ORDER_TOPIC_CONFIG", "key": "T", "value": "broker-a:4"})
    resp = register(state, "broker-a", "127.0.0.1:10911", 0, [TopicConfig("T", 4, 4, 6)])
    assert resp.body == b'{"table":{"T":"broker-a:4"}}'
    assert b"orderTopicConf" not in call(state, 105, {"topic": "T"}).body  # type: ignore[operator]
    call(state, 318, body=b"orderMessageEnable=true\n")
    assert call(state, 105, {"topic": "T"}, version=317).body == (
        b'{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a",'
        b'"cluster":"DefaultCluster"}],"filterServerTable":{},"orderTopicConf":"broker-a:4",'
        b'"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,'
        b'"writeQueueNums":4}]}')


def test_kv_handlers(state: NamesrvState) -> None:
    ns = {"namespace": "NS"}
    assert call(state, 100, dict(ns, key="k1", value="v1")).code == ResponseCode.SUCCESS
    assert state.kv.dirty
    assert call(state, 101, dict(ns, key="k1")).ext_fields == {"value": "v1"}
    missing = call(state, 101, dict(ns, key="zz"))
    assert (missing.code, missing.remark) == (ResponseCode.QUERY_NOT_FOUND,
                                              "No config item, Namespace: NS Key: zz")
    assert call(state, 219, ns).body == b'{"table":{"k1":"v1"}}'
    no_ns = call(state, 219, {"namespace": "Other"})
    assert (no_ns.code, no_ns.remark) == (ResponseCode.QUERY_NOT_FOUND,
                                          "No config item, Namespace: Other")
    assert call(state, 102, dict(ns, key="k1")).code == ResponseCode.SUCCESS
    assert call(state, 219, ns).body == b'{"table":{}}'
    bad = call(state, 100, {"key": "k"})
    assert (bad.code, bad.remark) == (ResponseCode.SYSTEM_ERROR, "namespace or key is null")


def test_query_data_version(state: NamesrvState) -> None:
    register(state, "a", "127.0.0.1:1", 0, [], dv=DataVersion(10, 3))
    ext = {"brokerName": "a", "brokerAddr": "127.0.0.1:1", "clusterName": "c", "brokerId": "0"}
    same = call(state, 322, ext, b'{"counter":3,"timestamp":10}', now=99)
    assert same.ext_fields == {"changed": "false"}
    assert same.body == b'{"counter":3,"timestamp":10}'
    assert state.routes.broker_live_table["127.0.0.1:1"].last_update_ms == 99
    assert call(state, 322, ext, b'{"counter":4,"timestamp":10}').ext_fields == {"changed": "true"}
    assert call(state, 322, ext).code == ResponseCode.SYSTEM_ERROR


def test_perm_delete_and_lists(state: NamesrvState) -> None:
    java_setup(state)
    assert call(state, 205, {"brokerName": "broker-a"}).ext_fields == {"wipeTopicCount": "2"}
    assert call(state, 327, {"brokerName": "broker-a"}).ext_fields == {"addTopicCount": "2"}
    assert call(state, 224, {"cluster": "DefaultCluster"}).body == (
        b'{"topicList":["TopicTest","TBW102"]}')
    assert call(state, 304).body == (
        b'{"brokerAddr":"127.0.0.1:10931","topicList":["broker-b","broker-a","DefaultCluster"]}')
    assert call(state, 216, {"topic": "TBW102"}).code == ResponseCode.SUCCESS
    assert call(state, 206).body == b'{"topicList":["TopicTest"]}'
    assert call(state, 104, {"brokerName": "broker-b", "brokerAddr": "127.0.0.1:10931",
                             "clusterName": "DefaultCluster", "brokerId": "0"}).code == 0
    assert b"broker-b" not in call(state, 106).body  # type: ignore[operator]


def test_namesrv_config_get_and_update(state: NamesrvState) -> None:
    text = call(state, 319).body.decode()  # type: ignore[union-attr]
    lines = dict(line.split("=", 1) for line in text.splitlines())
    assert lines["listenPort"] == "9876" and lines["orderMessageEnable"] == "false"
    assert "rocketmqHome" not in lines and text.endswith("\n")
    assert call(state, 318, body=b"# c\norderMessageEnable = true\nlistenPort=x\nnew=1\n").code == 0
    assert state.config.order_message_enable and state.config.values["listenPort"] == 9876
    assert "new" not in state.config.values and state.config.dirty
    refused = call(state, 318, body=b"kvConfigPath=/etc/passwd\n")
    assert (refused.code, refused.remark) == (ResponseCode.NO_PERMISSION,
                                              "Can not update config path")
