"""The node's view of its log: persisted storage plus an unstable (not yet persisted) tail.

How it works:
  ``storage`` (a ``RaftLog``) holds what the driver has persisted; ``unstable`` holds entries the node
  accepted since (proposals, or appends from the leader), starting at ``offset``. ``Ready.entries`` hands
  the unstable tail out; ``stable_to`` drops it once the driver persisted it. A follower truncation only
  rewrites the unstable tail; the storage truncates itself when that tail is appended (log.py rule 1).

Rules:
  1. ``offset <= storage.last_index() + 1``; reads at index >= ``offset`` come from ``unstable``.
  2. ``applied <= committed <= last_index()``; ``committed`` never decreases.
  3. Entries up to ``committed`` are never truncated (asserted: that would lose committed data).
"""
from __future__ import annotations

from typing import Sequence

from rmqlite.dledger.log import RaftLog, limit_bytes
from rmqlite.dledger.messages import Entry, Index, Term


class LogView:
    """Storage + unstable tail + commit/applied cursors."""

    __slots__ = ("storage", "unstable", "offset", "committed", "applied")

    def __init__(self, storage: RaftLog, committed: Index = 0, applied: Index = 0) -> None:
        self.storage = storage
        self.unstable: list[Entry] = []
        self.offset: Index = storage.last_index() + 1
        last = storage.last_index()
        # the application only ever applies committed entries: what it applied is committed too
        self.committed: Index = min(max(committed, applied), last)
        self.applied: Index = min(applied, self.committed)

    def last_index(self) -> Index:
        if self.unstable:
            return self.offset + len(self.unstable) - 1
        return self.storage.last_index()

    def last_term(self) -> Term:
        return self.term(self.last_index())

    def term(self, index: Index) -> Term:
        """Term at ``index`` (0 for index 0); IndexError when beyond the last entry."""
        if index >= self.offset and self.unstable:
            pos = index - self.offset
            if pos >= len(self.unstable):
                raise IndexError(f"index {index} beyond last {self.last_index()}")
            return self.unstable[pos].term
        return self.storage.term(index)

    def match_term(self, index: Index, term: Term) -> bool:
        """True when the entry at ``index`` exists and has ``term``."""
        if index > self.last_index():
            return False
        return self.term(index) == term

    def is_up_to_date(self, last_index: Index, last_term: Term) -> bool:
        """Raft §5.4.1: a log ending at (last_term, last_index) is at least as up to date as ours."""
        my_last = self.last_index()
        my_term = self.term(my_last)
        return last_term > my_term or (last_term == my_term and last_index >= my_last)

    def slice(self, lo: Index, hi: Index, max_bytes: int = 0) -> list[Entry]:
        """Entries ``[lo, hi)`` from storage and/or the unstable tail, payload-bounded by ``max_bytes``."""
        if lo >= hi:
            return []
        out: list[Entry] = []
        if lo < self.offset:
            out = self.storage.entries(lo, min(hi, self.offset), max_bytes)
            if len(out) < min(hi, self.offset) - lo:
                return out
        if hi > self.offset:
            start = max(lo, self.offset) - self.offset
            out = out + self.unstable[start:hi - self.offset]
        if max_bytes > 0:
            out = limit_bytes(out, max_bytes)
        return out

    def append(self, entries: Sequence[Entry]) -> None:
        """Put ``entries`` at their indexes, dropping whatever follows them (rule 3 asserted)."""
        if not entries:
            return
        first = entries[0].index
        assert first > self.committed, f"truncating committed index {first} <= {self.committed}"
        after = first - self.offset
        if after == len(self.unstable):
            self.unstable.extend(entries)
        elif after <= 0:
            self.offset = first
            self.unstable = list(entries)
        else:
            del self.unstable[after:]
            self.unstable.extend(entries)

    def find_conflict(self, entries: Sequence[Entry]) -> int:
        """Position in ``entries`` of the first entry missing from or differing (by term) in our log;
        ``len(entries)`` when all are already present."""
        last = self.last_index()
        for pos, e in enumerate(entries):
            if e.index > last or self.term(e.index) != e.term:
                return pos
        return len(entries)

    def find_conflict_by_term(self, index: Index, term: Term) -> Index:
        """Largest index <= ``index`` whose term is <= ``term`` (fast backtracking hint)."""
        index = min(index, self.last_index())
        if self.term(index) <= term:
            return index
        lo, hi = 0, index  # terms never decrease along a log: binary search, term(lo) <= term < term(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.term(mid) <= term:
                lo = mid
            else:
                hi = mid
        return lo

    def commit_to(self, index: Index) -> bool:
        """Raise ``committed`` to ``index`` (bounded by the log); True when it moved."""
        index = min(index, self.last_index())
        if index > self.committed:
            self.committed = index
            return True
        return False

    def stable_to(self, index: Index, term: Term) -> None:
        """The driver persisted entries up to ``index`` (of ``term``): drop them from the tail."""
        if index < self.offset or not self.unstable:
            return
        pos = index - self.offset
        if pos >= len(self.unstable) or self.unstable[pos].term != term:
            return  # the tail was rewritten since that Ready: keep it for the next one
        del self.unstable[:pos + 1]
        self.offset = index + 1

    def next_committed(self, max_bytes: int = 0) -> list[Entry]:
        """Committed entries not yet handed to the application."""
        return self.slice(self.applied + 1, self.committed + 1, max_bytes)


__all__ = ["LogView"]
