"""Consumer offsets, membership, offset lookups, send-back (retry/DLQ + delayed delivery), locks."""

from __future__ import annotations

import json

from broker_harness import records

from rmqlite.broker.schedule import deliver_due
from rmqlite.common.message import decode_offset_msg_id
from rmqlite.remoting.codes import RequestCode, ResponseCode


def phys_of(resp) -> int:
    return decode_offset_msg_id(resp.ext_fields["msgId"])[2]


def test_update_and_query_consumer_offset(h) -> None:
    h.send("T")
    q = {"consumerGroup": "g", "topic": "T", "queueId": 0}
    r = h.call(RequestCode.QUERY_CONSUMER_OFFSET, q)
    assert r.code == ResponseCode.SUCCESS and r.ext_fields["offset"] == "0"    # min 0, in memory
    assert h.call(RequestCode.UPDATE_CONSUMER_OFFSET, {**q, "commitOffset": 1}).code == ResponseCode.SUCCESS
    assert h.call(RequestCode.QUERY_CONSUMER_OFFSET, q).ext_fields["offset"] == "1"
    assert h.call(RequestCode.QUERY_CONSUMER_OFFSET, {"consumerGroup": "g", "topic": "T"}).code == \
        ResponseCode.SYSTEM_ERROR


def test_query_offset_not_found_when_first_message_is_on_disk(h) -> None:
    h.send("T")
    h.send("T")
    h.state.memory_bytes = 0
    r = h.call(RequestCode.QUERY_CONSUMER_OFFSET, {"consumerGroup": "g", "topic": "T", "queueId": 0})
    assert r.code == ResponseCode.QUERY_NOT_FOUND and "maybe this group consumer boot first" in r.remark
    r = h.call(RequestCode.QUERY_CONSUMER_OFFSET, {"consumerGroup": "g", "topic": "T", "queueId": 1})
    assert r.code == ResponseCode.SUCCESS and r.ext_fields["offset"] == "0"     # empty queue


def test_consumer_list_by_group(h) -> None:
    r = h.call(RequestCode.GET_CONSUMER_LIST_BY_GROUP, {"consumerGroup": "g"})
    assert r.code == ResponseCode.SYSTEM_ERROR and r.remark == "no consumer for this group, g"
    h.heartbeat("g", {"T": "*"}, client_id="c1", channel="ch1")
    h.heartbeat("g", {"T": "*"}, client_id="c2", channel="ch2")
    r = h.call(RequestCode.GET_CONSUMER_LIST_BY_GROUP, {"consumerGroup": "g"})
    assert sorted(json.loads(r.body)["consumerIdList"]) == ["c1", "c2"]


def test_offset_lookups(h) -> None:
    for i in range(3):
        h.send("T")
        h.now += 1000
    q = {"topic": "T", "queueId": 0}
    assert h.call(RequestCode.GET_MAX_OFFSET, q).ext_fields["offset"] == "3"
    assert h.call(RequestCode.GET_MIN_OFFSET, q).ext_fields["offset"] == "0"
    t0 = h.now - 3000
    assert h.call(RequestCode.GET_EARLIEST_MSG_STORETIME, q).ext_fields["timestamp"] == str(t0)
    r = h.call(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, {**q, "timestamp": t0 + 1000})
    assert r.ext_fields["offset"] == "1"
    assert h.call(RequestCode.GET_MAX_OFFSET, {"topic": "NONE", "queueId": 0}).ext_fields["offset"] == "0"
    assert h.call(RequestCode.GET_MAX_OFFSET, {"topic": "T"}).code == ResponseCode.SYSTEM_ERROR


def test_send_back_goes_to_retry_after_delay(h) -> None:
    sent = h.send("T", b"payload", props={"TAGS": "x"})
    r = h.call(RequestCode.CONSUMER_SEND_MSG_BACK, {"offset": phys_of(sent), "group": "g", "delayLevel": 0,
                                                   "originMsgId": "X", "maxReconsumeTimes": 16})
    assert r.code == ResponseCode.SUCCESS, r.remark
    assert h.state.topics.get("%RETRY%g").readQueueNums == 1
    assert h.store.max_offset("SCHEDULE_TOPIC_XXXX", 2) == 1          # level 3 = 10 s
    assert deliver_due(h.state, h.now + 9_999) == 0
    assert deliver_due(h.state, h.now + 10_000) == 1
    assert h.state.schedule.offsets == {3: 1}
    msg, = records(h.pull("g", "%RETRY%g", 0, sys_flag=0x4, subscription="*"))
    assert msg.body == b"payload" and msg.reconsume_times == 1
    assert msg.properties["RETRY_TOPIC"] == "T" and msg.properties["REAL_TOPIC"] == "%RETRY%g"
    assert msg.properties["ORIGIN_MESSAGE_ID"] == sent.ext_fields["msgId"]
    assert msg.properties["TAGS"] == "x"   # DELAY stays in the text, as in Java 4.9.4
    # second failure: reconsumeTimes 1 -> level 4, RETRY_TOPIC kept
    r = h.call(RequestCode.CONSUMER_SEND_MSG_BACK, {"offset": msg.commit_log_offset, "group": "g", "delayLevel": 0})
    assert r.code == ResponseCode.SUCCESS and h.store.max_offset("SCHEDULE_TOPIC_XXXX", 3) == 1


def test_send_back_to_dlq(h) -> None:
    sent = h.send("T", j=16)
    r = h.call(RequestCode.CONSUMER_SEND_MSG_BACK, {"offset": phys_of(sent), "group": "g", "delayLevel": 0})
    assert r.code == ResponseCode.SUCCESS and h.store.max_offset("%DLQ%g", 0) == 1
    sent = h.send("T")
    h.call(RequestCode.CONSUMER_SEND_MSG_BACK, {"offset": phys_of(sent), "group": "g", "delayLevel": -1})
    assert h.store.max_offset("%DLQ%g", 0) == 2
    sent = h.send("T", j=1)
    h.call(RequestCode.CONSUMER_SEND_MSG_BACK, {"offset": phys_of(sent), "group": "g", "delayLevel": 0,
                                               "maxReconsumeTimes": 1})
    assert h.store.max_offset("%DLQ%g", 0) == 3
    dlq, = records(h.pull("g", "%DLQ%g", 0, sys_flag=0x4, subscription="*", max_nums=1))
    assert dlq.properties["RETRY_TOPIC"] == "T" and dlq.reconsume_times == 17


def test_send_back_bad_offset(h) -> None:
    r = h.call(RequestCode.CONSUMER_SEND_MSG_BACK, {"offset": 123456, "group": "g", "delayLevel": 0})
    assert r.code == ResponseCode.SYSTEM_ERROR and r.remark == "look message by offset failed, 123456"


def test_lock_and_unlock_batch(h) -> None:
    mqs = [{"brokerName": "broker-a", "queueId": i, "topic": "T"} for i in range(2)]
    body = json.dumps({"consumerGroup": "g", "clientId": "c1", "mqSet": mqs}).encode()
    r = h.call(RequestCode.LOCK_BATCH_MQ, body=body)
    assert r.code == ResponseCode.SUCCESS and len(json.loads(r.body)["lockOKMQSet"]) == 2
    other = json.dumps({"consumerGroup": "g", "clientId": "c2", "mqSet": mqs}).encode()
    assert json.loads(h.call(RequestCode.LOCK_BATCH_MQ, body=other).body)["lockOKMQSet"] == []
    assert h.call(RequestCode.UNLOCK_BATCH_MQ, body=body).code == ResponseCode.SUCCESS
    assert len(json.loads(h.call(RequestCode.LOCK_BATCH_MQ, body=other).body)["lockOKMQSet"]) == 2
    r = h.call(RequestCode.LOCK_BATCH_MQ, body=b"not json")
    assert r.code == ResponseCode.SYSTEM_ERROR and "LOCK_BATCH_MQ" in r.remark
