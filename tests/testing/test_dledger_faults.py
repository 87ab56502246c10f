"""Fault injection on DLedger groups (3 replicas): kill / isolate the master, a new one takes over,
nothing acknowledged is lost, the old master comes back as a slave."""

from __future__ import annotations

import time

import pytest
from cluster_clients import pull_bodies, run, send_to

from rmqlite.testing import cluster

pytest.importorskip("rmqlite.broker.dledger_mode", reason="the broker does not run DLedger yet")
pytestmark = pytest.mark.timeout(180)

GROUP = "RaftNode00"


def _send_many(c, topic: str, bodies: list[bytes]) -> None:
    for body in bodies:
        res = run(send_to(c.namesrv_addr, topic, GROUP, body))
        assert res.status_code == 0, res


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "processes"])
def test_kill_the_master_a_new_one_serves_everything_acked(process: bool) -> None:
    with cluster(replicas=3, namesrvs=2, process=process) as c:
        old = c.wait_for_master(GROUP)
        c.create_topic("DKill", queues=1)
        before = [f"before-{i}".encode() for i in range(5)]
        _send_many(c, "DKill", before)
        c.kill(old)
        new = c.wait_for_master(GROUP, exclude=old)
        assert new.name != old.name and new.role == "MASTER"
        c.wait_for_route("DKill")
        _send_many(c, "DKill", [b"after"])
        assert run(pull_bodies(c.namesrv_addr, "DKill", GROUP)) == before + [b"after"]
        c.restart(old)
        assert c.wait_for_role(old, "SLAVE").role == "SLAVE"      # rejoins as a follower


def test_isolate_the_master_then_heal_it_rejoins_as_slave() -> None:
    with cluster(replicas=3) as c:
        old = c.wait_for_master(GROUP)
        c.create_topic("DIso", queues=1)
        _send_many(c, "DIso", [b"one"])
        c.isolate(old)
        new = c.wait_for_master(GROUP, exclude=old)
        _send_many(c, "DIso", [b"two"])
        c.heal()
        assert c.wait_for_role(old, "SLAVE").role == "SLAVE"
        assert c.wait_for_master(GROUP).name == new.name
        assert run(pull_bodies(c.namesrv_addr, "DIso", GROUP)) == [b"one", b"two"]


def test_a_slow_follower_does_not_slow_the_quorum() -> None:
    with cluster(replicas=3) as c:
        master = c.wait_for_master(GROUP)
        c.create_topic("DSlow", queues=1)
        slow = next(s for s in c.status() if s.group == GROUP and s.name != master.name)
        c.delay(slow, 300)                       # 600 ms round trip; the other follower makes the quorum
        t0 = time.perf_counter()
        _send_many(c, "DSlow", [b"x"] * 3)
        assert (time.perf_counter() - t0) / 3 < 0.45
