"""Process-level DLedger: kill -9 the leader of a group while a client keeps producing (two groups of three).

Brokers are ``python -m rmqlite broker -c broker.conf`` subprocesses with RocketMQ's DLedger keys and the
default timings. For every kill we measure, from SIGKILL, the time until the nameserver shows a new brokerId 0
for that group (polled with GET_BROKER_CLUSTER_INFO every 5 ms). Afterwards every acknowledged message must be
consumable from the new masters with the same msgId (UNIQ_KEY), offset msgId, queue position and body; the
killed nodes rejoin as followers and catch up (same consume-queue offsets on all replicas). Before the kills a
loaded steady phase must not start a single election. Figures go to stdout and ``failover.json``.
"""
from __future__ import annotations

import asyncio
import json
import os
import statistics
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
from rmqlite.dledger.file_log import read_properties

TOPIC = "FailoverTopic"
QUEUES = 4
KILLS = int(os.environ.get("RMQLITE_DLEDGER_KILLS", "6"))     # more for measurements
STEADY_S = 4.0


def elections(cluster: DLedgerCluster) -> int:
    return sum(cluster.log_text(n).count("CANDIDATE term") for n in cluster.all_nodes())


def final_terms(cluster: DLedgerCluster) -> dict[str, int]:
    """Highest currTerm per group: 1 for the first election plus one per failover when no other election ran."""
    out = {}
    for g, nodes in cluster.nodes.items():
        terms = [int(read_properties(str(Path(n.conf["storePathRootDir"]) / f"dledger-{n.self_id}" / "currterm"))
                     .get("currTerm", 0)) for n in nodes]
        out[g] = max(terms)
    return out


async def wait_acked(prod: Producer, at_least: int, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while len(prod.acked) < at_least:
        if loop.time() - t0 > timeout:
            raise AssertionError(f"only {len(prod.acked)} acks, failures: {prod.failures[-5:]}")
        await asyncio.sleep(0.01)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_kill_leader_under_load_two_groups(tmp_path: Path) -> None:
    cluster = DLedgerCluster(tmp_path, groups=2)
    try:
        cluster.start_all()
        async with Client(cluster.namesrv_addr) as client:
            groups = list(cluster.nodes)
            for g in groups:
                await wait_formed(client, cluster, g)      # one master per group, followers under ids 1..3
            await create_topic_everywhere(client, TOPIC, QUEUES, groups)
            prod = Producer(client, TOPIC, concurrency=8)
            prod.start()

            await wait_acked(prod, 200)
            before = elections(cluster)
            steady_from, lat_from = len(prod.acked), len(prod.latencies)
            await asyncio.sleep(STEADY_S)           # measuring window: load without faults
            steady = len(prod.acked) - steady_from
            lat = sorted(prod.latencies[lat_from:])
            assert elections(cluster) == before, "election started under load without a fault"

            took: list[float] = []
            for k in range(KILLS):
                g = groups[k % len(groups)]
                master, _ = await wait_master(client, g)
                victim = cluster.node_by_addr(master)
                cluster.kill(victim)
                new_master, seconds = await wait_master(client, g, not_addr=master)
                took.append(seconds)
                acked = len(prod.acked)
                await wait_acked(prod, acked + 100)       # the client keeps producing on the new master
                cluster.start(victim)                      # rejoins as a follower
                assert await wait_formed(client, cluster, g) == new_master
            await wait_acked(prod, len(prod.acked) + 100)
            await prod.stop()

            found = {}
            for g in groups:
                await wait_same_offsets(client, cluster.nodes[g], TOPIC, QUEUES)   # every replica caught up
                master = await wait_formed(client, cluster, g)
                found.update(await drain_group(client, master, TOPIC, QUEUES))
            problems = check_acked(prod.acked, found)
            assert not problems, problems[:10]

            figures = {
                "kills": KILLS, "failover_s": [round(t, 3) for t in took],
                "median_s": round(statistics.median(took), 3), "max_s": round(max(took), 3),
                "acked": len(prod.acked), "stored": len(found), "send_failures": len(prod.failures),
                "steady_msgs_per_s": round(steady / STEADY_S), "elections_under_load": 0,
                "kills_per_group": {g: len(range(i, KILLS, len(groups))) for i, g in enumerate(groups)},
                "final_terms": final_terms(cluster),
                "steady_send_ms_p50_p99": [round(1000 * lat[len(lat) // 2], 1), round(1000 * lat[int(0.99 * len(lat))], 1)],
            }
            print("DLEDGER FAILOVER", json.dumps(figures))
            (tmp_path / "failover.json").write_text(json.dumps(figures))
            assert max(took) < 2.0, figures
    finally:
        cluster.close()
