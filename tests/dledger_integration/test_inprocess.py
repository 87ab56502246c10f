"""DLedger mode with three ``Broker`` objects and a ``NameServer`` in one event loop (fast checks of the broker
side: config keys, registration, replicas, follower answers, metadata sync, failure mapping, preferred leader).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rmq_procs import free_port

from rmqlite.broker.config import ConfigError, load_broker_config
from rmqlite.broker.server import Broker
from rmqlite.client import Client
from rmqlite.common.message import BatchItem, decode_offset_msg_id, encode_batch_body
from rmqlite.dledger.file_log import read_properties
from rmqlite.namesrv.server import NameServer
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand

GROUP = "RaftNode00"
TOPIC = "InProc"


class Group:
    def __init__(self, tmp: Path, **extra: str) -> None:
        self.tmp = tmp
        self.extra = extra
        self.ns: NameServer | None = None
        self.brokers: dict[str, Broker] = {}
        self.confs: dict[str, Path] = {}

    async def start(self) -> None:
        self.ns = NameServer(port=0, kv_config_path=str(self.tmp / "kv.json"))
        await self.ns.start()
        peers = ";".join(f"n{i}-127.0.0.1:{free_port()}" for i in range(3))
        for i in range(3):
            conf = {"brokerClusterName": "RaftCluster", "brokerName": GROUP, "brokerIP1": "127.0.0.1",
                    "listenPort": str(free_port(pair=True)), "storePathRootDir": str(self.tmp / f"n{i}"),
                    "namesrvAddr": self.namesrv, "enableDLegerCommitLog": "true", "dLegerGroup": GROUP,
                    "dLegerPeers": peers, "dLegerSelfId": f"n{i}", "mappedFileSizeCommitLog": str(1 << 20),
                    **self.extra}
            path = self.tmp / f"n{i}.conf"
            path.write_text("".join(f"{k}={v}\n" for k, v in conf.items()))
            self.confs[f"n{i}"] = path
            await self.start_node(f"n{i}")

    async def start_node(self, name: str) -> Broker:
        b = Broker(load_broker_config(str(self.confs[name])))
        await b.start()
        self.brokers[name] = b
        return b

    @property
    def namesrv(self) -> str:
        assert self.ns is not None
        return f"127.0.0.1:{self.ns.port}"

    async def master(self, timeout: float = 10.0, exclude: str | None = None) -> Broker:
        async def find() -> Broker:
            while True:
                for name, b in self.brokers.items():
                    if name != exclude and b.state is not None and b.state.broker_id == 0:
                        return b
                await asyncio.sleep(0.005)
        return await asyncio.wait_for(find(), timeout)

    async def close(self) -> None:
        """Close every broker and the nameserver, each bounded (a hang fails fast instead of at pytest-timeout)."""
        errors: list[BaseException] = []
        for b in list(self.brokers.values()):
            try:
                async with asyncio.timeout(15):
                    await b.close()
            except Exception as exc:
                errors.append(exc)
        self.brokers.clear()
        if self.ns is not None:
            async with asyncio.timeout(10):
                await self.ns.close()
        if errors:
            raise errors[0]


async def until(pred: Any, timeout: float = 10.0) -> None:
    async def loop() -> None:
        while not pred():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(loop(), timeout)


@pytest.fixture
async def group(tmp_path: Path):
    g = Group(tmp_path)
    await g.start()
    yield g
    await g.close()


def test_config_keys(tmp_path: Path) -> None:
    base = {"enableDLegerCommitLog": "true", "dLegerPeers": "n0-127.0.0.1:40911;n1-127.0.0.1:40912",
            "dLegerSelfId": "n1", "storePathRootDir": str(tmp_path)}
    cfg = load_broker_config(None, base)
    assert cfg.brokerId == -1 and cfg.dLedgerTickMs == 25 and cfg.dLedgerElectionTimeoutTicks == 12
    for bad in ({"dLegerSelfId": "node"}, {"dLegerSelfId": "n7"}, {"dLegerPeers": "n0:127.0.0.1:1"},
                {"dLedgerHeartbeatTicks": "12"}, {"dLedgerTickMs": "0"}):
        with pytest.raises(ConfigError):
            load_broker_config(None, {**base, **bad})


async def test_one_master_replicas_and_files(group: Group) -> None:
    master = await group.master()
    async with Client(group.namesrv) as client:
        async def registered() -> dict:
            info = await client.cluster_info()
            return info["brokerAddrTable"][GROUP]["brokerAddrs"]
        want = {b.state.broker_id: b.config.broker_addr for b in group.brokers.values()}
        assert sorted(want) == [0] + sorted(int(n[1:]) + 1 for n, b in group.brokers.items() if b is not master)
        for _ in range(500):
            if await registered() == want:
                break
            await asyncio.sleep(0.01)
        assert await registered() == want
        assert set(want) - {0} < {1, 2, 3}

        await client.create_topic(master.config.broker_addr, TOPIC, 2)
        route = await client.route(TOPIC)
        single = await client.send(route, GROUP, 0, b"single")
        batch_body = encode_batch_body([BatchItem(0, f"b{i}".encode(), f"UNIQ_KEY\x01u{i}") for i in range(3)])
        resp = await client.call(master.config.broker_addr, RemotingCommand.request(
            RequestCode.SEND_BATCH_MESSAGE, _send_ext(TOPIC, 1, batch=True), batch_body))
        assert resp.code == ResponseCode.SUCCESS and len(resp.ext_fields["msgId"].split(",")) == 3
        _host, _port, phys = decode_offset_msg_id(single.offset_msg_id)
        viewed = await client.view_message(master.config.broker_addr, phys)
        assert viewed.body == b"single"

        await until(lambda: all(b.state.store.max_offset(TOPIC, 1) == 3 for b in group.brokers.values()))
        datas = {n: b.dledger.file_log.read(0, b.dledger.file_log.end_pos) for n, b in group.brokers.items()}
        assert len(set(datas.values())) == 1                                   # byte-identical replicas
        root = Path(master.config.storePathRootDir)
        me = master.config.dLegerSelfId
        assert (root / f"dledger-{me}" / "data" / f"{0:020d}").exists()
        assert read_properties(str(root / f"dledger-{me}" / "currterm"))["currTerm"] == str(
            master.dledger.driver.node.term)


async def test_follower_answers_and_metadata_sync(group: Group) -> None:
    master = await group.master()
    follower = next(b for b in group.brokers.values() if b is not master)
    async with Client(group.namesrv) as client:
        await client.create_topic(master.config.broker_addr, TOPIC, 2)
        resp = await client.call(follower.config.broker_addr, RemotingCommand.request(
            RequestCode.SEND_MESSAGE_V2, _send_ext(TOPIC, 0), b"x"))
        assert resp.code == ResponseCode.SERVICE_NOT_AVAILABLE
        upd = RemotingCommand.request(RequestCode.UPDATE_CONSUMER_OFFSET,
                                      {"consumerGroup": "cg", "topic": TOPIC, "queueId": "1", "commitOffset": "7"})
        assert (await client.call(master.config.broker_addr, upd)).code == ResponseCode.SUCCESS
        await until(lambda: all(b.state.topics.get(TOPIC) is not None and
                                b.state.offsets.query("cg", TOPIC, 1) == 7 for b in group.brokers.values()))
        old = next(n for n, b in group.brokers.items() if b is master)
        await group.brokers.pop(old).close()                                # hands leadership over
        new = await group.master(exclude=old)
        q = RemotingCommand.request(RequestCode.QUERY_CONSUMER_OFFSET,
                                    {"consumerGroup": "cg", "topic": TOPIC, "queueId": "1"})
        got = await client.call(new.config.broker_addr, q)
        assert got.code == ResponseCode.SUCCESS and got.ext_fields["offset"] == "7"


async def test_refusals_map_like_dledger_commitlog(group: Group, monkeypatch: pytest.MonkeyPatch) -> None:
    master = await group.master()
    async with Client(group.namesrv) as client:
        await client.create_topic(master.config.broker_addr, TOPIC, 2)
        addr = master.config.broker_addr
        for reason, code, remark in (
                ("LEADER_PENDING_FULL", ResponseCode.SYSTEM_ERROR, "[PC_SYNCHRONIZED]broker busy, start flow "
                                                                   "control for a while"),
                ("NOT_LEADER", ResponseCode.SERVICE_NOT_AVAILABLE, None)):
            monkeypatch.setattr(master.dledger.driver, "propose_refusal", lambda count=1, r=reason: r)
            resp = await client.call(addr, RemotingCommand.request(RequestCode.SEND_MESSAGE_V2,
                                                                  _send_ext(TOPIC, 0), b"x"))
            assert resp.code == code and "msgId" not in resp.ext_fields
            if remark:
                assert resp.remark == remark
        monkeypatch.undo()
        assert master.state.store.queue_table.get((TOPIC, 0), 0) == 0      # refused puts left no offset gap
        route = await client.route(TOPIC)
        ok = await client.send(route, GROUP, 0, b"fine")
        assert ok.queue_offset == 0


async def test_preferred_leader_takes_over(tmp_path: Path) -> None:
    g = Group(tmp_path, preferredLeaderId="n2")
    await g.start()
    try:
        await until(lambda: g.brokers["n2"].state.broker_id == 0, 15)
    finally:
        await g.close()


async def test_sync_flush_group_commit(tmp_path: Path) -> None:
    g = Group(tmp_path, flushDiskType="SYNC_FLUSH")
    await g.start()
    try:
        master = await g.master()
        async with Client(g.namesrv) as client:
            await client.create_topic(master.config.broker_addr, TOPIC, 2)
            route = await client.route(TOPIC)
            results = await asyncio.gather(*(client.send(route, GROUP, i % 2, b"s%d" % i) for i in range(40)))
            assert sorted(r.queue_offset for r in results if r.queue_id == 0) == list(range(20))
            assert master.dledger.file_log.data.flushed == master.dledger.file_log.end_pos
    finally:
        await g.close()


async def test_restart_resumes_dispatch_without_reapplying(tmp_path: Path) -> None:
    g = Group(tmp_path)
    await g.start()
    try:
        master = await g.master()
        async with Client(g.namesrv) as client:
            await client.create_topic(master.config.broker_addr, TOPIC, 2)
            route = await client.route(TOPIC)
            for i in range(10):
                await client.send(route, GROUP, 0, b"r%d" % i)
        await until(lambda: all(b.state.store.max_offset(TOPIC, 0) == 10 for b in g.brokers.values()))
        for name in list(g.brokers):
            async with asyncio.timeout(15):           # bounded: graceful leadership transfer gives up
                await g.brokers.pop(name).close()
        for name in ("n0", "n1", "n2"):
            async with asyncio.timeout(15):
                await g.start_node(name)
        b = g.brokers["n0"]
        assert b.dledger.driver.node.log.applied >= 10     # dispatched entries are not handed out again
        assert b.state.store.max_offset(TOPIC, 0) == 10
        await g.master()
    finally:
        await g.close()


async def test_runtime_info_reports_the_raft_view(tmp_path: Path) -> None:
    g = Group(tmp_path)
    await g.start()
    try:
        master = await g.master()
        async with Client(g.namesrv) as client:
            views = {}
            for name, b in g.brokers.items():
                resp = await client.call(b.config.broker_addr,
                                         RemotingCommand.request(RequestCode.GET_BROKER_RUNTIME_INFO))
                views[name] = fastjson.loads(resp.body)["table"]
        terms = {v["dLedgerTerm"] for v in views.values()}
        assert len(terms) == 1 and int(terms.pop()) >= 1
        leaders = [n for n, v in views.items() if v["dLedgerRole"] == "LEADER"]
        assert [g.brokers[n] for n in leaders] == [master]
        assert all(v["dLedgerLeaderId"] == leaders[0] for v in views.values())
    finally:
        await g.close()


def _send_ext(topic: str, qid: int, batch: bool = False) -> dict[str, str]:
    return {"a": "pg", "b": topic, "c": "TBW102", "d": "4", "e": str(qid), "f": "0", "g": "0", "h": "0",
            "i": "", "j": "0", "k": "false", "m": "true" if batch else "false"}


__all__ = ["Group"]
