"""Pure tables: topics, subscription groups, offsets, clients, locks, filters, holds, stats."""

from __future__ import annotations

import json

from rmqlite.broker.clients import ClientChannelInfo, ClientRegistry, ConsumerData, parse_heartbeat
from rmqlite.broker.config import BrokerConfig
from rmqlite.broker.filters import SubscriptionData, build_subscription, tag_filter
from rmqlite.broker.locks import LockTable, MessageQueue
from rmqlite.broker.long_poll import Hold, HoldTable
from rmqlite.broker.offsets import ConsumerOffsetTable
from rmqlite.broker.stats import BrokerStats
from rmqlite.broker.subscriptions import SubscriptionTable
from rmqlite.broker.topics import PERM_INHERIT, TopicTable, validate_topic
from rmqlite.common.message import java_string_hash


def test_builtin_topics() -> None:
    t = TopicTable(BrokerConfig(brokerClusterName="C", brokerName="B"), 1)
    assert t.get("TBW102").perm == 7 and t.get("TBW102").writeQueueNums == 8
    assert t.get("SCHEDULE_TOPIC_XXXX").readQueueNums == 18
    assert t.get("C").perm == 7 and t.get("B").perm == 7 and t.get("B").readQueueNums == 1
    assert t.get("BenchmarkTest").readQueueNums == 1024
    assert t.get("C_REPLY_TOPIC") and t.get("OFFSET_MOVED_EVENT") and t.get("SELF_TEST_TOPIC")
    assert t.get("RMQ_SYS_TRACE_TOPIC") is None
    assert t.is_system("C") and t.is_system("rmq_sys_x") and not t.is_system("T")
    no_auto = TopicTable(BrokerConfig(autoCreateTopicEnable=False, traceTopicEnable=True), 1)
    assert no_auto.get("TBW102") is None and no_auto.get("RMQ_SYS_TRACE_TOPIC")


def test_auto_create_from_template_and_persist(tmp_path) -> None:
    path = str(tmp_path / "topics.json")
    t = TopicTable(BrokerConfig(), 1, path)
    cfg = t.create_in_send("T", "TBW102", 4, 0, 50)
    assert (cfg.readQueueNums, cfg.writeQueueNums, cfg.perm) == (4, 4, 6)
    assert t.data_version.counter == 1 and t.data_version.timestamp == 50
    assert t.create_in_send("T2", "NOPE", 4, 0, 60) is None
    assert t.create_in_send("T3", "T", 4, 0, 60) is None        # no PERM_INHERIT on T
    text = open(path).read()
    assert '"topicConfigTable"' in text and '\t' in text
    again = TopicTable(BrokerConfig(), 2, path)
    again.load()
    assert again.get("T").writeQueueNums == 4 and again.data_version.counter == 1
    retry = t.create_in_send_back("%RETRY%g", 1, 6, 0, 70)
    assert retry.readQueueNums == 1 and t.data_version.counter == 2
    assert t.delete("T", 80) and not t.delete("T", 81)
    assert t.get("TBW102").perm & PERM_INHERIT


def test_validate_topic() -> None:
    assert validate_topic("Ok_topic-1%|x") is None
    assert "blank" in validate_topic(" ")
    assert "illegal characters" in validate_topic("a b")
    assert "max length" in validate_topic("a" * 128)


def test_subscription_groups_auto_create(tmp_path) -> None:
    path = str(tmp_path / "subscriptionGroup.json")
    s = SubscriptionTable(BrokerConfig(), 1, path)
    assert s.get("TOOLS_CONSUMER") is not None
    g = s.find("g1", 5)
    assert g.retryQueueNums == 1 and g.retryMaxTimes == 16 and s.data_version.counter == 1
    s2 = SubscriptionTable(BrokerConfig(), 1, path)
    s2.load()
    assert s2.get("g1").groupName == "g1"
    off = SubscriptionTable(BrokerConfig(autoCreateSubscriptionGroup=False), 1)
    assert off.find("g1", 5) is None and off.find("CID_RMQ_SYS_X", 5) is not None


def test_offsets_file_uses_unquoted_int_keys(tmp_path) -> None:
    path = str(tmp_path / "consumerOffset.json")
    o = ConsumerOffsetTable(path)
    o.commit("g", "T", 0, 12)
    o.commit("g", "T", 1, 7)
    assert o.query("g", "T", 0) == 12 and o.query("g", "T", 5) == -1
    o.persist()
    text = open(path).read()
    assert "0:12" in text.replace(" ", "").replace("\t", "").replace("\n", "")
    o2 = ConsumerOffsetTable(path)
    o2.load()
    assert o2.queue_offsets("g", "T") == {0: 12, 1: 7}
    assert o2.topics_of_group("g") == {"T"} and o2.groups_of_topic("T") == {"g"}


def test_filters() -> None:
    sub = build_subscription("T", "a || b ||  ", None, 3)
    assert sub.tagsSet == ["a", "b"] and sub.codeSet == [java_string_hash("a"), java_string_hash("b")]
    assert sub.matches_tags_code(java_string_hash("a")) and not sub.matches_tags_code(java_string_hash("c"))
    assert sub.matches_tags_code(None)
    assert build_subscription("T", "*").subString == "*" and tag_filter(build_subscription("T", "")) is None
    f = tag_filter(sub)
    assert f(java_string_hash("b")) and not f(java_string_hash("zz"))
    assert f(java_string_hash("a") & 0xFFFFFFFF)      # unsigned CQ value matches the signed hash
    go = SubscriptionData.from_json({"topic": "T", "subString": "a", "codeSet": [str(java_string_hash("a"))],
                                     "tagsSet": ["a"], "subVersion": "17"})
    assert go.codeSet == [java_string_hash("a")] and go.subVersion == 17


def _info(chan: str, client: str, now: int) -> ClientChannelInfo:
    return ClientChannelInfo(chan, client, "JAVA", 401, "127.0.0.1:1", now)


def test_client_registry_change_detection_and_expiry() -> None:
    reg = ClientRegistry()
    data = ConsumerData("g", subscriptionDataSet=[SubscriptionData("T", subVersion=1)])
    assert reg.register_consumer(data, _info("c1", "id1", 0))          # new channel
    assert not reg.register_consumer(data, _info("c1", "id1", 10))     # same again
    newer = ConsumerData("g", subscriptionDataSet=[SubscriptionData("T", subString="a", subVersion=2)])
    assert not reg.register_consumer(newer, _info("c1", "id1", 11))    # newer version: silent replace
    assert reg.find_subscription("g", "T").subString == "a"
    two = ConsumerData("g", subscriptionDataSet=[SubscriptionData("T", subVersion=2), SubscriptionData("U")])
    assert reg.register_consumer(two, _info("c1", "id1", 12))          # topic added
    assert reg.register_consumer(two, _info("c2", "id2", 12))          # second member
    assert sorted(reg.consumer_group("g").client_ids()) == ["id1", "id2"]
    assert reg.groups_consuming("U") == {"g"}
    assert reg.channel_closed("c2") == ["g"]
    assert reg.consumer_group("g").client_ids() == ["id1"]
    reg.register_producer("pg", _info("c1", "id1", 12))
    assert reg.expire(200_000) == ["c1"]
    assert reg.consumer_group("g") is None and reg.producer_channels("pg") == []


def test_parse_heartbeat_variants() -> None:
    java = {"clientID": "ip@1", "producerDataSet": [{"groupName": "P"}], "consumerDataSet": [{
        "groupName": "G", "consumeType": "CONSUME_ACTIVELY", "messageModel": "BROADCASTING",
        "consumeFromWhere": "CONSUME_FROM_TIMESTAMP", "unitMode": False,
        "subscriptionDataSet": [{"topic": "T", "subString": "*", "subVersion": 5}]}]}
    hb = parse_heartbeat(json.dumps(java).encode())
    c = hb.consumers[0]
    assert hb.clientID == "ip@1" and hb.producer_groups == ["P"]
    assert (c.consumeType, c.messageModel, c.consumeFromWhere) == (
        "CONSUME_ACTIVELY", "BROADCASTING", "CONSUME_FROM_TIMESTAMP")
    cpp = {"clientID": "ip@2", "consumerDataSet": [{"groupName": "G", "consumeType": 1, "messageModel": 1,
                                                   "consumeFromWhere": 4, "subscriptionDataSet": [
                                                       {"topic": "T", "subString": "a", "tagsSet": ["a"],
                                                        "subVersion": "123"}]}]}
    c = parse_heartbeat(json.dumps(cpp).encode()).consumers[0]
    assert (c.consumeType, c.messageModel, c.consumeFromWhere) == (
        "CONSUME_PASSIVELY", "CLUSTERING", "CONSUME_FROM_FIRST_OFFSET")
    assert c.subscriptionDataSet[0].subVersion == 123
    assert c.subscriptionDataSet[0].codeSet == [java_string_hash("a")]


def test_locks_expire_after_60s() -> None:
    locks = LockTable()
    mq = MessageQueue("T", "b", 0)
    assert locks.try_lock_batch("g", [mq], "c1", 0) == [mq]
    assert locks.try_lock_batch("g", [mq], "c2", 30_000) == []
    assert locks.try_lock_batch("g", [mq], "c1", 50_000) == [mq]      # renew
    assert locks.try_lock_batch("g", [mq], "c2", 100_000) == []
    assert locks.try_lock_batch("g", [mq], "c2", 110_001) == [mq]     # expired -> taken over
    locks.unlock_batch("g", [mq], "c1")                               # not the holder: no-op
    assert locks.is_locked("g", mq, "c2", 110_002)
    locks.unlock_batch("g", [mq], "c2")
    assert not locks.is_locked("g", mq, "c2", 110_003)


def test_hold_table() -> None:
    holds = HoldTable()
    a = Hold(None, "c1", "T", 0, 5, 1000)
    b = Hold(None, "c2", "T", 0, 7, 2000)
    holds.add(a)
    holds.add(b)
    assert holds.wake("T", 0, 6) == [a] and len(holds) == 1
    assert holds.wake("T", 1, 100) == []
    assert holds.next_deadline() == 2000
    assert holds.expire(1999) == [] and holds.expire(2000) == [b] and len(holds) == 0
    holds.add(a)
    assert holds.drop_channel("c1") == [a] and len(holds) == 0


def test_stats_tps_text() -> None:
    s = BrokerStats(boot_ms=0)
    s.sample(0)
    s.on_put(10, 1000)
    s.sample(1000)
    info = s.runtime_info(1000)
    assert info["putTps"].split()[0] == "10.0"
    assert len(info["getTransferedTps"].split()) == 3
    assert info["msgPutTotalTodayNow"] == "10"
