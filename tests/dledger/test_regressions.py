"""Regression tests distilled from simulator failures (seed numbers refer to ``python -m rmqlite.sim``).

Seed 50832 turned out to be a simulator (harness) bug, fixed in rmqlite/sim; its focused harness test is
tests/sim/test_regression_seeds.py. The test here pins the core side of that trace, which was correct
and must stay so: a leader cut off from its group still accepts proposals, a new leader of a higher term
cuts them from its log, the new leader accepts fresh proposals at once (no Busy, no stuck transfer, no
leaked uncommitted budget), and the lost proposal resolves as TERM_CHANGED only once its index is applied
with another term.
"""
from __future__ import annotations

from collections.abc import Callable

from raft_harness import Net

from rmqlite.dledger import Accepted, Role


def _tick_until(net: Net, ids: tuple[str, ...], done: Callable[[], bool], limit: int = 500) -> None:
    for _ in range(limit):
        if done():
            return
        for i in ids:
            net.tick(i)
    raise AssertionError("condition not reached")


def test_seed_50832_deposed_leader_proposal_is_cut_and_new_leader_accepts_at_once() -> None:
    net = Net(3, election_tick=12, heartbeat_tick=4, pre_vote=True, check_quorum=True, max_inflight=1,
              max_batch_entries=16)
    old = net.elect("n0")
    assert isinstance(net.propose(old, b"a", b"b"), Accepted)
    net.stabilize()
    base = net.node(old).last_index
    _tick_until(net, net.ids, lambda: all(net.node(i).commit_index == base for i in net.ids))

    net.isolate(old)  # seed 50832: n2 isolated at tick 280; the heal at 291 comes just too late for it
    probe = net.propose(old, b"p357", b"p358", b"p359")  # still leader in its own eyes: accepted
    assert probe == Accepted(base + 1, base + 3, net.node(old).term)
    net.stabilize()

    # the majority elects a new leader in a higher term; its no-op takes index base + 1
    _tick_until(net, ("n1", "n2"), lambda: any(net.node(i).is_leader for i in ("n1", "n2")))
    new = next(i for i in ("n1", "n2") if net.node(i).is_leader)
    t_new = net.node(new).term
    assert t_new > probe.term and net.node(new).last_index == base + 1

    net.heal()
    _tick_until(net, (new, old), lambda: net.node(old).role is Role.FOLLOWER and net.node(old).leader == new
                and net.node(old).commit_index == base + 1)
    lo = net.node(old)
    assert lo.term == t_new and lo.last_index == base + 1  # the uncommitted probe suffix was cut
    assert net.logs[old].term(base + 1) == t_new

    ld = net.node(new)
    assert ld.leader_ready and ld.transferee is None
    res = net.propose(new, b"p360", b"p361", b"p362")  # accepted at once, right after the no-op
    assert res == Accepted(base + 2, base + 4, t_new)
    net.stabilize()
    _tick_until(net, net.ids, lambda: all(net.node(i).commit_index == base + 4 for i in net.ids))
    # every index of the lost probe is now applied on ``old`` with another term: TERM_CHANGED for each
    applied = {e.index: e for e in net.applied[old]}
    for k in range(probe.first_index, probe.last_index + 1):
        assert applied[k].term == t_new and applied[k].data not in (b"p357", b"p358", b"p359")
