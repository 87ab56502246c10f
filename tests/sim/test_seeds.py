"""Seed-driven simulation runs: each seed picks 3 or 5 nodes, Raft settings, fault kinds and a schedule.

A failure prints the seed, the command that replays it and the tail of the event trace.
"""
from __future__ import annotations

from collections import Counter

import pytest

from rmqlite.sim.scenario import SimFailure, run_seed, scenario_from_seed


def test_sim_seed(sim_seed: int) -> None:
    try:
        run_seed(sim_seed)
    except SimFailure as exc:
        pytest.fail(str(exc), pytrace=False)


def test_default_seed_range_mixes_sizes_and_all_fault_kinds() -> None:
    scs = [scenario_from_seed(s) for s in range(500)]
    assert Counter(sc.group.n_nodes for sc in scs).keys() == {3, 5}
    kinds = Counter(a[0] for sc in scs for _, a in sc.actions)
    assert set(kinds) == {"partition", "heal", "crash", "restart", "bounce", "net", "transfer", "prefer"}
    modes = Counter((a[1], a[2]) for sc in scs for _, a in sc.actions if a[0] == "partition")
    assert len(modes) == 8  # 4 modes x symmetric/asymmetric
    assert any(a[0] == "crash" and a[2] for sc in scs for _, a in sc.actions)  # mid-ready crashes
