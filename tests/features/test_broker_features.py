"""Feature behaviour at the protocol level, on a broker state with a manual clock (feat_state.Broker).

Covers what the real-client tests cannot pin exactly: Java's answers and remarks (CHECK_CLIENT_CONFIG,
FILTER_DATA_NOT_EXIST, ...), due times to the millisecond, exactly-once and restart of the delay schedule, the
check-back service's re-append / TRANSACTION_CHECK_TIMES / discard, queue-lock expiry, and the trace topic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from feat_state import T0, Broker, records, sql_sub

from rmqlite.broker.msgtrace import decode_trace_data, format_trace, trace_views
from rmqlite.broker.schedule import deliver_due
from rmqlite.broker.sql92 import Sql92Error, compile_sql92
from rmqlite.broker.transactions import TRANS_HALF_TOPIC
from rmqlite.common.message import MessageExt, decode_records
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode

LEVELS = "1s 2s 3s 1s 2s 3s 10s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s"


@pytest.fixture
def b(tmp_path: Path):
    broker = Broker(str(tmp_path / "store"), enablePropertyFilter="true", messageDelayLevel=LEVELS,
                    transactionTimeOut=1000, transactionCheckMax=3)
    yield broker
    broker.close()


# ------------------------------------------------------------------------------------------------ SQL92
def _check(b: Broker, expr: str, kind: str = "SQL92"):
    body = json.dumps({"clientId": "c", "group": "g", "subscriptionData": sql_sub("T", expr, kind=kind)}).encode()
    return b.call(RequestCode.CHECK_CLIENT_CONFIG, {}, body)


def test_check_client_config(b: Broker, tmp_path: Path) -> None:
    assert _check(b, "a > 1").code == ResponseCode.SUCCESS
    assert _check(b, "*", kind="TAG").code == ResponseCode.SUCCESS
    r = _check(b, "a > 'x'")
    with pytest.raises(Sql92Error) as java:
        compile_sql92("a > 'x'")
    assert (r.code, r.remark) == (ResponseCode.SUBSCRIPTION_PARSE_FAILED, java.value.java_message)
    off = Broker(str(tmp_path / "off"))
    r = _check(off, "a > 1")
    assert (r.code, r.remark) == (ResponseCode.SYSTEM_ERROR, "The broker does not support consumer to filter message by SQL92")
    off.close()


def test_registered_sql92_subscription_filters_on_properties(b: Broker) -> None:
    for i in range(4):
        b.send("T", props={"a": str(i), "TAGS": "x" if i % 2 else "y"})
    assert b.heartbeat("g", [sql_sub("T", "a > 1 AND TAGS = 'x'")]).code == ResponseCode.SUCCESS
    got = records(b.pull("g", "T"))
    assert [m.properties["a"] for m in got] == ["3"]


def test_bad_registered_expression_is_filter_data_not_exist(b: Broker) -> None:
    b.send("T", props={"a": "1"})
    b.heartbeat("g", [sql_sub("T", "a >")])
    r = b.pull("g", "T")
    assert (r.code, r.remark) == (ResponseCode.FILTER_DATA_NOT_EXIST,
                                  "The broker's consumer filter data is not exist!Your expression may be wrong!")


def test_property_filter_disabled(tmp_path: Path) -> None:
    b = Broker(str(tmp_path / "s"))
    b.send("T", props={"a": "1"})
    b.heartbeat("g", [sql_sub("T", "a > 0")])
    r = b.pull("g", "T")
    assert (r.code, r.remark) == (ResponseCode.SYSTEM_ERROR, "The broker does not support consumer to filter message by SQL92")
    b.close()


def test_pull_carrying_its_subscription(b: Broker) -> None:
    for i in range(3):
        b.send("T", props={"a": str(i)})
    flag = 0x4
    got = records(b.pull("g", "T", sys_flag=flag, subscription="a >= 1", expressionType="SQL92"))
    assert [m.properties["a"] for m in got] == ["1", "2"]
    # Java builds no filter data for an expression that does not compile and lets everything through
    assert len(records(b.pull("g", "T", sys_flag=flag, subscription="a >", expressionType="SQL92"))) == 3
    r = b.pull("g", "T", sys_flag=flag, subscription="", expressionType="SQL92")
    assert (r.code, r.remark) == (ResponseCode.SUBSCRIPTION_PARSE_FAILED, "parse the consumer's subscription failed")


# ------------------------------------------------------------------------------------------------ delay
def test_delay_due_time_is_exact_and_delivery_exactly_once(b: Broker) -> None:
    sent = b.send("T", b"later", props={"DELAY": "2", "KEYS": "k1", "u": "v"})
    assert sent.code == ResponseCode.SUCCESS
    assert b.store.max_offset("SCHEDULE_TOPIC_XXXX", 1) == 1
    assert deliver_due(b.state, T0 + 1999) == 0
    assert b.state.schedule.next_due_ms == T0 + 2000
    assert deliver_due(b.state, T0 + 2000) == 1
    assert deliver_due(b.state, T0 + 5000) == 0 and b.state.schedule.next_due_ms is None
    msg, = records(b.pull("g", "T", sys_flag=0x4, subscription="*"))
    assert (msg.topic, msg.queue_id, msg.body) == ("T", 0, b"later")
    assert msg.properties["REAL_TOPIC"] == "T" and msg.properties["REAL_QID"] == "0"
    assert msg.properties["u"] == "v" and msg.properties["KEYS"] == "k1" and "WAIT" not in msg.properties
    assert msg.born_timestamp == T0


def test_delay_schedule_survives_restart(tmp_path: Path) -> None:
    b = Broker(str(tmp_path / "s"), messageDelayLevel=LEVELS)
    b.send("T", b"one", props={"DELAY": "1"})
    b.now = T0 + 500
    b.send("T", b"two", props={"DELAY": "1"})
    assert deliver_due(b.state, T0 + 1000) == 1
    b = b.restart()
    saved = fastjson.loads((tmp_path / "s" / "config" / "delayOffset.json").read_text())
    assert saved == {"offsetTable": {1: 1}}                 # Java's DelayOffsetSerializeWrapper, unquoted int keys
    assert deliver_due(b.state, T0 + 1400) == 0
    assert deliver_due(b.state, T0 + 1500) == 1
    assert [m.body for m in records(b.pull("g", "T", sys_flag=0x4, subscription="*"))] == [b"one", b"two"]
    b.close()


def test_delay_level_clamped_and_clock_going_back(b: Broker) -> None:
    b.send("T", props={"DELAY": "99"})                       # level 18 (1 s)
    assert b.store.max_offset("SCHEDULE_TOPIC_XXXX", 17) == 1
    assert b.state.schedule.due_at(18, T0 + 10_000, T0) == T0      # due further than one period away: now
    assert deliver_due(b.state, T0 + 1000) == 1


def test_retry_send_back_uses_delay_levels(b: Broker) -> None:
    sent = b.send("T", b"x")
    phys = int(sent.ext_fields["msgId"][-16:], 16)
    r = b.call(RequestCode.CONSUMER_SEND_MSG_BACK, {"offset": phys, "group": "g", "delayLevel": 0})
    assert r.code == ResponseCode.SUCCESS
    assert b.store.max_offset("SCHEDULE_TOPIC_XXXX", 2) == 1     # 3 + reconsumeTimes(0) = level 3 (3 s)
    assert deliver_due(b.state, T0 + 2999) == 0 and deliver_due(b.state, T0 + 3000) == 1


# ------------------------------------------------------------------------------------------------ transactions
def _half(b: Broker, key: str) -> object:
    return b.send("TX", key.encode(), props={"TRAN_MSG": "true", "PGROUP": "pg", "UNIQ_KEY": key}, sys_flag=4)


def _end(b: Broker, table_offset: str, log_offset: str, kind: int) -> object:
    return b.call(RequestCode.END_TRANSACTION, {"producerGroup": "pg", "tranStateTableOffset": table_offset,
                                                "commitLogOffset": log_offset, "commitOrRollback": kind,
                                                "fromTransactionCheck": "false"})


def test_half_messages_invisible_until_commit(b: Broker) -> None:
    one, two = _half(b, "K1"), _half(b, "K2")
    assert b.store.max_offset("TX", 0) == 0 and b.store.max_offset(TRANS_HALF_TOPIC, 0) == 2
    phys = [int(x.ext_fields["msgId"][-16:], 16) for x in (one, two)]
    assert _end(b, one.ext_fields["queueOffset"], str(phys[0]), 8).code == ResponseCode.SUCCESS
    assert _end(b, two.ext_fields["queueOffset"], str(phys[1]), 12).code == ResponseCode.SUCCESS
    assert _end(b, "0", "1", 12).remark == "Find prepared transaction message failed"
    assert _end(b, two.ext_fields["queueOffset"], str(phys[1]), 0) is None      # unknown: no answer (Java: null)
    msg, = records(b.pull("g", "TX", sys_flag=0x4, subscription="*"))
    assert msg.body == b"K1" and msg.sys_flag & 0xC == 0x8 and msg.prepared_transaction_offset == phys[0]


def test_check_back_reappends_and_survives_restart(tmp_path: Path) -> None:
    b = Broker(str(tmp_path / "s"), transactionTimeOut=1000, transactionCheckMax=3)
    b.heartbeat("g", [], producer_group="pg", channel="producer")
    _half(b, "K1")
    reqs = b.state.transactions.step(b.state, T0 + 1001)
    assert [r.command.ext_fields["tranStateTableOffset"] for r in reqs] == ["1"]
    checked, = decode_records(reqs[0].command.body)
    assert checked.properties["TRANSACTION_CHECK_TIMES"] == "1" and checked.topic == "TX"
    b = b.restart()                                          # consumer offsets of CID_RMQ_SYS_TRANS persisted
    b.heartbeat("g", [], producer_group="pg", channel="producer")
    reqs = b.state.transactions.step(b.state, T0 + 2002)
    assert [records_of(r)["TRANSACTION_CHECK_TIMES"] for r in reqs] == ["2"]
    reqs = b.state.transactions.step(b.state, T0 + 3003)
    assert [records_of(r)["TRANSACTION_CHECK_TIMES"] for r in reqs] == ["3"]
    assert b.state.transactions.step(b.state, T0 + 4004) == []        # checked transactionCheckMax times
    assert b.store.max_offset("TRANS_CHECK_MAX_TIME_TOPIC", 0) == 1
    b.close()


def records_of(req: object) -> dict[str, str]:
    return decode_records(req.command.body)[0].properties            # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ orderly locks
def test_queue_lock_expires_after_60_s_and_moves(b: Broker) -> None:
    mq = {"topic": "T", "brokerName": "broker-a", "queueId": 0}

    def lock(client: str) -> list:
        body = json.dumps({"consumerGroup": "g", "clientId": client, "mqSet": [mq]}).encode()
        return json.loads(b.call(RequestCode.LOCK_BATCH_MQ, {}, body).body)["lockOKMQSet"]
    assert lock("A") == [mq] and lock("B") == []
    b.now += 60_000
    assert lock("B") == []                                   # not yet expired (> 60 s needed)
    b.now += 1
    assert lock("B") == [mq] and lock("A") == []


# ------------------------------------------------------------------------------------------------ trace
def test_trace_topic_enable(tmp_path: Path) -> None:
    on = Broker(str(tmp_path / "on"), traceTopicEnable="true")
    cfg = on.state.topics.get("RMQ_SYS_TRACE_TOPIC")
    assert cfg is not None and (cfg.readQueueNums, cfg.writeQueueNums) == (1, 1)
    on.close()
    off = Broker(str(tmp_path / "off"))
    assert off.state.topics.get("RMQ_SYS_TRACE_TOPIC") is None
    off.close()
    custom = Broker(str(tmp_path / "custom"), traceTopicEnable="true", msgTraceTopicName="MyTrace")
    assert custom.state.topics.get("MyTrace") is not None
    custom.close()


def test_trace_data_decoding_and_view() -> None:
    c, f = "\x01", "\x02"
    pub = c.join(["Pub", "1700000000000", "DefaultRegion", "PG", "T", "MID1", "TagA", "k1", "127.0.0.1:10911", "5",
                  "3", "0", "OFFID", "true"])
    before = c.join(["SubBefore", "1700000000100", "DefaultRegion", "CG", "REQ1", "MID1", "0", "k1"])
    after = c.join(["SubAfter", "REQ1", "MID1", "7", "true", "k1", "0", "1700000000200", "CG"])
    ctxs = decode_trace_data(pub + f + before + f + after + f)
    assert [x.trace_type for x in ctxs] == ["Pub", "SubBefore", "SubAfter"]
    assert ctxs[0].beans[0]["offsetMsgId"] == "OFFID" and ctxs[2].group_name == "CG"
    views = trace_views("MID1", [MessageExt(topic="RMQ_SYS_TRACE_TOPIC", body=(pub + f + after).encode(),
                                            born_host=("10.0.0.1", 5555))])
    assert [(v.msg_type, v.group_name, v.status, v.client_host) for v in views] == [
        ("Pub", "PG", "success", "10.0.0.1:5555"), ("SubAfter", "CG", "success", "10.0.0.1:5555")]
    text = format_trace(views)
    assert text.splitlines()[1].split()[:3] == ["Pub", "PG", "10.0.0.1:5555"] and "Sub" in text
