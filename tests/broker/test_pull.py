"""PULL_MESSAGE on pure state: subscriptions, status mapping, long-poll holds, offset commit."""

from __future__ import annotations

import json

from broker_harness import records

from rmqlite.broker.long_poll import Hold
from rmqlite.remoting.codes import ResponseCode

PULL_EXT = ("suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset")


def assert_pull_ext(r) -> None:
    for key in PULL_EXT:
        assert key in r.ext_fields, key
        int(r.ext_fields[key])


def test_pull_found_with_heartbeat_subscription(h) -> None:
    for i in range(3):
        h.send("T", b"m%d" % i)
    assert h.heartbeat("g", {"T": "*"}).code == ResponseCode.SUCCESS
    r = h.pull("g", "T", 0, sys_flag=0x3, commit_offset=0)
    assert r.code == ResponseCode.SUCCESS and r.remark == "FOUND"
    assert_pull_ext(r)
    assert r.ext_fields["nextBeginOffset"] == "3" and r.ext_fields["maxOffset"] == "3"
    assert [m.body for m in records(r)] == [b"m0", b"m1", b"m2"]
    assert [m.queue_offset for m in records(r)] == [0, 1, 2]


def test_subscription_not_exist_before_heartbeat(h) -> None:
    h.send("T")
    r = h.pull("g", "T", 0)
    assert r.code == ResponseCode.SUBSCRIPTION_NOT_EXIST
    h.heartbeat("g", {"OTHER": "*"})
    r = h.pull("g", "T", 0)
    assert r.code == ResponseCode.SUBSCRIPTION_NOT_EXIST


def test_subscription_not_latest(h) -> None:
    h.send("T")
    h.heartbeat("g", {"T": "*"}, sub_version=5)
    assert h.pull("g", "T", 0, subVersion=6).code == ResponseCode.SUBSCRIPTION_NOT_LATEST
    assert h.pull("g", "T", 0, subVersion=5).code == ResponseCode.SUCCESS


def test_subscription_in_request_and_tag_filter(h) -> None:
    h.send("T", b"a", props={"TAGS": "A"})
    h.send("T", b"b", props={"TAGS": "B"})
    h.send("T", b"a2", props={"TAGS": "A"})
    r = h.pull("g", "T", 0, sys_flag=0x4, subscription="A")
    assert [m.body for m in records(r)] == [b"a", b"a2"] and r.ext_fields["nextBeginOffset"] == "3"
    r = h.pull("g", "T", 1, sys_flag=0x4, subscription="C")
    assert r.code == ResponseCode.PULL_RETRY_IMMEDIATELY and r.ext_fields["nextBeginOffset"] == "3"
    assert_pull_ext(r)
    r = h.pull("g", "T", 0, sys_flag=0x4, subscription="a || ", expressionType="SQL92")
    assert r.code == ResponseCode.SYSTEM_ERROR


def test_status_mapping(h) -> None:
    h.heartbeat("g", {"T": "*", "E": "*"})
    h.send("T")
    h.send("E")              # creates E; queue 1 stays empty
    r = h.pull("g", "E", 0, queue_id=1, sys_flag=0)
    assert r.code == ResponseCode.PULL_NOT_FOUND and r.ext_fields["nextBeginOffset"] == "0"
    r = h.pull("g", "E", 5, queue_id=1, sys_flag=0)
    assert r.code == ResponseCode.PULL_OFFSET_MOVED and r.ext_fields["nextBeginOffset"] == "0"
    r = h.pull("g", "T", 1, sys_flag=0)
    assert r.code == ResponseCode.PULL_NOT_FOUND and r.remark == "OFFSET_OVERFLOW_ONE"
    assert r.ext_fields["nextBeginOffset"] == "1"
    r = h.pull("g", "T", 9, sys_flag=0)
    assert r.code == ResponseCode.PULL_OFFSET_MOVED and r.ext_fields["nextBeginOffset"] == "1"
    assert_pull_ext(r)
    # an OffsetMovedEvent was stored
    assert h.store.max_offset("OFFSET_MOVED_EVENT", 0) >= 1
    ev, = records(h.call(11, {"consumerGroup": "x", "topic": "OFFSET_MOVED_EVENT", "queueId": 0,
                              "queueOffset": 0, "maxMsgNums": 1, "sysFlag": 4, "commitOffset": 0,
                              "suspendTimeoutMillis": 0, "subVersion": 0, "subscription": "*"}))
    event = json.loads(ev.body)
    assert event["consumerGroup"] == "g" and event["offsetRequest"] in (5, 9)


def test_bad_queue_and_unknown_topic(h) -> None:
    h.heartbeat("g", {"T": "*"})
    h.send("T")
    r = h.pull("g", "T", 0, queue_id=4)
    assert r.code == ResponseCode.SYSTEM_ERROR and "queueId[4] is illegal" in r.remark
    r = h.pull("g", "NOPE", 0)
    assert r.code == ResponseCode.TOPIC_NOT_EXIST
    r = h.call(11, {"consumerGroup": "g", "topic": "T"})
    assert r.code == ResponseCode.SYSTEM_ERROR and "queueId" in r.remark


def test_hold_when_nothing_new_and_commit_once(h) -> None:
    h.heartbeat("g", {"T": "*"})
    h.send("T")
    res = h.pull("g", "T", 1, sys_flag=0x3, commit_offset=1)
    assert isinstance(res, Hold)
    assert (res.topic, res.queue_id, res.offset, res.deadline_ms) == ("T", 0, 1, h.now + 15000)
    assert h.state.offsets.query("g", "T", 0) == 1                 # first run commits
    rerun = h.pull("g", "T", 1, sys_flag=0x3, commit_offset=7, first_run=False)
    assert rerun.code == ResponseCode.PULL_NOT_FOUND             # re-run: never held again
    assert h.state.offsets.query("g", "T", 0) == 1                 # ... and never commits
    h.send("T", b"new")
    r = h.pull("g", "T", 1, sys_flag=0x3, first_run=False)
    assert r.code == ResponseCode.SUCCESS and [m.body for m in records(r)] == [b"new"]


def test_no_hold_without_suspend_flag_and_short_polling(make_harness) -> None:
    h = make_harness(longPollingEnable=False)
    h.heartbeat("g", {"T": "*"})
    h.send("T")
    assert h.pull("g", "T", 1, sys_flag=0).code == ResponseCode.PULL_NOT_FOUND
    hold = h.pull("g", "T", 1, sys_flag=0x2)
    assert isinstance(hold, Hold) and hold.deadline_ms == h.now + 1000


def test_slave_answers_retry_immediately(h) -> None:
    h.heartbeat("g", {"T": "*"})
    h.send("T")
    h.state.role = "SLAVE"
    r = h.pull("g", "T", 0)
    assert r.code == ResponseCode.PULL_RETRY_IMMEDIATELY and r.ext_fields["suggestWhichBrokerId"] == "0"


def test_group_not_exist_without_auto_create(make_harness) -> None:
    h = make_harness(autoCreateSubscriptionGroup=False)
    h.send("T")
    r = h.pull("g", "T", 0, sys_flag=0x4, subscription="*")
    assert r.code == ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST
