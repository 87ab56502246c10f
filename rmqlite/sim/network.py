"""SimNetwork: a seeded, lossy, reordering message network for deterministic simulation.

How it works:
  Time is an integer count of sim units (``UNITS_PER_TICK`` units = one Raft tick). ``send`` decides, from
  one ``random.Random``, whether a message is dropped, how long it travels (base latency plus occasional
  spikes, so messages overtake each other = reordering) and whether a duplicate copy is also delivered.
  Messages wait in a heap ordered by (delivery time, send sequence). Partitions are a set of blocked
  directed links, checked both at send and at delivery (a cut also loses what was in flight).

Rules:
  1. Every random decision comes from ``self.rng``: same seed + same calls = same deliveries.
  2. ``blocked`` holds directed (src, dst) pairs; a symmetric cut blocks both directions.
  3. Partition modes (Jepsen's vocabulary): ``halves`` (random split, minority/majority), ``isolate``
     (one node alone), ``ring`` (majorities ring: everyone sees a different majority; 5+ nodes),
     ``bridge`` (two sides joined only through one node). ``asymmetric`` blocks one direction only.
"""
from __future__ import annotations

import heapq
import itertools
import random
from typing import Sequence

from rmqlite.dledger.messages import Message, NodeId

UNITS_PER_TICK = 10
PARTITION_MODES = ("halves", "isolate", "ring", "bridge")


class SimNetwork:
    """In-memory network with per-message faults and partitions."""

    def __init__(self, seed: int | random.Random, nodes: Sequence[NodeId]) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.nodes = tuple(nodes)
        self.heap: list[tuple[int, int, Message]] = []
        self.seq = itertools.count()
        self.blocked: set[tuple[NodeId, NodeId]] = set()
        self.drop_rate = 0.0
        self.dup_rate = 0.0
        self.delay_min = 1        # units
        self.delay_span = 3       # extra uniform units
        self.spike_rate = 0.0     # probability of a long delay
        self.spike_max = 3 * UNITS_PER_TICK
        self.sent = self.dropped = self.duplicated = 0

    # ------------------------------------------------------------ faults
    def set_faults(self, drop: float = 0.0, dup: float = 0.0, spike: float = 0.0,
                   spike_max: int | None = None) -> None:
        """Per-message fault rates (probabilities in [0, 1))."""
        self.drop_rate, self.dup_rate, self.spike_rate = drop, dup, spike
        if spike_max is not None:
            self.spike_max = spike_max

    def partition(self, mode: str, asymmetric: bool = False) -> list[list[NodeId]]:
        """Cut links according to ``mode`` (rule 3); returns the groups for the trace."""
        nodes = list(self.nodes)
        self.rng.shuffle(nodes)
        n = len(nodes)
        cuts: list[tuple[NodeId, NodeId]] = []
        if mode == "halves":
            k = n // 2
            groups = [nodes[:k], nodes[k:]]
            cuts = [(a, b) for a in groups[0] for b in groups[1]]
        elif mode == "isolate":
            groups = [nodes[:1], nodes[1:]]
            cuts = [(nodes[0], b) for b in nodes[1:]]
        elif mode == "ring" and n >= 5:
            reach = (n // 2 + 1) // 2  # each node reaches itself + 2*reach neighbours = a majority
            groups = [nodes]
            for i in range(n):
                for j in range(i + 1, n):
                    d = min(j - i, n - (j - i))
                    if d > reach:
                        cuts.append((nodes[i], nodes[j]))
        elif mode in ("bridge", "ring"):
            mid = n // 2
            groups = [nodes[:mid], nodes[mid:mid + 1], nodes[mid + 1:]]
            cuts = [(a, b) for a in groups[0] for b in groups[2]]
        else:
            raise ValueError(f"unknown partition mode {mode!r}")
        for a, b in cuts:
            if asymmetric:
                self.blocked.add((a, b) if self.rng.random() < 0.5 else (b, a))
            else:
                self.blocked.add((a, b))
                self.blocked.add((b, a))
        return groups

    def cut(self, a: NodeId, b: NodeId, both: bool = True) -> None:
        """Block the link a->b (and b->a when ``both``)."""
        self.blocked.add((a, b))
        if both:
            self.blocked.add((b, a))

    def heal(self) -> None:
        """Remove every partition (per-message fault rates are kept)."""
        self.blocked.clear()

    # ------------------------------------------------------------ traffic
    def send(self, m: Message, now: int) -> None:
        """Put ``m`` in flight (or drop it)."""
        self.sent += 1
        if self.blocked and (m.src, m.dst) in self.blocked:
            self.dropped += 1
            return
        r = self.rng.random
        if self.drop_rate and r() < self.drop_rate:
            self.dropped += 1
            return
        heapq.heappush(self.heap, (now + self._delay(), next(self.seq), m))
        if self.dup_rate and r() < self.dup_rate:
            self.duplicated += 1
            heapq.heappush(self.heap, (now + self._delay(), next(self.seq), m))

    def _delay(self) -> int:
        rnd = self.rng.random
        d = self.delay_min + int(rnd() * self.delay_span)
        if self.spike_rate and rnd() < self.spike_rate:
            d += int(rnd() * self.spike_max)
        return d

    def next_time(self) -> int | None:
        """Delivery time of the next message in flight (None when idle)."""
        return self.heap[0][0] if self.heap else None

    def pop(self) -> tuple[int, Message | None]:
        """Take the next message; returns (time, None) when a partition swallowed it."""
        t, _, m = heapq.heappop(self.heap)
        if self.blocked and (m.src, m.dst) in self.blocked:
            self.dropped += 1
            return t, None
        return t, m

    def in_flight(self) -> int:
        return len(self.heap)


__all__ = ["SimNetwork", "UNITS_PER_TICK", "PARTITION_MODES"]
