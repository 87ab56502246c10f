"""Safety invariants of a simulated Raft group, checked incrementally after every step.

How it works:
  The simulator reports every durable write (before it happens), every applied (committed) entry, every
  role change and every client acknowledgement. The checker keeps the global committed prefix and a map
  (index, term) -> (payload, previous term) over every entry ever persisted anywhere, so each check costs
  O(entries touched) and can run after every single step.

Rules (each violation raises ``InvariantViolation``):
  1. Election safety: at most one leader per term.
  2. State machine safety: every node applies the same entry at a given index; the global committed
     prefix never changes and never has holes.
  3. Log matching: two persisted entries with equal (index, term) have equal payloads and equal previous
     terms (so, by induction, equal prefixes); a node's log matches the committed prefix up to its commit.
  4. Committed entries never disappear: no node rewrites or cuts its log at or below the highest index
     it ever applied (even across restarts); a stale leader or a follower may hold divergent entries at
     globally committed indexes, as long as it never applies them (rule 2) and drops them later.
  5. Leader completeness: a leader of term T holds every entry committed (first reported) in a term < T,
     and every entry acknowledged to a client in a term < T (durability of acknowledged appends).
  6. Acknowledged appends are committed entries with the acknowledged (index, term, payload).
"""
from __future__ import annotations

from typing import Sequence

from rmqlite.dledger.log import RaftLog
from rmqlite.dledger.log_view import LogView
from rmqlite.dledger.messages import Entry, Index, NodeId, Term


class InvariantViolation(AssertionError):
    """A safety property of Raft does not hold."""


class Invariants:
    """Incremental checker shared by all nodes of one simulated group."""

    def __init__(self) -> None:
        self.committed: list[Entry] = []          # global committed prefix; index i at [i - 1]
        self.commit_term: list[Term] = []         # term of the node that first reported index i
        self.leaders: dict[Term, NodeId] = {}
        self.matching: dict[tuple[Index, Term], tuple[bytes, Term]] = {}
        self.acked_max: dict[Term, Index] = {}    # ack term -> highest index acknowledged in it
        self.acked = 0
        self.checks = 0

    def fail(self, why: str) -> None:
        raise InvariantViolation(why)

    # ------------------------------------------------------------ writes (rules 3, 4)
    def on_persist(self, node: NodeId, disk: RaftLog, entries: Sequence[Entry], applied_max: Index) -> None:
        """Called just before ``disk.append(entries)``; ``applied_max`` = highest index this node ever
        applied (over all its incarnations)."""
        self.checks += 1
        first = entries[0].index
        if first <= applied_max:
            self.fail(f"{node} rewrites from index {first} but already applied up to {applied_max}")
        old_last = disk.last_index()
        prev_term = disk.term(first - 1) if first - 1 <= old_last else -1
        matching = self.matching
        for e in entries:
            key = (e.index, e.term)
            seen = matching.get(key)
            if seen is None:
                matching[key] = (e.data, prev_term)
            elif seen != (e.data, prev_term):
                self.fail(f"log matching: {node} writes {e} after prev term {prev_term}, "
                          f"but ({e.index},{e.term}) was (data={seen[0]!r}, prev term {seen[1]})")
            prev_term = e.term

    # ------------------------------------------------------------ commits (rule 2)
    def on_apply(self, node: NodeId, e: Entry, node_term: Term) -> None:
        """A node applied committed entry ``e`` while in ``node_term``."""
        g = self.committed
        if e.index <= len(g):
            ge = g[e.index - 1]
            if ge.term != e.term or ge.data != e.data:
                self.fail(f"state machine safety: {node} applies {e} but committed[{e.index}] is {ge}")
        elif e.index == len(g) + 1:
            g.append(e)
            self.commit_term.append(node_term)
        else:
            self.fail(f"{node} applies index {e.index} beyond committed prefix {len(g)} (hole)")

    def on_ack(self, index: Index, term: Term, data: bytes, ack_term: Term) -> None:
        """The client got a success for (index, term, data) from a node in ``ack_term`` (rule 6)."""
        g = self.committed
        if index > len(g) or g[index - 1].term != term or g[index - 1].data != data:
            self.fail(f"acknowledged ({index},{term},{data!r}) is not the committed entry")
        self.acked += 1
        if self.acked_max.get(ack_term, 0) < index:
            self.acked_max[ack_term] = index

    # ------------------------------------------------------------ leaders (rules 1, 5)
    def on_leader(self, node: NodeId, term: Term, log: LogView) -> None:
        """``node`` just became leader of ``term`` with ``log``."""
        prev = self.leaders.setdefault(term, node)
        if prev != node:
            self.fail(f"election safety: {node} and {prev} both lead term {term}")
        ct = self.commit_term
        i = len(ct)
        while i > 0 and ct[i - 1] >= term:
            i -= 1
        self._holds(node, log, i, term, "committed")
        acked = max((ix for t, ix in self.acked_max.items() if t < term), default=0)
        self._holds(node, log, acked, term, "acknowledged")

    def _holds(self, node: NodeId, log: LogView, index: Index, term: Term, what: str) -> None:
        """The leader's log holds the committed prefix up to ``index`` (by rule 3 checking the last
        entry is enough: equal (index, term) implies equal prefixes)."""
        if index == 0:
            return
        want = self.committed[index - 1]
        if log.last_index() < index or log.term(index) != want.term:
            self.fail(f"leader completeness: {node} leads term {term} without {what} entry {want}")

    # ------------------------------------------------------------ per step
    def after_step(self, node: NodeId, log: LogView) -> None:
        """Cheap per-step consistency of one node after its Ready loop ran dry."""
        if log.applied != log.committed:
            self.fail(f"{node} left committed entries unapplied ({log.applied} < {log.committed})")
        if log.committed > len(self.committed):
            self.fail(f"{node} commit {log.committed} beyond reported prefix {len(self.committed)}")

    def check_full(self, node: NodeId, disk: RaftLog, commit: Index) -> None:
        """Full comparison of a durable log with the committed prefix up to ``commit`` (end of run)."""
        upto = min(commit, disk.last_index(), len(self.committed))
        for e in disk.entries(1, upto + 1) if upto else []:
            ge = self.committed[e.index - 1]
            if ge != e:
                self.fail(f"{node} durable log differs from committed prefix at {e.index}: {e} vs {ge}")


__all__ = ["InvariantViolation", "Invariants"]
