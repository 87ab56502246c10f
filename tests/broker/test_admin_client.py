"""HEART_BEAT / UNREGISTER_CLIENT / CHECK_CLIENT_CONFIG, admin and query codes, END_TRANSACTION."""

from __future__ import annotations

import json

from broker_harness import records

from rmqlite.common.message import decode_offset_msg_id, encode_properties
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand


def test_heartbeat_creates_group_retry_topic_and_notifies(h) -> None:
    assert h.heartbeat("g", {"T": "*"}).code == ResponseCode.SUCCESS
    assert h.last_ctx.notify_groups == {"g"}
    assert h.state.subscriptions.get("g") is not None
    assert h.state.topics.get("%RETRY%g").readQueueNums == 1
    h.heartbeat("g", {"T": "*"})
    assert h.last_ctx.notify_groups == set()                      # nothing changed
    h.heartbeat("g", {"T": "*"}, channel="chan-2", client_id="c2")
    assert h.last_ctx.notify_groups == {"g"}                      # a new member
    assert h.state.clients.producer_channels("pg")


def test_heartbeat_bad_body(h) -> None:
    r = h.call(RequestCode.HEART_BEAT, {}, b"{oops")
    assert r.code == ResponseCode.SYSTEM_ERROR and "HEART_BEAT" in r.remark
    assert h.call(RequestCode.HEART_BEAT).code == ResponseCode.SYSTEM_ERROR


def test_unregister_client(h) -> None:
    h.heartbeat("g", {"T": "*"}, channel="c1", client_id="id1")
    h.heartbeat("g", {"T": "*"}, channel="c2", client_id="id2")
    r = h.call(RequestCode.UNREGISTER_CLIENT, {"clientID": "id1", "consumerGroup": "g", "producerGroup": "pg"},
               channel="c1")
    assert r.code == ResponseCode.SUCCESS and h.last_ctx.notify_groups == {"g"}
    assert h.state.clients.consumer_group("g").client_ids() == ["id2"]
    assert h.call(RequestCode.UNREGISTER_CLIENT, {}).code == ResponseCode.SYSTEM_ERROR


def test_check_client_config(h) -> None:
    tag = json.dumps({"clientId": "c", "group": "g", "subscriptionData": {"topic": "T", "subString": "*",
                                                                         "expressionType": "TAG"}}).encode()
    assert h.call(RequestCode.CHECK_CLIENT_CONFIG, body=tag).code == ResponseCode.SUCCESS
    sql = tag.replace(b'"TAG"', b'"SQL92"')
    r = h.call(RequestCode.CHECK_CLIENT_CONFIG, body=sql)
    assert r.code == ResponseCode.SYSTEM_ERROR and "SQL92" in r.remark


def test_unknown_code_and_oneway(h) -> None:
    r = h.call(9999)
    assert r.code == ResponseCode.REQUEST_CODE_NOT_SUPPORTED and r.remark == " request type 9999 not supported"
    cmd = RemotingCommand.request(RequestCode.UPDATE_CONSUMER_OFFSET, {"consumerGroup": "g", "topic": "T",
                                                                      "queueId": "0", "commitOffset": "3"}, oneway=True)
    from rmqlite.broker.handlers import dispatch
    assert dispatch(h.state, cmd, h.ctx()) is None
    assert h.state.offsets.query("g", "T", 0) == 3


def test_update_create_delete_topic(h) -> None:
    ext = {"topic": "NEW", "defaultTopic": "TBW102", "readQueueNums": 2, "writeQueueNums": 3, "perm": 6,
           "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": "false"}
    before = h.state.topics.data_version.counter
    assert h.call(RequestCode.UPDATE_AND_CREATE_TOPIC, ext).code == ResponseCode.SUCCESS
    cfg = h.state.topics.get("NEW")
    assert (cfg.readQueueNums, cfg.writeQueueNums) == (2, 3) and h.state.topics.data_version.counter == before + 1
    r = h.call(RequestCode.UPDATE_AND_CREATE_TOPIC, {**ext, "topic": "DefaultCluster"})
    assert r.code == ResponseCode.SYSTEM_ERROR and "conflict with system topic" in r.remark
    assert h.call(RequestCode.UPDATE_AND_CREATE_TOPIC, {**ext, "topic": "a b"}).code == ResponseCode.SYSTEM_ERROR
    r = h.call(RequestCode.UPDATE_AND_CREATE_TOPIC, {"topic": "X"})
    assert r.code == ResponseCode.SYSTEM_ERROR and "readQueueNums" in r.remark
    all_topics = json.loads(h.call(RequestCode.GET_ALL_TOPIC_CONFIG).body)
    assert all_topics["topicConfigTable"]["NEW"]["writeQueueNums"] == 3 and "dataVersion" in all_topics
    h.send("NEW")
    assert h.call(RequestCode.DELETE_TOPIC_IN_BROKER, {"topic": "NEW"}).code == ResponseCode.SUCCESS
    assert h.state.topics.get("NEW") is None and h.store.max_offset("NEW", 0) == 0
    h.state.role = "SLAVE"
    r = h.call(RequestCode.UPDATE_AND_CREATE_TOPIC, ext)
    assert r.code == ResponseCode.SYSTEM_ERROR and "slave" in r.remark


def test_subscription_group_admin(h) -> None:
    body = json.dumps({"groupName": "G2", "retryMaxTimes": 3, "retryQueueNums": 2}).encode()
    assert h.call(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, body=body).code == ResponseCode.SUCCESS
    assert h.state.subscriptions.get("G2").retryMaxTimes == 3
    table = json.loads(h.call(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG).body)["subscriptionGroupTable"]
    assert table["G2"]["retryQueueNums"] == 2
    assert h.call(RequestCode.DELETE_SUBSCRIPTIONGROUP, {"groupName": "G2"}).code == ResponseCode.SUCCESS
    assert h.state.subscriptions.get("G2") is None


def test_runtime_info_and_broker_config(h) -> None:
    h.send("T")
    h.state.stats.sample(h.now)
    table = json.loads(h.call(RequestCode.GET_BROKER_RUNTIME_INFO).body)["table"]
    for key in ("putTps", "getTransferedTps", "brokerVersionDesc", "earliestMessageTimeStamp",
                "commitLogDiskRatio", "sendThreadPoolQueueSize", "pageCacheLockTimeMills"):
        assert isinstance(table[key], str), key
    assert len(table["putTps"].split()) == 3 and table["brokerVersionDesc"] == "V4_9_4"
    assert table["earliestMessageTimeStamp"] == str(h.now)
    float(table["commitLogDiskRatio"])
    r = h.call(RequestCode.GET_BROKER_CONFIG)
    assert b"brokerName=broker-a\n" in r.body and "version" in r.ext_fields


def test_topic_stats_and_consume_stats(h) -> None:
    h.send("T", queue_id=1)
    h.send("T", queue_id=1)
    r = h.call(RequestCode.GET_TOPIC_STATS_INFO, {"topic": "T"})
    table = fastjson.loads(r.body.decode())["offsetTable"]
    key = fastjson.ObjKey.of({"brokerName": "broker-a", "queueId": 1, "topic": "T"})
    assert table[key]["maxOffset"] == 2 and table[key]["lastUpdateTimestamp"] == h.now
    assert h.call(RequestCode.GET_TOPIC_STATS_INFO, {"topic": "NONE"}).code == ResponseCode.TOPIC_NOT_EXIST
    h.state.offsets.commit("g", "T", 1, 1)
    r = h.call(RequestCode.GET_CONSUME_STATS, {"consumerGroup": "g"})
    stats = fastjson.loads(r.body.decode())
    assert stats["offsetTable"][key] == {"brokerOffset": 2, "consumerOffset": 1, "lastTimestamp": h.now}
    assert "consumeTps" in stats


def test_connections_and_consume_by_who(h) -> None:
    r = h.call(RequestCode.GET_CONSUMER_CONNECTION_LIST, {"consumerGroup": "g"})
    assert r.code == ResponseCode.CONSUMER_NOT_ONLINE
    h.heartbeat("g", {"T": "*"}, client_id="c1")
    body = json.loads(h.call(RequestCode.GET_CONSUMER_CONNECTION_LIST, {"consumerGroup": "g"}).body)
    assert body["connectionSet"][0]["clientId"] == "c1" and body["messageModel"] == "CLUSTERING"
    assert body["subscriptionTable"]["T"]["subString"] == "*"
    body = json.loads(h.call(RequestCode.GET_PRODUCER_CONNECTION_LIST, {"producerGroup": "pg"}).body)
    assert body["connectionSet"][0]["clientId"] == "c1"
    h.state.offsets.commit("g2", "T", 0, 1)
    body = json.loads(h.call(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, {"topic": "T"}).body)
    assert body["groupList"] == ["g", "g2"]


def test_view_and_query_message(h) -> None:
    sent = h.send("T", b"body", props={"KEYS": "order-1 other", "UNIQ_KEY": "UNIQ1"})
    phys = decode_offset_msg_id(sent.ext_fields["msgId"])[2]
    msg, = records(h.call(RequestCode.VIEW_MESSAGE_BY_ID, {"offset": phys}))
    assert msg.body == b"body"
    r = h.call(RequestCode.VIEW_MESSAGE_BY_ID, {"offset": 999999})
    assert r.code == ResponseCode.SYSTEM_ERROR and r.remark == "can not find message by the offset, 999999"
    q = {"topic": "T", "key": "order-1", "maxNum": 32, "beginTimestamp": 0, "endTimestamp": h.now + 1}
    r = h.call(RequestCode.QUERY_MESSAGE, q)
    assert r.code == ResponseCode.SUCCESS and [m.body for m in records(r)] == [b"body"]
    assert "indexLastUpdateTimestamp" in r.ext_fields
    r = h.call(RequestCode.QUERY_MESSAGE, {**q, "key": "UNIQ1", "_UNIQUE_KEY_QUERY": "true"})
    assert [m.body for m in records(r)] == [b"body"]
    r = h.call(RequestCode.QUERY_MESSAGE, {**q, "key": "nothing"})
    assert r.code == ResponseCode.QUERY_NOT_FOUND


def test_transaction_commit_and_rollback(h) -> None:
    half = h.send("TX", b"tx-body", props={"TRAN_MSG": "true", "PGROUP": "pg"}, f=4)
    assert half.code == ResponseCode.SUCCESS
    assert h.store.max_offset("RMQ_SYS_TRANS_HALF_TOPIC", 0) == 1 and h.store.max_offset("TX", 0) == 0
    phys = decode_offset_msg_id(half.ext_fields["msgId"])[2]
    end = {"producerGroup": "pg", "tranStateTableOffset": half.ext_fields["queueOffset"], "commitLogOffset": phys,
           "commitOrRollback": 8, "msgId": "x", "fromTransactionCheck": "false"}
    assert h.call(RequestCode.END_TRANSACTION, {**end, "producerGroup": "other"}).remark == "The producer group wrong"
    assert h.call(RequestCode.END_TRANSACTION, {**end, "commitOrRollback": 0}) is None
    r = h.call(RequestCode.END_TRANSACTION, end)
    assert r.code == ResponseCode.SUCCESS
    msg, = records(h.pull("g", "TX", 0, sys_flag=0x4, subscription="*"))
    assert msg.body == b"tx-body" and msg.sys_flag & 0xC == 0x8 and msg.prepared_transaction_offset == phys
    assert h.store.max_offset("RMQ_SYS_TRANS_OP_HALF_TOPIC", 0) == 1
    half2 = h.send("TX", props={"TRAN_MSG": "true", "PGROUP": "pg"}, f=4)
    end2 = {**end, "tranStateTableOffset": half2.ext_fields["queueOffset"],
            "commitLogOffset": decode_offset_msg_id(half2.ext_fields["msgId"])[2], "commitOrRollback": 12}
    assert h.call(RequestCode.END_TRANSACTION, end2).code == ResponseCode.SUCCESS
    assert h.store.max_offset("TX", 0) == 1 and h.store.max_offset("RMQ_SYS_TRANS_OP_HALF_TOPIC", 0) == 2


def test_transaction_check_service(make_harness) -> None:
    """Java 4.9.4 semantics (TransactionalMessageServiceImpl.check): every run checks each timed-out half once,
    re-appending it with TRANSACTION_CHECK_TIMES + 1; the check carries the re-appended copy's offsets."""
    h = make_harness(transactionTimeOut=1000, transactionCheckInterval=500, transactionCheckMax=2)
    h.heartbeat("g", {"T": "*"}, channel="producer-chan")          # registers producer group "pg"
    half = h.send("TX", b"b1", props={"TRAN_MSG": "true", "PGROUP": "pg", "UNIQ_KEY": "UK1"}, f=4)
    h.send("TX", b"b2", props={"TRAN_MSG": "true", "PGROUP": "pg", "UNIQ_KEY": "UK2"}, f=4)
    tx = h.state.transactions
    assert tx.step(h.state, h.now + 999) == []                      # too young
    reqs = tx.step(h.state, h.now + 1001)
    assert [r.channel for r in reqs] == ["producer-chan", "producer-chan"]
    cmd = reqs[0].command
    assert cmd.code == RequestCode.CHECK_TRANSACTION_STATE and cmd.is_oneway
    assert cmd.ext_fields["msgId"] == "UK1" and cmd.ext_fields["tranStateTableOffset"] == "2"   # re-appended copy
    checked, = records(cmd)
    assert checked.topic == "TX" and checked.body == b"b1"
    assert checked.properties["TRANSACTION_CHECK_TIMES"] == "1"
    # the producer commits the first one (offsets of the check)
    end = {"producerGroup": "pg", "tranStateTableOffset": 2, "commitLogOffset": cmd.ext_fields["commitLogOffset"],
           "commitOrRollback": 8, "msgId": "UK1", "fromTransactionCheck": "true"}
    assert h.call(RequestCode.END_TRANSACTION, end).code == ResponseCode.SUCCESS
    reqs = tx.step(h.state, h.now + 1600)                          # UK1 resolved; UK2 checked again
    assert [r.command.ext_fields["msgId"] for r in reqs] == ["UK2"]
    assert records(reqs[0].command)[0].properties["TRANSACTION_CHECK_TIMES"] == "2"
    # the copy just written already has TRANSACTION_CHECK_TIMES == max: the same run discards it (needDiscard
    # comes before the "stored during this run" stop in Java)
    assert h.store.max_offset("TRANS_CHECK_MAX_TIME_TOPIC", 0) == 1
    assert h.state.offsets.query("CID_RMQ_SYS_TRANS", "RMQ_SYS_TRANS_HALF_TOPIC", 0) == 5
    assert tx.step(h.state, h.now + 2200) == []
    assert half.code == ResponseCode.SUCCESS


def test_reset_offset_by_time(h) -> None:
    for _ in range(3):
        h.send("T")
        h.now += 1000
    ext = {"topic": "T", "group": "g", "timestamp": h.now - 2000, "isForce": "true"}
    r = h.call(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, ext)
    assert r.code == ResponseCode.SYSTEM_ERROR and "not exist" in r.remark      # no offsets for g yet
    for qid in range(4):
        h.state.offsets.commit("g", "T", qid, 3 if qid == 0 else 0)
    assert h.call(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, ext).code == ResponseCode.CONSUMER_NOT_ONLINE
    h.heartbeat("g", {"T": "*"}, channel="c1")
    r = h.call(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, ext)
    assert r.code == ResponseCode.SUCCESS
    key = fastjson.ObjKey.of({"brokerName": "broker-a", "queueId": 0, "topic": "T"})
    assert fastjson.loads(r.body.decode())["offsetTable"][key] == 1
    (chan, req), = h.last_ctx.outbox
    assert chan == "c1" and req.code == RequestCode.RESET_CONSUMER_CLIENT_OFFSET and req.is_oneway


def test_send_reply_message(h) -> None:
    from rmqlite.broker.handlers.reply import ReplyPush, finish_reply
    h.heartbeat("g", {"T": "*"}, client_id="requester-1", channel="req-chan")
    ext = {"a": "pg", "b": "DefaultCluster_REPLY_TOPIC", "c": "TBW102", "d": 4, "e": 0, "f": 0, "g": 1, "h": 0,
           "i": encode_properties({"REPLY_TO_CLIENT": "requester-1", "CORRELATION_ID": "c-1", "MSG_TYPE": "reply"})}
    res = h.call(RequestCode.SEND_REPLY_MESSAGE_V2, ext, b"answer")
    assert isinstance(res, ReplyPush) and res.channel == "req-chan"
    assert res.push.code == RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT and res.push.body == b"answer"
    assert "PUSH_REPLY_TIME" in res.push.ext_fields["properties"] and res.push.ext_fields["storeHost"] == "127.0.0.1:10911"
    assert h.store.max_offset("DefaultCluster_REPLY_TOPIC", 0) == 1       # stored too
    cmd = RemotingCommand.request(RequestCode.SEND_REPLY_MESSAGE_V2, {})
    ok = finish_reply(h.state, cmd, res, cmd.response(ResponseCode.SUCCESS))
    assert ok.code == ResponseCode.SUCCESS and ok.ext_fields["msgId"] == "0"
    bad = finish_reply(h.state, cmd, res, TimeoutError("x"))
    assert bad.code == ResponseCode.SYSTEM_ERROR and bad.remark == "push reply message to requester-1fail."
    ext["i"] = encode_properties({"REPLY_TO_CLIENT": "gone"})
    r = h.call(RequestCode.SEND_REPLY_MESSAGE_V2, ext, b"answer")
    assert r.code == ResponseCode.SYSTEM_ERROR and "channel of <gone> not found" in r.remark
