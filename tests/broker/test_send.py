"""SEND_MESSAGE / SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE on pure state."""

from __future__ import annotations

from broker_harness import records

from rmqlite.common.message import BatchItem, decode_offset_msg_id, encode_batch_body, encode_properties
from rmqlite.remoting.codes import RequestCode, ResponseCode


def test_send_v2_auto_creates_topic_and_answers_ids(h) -> None:
    r = h.send("T1", b"hello", props={"TAGS": "a", "KEYS": "k1"})
    assert r.code == ResponseCode.SUCCESS, r.remark
    assert h.last_ctx.wrote and h.last_ctx.wait_flush
    assert r.ext_fields["MSG_REGION"] == "DefaultRegion" and r.ext_fields["TRACE_ON"] == "true"
    assert r.ext_fields["queueId"] == "0" and r.ext_fields["queueOffset"] == "0"
    host, port, offset = decode_offset_msg_id(r.ext_fields["msgId"])
    assert (host, port, offset) == ("127.0.0.1", 10911, 0)
    topic = h.state.topics.get("T1")
    assert (topic.readQueueNums, topic.writeQueueNums, topic.perm) == (4, 4, 6)
    msg, = records(h.call(RequestCode.VIEW_MESSAGE_BY_ID, {"offset": 0}))
    assert msg.body == b"hello" and msg.properties["CLUSTER"] == "DefaultCluster"
    assert "WAIT" not in msg.properties and msg.properties["TAGS"] == "a"
    assert msg.store_host == ("127.0.0.1", 10911) and msg.born_host == ("127.0.0.1", 40000)


def test_send_v1_header_and_negative_queue(h) -> None:
    r = h.send("T2", code=RequestCode.SEND_MESSAGE, queue_id=-1)
    assert r.code == ResponseCode.SUCCESS, r.remark
    assert 0 <= int(r.ext_fields["queueId"]) < 4


def test_send_wait_false_needs_no_flush(h) -> None:
    h.send("T1", props={"WAIT": "false"})
    assert h.last_ctx.wrote and not h.last_ctx.wait_flush


def test_unknown_topic_without_auto_create(make_harness) -> None:
    h = make_harness(autoCreateTopicEnable=False)
    r = h.send("NOPE")
    assert r.code == ResponseCode.TOPIC_NOT_EXIST and "not exist" in r.remark
    assert r.ext_fields["MSG_REGION"] == "DefaultRegion"


def test_bad_topic_names_and_forbidden_topics(h) -> None:
    r = h.send("bad topic")
    assert r.code == ResponseCode.SYSTEM_ERROR and "illegal characters" in r.remark
    r = h.send("SCHEDULE_TOPIC_XXXX")
    assert r.code == ResponseCode.NO_PERMISSION and "forbidden" in r.remark


def test_bad_queue_id(h) -> None:
    h.send("T1")
    r = h.send("T1", queue_id=4)
    assert r.code == ResponseCode.SYSTEM_ERROR and "queueId[4] is illegal" in r.remark


def test_missing_header_field_is_named(h) -> None:
    r = h.call(RequestCode.SEND_MESSAGE_V2, {"a": "pg", "b": "T", "c": "TBW102", "d": 4, "e": 0, "f": 0, "g": 1})
    assert r.code == ResponseCode.SYSTEM_ERROR and "'h'" in r.remark
    r = h.call(RequestCode.SEND_MESSAGE, {"producerGroup": "pg", "topic": "T", "defaultTopic": "TBW102",
                                          "defaultTopicQueueNums": 4, "queueId": "x", "sysFlag": 0,
                                          "bornTimestamp": 1, "flag": 0})
    assert r.code == ResponseCode.SYSTEM_ERROR and "queueId" in r.remark


def test_body_too_large_is_message_illegal(make_harness) -> None:
    h = make_harness(maxMessageSize=1024)
    r = h.send("T1", b"x" * 1025)
    assert r.code == ResponseCode.MESSAGE_ILLEGAL and "msg body length limit 1024B" in r.remark
    r = h.send("T1", b"x" * 1000, props={"big": "y" * 40000})
    assert r.code == ResponseCode.MESSAGE_ILLEGAL and "properties" in r.remark


def test_retry_topic_over_max_goes_to_dlq(h) -> None:
    r = h.send("%RETRY%g1", props={"RECONSUME_TIME": "16"}, j=16)
    assert r.code == ResponseCode.SUCCESS, r.remark
    assert h.state.topics.get("%DLQ%g1").writeQueueNums == 1
    assert h.store.max_offset("%DLQ%g1", 0) == 1 and h.store.max_offset("%RETRY%g1", 0) == 0
    r = h.send("%RETRY%g1", j=2, l=3)                       # header maxReconsumeTimes honoured (v >= 121)
    assert r.code == ResponseCode.SUCCESS and h.store.max_offset("%RETRY%g1", 0) == 1
    r = h.send("%RETRY%g1", j=3, l=3)
    assert h.store.max_offset("%DLQ%g1", 0) == 2


def test_batch_decided_by_flag_not_code(h) -> None:
    items = [BatchItem(0, b"m%d" % i, encode_properties({"UNIQ_KEY": f"u{i}", "TAGS": "t"})) for i in range(3)]
    body = encode_batch_body(items)
    r = h.call(RequestCode.SEND_MESSAGE_V2, {"a": "pg", "b": "TB", "c": "TBW102", "d": 4, "e": 1, "f": 0, "g": 1,
                                             "h": 0, "i": encode_properties({"WAIT": "true"}), "m": "true"}, body)
    assert r.code == ResponseCode.SUCCESS, r.remark
    assert len(r.ext_fields["msgId"].split(",")) == 3 and r.ext_fields["queueOffset"] == "0"
    assert h.store.max_offset("TB", 1) == 3
    r = h.call(RequestCode.SEND_BATCH_MESSAGE, {"a": "pg", "b": "TB", "c": "TBW102", "d": 4, "e": 1, "f": 0,
                                                "g": 1, "h": 0, "m": "true"}, body)
    assert r.code == ResponseCode.SUCCESS and r.ext_fields["queueOffset"] == "3"


def test_batch_rejects_delay(h) -> None:
    body = encode_batch_body([BatchItem(0, b"m", encode_properties({"DELAY": "2"}))])
    r = h.call(RequestCode.SEND_BATCH_MESSAGE, {"a": "pg", "b": "TB", "c": "TBW102", "d": 4, "e": 0, "f": 0,
                                                "g": 1, "h": 0, "m": "true"}, body)
    assert r.code == ResponseCode.MESSAGE_ILLEGAL


def test_slave_refuses_writes(h) -> None:
    h.state.role = "SLAVE"
    r = h.send("T1")
    assert r.code == ResponseCode.SERVICE_NOT_AVAILABLE


def test_delayed_send_goes_to_schedule_topic(h) -> None:
    r = h.send("TD", props={"DELAY": "3"})
    assert r.code == ResponseCode.SUCCESS
    assert h.store.max_offset("SCHEDULE_TOPIC_XXXX", 2) == 1 and h.store.max_offset("TD", 0) == 0
