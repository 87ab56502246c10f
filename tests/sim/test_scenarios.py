"""Targeted simulations: determinism, failover time with the recommended timing, no spurious elections
under load, every partition mode, crash in the middle of a Ready, and the failure report format."""
from __future__ import annotations

import pytest

from rmqlite.sim.group import GroupConfig, SimRaftGroup
from rmqlite.sim.network import PARTITION_MODES, UNITS_PER_TICK
from rmqlite.sim.scenario import FAULT_KINDS, Scenario, SimFailure, run_scenario, scenario_from_seed
from rmqlite.sim.trace import Trace


def test_same_seed_same_run() -> None:
    sc = scenario_from_seed(4242)
    t1, t2 = Trace(10**6), Trace(10**6)
    g1 = SimRaftGroup(7, sc.group, trace=t1)
    g2 = SimRaftGroup(7, sc.group, trace=t2)
    for g in (g1, g2):
        g.client.load = 1.0
        g.net.set_faults(drop=0.1, dup=0.1, spike=0.1)
        g.run_until(300 * UNITS_PER_TICK)
    assert t1.lines() == t2.lines() and g1.summary() == g2.summary()
    assert run_scenario(sc) == run_scenario(sc)


def _stable(g: SimRaftGroup, ticks: int) -> None:
    assert g.run_until(g.now + ticks * UNITS_PER_TICK, lambda: g.stable_leader() is not None)


@pytest.mark.parametrize("n", [3, 5])
def test_failover_with_recommended_timing_is_under_one_second(n: int) -> None:
    """Recommended timing (docs/dledger-raft.md): 25 ms tick, heartbeat 4 ticks, election timeout 12..23
    ticks. A crashed leader is replaced (new leader elected AND its no-op committed) in < 1 s = 40 ticks."""
    worst = 0.0
    for seed in range(40):
        g = SimRaftGroup(seed, GroupConfig(n_nodes=n, election_tick=12, heartbeat_tick=4))
        g.client.load = 0.5
        _stable(g, 200)
        g.run_until(g.now + 40 * UNITS_PER_TICK)
        old = g.stable_leader()
        assert old is not None
        g.crash(old)
        t0 = g.now
        _stable(g, 200)
        worst = max(worst, (g.now - t0) / UNITS_PER_TICK)
    assert worst * 25 < 1000, f"worst failover {worst} ticks = {worst * 25} ms"


@pytest.mark.parametrize("n", [3, 5])
def test_no_spurious_elections_under_load(n: int) -> None:
    g = SimRaftGroup(11, GroupConfig(n_nodes=n, election_tick=12, heartbeat_tick=4, max_inflight=64,
                                     max_batch_entries=256))
    g.client.load, g.client.max_batch = 1.0, 8
    g.net.set_faults(drop=0.01, spike=0.05, spike_max=4 * UNITS_PER_TICK)  # 1% loss, jitter up to 100 ms
    g.run_until(2000 * UNITS_PER_TICK)
    assert len(g.inv.leaders) == 1, f"terms with leaders: {g.inv.leaders}"
    assert g.client.acked > 1000


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("mode", PARTITION_MODES)
@pytest.mark.parametrize("asym", [False, True])
def test_partition_modes(n: int, mode: str, asym: bool) -> None:
    for seed in range(3):
        actions = ((20, ("partition", mode, asym)), (70, ("heal",)), (90, ("partition", mode, asym)))
        sc = Scenario(seed=seed, group=GroupConfig(n_nodes=n), chaos_ticks=140, actions=actions, load=0.6,
                      kinds=frozenset({"partition"}))
        run_scenario(sc)


@pytest.mark.parametrize("n", [3, 5])
def test_crashes_mid_ready_and_restarts(n: int) -> None:
    for seed in range(5):
        actions = tuple((t, (kind, (t // 7) % n, True)) if kind == "crash" else (t, (kind, (t // 7) % n))
                        for t in range(5, 150, 7) for kind in (("crash",) if t % 2 else ("restart",)))
        sc = Scenario(seed=seed, group=GroupConfig(n_nodes=n), chaos_ticks=160, actions=actions, load=1.0,
                      kinds=frozenset({"crash"}))
        run_scenario(sc)


def test_whole_group_crash_and_restart_keeps_acknowledged_entries() -> None:
    for seed in range(5):
        actions = tuple((40, ("crash", i, i % 2 == 0)) for i in range(5)) + \
            tuple((45 + i, ("restart", i)) for i in range(5))
        sc = Scenario(seed=seed, group=GroupConfig(n_nodes=5), chaos_ticks=100, actions=actions, load=1.0,
                      kinds=frozenset({"crash"}))
        run_scenario(sc)


def test_preferred_leader_wins_after_chaos() -> None:
    for seed in range(5):
        actions = ((10, ("prefer", 2)), (30, ("partition", "isolate", False)), (60, ("heal",)),
                   (80, ("crash", 2, False)), (100, ("restart", 2)))
        sc = Scenario(seed=seed, group=GroupConfig(n_nodes=3), chaos_ticks=120, actions=actions, load=0.5,
                      kinds=frozenset(FAULT_KINDS))
        run_scenario(sc)  # the liveness phase requires the preferred node to end up leading


def test_failure_report_names_seed_and_reproduce_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmqlite.sim import invariants

    def broken(self: invariants.Invariants, node: str, term: int, log: object) -> None:
        raise invariants.InvariantViolation(f"planted failure on {node}")

    monkeypatch.setattr(invariants.Invariants, "on_leader", broken)
    with pytest.raises(SimFailure) as ei:
        run_scenario(scenario_from_seed(1234))
    text = str(ei.value)
    assert ei.value.seed == 1234
    assert "RMQLITE_SIM_SEED=1234" in text and "python -m pytest tests/sim" in text
    assert "planted failure" in text and "deliver" in text
