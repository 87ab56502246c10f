"""RaftDriver over real loopback sockets: election, commit futures, failover, truncation, hand-over."""
from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from rmq_procs import free_port

from rmqlite.dledger.config import Accepted, NotLeader, Role
from rmqlite.dledger.driver import (
    ConfigError,
    GroupConfig,
    RaftDriver,
    TermChanged,
    parse_peers,
)
from rmqlite.dledger.file_log import FileLog
from rmqlite.dledger.messages import Entry

FS = 1 << 16


class Group:
    """Three drivers n0..n2 on free loopback ports, each with its own FileLog."""

    def __init__(self, tmp: Path, n: int = 3, **timing: int) -> None:
        self.tmp = tmp
        self.peers = {f"n{i}": f"127.0.0.1:{free_port()}" for i in range(n)}
        self.timing = {"tick_ms": 20, "election_ticks": 5, "heartbeat_ticks": 1, **timing}
        self.drivers: dict[str, RaftDriver] = {}
        self.applied: dict[str, list[Entry]] = {p: [] for p in self.peers}

    async def start(self, node: str) -> RaftDriver:
        log = FileLog(str(self.tmp / node), data_file_size=FS, index_file_units=1024, fsync=False)
        log.open()
        gc = GroupConfig("g", node, self.peers, file_size=FS, **self.timing)
        d = RaftDriver(gc, log, applied=0, rng=random.Random(hash(node)),
                       on_apply=self.applied[node].extend)
        await d.start()
        self.drivers[node] = d
        return d

    async def start_all(self) -> None:
        for p in self.peers:
            await self.start(p)

    async def kill(self, node: str) -> None:
        """Abrupt stop: no hand-over, files not closed cleanly."""
        d = self.drivers.pop(node)
        await d.close()

    async def leader(self, timeout: float = 5.0, exclude: str | None = None) -> RaftDriver:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for name, d in self.drivers.items():
                if name != exclude and d.serving:
                    return d
            await asyncio.sleep(0.005)
        raise AssertionError("no serving leader")

    async def close(self) -> None:
        for d in list(self.drivers.values()):
            await d.close()
        self.drivers.clear()


@pytest.fixture
async def group(tmp_path: Path):
    g = Group(tmp_path)
    await g.start_all()
    yield g
    await g.close()


def test_parse_peers() -> None:
    assert parse_peers("n0-127.0.0.1:40911;n1-127.0.0.1:40912;") == {"n0": "127.0.0.1:40911", "n1": "127.0.0.1:40912"}
    assert parse_peers("a-b-host:1") == {"a": "b-host:1"}      # first '-' splits
    for bad in ("", "n0", "n0-127.0.0.1", "n0-127.0.0.1:x", "n0-h:1;n0-h:2"):
        with pytest.raises(ConfigError):
            parse_peers(bad)
    with pytest.raises(ConfigError):
        GroupConfig("g", "n9", {"n0": "h:1"})


async def test_elect_propose_commit_on_all(group: Group) -> None:
    leader = await group.leader()
    res = leader.propose(b"hello")
    assert isinstance(res, Accepted)
    await asyncio.wait_for(leader.wait_committed(res.last_index, res.term), 5)
    for d in group.drivers.values():
        if d is not leader:
            assert isinstance(d.propose(b"x"), NotLeader)

    async def everyone_has_it() -> None:
        while not all(any(e.data == b"hello" for e in group.applied[n]) for n in group.drivers):
            await asyncio.sleep(0.005)
    await asyncio.wait_for(everyone_has_it(), 5)
    assert leader.wait_committed(res.last_index, res.term).done()          # already applied
    bad = leader.wait_committed(res.last_index, res.term + 1)
    with pytest.raises(TermChanged):
        await bad


async def test_failover_keeps_committed_and_new_leader_serves(group: Group) -> None:
    leader = await group.leader()
    waits = []
    for i in range(50):
        res = leader.propose(f"m{i}".encode())
        assert isinstance(res, Accepted)
        waits.append(leader.wait_committed(res.last_index, res.term))
    await asyncio.wait_for(asyncio.gather(*waits), 5)
    old = leader.gc.self_id
    t0 = asyncio.get_running_loop().time()
    await group.kill(old)
    new = await group.leader(exclude=old)
    took = asyncio.get_running_loop().time() - t0
    assert new.gc.self_id != old and took < 2.0
    res = new.propose(b"after")
    await asyncio.wait_for(new.wait_committed(res.last_index, res.term), 5)
    datas = [e.data for e in new.log.entries(1, new.log.last_index() + 1) if e.data]
    assert datas == [f"m{i}".encode() for i in range(50)] + [b"after"]
    back = await group.start(old)                                 # rejoins and catches up

    async def caught_up() -> None:
        while back.node.commit_index < res.last_index:
            await asyncio.sleep(0.005)
    await asyncio.wait_for(caught_up(), 5)
    assert back.role is Role.FOLLOWER


async def test_uncommitted_tail_of_old_leader_is_truncated(group: Group) -> None:
    leader = await group.leader()
    old = leader.gc.self_id
    res = leader.propose(b"committed")
    await asyncio.wait_for(leader.wait_committed(res.last_index, res.term), 5)
    others = [n for n in group.drivers if n != old]
    for n in others:                                  # cut the leader off: its next entries never replicate
        await group.kill(n)
    lost = leader.propose(b"never-committed")
    assert isinstance(lost, Accepted)
    lost_wait = leader.wait_committed(lost.last_index, lost.term)
    await group.kill(old)
    for n in others:
        await group.start(n)
    new = await group.leader()
    res2 = new.propose(b"new-era")
    await asyncio.wait_for(new.wait_committed(res2.last_index, res2.term), 5)
    back = await group.start(old)

    async def caught_up() -> None:
        while back.node.commit_index < res2.last_index:
            await asyncio.sleep(0.005)
    await asyncio.wait_for(caught_up(), 5)
    datas = [e.data for e in back.log.entries(1, back.log.last_index() + 1) if e.data]
    assert b"never-committed" not in datas and datas[-1] == b"new-era"
    assert back.log.read(0, back.log.end_pos) == new.log.read(0, new.log.end_pos)   # byte-identical replicas
    with pytest.raises(TermChanged):
        await lost_wait


async def test_graceful_close_hands_leadership_over(group: Group) -> None:
    leader = await group.leader()
    old = leader.gc.self_id
    t0 = asyncio.get_running_loop().time()
    d = group.drivers.pop(old)
    await d.close(transfer_timeout_ms=1000)
    new = await group.leader(exclude=old)
    assert asyncio.get_running_loop().time() - t0 < 1.0
    assert new.gc.self_id != old


async def test_frames_of_another_group_are_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    g = Group(tmp_path)
    await g.start("n0")
    other = dict(g.peers)
    log = FileLog(str(tmp_path / "x"), data_file_size=FS * 2, index_file_units=1024, fsync=False)
    log.open()
    stranger = RaftDriver(GroupConfig("g", "n1", other, file_size=FS * 2, tick_ms=20, election_ticks=5,
                                      heartbeat_ticks=1), log)
    await stranger.start()
    try:
        async def warned() -> None:
            while "dropping frame" not in caplog.text:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(warned(), 5)
        assert not g.drivers["n0"].node.is_leader
    finally:
        await stranger.close()
        await g.close()
