"""NameServer over loopback TCP: registration, route, connection close, expiry, persistence."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rmqlite.namesrv.bodies import DataVersion, TopicConfig, encode_register_body
from rmqlite.namesrv.server import NameServer
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient

BROKER = "127.0.0.1:10911"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def namesrv(tmp_path: Path, clock: FakeClock) -> AsyncIterator[NameServer]:
    ns = NameServer(port=0, kv_config_path=str(tmp_path / "kvConfig.json"),
                    scan_interval_ms=3_600_000, clock=clock)
    await ns.start()
    try:
        yield ns
    finally:
        await ns.close()


def register_cmd(topics: list[str]) -> RemotingCommand:
    body = encode_register_body(DataVersion(1, 1), [TopicConfig(t, 4, 4, 6) for t in topics])
    return RemotingCommand.request(RequestCode.REGISTER_BROKER, {
        "brokerName": "broker-a", "brokerAddr": BROKER, "clusterName": "DefaultCluster",
        "haServerAddr": "127.0.0.1:10912", "brokerId": "0", "compressed": "false",
        "bodyCrc32": str(zlib.crc32(body) & 0x7FFFFFFF)}, body)


async def route(client: RemotingClient, addr: str, topic: str) -> RemotingCommand:
    return await client.invoke(addr, RemotingCommand.request(
        RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": topic}))


async def wait_until_gone(client: RemotingClient, addr: str, topic: str) -> RemotingCommand:
    for _ in range(200):  # bounded: 200 round trips
        resp = await route(client, addr, topic)
        if resp.code != ResponseCode.SUCCESS:
            return resp
        await asyncio.sleep(0.01)
    raise AssertionError("route still present")


async def test_register_route_and_close_removes_broker(namesrv: NameServer) -> None:
    addr = f"127.0.0.1:{namesrv.port}"
    broker, admin = RemotingClient(name="broker"), RemotingClient(name="admin")
    try:
        assert (await broker.invoke(addr, register_cmd(["TopicTest"]))).code == 0
        resp = await route(admin, addr, "TopicTest")
        assert resp.code == ResponseCode.SUCCESS
        data = json.loads(resp.body)  # type: ignore[arg-type]
        assert data["brokerDatas"][0]["brokerAddrs"] == {"0": BROKER}
        cluster = await admin.invoke(addr, RemotingCommand.request(106))
        assert b'{0:"127.0.0.1:10911"}' in cluster.body  # type: ignore[operator]
        await admin.close()  # a non-broker connection closing changes nothing
        assert (await route(admin, addr, "TopicTest")).code == ResponseCode.SUCCESS
        await broker.close()
        gone = await wait_until_gone(admin, addr, "TopicTest")
        assert gone.code == ResponseCode.TOPIC_NOT_EXIST
    finally:
        await broker.close()
        await admin.close()


async def test_expiry_scan_removes_broker_and_closes_its_connection(
        namesrv: NameServer, clock: FakeClock) -> None:
    addr = f"127.0.0.1:{namesrv.port}"
    broker, admin = RemotingClient(name="broker"), RemotingClient(name="admin")
    try:
        await broker.invoke(addr, register_cmd(["T"]))
        conn = await broker.connection(addr)
        clock.now += 120_000
        assert namesrv.scan_not_active_broker() == 0
        clock.now += 1
        assert namesrv.scan_not_active_broker() == 1
        await asyncio.wait_for(conn.wait_closed(), 5)
        assert (await route(admin, addr, "T")).code == ResponseCode.TOPIC_NOT_EXIST
    finally:
        await broker.close()
        await admin.close()


async def test_unknown_code_and_header_error(namesrv: NameServer) -> None:
    addr = f"127.0.0.1:{namesrv.port}"
    client = RemotingClient()
    try:
        resp = await client.invoke(addr, RemotingCommand.request(9999))
        assert resp.code == ResponseCode.REQUEST_CODE_NOT_SUPPORTED
        resp = await client.invoke(addr, RemotingCommand.request(RequestCode.GET_ROUTEINFO_BY_TOPIC))
        assert resp.code == ResponseCode.SYSTEM_ERROR and "topic" in (resp.remark or "")
        assert namesrv.ready_line() == "The Name Server boot success. serializeType=JSON"
    finally:
        await client.close()


async def test_kv_config_survives_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "kv" / "kvConfig.json")
    client = RemotingClient()
    try:
        ns = NameServer(port=0, kv_config_path=path)
        await ns.start()
        addr = f"127.0.0.1:{ns.port}"
        put = RemotingCommand.request(RequestCode.PUT_KV_CONFIG,
                                      {"namespace": "ORDER_TOPIC_CONFIG", "key": "T", "value": "b:4"})
        assert (await client.invoke(addr, put)).code == 0
        assert Path(path).read_text() == '{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"b:4"}}}'
        update = RemotingCommand.request(RequestCode.UPDATE_NAMESRV_CONFIG,
                                         body=b"orderMessageEnable=true\n")
        assert (await client.invoke(addr, update)).code == 0
        assert "orderMessageEnable=true" in (tmp_path / "kv" / "namesrv.properties").read_text()
        await ns.close()
        ns = NameServer(port=0, kv_config_path=path)
        await ns.start()
        get = RemotingCommand.request(RequestCode.GET_KV_CONFIG,
                                      {"namespace": "ORDER_TOPIC_CONFIG", "key": "T"})
        resp = await client.invoke(f"127.0.0.1:{ns.port}", get)
        assert resp.ext_fields == {"value": "b:4"}
        await ns.close()
    finally:
        await client.close()
