"""SimRaftGroup: N RaftNodes, their simulated disks, a SimNetwork, a fake clock and a client, in one thread.

How it works:
  Two heaps drive the run: messages in flight (SimNetwork) and timers (node ticks, client actions).
  Each step pops the earliest event, feeds one node (``step`` / ``tick`` / ``propose``), runs that node's
  Ready loop with ``rmqlite.dledger.ready.process_ready`` (persist -> send -> apply -> advance) and then
  runs the invariant checks. Node ticks have slightly different periods (clock drift). A crash throws the
  RaftNode away and keeps only its ``SimDisk`` (persisted log + hard state); a "mid-ready" crash persists
  only a prefix of the pending Ready (an unsynced write lost) and sends nothing. A restart builds a fresh
  RaftNode from the disk with a new seeded RNG; its state machine is rebuilt by re-applying from index 1.

Rules:
  1. All randomness comes from ``self.rng`` (seeded) and generators derived from it.
  2. Invariants run after EVERY step (invariants.py), on every write and on every applied entry.
  3. The client counts a proposal as acknowledged only when the node that accepted it (same incarnation)
     applies an entry with the proposal's index, term and payload (SEND_OK implies committed).
  4. A pending proposal resolves (acked, or failed = TERM_CHANGED) only when its node applies that index.
     One accepted by a leader that was then deposed and cut from its log may stay pending for good: no
     log need ever grow back to its index. Only proposals pending at the current leader, in its current
     term, are sure to resolve (a leader never cuts its own log).
"""
from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass
from typing import Callable, Sequence, cast

from rmqlite.dledger.config import Accepted, NotLeader, RaftConfig, Role, SoftState
from rmqlite.dledger.log import MemoryLog
from rmqlite.dledger.messages import Entry, Index, Message, NodeId, Term
from rmqlite.dledger.node import RaftNode
from rmqlite.dledger.ready import process_ready
from rmqlite.sim.invariants import Invariants
from rmqlite.sim.network import UNITS_PER_TICK, SimNetwork
from rmqlite.sim.trace import Trace


class SimDisk(MemoryLog):
    """MemoryLog that reports writes to the invariants and can lose the tail of a Ready on crash."""

    __slots__ = ("node_id", "inv", "applied_max")

    def __init__(self, node_id: NodeId, inv: Invariants) -> None:
        super().__init__()
        self.node_id = node_id
        self.inv = inv
        self.applied_max = 0  # highest index ever applied on this disk's node (all incarnations)

    def append(self, entries: Sequence[Entry]) -> None:
        if entries:
            self.inv.on_persist(self.node_id, self, entries, self.applied_max)
        super().append(entries)


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """Shape of a simulated group (the Raft settings every member shares)."""

    n_nodes: int = 3
    election_tick: int = 6
    heartbeat_tick: int = 2
    pre_vote: bool = True
    check_quorum: bool = True
    max_inflight: int = 4
    max_batch_entries: int = 8
    max_uncommitted: int = 1000
    tick_jitter: int = 1      # node tick period = UNITS_PER_TICK +- jitter units (clock drift)


class SimNode:
    """One simulated member: durable disk + (when up) a RaftNode."""

    __slots__ = ("id", "disk", "node", "inc", "period", "applied", "crash_pending")

    def __init__(self, node_id: NodeId, disk: SimDisk, period: int) -> None:
        self.id = node_id
        self.disk = disk
        self.node: RaftNode | None = None
        self.inc = 0
        self.period = period
        self.applied = 0
        self.crash_pending = False


class SimClient:
    """Proposes unique payloads, follows NotLeader redirects, records acknowledgements (rule 3)."""

    def __init__(self, group: SimRaftGroup, rng: random.Random) -> None:
        self.group = group
        self.rng = rng
        self.counter = 0
        self.target: NodeId = group.ids[0]
        self.pending: dict[tuple[NodeId, int], dict[Index, tuple[Term, bytes]]] = {}
        self.acked = self.failed = self.unknown = self.refused = 0
        self.acked_data: set[bytes] = set()
        self.load = 0.5
        self.max_batch = 3

    def act(self) -> None:
        """Maybe propose a batch (probability ``load`` per tick)."""
        if self.rng.random() < self.load:
            self.propose(1 + self.rng.randrange(self.max_batch))

    def propose(self, count: int) -> list[bytes]:
        """Propose ``count`` fresh payloads to the believed leader; returns them if accepted, else []."""
        g = self.group
        sn = g.nodes.get(self.target)
        if sn is None or sn.node is None:
            live = [s for s in g.nodes.values() if s.node is not None]
            if not live:
                return []
            sn = self.rng.choice(live)
            self.target = sn.id
        assert sn.node is not None
        datas = []
        for _ in range(count):
            self.counter += 1
            datas.append(b"p%d" % self.counter)
        res = sn.node.propose_batch(datas)
        if isinstance(res, Accepted):
            p = self.pending.setdefault((sn.id, sn.inc), {})
            for i, d in enumerate(datas):
                p[res.first_index + i] = (res.term, d)
            g.trace.add(g.now, "propose", f"{sn.id} [{res.first_index}..{res.last_index}] t{res.term}")
            g.drive(sn)
            return datas
        self.refused += 1
        if isinstance(res, NotLeader):
            self.target = res.leader if res.leader is not None else self.rng.choice(g.ids)
        return []

    def on_apply(self, sn: SimNode, e: Entry, term: Term) -> None:
        p = self.pending.get((sn.id, sn.inc))
        if not p:
            return
        want = p.pop(e.index, None)
        if want is None:
            return
        if want[0] == e.term:
            if want[1] != e.data:
                self.group.inv.fail(f"{sn.id} applied {e} for proposal {want}")
            self.acked += 1
            self.acked_data.add(e.data)
            self.group.inv.on_ack(e.index, e.term, e.data, term)
        else:
            self.failed += 1  # another leader's entry took the slot: TERM_CHANGED

    def on_crash(self, sn: SimNode) -> None:
        lost = self.pending.pop((sn.id, sn.inc), None)
        self.unknown += len(lost or ())

    def pending_data(self, at: SimNode | None = None) -> set[bytes]:
        """Payloads accepted by a live incarnation and not yet resolved; with ``at``, only those that this
        incarnation of ``at`` accepted in its current term (rule 4)."""
        if at is None:
            return {d for p in self.pending.values() for (_, d) in p.values()}
        term = at.node.term if at.node is not None else -1
        return {d for (t, d) in self.pending.get((at.id, at.inc), {}).values() if t == term}


class SimRaftGroup:
    """A whole simulated DLedger group (see module docstring)."""

    def __init__(self, seed: int | random.Random, cfg: GroupConfig = GroupConfig(),
                 preferred: NodeId | None = None, trace: Trace | None = None) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.cfg = cfg
        self.ids = tuple(f"n{i}" for i in range(cfg.n_nodes))
        self.inv = Invariants()
        self.trace = trace or Trace()
        self.net = SimNetwork(random.Random(self.rng.getrandbits(64)), self.ids)
        self.client = SimClient(self, random.Random(self.rng.getrandbits(64)))
        self.preferred = preferred
        self.now = 0
        self.timers: list[tuple[int, int, int, object]] = []
        self.seq = itertools.count()
        self.steps = 0
        self.nodes: dict[NodeId, SimNode] = {}
        for i in self.ids:
            period = UNITS_PER_TICK + self.rng.randint(-cfg.tick_jitter, cfg.tick_jitter)
            self.nodes[i] = SimNode(i, SimDisk(i, self.inv), period)
        for sn in self.nodes.values():
            self.start(sn)
        self._schedule(self.now + UNITS_PER_TICK, 2, None)  # client timer

    # ------------------------------------------------------------ lifecycle
    def raft_config(self, node_id: NodeId) -> RaftConfig:
        c = self.cfg
        return RaftConfig(
            node_id=node_id, voters=self.ids, election_tick=c.election_tick, heartbeat_tick=c.heartbeat_tick,
            pre_vote=c.pre_vote, check_quorum=c.check_quorum, max_inflight=c.max_inflight,
            max_batch_entries=c.max_batch_entries, max_uncommitted=c.max_uncommitted,
            preferred_leader=self.preferred,
        )

    def start(self, sn: SimNode) -> None:
        """(Re)start a node from its durable disk only."""
        assert sn.node is None
        sn.inc += 1
        sn.applied = 0
        sn.crash_pending = False
        sn.node = RaftNode(self.raft_config(sn.id), sn.disk, random.Random(self.rng.getrandbits(64)))
        self.trace.add(self.now, "start", f"{sn.id}#{sn.inc} {sn.disk.hard_state()} last={sn.disk.last_index()}")
        self._schedule(self.now + 1 + self.rng.randrange(sn.period), 1, (sn, sn.inc))
        self.drive(sn)

    def crash(self, sn: SimNode, mid_ready: bool = False) -> None:
        """Kill a node now; with ``mid_ready`` it dies at its next Ready instead, having persisted only a
        prefix of it (the unsynced tail is lost) and sent none of its messages."""
        node = sn.node
        if node is None:
            return
        if mid_ready and not node.has_ready():
            sn.crash_pending = True
            return
        sn.crash_pending = False
        if mid_ready:
            rd = node.ready()
            keep = self.rng.randrange(len(rd.entries) + 1)
            if keep:
                sn.disk.append(rd.entries[:keep])
            if rd.hard_state is not None and keep == len(rd.entries) and self.rng.random() < 0.5:
                sn.disk.set_hard_state(rd.hard_state)
            self.trace.add(self.now, "crash", f"{sn.id} mid-ready kept {keep}/{len(rd.entries)} entries")
        else:
            self.trace.add(self.now, "crash", f"{sn.id} {node!r}")
        self.client.on_crash(sn)
        sn.node = None

    def set_preferred(self, node: NodeId | None) -> None:
        self.preferred = node
        for sn in self.nodes.values():
            if sn.node is not None:
                sn.node.set_preferred_leader(node)
        self.trace.add(self.now, "prefer", str(node))

    # ------------------------------------------------------------ stepping
    def _schedule(self, at: int, kind: int, arg: object) -> None:
        heapq.heappush(self.timers, (at, next(self.seq), kind, arg))

    def drive(self, sn: SimNode) -> None:
        """Run the node's Ready loop (persist -> send -> apply -> advance), then the per-step checks."""
        node = sn.node
        assert node is not None
        if sn.crash_pending and node.has_ready():
            self.crash(sn, mid_ready=True)
            return
        inv, net, client = self.inv, self.net, self.client

        def send(m: Message) -> None:
            net.send(m, self.now)

        def apply(e: Entry) -> None:
            inv.on_apply(sn.id, e, node.term)
            sn.applied = e.index
            if e.index > sn.disk.applied_max:
                sn.disk.applied_max = e.index
            client.on_apply(sn, e, node.term)

        def on_soft(ss: SoftState) -> None:
            self.trace.add(self.now, "role", f"{sn.id} {ss.role.value} t{ss.term} leader={ss.leader}")
            if ss.role is Role.LEADER:
                inv.on_leader(sn.id, ss.term, node.log)

        process_ready(node, sn.disk, send, apply, on_soft)
        inv.after_step(sn.id, node.log)

    def run_until(self, until: int, stop: Callable[[], bool] | None = None) -> bool:
        """Process events up to sim time ``until``; returns True if ``stop()`` became true (checked
        after every tick-level event)."""
        net, timers, nodes, trace = self.net, self.timers, self.nodes, self.trace
        while True:
            t_msg = net.heap[0][0] if net.heap else None
            t_tim = timers[0][0] if timers else None
            if t_msg is not None and (t_tim is None or t_msg <= t_tim):
                if t_msg > until:
                    break
                self.now, m = net.pop()
                self.steps += 1
                if m is None:
                    continue
                sn = nodes[m.dst]
                if sn.node is None:
                    continue
                trace.add(self.now, "deliver", m)
                sn.node.step(m)
                self.drive(sn)
                continue
            if t_tim is None or t_tim > until:
                break
            self.now, _, kind, arg = heapq.heappop(timers)
            self.steps += 1
            if kind == 1:
                sn, inc = cast(tuple[SimNode, int], arg)
                if sn.node is None or sn.inc != inc:
                    continue
                sn.node.tick()
                self.drive(sn)
                self._schedule(self.now + sn.period, 1, arg)
            else:
                self.client.act()
                self._schedule(self.now + UNITS_PER_TICK, 2, None)
                if stop is not None and stop():
                    self.now = min(self.now, until)
                    return True
        self.now = max(self.now, until)
        return False

    # ------------------------------------------------------------ queries
    def live(self) -> list[SimNode]:
        return [sn for sn in self.nodes.values() if sn.node is not None]

    def leader(self) -> SimNode | None:
        """The live node that leads the highest term, if any."""
        best = None
        for sn in self.nodes.values():
            n = sn.node
            if n is not None and n.role is Role.LEADER and (best is None or n.term > best.node.term):  # type: ignore[union-attr]
                best = sn
        return best

    def stable_leader(self) -> SimNode | None:
        """A leader whose no-op is committed and that every live node follows in its term."""
        ld = self.leader()
        if ld is None or ld.node is None or not ld.node.leader_ready:
            return None
        t = ld.node.term
        for sn in self.nodes.values():
            n = sn.node
            if n is not None and (n.term != t or n.leader != ld.id):
                return None
        return ld

    def summary(self) -> str:
        parts = []
        for sn in self.nodes.values():
            n = sn.node
            state = "down" if n is None else f"{n.role.value[0]}t{n.term}c{n.log.committed}l{n.log.last_index()}"
            parts.append(f"{sn.id}:{state}")
        c = self.client
        return (f"{' '.join(parts)} committed={len(self.inv.committed)} acked={c.acked} failed={c.failed} "
                f"unknown={c.unknown} msgs={self.net.sent} drop={self.net.dropped} steps={self.steps}")


__all__ = ["SimDisk", "GroupConfig", "SimNode", "SimClient", "SimRaftGroup"]
