"""Leader-side replication progress of one follower (etcd's tracker.Progress, simplified).

How it works:
  PROBE: the leader does not know where the follower's log matches; it sends one append at ``next`` and
  waits (``probe_sent``) for the answer or the next heartbeat response before sending another.
  REPLICATE: the follower is known to match up to ``match``; the leader streams appends optimistically
  (pipelining), advancing ``next`` as it sends, with at most ``max_inflight`` unacknowledged appends
  (``inflight`` = last index of each). A reject or a silent heartbeat interval drops back to PROBE.

Rules:
  1. ``match < next`` always; ``match`` only grows while this node stays leader in this term.
  2. A stale reject (about an append that no longer describes ``next``) changes nothing.
  3. ``recent_active`` is set by any response from the follower and reset by the leader every election
     timeout (check-quorum).
  4. Loss detection: if a heartbeat response arrives while appends sent BEFORE that heartbeat are still
     unacknowledged (``match < hb_next - 1``), they were lost: drop back to PROBE and resend.
"""
from __future__ import annotations

import enum
from collections import deque

from rmqlite.dledger.messages import Index


class ProgressState(enum.Enum):
    """Replication mode of one follower."""

    PROBE = "probe"
    REPLICATE = "replicate"


class Progress:
    """Replication state the leader keeps for one peer."""

    __slots__ = ("match", "next", "state", "probe_sent", "inflight", "recent_active", "hb_next")

    def __init__(self, next_index: Index) -> None:
        self.match: Index = 0
        self.next: Index = next_index
        self.state = ProgressState.PROBE
        self.probe_sent = False
        self.inflight: deque[Index] = deque()
        self.recent_active = False
        self.hb_next: Index = 0  # ``next`` when the last heartbeat went out (loss detection)

    def become_probe(self) -> None:
        """Forget optimistic sends; probe again right after the last known match."""
        self.state = ProgressState.PROBE
        self.next = self.match + 1
        self.probe_sent = False
        self.inflight.clear()

    def become_replicate(self) -> None:
        """Follower matches at ``match``: stream from ``match + 1``."""
        self.state = ProgressState.REPLICATE
        self.next = self.match + 1
        self.probe_sent = False
        self.inflight.clear()

    def maybe_update(self, index: Index) -> bool:
        """Record a successful append up to ``index``; True when ``match`` grew."""
        updated = index > self.match
        if updated:
            self.match = index
        if self.next < index + 1:
            self.next = index + 1
        infl = self.inflight
        while infl and infl[0] <= index:
            infl.popleft()
        return updated

    def maybe_decr_to(self, rejected: Index, hint: Index) -> bool:
        """Handle a reject of ``prev_index == rejected``; ``hint`` = highest index that may match.
        Returns False for stale rejects (rule 2)."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.become_probe()
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, hint + 1), self.match + 1)
        self.probe_sent = False
        return True

    def sent(self, last: Index, count: int) -> None:
        """Account for an append carrying ``count`` entries ending at ``last``."""
        if self.state is ProgressState.REPLICATE:
            if count:
                self.next = last + 1
                self.inflight.append(last)
        else:
            self.probe_sent = True

    def paused(self, max_inflight: int) -> bool:
        """True when no further append may be sent right now."""
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        return len(self.inflight) >= max_inflight

    def __repr__(self) -> str:
        return (f"Progress({self.state.value} match={self.match} next={self.next} "
                f"inflight={len(self.inflight)} active={self.recent_active})")


__all__ = ["ProgressState", "Progress"]
