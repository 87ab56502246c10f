"""Run a nameserver plus DLedger groups of three rmqlite brokers for the real-client interop programs.

    python tests/dledger_integration/interop_group.py [--groups 1] [--kill-leader-after S] [--work DIR]

prints ``namesrv=127.0.0.1:PORT`` once every group has a master registered, then keeps running until stdin
closes or Ctrl-C. Point the interop tests at it:

    RMQLITE_INTEROP_NAMESRV=127.0.0.1:PORT python -m pytest tests/interop/test_java_client.py -q
    RMQLITE_INTEROP_NAMESRV=127.0.0.1:PORT python -m pytest tests/interop/test_go_client.py -q

The brokers use the interop broker.conf keys (tests/interop/conftest.py) plus the DLedger keys; group k is
brokerName ``broker-<a+k>``. With ``--kill-leader-after S`` the leader of the first group is killed (-9) S
seconds after the start and restarted 3 s later; the failover time is printed.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dledger_cluster import DLedgerCluster, wait_formed, wait_master

from rmqlite.client import Client

INTEROP = {"brokerClusterName": "DefaultCluster", "autoCreateTopicEnable": "true",
           "autoCreateSubscriptionGroup": "true", "flushDiskType": "ASYNC_FLUSH",
           "messageDelayLevel": " ".join(["1s"] * 18), "mappedFileSizeCommitLog": str(64 * 1024 * 1024)}


async def main(args: argparse.Namespace) -> None:
    work = Path(args.work or tempfile.mkdtemp(prefix="rmqlite-dledger-"))
    cluster = DLedgerCluster(work, groups=args.groups, extra=INTEROP)
    renamed = {}
    for k, (name, nodes) in enumerate(list(cluster.nodes.items())):
        new = f"broker-{chr(ord('a') + k)}"
        for n in nodes:
            n.group = new
            n.conf.update(brokerName=new, dLegerGroup=new,
                          storePathRootDir=str(work / new / n.self_id))
        renamed[new] = nodes
    cluster.nodes = renamed
    try:
        cluster.start_all()
        async with Client(cluster.namesrv_addr) as client:
            for g in cluster.nodes:
                await wait_formed(client, cluster, g)
            print(f"namesrv={cluster.namesrv_addr}", flush=True)
            closed = asyncio.Event()
            loop = asyncio.get_running_loop()
            threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(closed.set)),
                             daemon=True).start()
            if args.kill_leader_after is not None:
                await asyncio.sleep(args.kill_leader_after)
                g = next(iter(cluster.nodes))
                master, _ = await wait_master(client, g)
                victim = cluster.node_by_addr(master)
                cluster.kill(victim)
                new, took = await wait_master(client, g, not_addr=master)
                print(f"killed {g}/{victim.self_id} ({master}); new master {new} registered after {took:.3f}s",
                      flush=True)
                await asyncio.sleep(3)
                cluster.start(victim)
                await wait_formed(client, cluster, g)
                print(f"{g}/{victim.self_id} rejoined as a follower", flush=True)
            await closed.wait()
    finally:
        cluster.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1)
    parser.add_argument("--kill-leader-after", type=float, default=None)
    parser.add_argument("--work", default=None)
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
