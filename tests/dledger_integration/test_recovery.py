"""Process-level DLedger: follower answers, quorum-ack timeout, truncation of an uncommitted tail after
rejoin, byte-identical replicas, and a restart of all three nodes at once that keeps every acknowledged message.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from dledger_cluster import (
    DLedgerCluster,
    Producer,
    check_acked,
    create_topic_everywhere,
    drain_group,
    wait_formed,
    wait_master,
    wait_same_offsets,
)

from rmqlite.client import Client
from rmqlite.client.api import ClientError
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand

TOPIC = "RecoveryTopic"
QUEUES = 2
GROUP = "RaftNode00"


async def send_some(client: Client, n: int, tag: str) -> dict[str, bytes]:
    route = await client.route(TOPIC)
    out = {}
    for i in range(n):
        body = f"{tag}-{i}".encode()
        res = await client.send(route, GROUP, i % QUEUES, body)
        out[res.msg_id] = body
    return out


def data_files(cluster: DLedgerCluster) -> list[bytes]:
    out = []
    for n in cluster.nodes[GROUP]:
        d = Path(n.conf["storePathRootDir"]) / f"dledger-{n.self_id}" / "data"
        out.append(b"".join(p.read_bytes() for p in sorted(d.iterdir())))
    return out


async def wait_producer(prod: Producer, n: int) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while len(prod.acked) < n:
        assert loop.time() - t0 < 20, prod.failures[-5:]
        await asyncio.sleep(0.01)


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_uncommitted_tail_is_truncated_on_rejoin(tmp_path: Path) -> None:
    cluster = DLedgerCluster(tmp_path)
    try:
        cluster.start_all()
        async with Client(cluster.namesrv_addr, timeout_ms=8000) as client:
            master, _ = await wait_master(client, GROUP)
            await create_topic_everywhere(client, TOPIC, QUEUES, [GROUP])
            acked = await send_some(client, 20, "before")
            leader = cluster.node_by_addr(master)
            followers = [n for n in cluster.nodes[GROUP] if n is not leader]
            for f in followers:
                cluster.kill(f)
            route = await client.route(TOPIC)
            # the leader appends the entry but no follower can ack it: DLedger's WAIT_QUORUM_ACK_TIMEOUT answer
            with pytest.raises(ClientError) as err:
                await client.send(route, GROUP, 0, b"never-committed")
            assert err.value.code == ResponseCode.SYSTEM_ERROR
            assert err.value.remark == "[PC_SYNCHRONIZED]broker busy, start flow control for a while"
            cluster.kill(leader)
            for f in followers:
                cluster.start(f)
            new_master, _ = await wait_master(client, GROUP, not_addr=master)
            acked.update(await send_some(client, 20, "after"))
            cluster.start(leader)
            assert await wait_formed(client, cluster, GROUP) == new_master     # rejoined as a follower
            await wait_same_offsets(client, cluster.nodes[GROUP], TOPIC, QUEUES)
            assert "truncated uncommitted entries" in cluster.log_text(leader)
            found = await drain_group(client, new_master, TOPIC, QUEUES)
            assert {u: m.body for u, m in found.items()} == acked          # the un-acked entry is gone
            files = data_files(cluster)
            assert files[0] == files[1] == files[2]                         # byte-identical replicas
    finally:
        cluster.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_followers_answer_like_slaves_and_restart_all_at_once(tmp_path: Path) -> None:
    cluster = DLedgerCluster(tmp_path)
    try:
        cluster.start_all()
        async with Client(cluster.namesrv_addr) as client:
            master = await wait_formed(client, cluster, GROUP)     # one master, followers with ids 1..3
            await create_topic_everywhere(client, TOPIC, QUEUES, [GROUP])
            follower = next(n for n in cluster.nodes[GROUP] if n.addr != master)
            route = await client.route(TOPIC)
            route.brokers[0].addrs[0] = follower.addr                      # a stale route: send to a follower
            with pytest.raises(ClientError) as err:
                await client.send(route, GROUP, 0, b"to-a-follower")
            assert err.value.code == ResponseCode.SERVICE_NOT_AVAILABLE
            await send_some(client, 1, "one")
            await wait_same_offsets(client, cluster.nodes[GROUP], TOPIC, QUEUES)   # topic synced to followers
            pull = await client.call(follower.addr, RemotingCommand.request(RequestCode.PULL_MESSAGE, {
                "consumerGroup": "g", "topic": TOPIC, "queueId": "0", "queueOffset": "0", "maxMsgNums": "32",
                "sysFlag": "4", "commitOffset": "0", "suspendTimeoutMillis": "0", "subscription": "*",
                "subVersion": "0", "expressionType": "TAG"}))
            assert pull.code == ResponseCode.PULL_RETRY_IMMEDIATELY
            assert pull.ext_fields["suggestWhichBrokerId"] == "0"

            prod = Producer(client, TOPIC, concurrency=4)
            prod.start()
            await wait_producer(prod, 300)
            for n in cluster.nodes[GROUP]:                                  # all three die at once
                cluster.signal(n, 9)
            await prod.stop()
            for n in cluster.nodes[GROUP]:
                cluster.kill(n)
            for n in cluster.nodes[GROUP]:
                cluster.start(n)
            master2 = await wait_formed(client, cluster, GROUP)
            await wait_same_offsets(client, cluster.nodes[GROUP], TOPIC, QUEUES)
            found = await drain_group(client, master2, TOPIC, QUEUES)
            assert len(prod.acked) >= 300
            problems = check_acked(prod.acked, found)
            assert not problems, problems[:10]
            more = await send_some(client, 10, "after-restart")                # and the group serves again
            found = await drain_group(client, master2, TOPIC, QUEUES)
            assert all(found[u].body == b for u, b in more.items())
    finally:
        cluster.close()
