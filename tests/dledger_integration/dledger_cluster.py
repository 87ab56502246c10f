"""Process-level DLedger fixtures: a nameserver and groups of three ``python -m rmqlite broker`` nodes.

Every broker is started from a broker.conf with RocketMQ's DLedger keys (enableDLegerCommitLog, dLegerGroup,
dLegerPeers, dLegerSelfId) and default timings; ``kill`` is SIGKILL of the process group. Waits are polls of
GET_BROKER_CLUSTER_INFO (or of the brokers) with a deadline, never bare sleeps. ``Producer`` keeps sending from
the test process with rmqlite's protocol client, refreshing the route after any failure, and records every
acknowledged message; ``drain_group`` pulls every queue of a group from its master.
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from rmq_procs import ServerProcess, free_port, start_broker, start_namesrv

from rmqlite.client import Client
from rmqlite.client.api import ClientError
from rmqlite.common.message import MessageExt, offset_msg_id
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand

CLUSTER = "RaftCluster"


@dataclass
class Node:
    group: str
    self_id: str
    conf: dict[str, str]
    proc: ServerProcess | None = None
    starts: int = 0

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.conf['listenPort']}"

    @property
    def slave_id(self) -> int:
        return int(self.self_id[1:]) + 1


class DLedgerCluster:
    """``groups`` DLedger groups of ``size`` nodes plus one nameserver, all subprocesses."""

    def __init__(self, work: Path, groups: int = 1, size: int = 3, extra: dict[str, str] | None = None) -> None:
        self.work = work
        self.namesrv, self.namesrv_addr = start_namesrv(work)
        self.nodes: dict[str, list[Node]] = {}
        for g in range(groups):
            name = f"RaftNode{g:02d}"
            peers = ";".join(f"n{i}-127.0.0.1:{free_port()}" for i in range(size))
            self.nodes[name] = [Node(name, f"n{i}", {
                "brokerClusterName": CLUSTER, "brokerName": name, "brokerIP1": "127.0.0.1",
                "listenPort": str(free_port(pair=True)), "namesrvAddr": self.namesrv_addr,
                "storePathRootDir": str(work / name / f"n{i}"), "enableDLegerCommitLog": "true",
                "dLegerGroup": name, "dLegerPeers": peers, "dLegerSelfId": f"n{i}",
                "mappedFileSizeCommitLog": str(8 * 1024 * 1024), "sendMessageThreadPoolNums": "16",
                **(extra or {}),
            }) for i in range(size)]

    def all_nodes(self) -> list[Node]:
        return [n for ns in self.nodes.values() for n in ns]

    def start(self, node: Node) -> None:
        node.starts += 1
        node.proc = start_broker(self.work, node.conf, name=f"{node.group}-{node.self_id}-{node.starts}")

    def start_all(self) -> None:
        for n in self.all_nodes():
            self.start(n)

    def kill(self, node: Node) -> None:
        """kill -9 (the whole process group)."""
        assert node.proc is not None
        os.killpg(node.proc.proc.pid, signal.SIGKILL)
        node.proc.proc.wait(10)
        node.proc.stop()
        node.proc = None

    def signal(self, node: Node, sig: int) -> None:
        assert node.proc is not None
        os.killpg(node.proc.proc.pid, sig)

    def node_by_addr(self, addr: str) -> Node:
        return next(n for n in self.all_nodes() if n.addr == addr)

    def log_text(self, node: Node) -> str:
        return "".join((self.work / f"{node.group}-{node.self_id}-{k}.log").read_text()
                       for k in range(1, node.starts + 1))

    def close(self) -> None:
        for n in self.all_nodes():
            if n.proc is not None:
                n.proc.stop()
                n.proc = None
        self.namesrv.stop()


async def broker_addrs(client: Client, group: str) -> dict[int, str]:
    info = await client.cluster_info()
    return dict(info.get("brokerAddrTable", {}).get(group, {}).get("brokerAddrs", {}))


async def wait_master(client: Client, group: str, not_addr: str | None = None, timeout: float = 15.0,
                      poll: float = 0.005) -> tuple[str, float]:
    """Poll the nameserver until ``group`` has a brokerId 0 other than ``not_addr``; (address, seconds)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while loop.time() - t0 < timeout:
        try:
            addrs = await broker_addrs(client, group)
        except Exception:
            addrs = {}
        master = addrs.get(0)
        if master is not None and master != not_addr:
            return master, loop.time() - t0
        await asyncio.sleep(poll)
    raise AssertionError(f"{group}: no new master within {timeout}s (last {addrs})")


async def wait_formed(client: Client, cluster: DLedgerCluster, group: str, not_addr: str | None = None,
                      timeout: float = 20.0) -> str:
    """Until the nameserver shows the whole group: one master (not ``not_addr``) and every other node under
    its follower id (selfId digits + 1). Returns the master address."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    addrs: dict[int, str] = {}
    while loop.time() - t0 < timeout:
        try:
            addrs = await broker_addrs(client, group)
        except Exception:
            addrs = {}
        master = addrs.get(0)
        nodes = cluster.nodes[group]
        if master is not None and master != not_addr and len(addrs) == len(nodes) and all(
                addrs.get(n.slave_id) == n.addr for n in nodes if n.addr != master):
            return master
        await asyncio.sleep(0.01)
    raise AssertionError(f"{group}: not formed within {timeout}s (last {addrs})")


async def max_offsets(client: Client, addr: str, topic: str, queues: int) -> list[int]:
    return [await client.max_offset(addr, topic, q) for q in range(queues)]


async def wait_same_offsets(client: Client, nodes: list[Node], topic: str, queues: int,
                            timeout: float = 20.0) -> list[int]:
    """Until every node of a group reports the same consume-queue max offsets (replicas caught up)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    seen: list[list[int]] = []
    while loop.time() - t0 < timeout:
        try:
            seen = [await max_offsets(client, n.addr, topic, queues) for n in nodes]
            if all(s == seen[0] for s in seen):
                return seen[0]
        except Exception:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"replicas differ: {seen}")


@dataclass
class Acked:
    uniq: str
    offset_msg_id: str
    body: bytes
    broker: str
    queue_id: int
    queue_offset: int


@dataclass
class Producer:
    """Concurrent senders over every write queue of ``topic``; failures refresh the route and retry."""

    client: Client
    topic: str
    concurrency: int = 4
    acked: dict[str, Acked] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _seq: int = 0

    def start(self) -> None:
        for k in range(self.concurrency):
            self._tasks.append(asyncio.create_task(self._run(k)))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _run(self, worker: int) -> None:
        route = await self.client.route(self.topic)
        turn = worker
        while not self._stop.is_set():
            self._seq += 1
            body = f"w{worker}-{self._seq}-{os.urandom(6).hex()}".encode()
            queues = route.write_queues()
            broker, qid = queues[turn % len(queues)]
            turn += 1
            t0 = time.monotonic()
            try:
                res = await self.client.send(route, broker, qid, body, timeout_ms=3000)
            except Exception as exc:   # master gone, not leader, timeout...: refresh the route, go on
                self.failures.append(f"{broker}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(0.02)
                try:
                    route = await self.client.route(self.topic)
                except Exception:
                    pass
                continue
            self.latencies.append(time.monotonic() - t0)
            self.acked[res.msg_id] = Acked(res.msg_id, res.offset_msg_id, body, broker, res.queue_id,
                                           res.queue_offset)


async def drain_group(client: Client, addr: str, topic: str, queues: int) -> dict[str, MessageExt]:
    """Every message of ``topic`` on the broker at ``addr``, by UNIQ_KEY."""
    out: dict[str, MessageExt] = {}
    for qid in range(queues):
        offset = 0
        while True:
            res = await client.pull(addr, "dledger_check", topic, qid, offset, 32)
            if not res.messages:
                break
            for msg in res.messages:
                out[msg.properties.get("UNIQ_KEY", "")] = msg
            offset = res.next_begin_offset
    return out


def check_acked(acked: dict[str, Acked], found: dict[str, MessageExt]) -> list[str]:
    """Problems: acknowledged messages missing, or with another body / offset msg id / queue position."""
    problems = []
    for uniq, a in acked.items():
        msg = found.get(uniq)
        if msg is None:
            problems.append(f"lost {uniq} ({a.broker} q{a.queue_id} off {a.queue_offset})")
            continue
        oid = offset_msg_id(msg.store_host[0], msg.store_host[1], msg.commit_log_offset)
        if msg.body != a.body or oid != a.offset_msg_id or (msg.queue_id, msg.queue_offset) != (a.queue_id,
                                                                                                 a.queue_offset):
            problems.append(f"altered {uniq}: {oid} vs {a.offset_msg_id}, q{msg.queue_id}/{msg.queue_offset}")
    return problems


async def create_topic_everywhere(client: Client, topic: str, queues: int, groups: list[str]) -> None:
    """UPDATE_AND_CREATE_TOPIC on each group's master, then wait for the route."""
    for g in groups:
        master, _ = await wait_master(client, g)
        await client.create_topic(master, topic, queues)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while loop.time() - t0 < 10:
        try:
            route = await client.route(topic)
            if len(route.write_queues()) == queues * len(groups):
                return
        except ClientError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError(f"no route for {topic}")


async def raw_call(client: Client, addr: str, cmd: RemotingCommand) -> RemotingCommand:
    return await client.call(addr, cmd)


__all__ = ["DLedgerCluster", "Node", "Producer", "Acked", "wait_master", "wait_formed", "wait_same_offsets",
           "drain_group", "check_acked", "create_topic_everywhere", "broker_addrs", "max_offsets", "raw_call",
           "RequestCode"]
