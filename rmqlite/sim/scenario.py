"""Seeded scenarios: one seed -> group shape + fault schedule -> chaos phase -> heal -> liveness checks.

How it works:
  ``scenario_from_seed`` draws everything from ``random.Random(seed)``: 3 or 5 nodes, Raft settings
  (pipelining window, batch size, pre-vote/check-quorum on or, rarely, off), client load, which fault kinds
  are enabled and a schedule of fault actions over the chaos phase. Hypothesis tests build ``Scenario``s
  with their own action lists. ``run_scenario`` plays the schedule tick by tick, then heals everything
  (network, per-message faults, restarts every crashed node) and requires, within stated bounds of
  simulated ticks: a stable leader (``LEADER_BOUND``), then the preferred leader if one is set, fresh
  proposals acknowledged, and every node caught up (``RECOVERY_BOUND``). Safety is checked all along.

Rules:
  1. A scenario is a pure function of its fields: same Scenario -> same run, byte for byte.
  2. Actions are plain tuples (kind, args...) with node *indexes*, so generators and shrinkers can build
     them: ("partition", mode, asymmetric) ("heal",) ("crash", i, mid_ready) ("restart", i)
     ("bounce", i or -1 = the leader, mid_ready): crash + immediate restart (votes and terms must survive)
     ("net", drop, dup, spike) ("transfer", i) ("prefer", i or -1).
  3. Bounds (ticks after the heal): a stable leader within ``leader_bound`` = 15 election timeouts (40
     when pre-vote is off: plain Raft lets stale high-term candidates disrupt elections), then
     full recovery within ``recovery_bound`` = 40 election timeouts; both plus one tick per replication
     window (max_inflight x max_batch_entries entries) of backlog that followers may have to catch up
     (with window 1 and batch 1 a 500-entry backlog legitimately takes hundreds of round trips).
  4. Recovery waits for a probe only while the stable leader holds it in its current term (group.py
     rule 4); a probe lost with a deposed leader (seed 50832: sent to the isolated old leader just as the
     heal began) is replaced by a fresh one sent to the current stable leader.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from rmqlite.sim.group import GroupConfig, SimRaftGroup
from rmqlite.sim.invariants import InvariantViolation
from rmqlite.sim.network import PARTITION_MODES, UNITS_PER_TICK
from rmqlite.sim.trace import Trace, failure_report

FAULT_KINDS = ("partition", "crash", "bounce", "net", "transfer", "prefer")
LEADER_BOUND_ELECTIONS = 15
PLAIN_RAFT_LEADER_BOUND_ELECTIONS = 40
RECOVERY_BOUND_ELECTIONS = 40

Action = tuple[Any, ...]  # (kind, *args), see rule 2


@dataclass(frozen=True)
class Scenario:
    """Everything that determines one simulation run."""

    seed: int
    group: GroupConfig
    chaos_ticks: int
    actions: tuple[tuple[int, Action], ...]
    load: float = 0.5
    client_batch: int = 3
    preferred: int | None = None
    kinds: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        g = self.group
        return (f"seed={self.seed} nodes={g.n_nodes} E={g.election_tick} HB={g.heartbeat_tick} "
                f"prevote={g.pre_vote} cq={g.check_quorum} window={g.max_inflight} batch={g.max_batch_entries} "
                f"chaos={self.chaos_ticks} actions={len(self.actions)} kinds={','.join(sorted(self.kinds))} "
                f"load={self.load} preferred={self.preferred}")


@dataclass
class SimResult:
    """Figures of one run (for stats and assertions)."""

    seed: int
    n_nodes: int
    ticks: int
    steps: int
    committed: int
    acked: int
    leader_ticks: float
    recovery_ticks: float
    elections: int
    catchup_ticks: int = 0  # part of the bounds granted for backlog replication


class SimFailure(AssertionError):
    """A simulation run violated safety or liveness; the message is the full failure report."""

    def __init__(self, report: str, seed: int) -> None:
        super().__init__(report)
        self.seed = seed


def random_action(rng: random.Random, n: int, kinds: frozenset[str]) -> Action:
    """One fault action of an enabled kind (``heal`` / ``restart`` always possible)."""
    kind = rng.choice(sorted(kinds) + ["heal", "restart"])
    if kind == "partition":
        return ("partition", rng.choice(PARTITION_MODES), rng.random() < 0.3)
    if kind == "crash":
        return ("crash", rng.randrange(n), rng.random() < 0.5)
    if kind == "restart":
        return ("restart", rng.randrange(n))
    if kind == "bounce":
        return ("bounce", rng.randrange(-1, n), rng.random() < 0.5)
    if kind == "net":
        return ("net", rng.choice([0.0, 0.02, 0.1, 0.3]), rng.choice([0.0, 0.05, 0.2]),
                rng.choice([0.0, 0.05, 0.2]))
    if kind == "transfer":
        return ("transfer", rng.randrange(n))
    if kind == "prefer":
        return ("prefer", rng.randrange(-1, n))
    return ("heal",)


def scenario_from_seed(seed: int, n_nodes: int | None = None) -> Scenario:
    """Draw a whole scenario from ``seed`` (rule 1)."""
    rng = random.Random(seed)
    n = n_nodes if n_nodes is not None else rng.choice((3, 5))
    storm = rng.random() < 0.25  # election storm: short timeouts, constant bounces, bad network
    et, hb = (4, 1) if storm else rng.choice(((6, 2), (6, 2), (12, 4), (12, 4), (10, 3), (4, 1)))
    pre_vote = rng.random() >= (0.5 if storm else 0.1)
    gcfg = GroupConfig(
        n_nodes=n, election_tick=et, heartbeat_tick=hb, pre_vote=pre_vote,
        check_quorum=pre_vote or rng.random() < 0.5,
        max_inflight=rng.choice((1, 2, 4, 8, 64)), max_batch_entries=rng.choice((1, 2, 4, 16, 256)),
        tick_jitter=3 if storm else 1,
    )
    if storm:
        kinds = frozenset({"bounce", "net", "partition", "crash"})
        chaos, rate = rng.randint(100, 300), 0.3
    else:
        kinds = frozenset(k for k in FAULT_KINDS if rng.random() < 0.6)
        chaos, rate = rng.randint(60, 300), rng.choice((0.03, 0.06, 0.1, 0.2, 0.4))
    actions = tuple((t, random_action(rng, n, kinds)) for t in range(chaos) if kinds and rng.random() < rate)
    if storm:
        actions = ((0, ("net", 0.1, 0.1, 0.3)),) + actions
    preferred = rng.randrange(n) if "prefer" in kinds and rng.random() < 0.5 else None
    return Scenario(seed, gcfg, chaos, actions, load=rng.choice((0.1, 0.3, 0.6, 1.0)),
                    client_batch=rng.choice((1, 3, 8)), preferred=preferred, kinds=kinds)


def apply_action(g: SimRaftGroup, a: Action) -> None:
    """Perform one fault action on the group."""
    kind = a[0]
    ids = g.ids
    if kind == "partition":
        groups = g.net.partition(a[1], bool(a[2]))
        g.trace.add(g.now, "fault", f"partition {a[1]}{' asym' if a[2] else ''} {groups}")
    elif kind == "heal":
        g.net.heal()
        g.trace.add(g.now, "fault", "heal")
    elif kind == "crash":
        g.crash(g.nodes[ids[a[1] % len(ids)]], bool(a[2]))
    elif kind == "restart":
        sn = g.nodes[ids[a[1] % len(ids)]]
        if sn.node is None:
            g.start(sn)
    elif kind == "bounce":
        ld = g.leader()
        sn = ld if a[1] < 0 and ld is not None else g.nodes[ids[a[1] % len(ids)]]
        if sn.node is not None:
            g.crash(sn, bool(a[2]))
        if sn.node is None:
            g.start(sn)
    elif kind == "net":
        g.net.set_faults(drop=a[1], dup=a[2], spike=a[3])
        g.trace.add(g.now, "fault", f"net drop={a[1]} dup={a[2]} spike={a[3]}")
    elif kind == "transfer":
        ld = g.leader()
        if ld is not None and ld.node is not None:
            ok = ld.node.transfer_leadership(ids[a[1] % len(ids)])
            g.trace.add(g.now, "fault", f"transfer {ld.id}->{ids[a[1] % len(ids)]} {ok}")
            g.drive(ld)
    elif kind == "prefer":
        g.set_preferred(None if a[1] < 0 else ids[a[1] % len(ids)])
    else:
        raise ValueError(f"unknown action {a!r}")


def run_scenario(sc: Scenario, trace_keep: int = 400, report_last: int = 120) -> SimResult:
    """Play ``sc``; raises SimFailure (with seed, repro command and the last ``report_last`` trace events)
    on any violation."""
    trace = Trace(trace_keep)
    g = SimRaftGroup(sc.seed, sc.group, None if sc.preferred is None else f"n{sc.preferred}", trace)
    g.client.load, g.client.max_batch = sc.load, sc.client_batch
    try:
        return _play(sc, g)
    except (InvariantViolation, AssertionError) as exc:
        if isinstance(exc, SimFailure):
            raise
        why = f"{type(exc).__name__}: {exc}"
        raise SimFailure(failure_report(sc.seed, why, trace, sc.describe() + "\n  state: " + g.summary(),
                                        report_last), sc.seed) from exc


def catchup_ticks(cfg: GroupConfig, entries: int) -> int:
    """One tick per replication window (``max_inflight * max_batch_entries`` entries): the time a
    follower may need to fetch ``entries`` (a window per round trip, a round trip < 1 tick)."""
    return -(-entries // (cfg.max_inflight * cfg.max_batch_entries))


def leader_bound(cfg: GroupConfig, backlog: int) -> int:
    """Ticks allowed from the heal to a stable leader (elected, followed, its no-op committed):
    LEADER_BOUND_ELECTIONS election timeouts (PLAIN_RAFT_LEADER_BOUND_ELECTIONS without pre-vote: stale
    candidates with inflated terms keep disrupting plain Raft) + catching a quorum up on ``backlog``."""
    elections = LEADER_BOUND_ELECTIONS if cfg.pre_vote else PLAIN_RAFT_LEADER_BOUND_ELECTIONS
    return elections * cfg.election_tick + catchup_ticks(cfg, backlog)


def recovery_bound(cfg: GroupConfig, entries: int) -> int:
    """Ticks allowed from a stable leader to full recovery (preferred leader in place, fresh proposals
    acknowledged, every node caught up): RECOVERY_BOUND_ELECTIONS election timeouts + catch-up."""
    return RECOVERY_BOUND_ELECTIONS * cfg.election_tick + catchup_ticks(cfg, entries)


class RecoveryCheck:
    """The liveness predicate of the recovery phase (called after every tick-level event): a stable leader
    (the preferred one if set) has acknowledged a fresh probe of 3 proposals, and every node's log and
    commit index equal the leader's. ``probe`` is the batch being waited for."""

    def __init__(self, g: SimRaftGroup) -> None:
        self.g = g
        self.probe: list[bytes] = []

    def __call__(self) -> bool:
        g = self.g
        ld = g.stable_leader()
        if ld is None or ld.node is None:
            return False
        if g.preferred is not None and ld.id != g.preferred:
            return False
        c = g.client
        probe = set(self.probe)
        if not probe or not (probe <= c.acked_data or probe & c.pending_data(ld)):  # rule 4
            c.target = ld.id
            self.probe = c.propose(3)
            return False
        if not probe <= c.acked_data:
            return False
        last, commit = ld.node.log.last_index(), ld.node.log.committed
        return commit == last and all(
            sn.node is not None and sn.node.log.committed == commit and sn.node.log.last_index() == last
            for sn in g.nodes.values())


def _play(sc: Scenario, g: SimRaftGroup) -> SimResult:
    actions = sorted(sc.actions, key=lambda ta: ta[0])
    ai = 0
    for tick in range(sc.chaos_ticks):
        while ai < len(actions) and actions[ai][0] <= tick:
            apply_action(g, actions[ai][1])
            ai += 1
        g.run_until((tick + 1) * UNITS_PER_TICK)
    # ---- heal everything
    g.net.heal()
    g.net.set_faults(0.0, 0.0, 0.0)
    for sn in g.nodes.values():
        sn.crash_pending = False
        if sn.node is None:
            g.start(sn)
    g.trace.add(g.now, "fault", "HEAL ALL (liveness phase starts)")
    g.client.load = 0.0
    backlog = max(sn.disk.last_index() for sn in g.nodes.values())
    t0 = g.now
    bound = leader_bound(sc.group, backlog)
    if not g.run_until(t0 + bound * UNITS_PER_TICK, lambda: g.stable_leader() is not None):
        raise AssertionError(f"liveness: no stable leader {bound} ticks after heal")
    leader_ticks = (g.now - t0) / UNITS_PER_TICK
    recovered = RecoveryCheck(g)

    bound = recovery_bound(sc.group, len(g.inv.committed))
    if not g.run_until(g.now + bound * UNITS_PER_TICK, recovered):
        raise AssertionError(f"liveness: not recovered {bound} ticks after a stable leader "
                             f"(probe={recovered.probe}, preferred={g.preferred})")
    for sn in g.nodes.values():
        assert sn.node is not None
        g.inv.check_full(sn.id, sn.disk, sn.node.log.committed)
    return SimResult(sc.seed, sc.group.n_nodes, g.now // UNITS_PER_TICK, g.steps, len(g.inv.committed),
                     g.client.acked, leader_ticks, (g.now - t0) / UNITS_PER_TICK, len(g.inv.leaders),
                     catchup_ticks(sc.group, backlog))


def run_seed(seed: int, n_nodes: int | None = None) -> SimResult:
    """Run the scenario drawn from ``seed``."""
    return run_scenario(scenario_from_seed(seed, n_nodes))


__all__ = [
    "FAULT_KINDS", "LEADER_BOUND_ELECTIONS", "PLAIN_RAFT_LEADER_BOUND_ELECTIONS", "RECOVERY_BOUND_ELECTIONS",
    "Action", "Scenario", "SimResult",
    "SimFailure", "RecoveryCheck", "catchup_ticks", "leader_bound", "recovery_bound", "random_action",
    "scenario_from_seed",
    "apply_action", "run_scenario", "run_seed",
]
