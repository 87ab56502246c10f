"""Process-level robustness: kill -9 under SYNC_FLUSH loses nothing acknowledged; garbage
on the ports never stops the servers.

The broker and nameserver run as ``python -m rmqlite ...`` subprocesses, exactly as the
README starts them; the producer is rmqlite's own protocol client.
"""

from __future__ import annotations

import asyncio
import os
import signal
import struct
from pathlib import Path

import pytest
from rmq_procs import free_port, start_broker, start_namesrv

from rmqlite.client import Client
from rmqlite.client.api import ClientError
from rmqlite.remoting.transport import RemotingError

TOPIC = "CrashTopic"


def broker_conf(work: Path, namesrv: str, port: int, flush: str) -> dict[str, str]:
    return {
        "brokerClusterName": "DefaultCluster", "brokerName": "broker-crash", "brokerId": "0",
        "brokerIP1": "127.0.0.1", "listenPort": str(port), "namesrvAddr": namesrv,
        "storePathRootDir": str(work / "store"), "flushDiskType": flush,
        "mappedFileSizeCommitLog": str(1024 * 1024),
    }


async def wait_route(client: Client, topic: str, queues: int) -> None:
    for _ in range(100):
        try:
            route = await client.route(topic)
            if len(route.write_queues()) == queues:
                return
        except ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"no route for {topic}")


async def drain(client: Client, addr: str, queues: int) -> list[bytes]:
    bodies = []
    for qid in range(queues):
        offset = 0
        while True:
            res = await client.pull(addr, "crash_check", TOPIC, qid, offset, 32)
            if not res.messages:
                break
            bodies += [msg.body for msg in res.messages]
            offset = res.next_begin_offset
    return bodies


@pytest.mark.timeout(120)
async def test_kill9_sync_flush_loses_no_acknowledged_message(tmp_path: Path):
    namesrv, ns_addr = start_namesrv(tmp_path)
    port = free_port(pair=True)
    conf = broker_conf(tmp_path, ns_addr, port, "SYNC_FLUSH")
    broker = start_broker(tmp_path, conf)
    addr = f"127.0.0.1:{port}"
    acked: list[bytes] = []
    client = Client(ns_addr, timeout_ms=3000)
    try:
        await client.create_topic(addr, TOPIC, queues=4)
        await wait_route(client, TOPIC, 4)
        route = await client.route(TOPIC)
        killed = asyncio.Event()

        async def produce(worker: int) -> None:
            seq = 0
            while not killed.is_set():
                body = f"w{worker}-{seq:06d}".encode() * 8
                seq += 1
                try:
                    await client.send(route, "broker-crash", seq % 4, body, tags="T", keys=f"k{seq}")
                except (ClientError, RemotingError, OSError):
                    continue
                acked.append(body)
                if len(acked) >= 400 and not killed.is_set():
                    os.killpg(broker.proc.pid, signal.SIGKILL)  # mid-loop: other sends in flight
                    killed.set()

        await asyncio.wait_for(asyncio.gather(*(produce(w) for w in range(8))), 60)
        broker.proc.wait(10)
        await client.remoting.close()
        broker = start_broker(tmp_path, conf, name="broker-restarted")
        stored = await drain(client, addr, 4)
        missing = set(acked) - set(stored)
        assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:3]}"
        assert len(stored) == len(set(stored)), "duplicates after recovery"
    finally:
        await client.close()
        broker.stop()
        namesrv.stop()


GARBAGE = [
    b"\xff\xff\xff\xff",
    struct.pack(">iI", 20, 12) + b"{not json!!}" + b"\x00" * 4,
    struct.pack(">iI", 8, (5 << 24) | 4) + b"abcd",
    b"GET / HTTP/1.1\r\n\r\n",
    os.urandom(4096),
    struct.pack(">i", 1000) + b"half",
]


@pytest.mark.timeout(60)
async def test_garbage_never_stops_the_servers(tmp_path: Path):
    namesrv, ns_addr = start_namesrv(tmp_path)
    port = free_port(pair=True)
    broker = start_broker(tmp_path, broker_conf(tmp_path, ns_addr, port, "ASYNC_FLUSH"))
    client = Client(ns_addr)
    try:
        for target in (int(ns_addr.rsplit(":", 1)[1]), port, port - 2):
            for junk in GARBAGE * 3:
                reader, writer = await asyncio.open_connection("127.0.0.1", target)
                writer.write(junk)
                await writer.drain()
                writer.close()
        addr = f"127.0.0.1:{port}"
        await client.create_topic(addr, TOPIC, queues=2)
        await wait_route(client, TOPIC, 2)
        route = await client.route(TOPIC)
        sent = await client.send(route, "broker-crash", 0, b"still alive")
        res = await client.pull(addr, "g", TOPIC, 0, sent.queue_offset)
        assert [msg.body for msg in res.messages] == [b"still alive"]
        assert namesrv.proc.poll() is None and broker.proc.poll() is None
    finally:
        await client.close()
        broker.stop()
        namesrv.stop()
