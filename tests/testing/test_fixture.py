"""rmqlite.testing: the context managers and fault injection, against real clients' protocol."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cluster_clients import ClientError, masters, pull_bodies, run, send_to

from rmqlite.cluster.confdir import ConfDirError
from rmqlite.remoting.transport import RemotingError
from rmqlite.testing import cluster

pytestmark = pytest.mark.timeout(120)


def test_sync_cluster_serves_both_groups_on_every_nameserver() -> None:
    with cluster(groups=2, namesrvs=2) as c:
        assert c.namesrv_addr.count(";") == 1
        c.create_topic("Both", queues=2)
        for ns in c.namesrv_addr.split(";"):       # every nameserver routes it at once
            for group in ("RaftNode00", "RaftNode01"):
                res = run(send_to(ns, "Both", group, f"to {group}".encode()))
                assert res.broker_name == group
        assert run(pull_bodies(c.namesrv_addr, "Both", "RaftNode01")) == [b"to RaftNode01"] * 2
        assert [s.role for s in c.status()] == ["NAMESRV", "NAMESRV", "MASTER", "MASTER"]
        data = c.data_dir
        assert data is not None and data.exists()
    assert not data.exists()                         # temp data dir removed


async def test_async_cluster_runs_on_the_callers_loop() -> None:
    t0 = time.perf_counter()
    async with cluster() as c:
        assert time.perf_counter() - t0 < 2
        await c.create_topic("Async")
        res = await send_to(c.namesrv_addr, "Async", "RaftNode00", b"hello")
        assert res.queue_offset == 0
        master = await c.wait_for_master("RaftNode00")
        assert master.name == "broker-01" and master.pid == os.getpid()


def test_one_broker_fixture_is_fast() -> None:
    with cluster() as c:          # ~10 ms typical (bench/footprint.py); generous bound for busy machines
        assert c.ready_s < 1.0, c.ready_s


def test_kill_and_restart_in_process_keeps_the_data() -> None:
    with cluster(groups=2) as c:
        c.create_topic("KR")
        run(send_to(c.namesrv_addr, "KR", "RaftNode00", b"before"))
        c.kill("broker-01")
        assert c.node("broker-01").role == "DOWN"
        assert "RaftNode00" not in run(masters(c.namesrv_addr))    # the nameserver saw it go at once
        with pytest.raises((ClientError, RemotingError)):
            run(send_to(c.namesrv_addr, "KR", "RaftNode00", b"lost"))
        run(send_to(c.namesrv_addr, "KR", "RaftNode01", b"other group still serves"))
        c.restart("RaftNode00/n0")
        assert c.wait_for_master("RaftNode00").name == "broker-01"
        run(send_to(c.namesrv_addr, "KR", "RaftNode00", b"after"))
        assert run(pull_bodies(c.namesrv_addr, "KR", "RaftNode00")) == [b"before", b"after"]


def test_process_mode_kill_is_sigkill_and_restart_recovers() -> None:
    with cluster(process=True, broker_conf={"flushDiskType": "SYNC_FLUSH"}) as c:
        c.create_topic("PK")
        run(send_to(c.namesrv_addr, "PK", "RaftNode00", b"durable"))
        pid = c.node("broker-01").pid
        assert pid and pid != os.getpid()
        c.kill("broker-01")
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        c.restart("broker-01")
        new = c.wait_for_master("RaftNode00")
        assert new.pid not in (None, pid)
        assert run(pull_bodies(c.namesrv_addr, "PK", "RaftNode00")) == [b"durable"]
        pids = [s.pid for s in c.status()]
    for p in pids:                                   # nothing outlives the cluster
        with pytest.raises(ProcessLookupError):
            os.kill(p, 0)


def test_isolate_cuts_clients_and_nameservers_then_heal_restores() -> None:
    with cluster(groups=2) as c:
        c.create_topic("Iso")
        addr = c.broker_addr("broker-01")
        c.isolate("broker-01")
        assert c.node("broker-01").isolated
        assert "RaftNode00" not in run(masters(c.namesrv_addr))    # its namesrv link was cut
        with pytest.raises((ClientError, RemotingError)):            # clients cannot reach it either

            async def direct() -> None:
                from rmqlite.client.api import Client
                async with Client(c.namesrv_addr, timeout_ms=1000) as client:
                    await client.max_offset(addr, "Iso", 0)
            run(direct())
        run(send_to(c.namesrv_addr, "Iso", "RaftNode01", b"the other group serves"))
        c.heal()
        assert c.wait_for_master("RaftNode00", timeout_s=5).name == "broker-01"   # re-registered at once
        c.wait_for_route("Iso")
        run(send_to(c.namesrv_addr, "Iso", "RaftNode00", b"back"))


def test_delay_slows_every_round_trip_each_way() -> None:
    with cluster() as c:
        c.create_topic("Slow")

        async def timed_sends(n: int) -> float:
            from rmqlite.client.api import Client
            async with Client(c.namesrv_addr) as client:
                route = await client.route("Slow")
                await client.send(route, "RaftNode00", 0, b"warm")
                t0 = time.perf_counter()
                for _ in range(n):
                    await client.send(route, "RaftNode00", 0, b"x")
                return (time.perf_counter() - t0) / n
        fast = run(timed_sends(5))
        c.delay("broker-01", 50)
        slow = run(timed_sends(3))
        assert slow >= 0.095 and slow > fast + 0.09, (fast, slow)
        c.heal()
        healed = run(timed_sends(3))
        assert healed < slow - 0.05, (healed, slow)


def test_partition_between_a_broker_and_one_nameserver() -> None:
    with cluster(namesrvs=2) as c:
        ns1, ns2 = c.namesrv_addr.split(";")
        c.partition(["broker-01"], ["namesrv-01"])
        assert "RaftNode00" not in run(masters(ns1))
        assert "RaftNode00" in run(masters(ns2))
        c.heal()
        c.wait_for_master("RaftNode00", timeout_s=5)
        assert "RaftNode00" in run(masters(ns1))


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "processes"])
def test_restart_of_a_nameserver_gets_every_broker_back_at_once(process: bool) -> None:
    with cluster(groups=2, namesrvs=2, process=process) as c:
        c.kill("namesrv-01")
        assert c.node("namesrv-01").role == "DOWN"
        c.restart("namesrv-01")
        assert c.wait_for_master("RaftNode01", timeout_s=5)
        assert set(run(masters(c.namesrv_addr.split(";")[0]))) == {"RaftNode00", "RaftNode01"}


def test_fault_injection_needs_proxies() -> None:
    with cluster(faults=False) as c:
        with pytest.raises(RuntimeError, match="faults=True"):
            c.isolate("broker-01")
        c.kill("broker-01")
        c.restart("broker-01")
        c.wait_for_master("RaftNode00")


def test_a_failed_start_raises_and_leaves_nothing_running(tmp_path: Path) -> None:
    (tmp_path / "broker-01").mkdir()
    (tmp_path / "broker-01" / "broker.conf").write_text("brokerName=X\nlistenPort=oops\n")
    with pytest.raises(ConfDirError, match="listenPort"), cluster(conf_dir=tmp_path):
        pass


def test_unknown_node_names_the_known_ones() -> None:
    with cluster() as c, pytest.raises(KeyError, match="broker-01"):
        c.kill("broker-07")
