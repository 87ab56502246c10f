"""Named regression seeds of the simulator, plus focused tests of the harness bugs they exposed.

Each seed here once failed ``python -m rmqlite.sim``; it is kept with the reason, so a change that brings
the bug back fails by name (``pytest tests/sim -q -k regression``).
"""
from __future__ import annotations

import pytest

from rmqlite.sim.group import GroupConfig, SimRaftGroup
from rmqlite.sim.network import UNITS_PER_TICK
from rmqlite.sim.scenario import RecoveryCheck, SimFailure, recovery_bound, run_seed

REGRESSION_SEEDS = {
    # Harness bug (not a core bug). Right after the heal the stable-leader check still saw the isolated
    # leader n2 (t2; its followers' lease had not expired), so the recovery probe went to n2 and was
    # accepted at [320..322]. n2 then stepped down (check-quorum), n1 won t3 with last 299 and its no-op at
    # 300 cut n2's uncommitted suffix. With no load after the heal no log grew back to 320, so the probe was
    # never applied anywhere: neither acked nor failed, it stayed "pending" forever, and the recovery check
    # waited for it instead of proposing a fresh probe to n1 (which would have committed at once).
    50832: "recovery probe accepted by a leader deposed right after the heal stayed pending forever",
}


@pytest.mark.parametrize("seed", sorted(REGRESSION_SEEDS), ids=lambda s: f"seed{s}")
def test_regression_seed(seed: int) -> None:
    try:
        run_seed(seed)
    except SimFailure as exc:
        pytest.fail(f"{REGRESSION_SEEDS[seed]}\n{exc}", pytrace=False)


def test_recovery_check_reproposes_a_probe_lost_with_a_deposed_leader() -> None:
    """Seed 50832 in miniature: the probe goes to a leader that is already cut off, a new leader cuts it
    from that node's log, and nothing else is ever proposed. The check must send a fresh probe to the new
    stable leader instead of waiting for one that can never be applied."""
    cfg = GroupConfig(n_nodes=3, election_tick=12, heartbeat_tick=4)
    g = SimRaftGroup(5, cfg)
    g.client.load = 0.0
    assert g.run_until(200 * UNITS_PER_TICK, lambda: g.stable_leader() is not None)
    old = g.stable_leader()
    assert old is not None and old.node is not None
    for other in g.ids:
        if other != old.id:
            g.net.cut(old.id, other)
    check = RecoveryCheck(g)
    assert not check()  # the followers' lease still names ``old``: it takes the probe
    lost = list(check.probe)
    assert lost and set(lost) <= g.client.pending_data()
    old_term = old.node.term

    def new_leader_stable() -> bool:
        ld = g.stable_leader()
        return ld is not None and ld is not old and ld.node is not None and ld.node.term > old_term

    assert g.run_until(g.now + 300 * UNITS_PER_TICK, lambda: (ld := g.leader()) is not None and ld is not old)
    g.net.heal()
    assert g.run_until(g.now + 300 * UNITS_PER_TICK, new_leader_stable)
    assert set(lost) & g.client.pending_data()  # cut from old's log, never applied: unresolved for good
    assert g.run_until(g.now + recovery_bound(cfg, 10) * UNITS_PER_TICK, check), (
        f"not recovered: probe={check.probe} lost={lost} {g.summary()}")
    assert check.probe != lost and set(check.probe) <= g.client.acked_data
