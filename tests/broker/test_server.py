"""Loopback: nameserver + broker in one event loop, driven with RemotingClient."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from rmqlite.broker.config import load_broker_config
from rmqlite.broker.server import Broker
from rmqlite.common.message import decode_records, encode_properties
from rmqlite.namesrv.server import NameServer
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient

pytestmark = pytest.mark.timeout(60)


def send_cmd(topic: str, body: bytes, queue_id: int = 0, **props: str) -> RemotingCommand:
    p = encode_properties({"UNIQ_KEY": "U-" + body.decode(errors="replace"), "WAIT": "true", **props})
    return RemotingCommand.request(RequestCode.SEND_MESSAGE_V2, {
        "a": "pg", "b": topic, "c": "TBW102", "d": "4", "e": str(queue_id), "f": "0", "g": "1", "h": "0", "i": p}, body)


def pull_cmd(group: str, topic: str, offset: int, suspend_ms: int = 15000) -> RemotingCommand:
    return RemotingCommand.request(RequestCode.PULL_MESSAGE, {
        "consumerGroup": group, "topic": topic, "queueId": "0", "queueOffset": str(offset), "maxMsgNums": "32",
        "sysFlag": "3", "commitOffset": "0", "suspendTimeoutMillis": str(suspend_ms), "subVersion": "0"})


def heartbeat_cmd(group: str, topic: str, client_id: str) -> RemotingCommand:
    body = {"clientID": client_id, "producerDataSet": [], "consumerDataSet": [{
        "groupName": group, "consumeType": "CONSUME_PASSIVELY", "messageModel": "CLUSTERING",
        "consumeFromWhere": "CONSUME_FROM_FIRST_OFFSET", "unitMode": False, "subscriptionDataSet": [
            {"classFilterMode": False, "topic": topic, "subString": "*", "tagsSet": [], "codeSet": [],
             "subVersion": 1, "expressionType": "TAG"}]}]}
    return RemotingCommand.request(RequestCode.HEART_BEAT, {}, json.dumps(body).encode())


@pytest.fixture
async def cluster(tmp_path) -> Any:
    ns = NameServer(port=0, kv_config_path=str(tmp_path / "ns" / "kvConfig.json"))
    await ns.start()
    conf = tmp_path / "broker.conf"
    conf.write_text(f"brokerName=broker-t\nlistenPort=0\nstorePathRootDir={tmp_path / 'store'}\n"
                    "mappedFileSizeCommitLog=4194304\nmappedFileSizeConsumeQueue=60000\n"
                    "maxHashSlotNum=1000\nmaxIndexNum=4000\nflushDiskType=SYNC_FLUSH\n")
    cfg = load_broker_config(str(conf), {"namesrvAddr": f"127.0.0.1:{ns.port}"})
    broker = Broker(cfg)
    await broker.start()
    client = RemotingClient()
    yield ns, broker, client
    await client.close()
    await broker.close()
    await ns.close()


async def test_register_send_pull_round_trip(cluster) -> None:
    ns, broker, client = cluster
    addr = f"127.0.0.1:{broker.port}"
    assert broker.ready_line() == (f"The broker[broker-t, 127.0.0.1:{broker.port}] boot success. "
                                   f"serializeType=JSON and name server is 127.0.0.1:{ns.port}")
    ns_addr = f"127.0.0.1:{ns.port}"
    route = await client.invoke(ns_addr, RemotingCommand.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "TBW102"}))
    assert route.code == ResponseCode.SUCCESS and addr.encode() in route.body
    r = await client.invoke(addr, send_cmd("RT", b"one"))
    assert r.code == ResponseCode.SUCCESS, r.remark
    for _ in range(50):                        # auto-created topic is registered at once
        route = await client.invoke(ns_addr, RemotingCommand.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "RT"}))
        if route.code == ResponseCode.SUCCESS:
            break
        await asyncio.sleep(0.05)
    assert route.code == ResponseCode.SUCCESS
    assert (await client.invoke(addr, heartbeat_cmd("g", "RT", "c1"))).code == ResponseCode.SUCCESS
    r = await client.invoke(addr, pull_cmd("g", "RT", 0))
    assert r.code == ResponseCode.SUCCESS and [m.body for m in decode_records(r.body)] == [b"one"]
    # long poll: held, then woken by the next send
    held = asyncio.ensure_future(client.invoke(addr, pull_cmd("g", "RT", 1), timeout_ms=20000))
    await asyncio.sleep(0.2)
    assert not held.done()
    vip = await client.invoke(f"127.0.0.1:{broker.vip_port}", send_cmd("RT", b"two"))
    assert vip.code == ResponseCode.SUCCESS
    r = await asyncio.wait_for(held, 5)
    assert r.code == ResponseCode.SUCCESS and [m.body for m in decode_records(r.body)] == [b"two"]
    assert r.ext_fields["nextBeginOffset"] == "2"


async def test_held_pull_times_out_with_pull_not_found(cluster) -> None:
    _, broker, client = cluster
    addr = f"127.0.0.1:{broker.port}"
    await client.invoke(addr, send_cmd("RT2", b"x"))
    await client.invoke(addr, heartbeat_cmd("g", "RT2", "c1"))
    loop = asyncio.get_running_loop()
    start = loop.time()
    r = await client.invoke(addr, pull_cmd("g", "RT2", 1, suspend_ms=300), timeout_ms=5000)
    assert r.code == ResponseCode.PULL_NOT_FOUND and r.ext_fields["nextBeginOffset"] == "1"
    assert 0.25 <= loop.time() - start < 3


async def test_channel_close_notifies_remaining_consumers(cluster) -> None:
    _, broker, client = cluster
    addr = f"127.0.0.1:{broker.port}"
    notified = asyncio.Event()

    def on_request(cmd: RemotingCommand, conn: Any) -> None:
        if cmd.code == RequestCode.NOTIFY_CONSUMER_IDS_CHANGED and cmd.ext_fields.get("consumerGroup") == "g":
            notified.set()
        return None

    other = RemotingClient(handler=on_request)
    try:
        await other.invoke(addr, heartbeat_cmd("g", "RT3", "c2"))
        await asyncio.sleep(0.05)
        notified.clear()
        await client.invoke(addr, heartbeat_cmd("g", "RT3", "c1"))     # new member -> notify all
        await asyncio.wait_for(notified.wait(), 5)
        notified.clear()
        r = await other.invoke(addr, RemotingCommand.request(RequestCode.GET_CONSUMER_LIST_BY_GROUP,
                                                             {"consumerGroup": "g"}))
        assert sorted(json.loads(r.body)["consumerIdList"]) == ["c1", "c2"]
        client.close_connection(addr)                                   # c1 goes away
        await asyncio.wait_for(notified.wait(), 5)
        r = await other.invoke(addr, RemotingCommand.request(RequestCode.GET_CONSUMER_LIST_BY_GROUP,
                                                             {"consumerGroup": "g"}))
        assert json.loads(r.body)["consumerIdList"] == ["c2"]
    finally:
        await other.close()


async def test_close_unregisters_and_restart_keeps_data(tmp_path) -> None:
    ns = NameServer(port=0, kv_config_path=str(tmp_path / "ns" / "kvConfig.json"))
    await ns.start()
    client = RemotingClient()
    overrides = {"brokerName": "broker-r", "listenPort": 0, "storePathRootDir": str(tmp_path / "store"),
                 "mappedFileSizeCommitLog": 4 << 20, "mappedFileSizeConsumeQueue": 60000, "maxHashSlotNum": 1000,
                 "maxIndexNum": 4000, "namesrvAddr": f"127.0.0.1:{ns.port}"}
    try:
        broker = Broker(load_broker_config(None, overrides))
        await broker.start()
        addr = f"127.0.0.1:{broker.port}"
        assert (await client.invoke(addr, send_cmd("KEEP", b"persisted"))).code == ResponseCode.SUCCESS
        await client.invoke(addr, RemotingCommand.request(RequestCode.UPDATE_CONSUMER_OFFSET, {
            "consumerGroup": "g", "topic": "KEEP", "queueId": "0", "commitOffset": "1"}))
        await broker.close()
        ns_addr = f"127.0.0.1:{ns.port}"
        cluster_info = await client.invoke(ns_addr, RemotingCommand.request(RequestCode.GET_BROKER_CLUSTER_INFO))
        assert b"broker-r" not in (cluster_info.body or b"") or addr.encode() not in cluster_info.body
        broker = Broker(load_broker_config(None, overrides))
        await broker.start()
        addr = f"127.0.0.1:{broker.port}"
        r = await client.invoke(addr, RemotingCommand.request(RequestCode.QUERY_CONSUMER_OFFSET, {
            "consumerGroup": "g", "topic": "KEEP", "queueId": "0"}))
        assert r.ext_fields["offset"] == "1"
        r = await client.invoke(addr, RemotingCommand.request(RequestCode.GET_MAX_OFFSET, {"topic": "KEEP", "queueId": "0"}))
        assert r.ext_fields["offset"] == "1"
        assert broker.state.topics.get("KEEP") is not None
        await broker.close()
    finally:
        await client.close()
        await ns.close()


async def test_consumer_running_info_is_relayed_to_the_client(cluster) -> None:
    _, broker, client = cluster
    addr = f"127.0.0.1:{broker.port}"

    def on_request(cmd: RemotingCommand, conn: Any) -> RemotingCommand | None:
        if cmd.code == RequestCode.GET_CONSUMER_RUNNING_INFO:
            return cmd.response(ResponseCode.SUCCESS, body=b'{"properties":{"k":"v"}}')
        return None

    consumer = RemotingClient(handler=on_request)
    try:
        await consumer.invoke(addr, heartbeat_cmd("g", "RT4", "cid-1"))
        ask = RemotingCommand.request(RequestCode.GET_CONSUMER_RUNNING_INFO,
                                      {"consumerGroup": "g", "clientId": "cid-1", "jstackEnable": "false"})
        r = await client.invoke(addr, ask, timeout_ms=5000)
        assert r.code == ResponseCode.SUCCESS and json.loads(r.body) == {"properties": {"k": "v"}}
        ask = RemotingCommand.request(RequestCode.GET_CONSUMER_RUNNING_INFO,
                                      {"consumerGroup": "g", "clientId": "nobody", "jstackEnable": "false"})
        r = await client.invoke(addr, ask)
        assert r.code == ResponseCode.SYSTEM_ERROR and "not online" in r.remark
    finally:
        await consumer.close()


async def test_port_in_use_fails_cleanly(tmp_path) -> None:
    first = Broker(load_broker_config(None, {"listenPort": 0, "storePathRootDir": str(tmp_path / "s1"),
                                             "mappedFileSizeCommitLog": 1 << 20, "maxHashSlotNum": 100,
                                             "maxIndexNum": 400}))
    await first.start()
    try:
        second = Broker(load_broker_config(None, {"listenPort": first.port, "storePathRootDir": str(tmp_path / "s2"),
                                                  "mappedFileSizeCommitLog": 1 << 20, "maxHashSlotNum": 100,
                                                  "maxIndexNum": 400}))
        with pytest.raises(OSError):
            await second.start()
        await second.close()                     # harmless after a failed start
        assert not second._store.is_open
    finally:
        await first.close()


async def test_reply_message_is_pushed_to_the_requester(cluster) -> None:
    _, broker, client = cluster
    addr = f"127.0.0.1:{broker.port}"
    got: list[RemotingCommand] = []

    def on_request(cmd: RemotingCommand, conn: Any) -> RemotingCommand | None:
        if cmd.code == RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT:
            got.append(cmd)
            return cmd.response(ResponseCode.SUCCESS)
        return None

    requester = RemotingClient(handler=on_request)
    try:
        hb = {"clientID": "req-1", "producerDataSet": [{"groupName": "pg"}], "consumerDataSet": []}
        await requester.invoke(addr, RemotingCommand.request(RequestCode.HEART_BEAT, {}, json.dumps(hb).encode()))
        props = encode_properties({"REPLY_TO_CLIENT": "req-1", "CORRELATION_ID": "c1", "MSG_TYPE": "reply"})
        reply = RemotingCommand.request(RequestCode.SEND_REPLY_MESSAGE_V2, {
            "a": "pg", "b": "DefaultCluster_REPLY_TOPIC", "c": "TBW102", "d": "4", "e": "0", "f": "0", "g": "1",
            "h": "0", "i": props}, b"the answer")
        r = await client.invoke(addr, reply, timeout_ms=5000)
        assert r.code == ResponseCode.SUCCESS, r.remark
        assert len(got) == 1 and got[0].body == b"the answer" and got[0].ext_fields["topic"] == "DefaultCluster_REPLY_TOPIC"
    finally:
        await requester.close()
