"""Durable Raft storage: the ``RaftLog`` protocol, ``HardState`` and the in-memory ``MemoryLog``.

How it works:
  The node never writes storage itself. It hands new entries and hard state out in ``Ready``; the driver
  calls ``append`` / ``set_hard_state`` / ``sync`` (see ``ready.process_ready``) and then ``advance``.
  The node reads storage (``last_index``, ``term``, ``entries``) for everything it has already persisted.

Rules:
  1. ``append(entries)`` first drops every stored entry with index >= ``entries[0].index``, then appends;
     ``entries[0].index`` must be <= ``last_index() + 1`` (no holes), indices are consecutive.
  2. ``term(0) == 0``; ``term(i)`` for 0 < i <= ``last_index()`` is that entry's term; beyond -> IndexError.
  3. After ``sync()`` returns, everything appended and the last hard state survive a crash. Before it, any
     suffix of the unsynced writes may be lost (never a hole in the middle).
  4. ``HardState`` (term, vote, commit) is persisted BEFORE any message of the same Ready is sent: a node
     must never forget a vote or a term it announced. ``commit`` is advisory (clamped to the log on load).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from rmqlite.dledger.messages import Entry, Index, NodeId, Term


@dataclass(frozen=True, slots=True)
class HardState:
    """What must survive a crash besides the log: current term, vote in that term, known commit index."""

    term: Term = 0
    vote: NodeId | None = None
    commit: Index = 0


class RaftLog(Protocol):
    """Storage contract the node reads from and the driver writes to (see module rules)."""

    def last_index(self) -> Index:
        """Index of the last stored entry (0 when empty)."""

    def term(self, index: Index) -> Term:
        """Term of the entry at ``index`` (0 for index 0); IndexError beyond ``last_index()``."""

    def entries(self, lo: Index, hi: Index, max_bytes: int = 0) -> list[Entry]:
        """Entries ``[lo, hi)``; with ``max_bytes`` > 0 stop once the payload total would exceed it
        (at least one entry is always returned when ``lo < hi``)."""

    def append(self, entries: Sequence[Entry]) -> None:
        """Truncate from ``entries[0].index`` and append ``entries`` (rule 1)."""

    def hard_state(self) -> HardState:
        """The last hard state set (``HardState()`` when none)."""

    def set_hard_state(self, hs: HardState) -> None:
        """Replace the hard state (durable after ``sync``)."""

    def sync(self) -> None:
        """Make all previous writes durable (fsync)."""


class MemoryLog:
    """A ``RaftLog`` kept in lists: every write is immediately "durable" (``sync`` is a no-op).

    The simulator models lost unsynced writes by applying only part of a Ready before a crash.
    """

    __slots__ = ("_entries", "_terms", "_hs", "writes")

    def __init__(self, entries: Sequence[Entry] = (), hs: HardState | None = None) -> None:
        self._entries: list[Entry] = []
        self._terms: list[Term] = [0]  # _terms[i] = term of index i; slot 0 is the sentinel
        self._hs = hs or HardState()
        self.writes = 0
        if entries:
            self.append(entries)

    def last_index(self) -> Index:
        return len(self._entries)

    def term(self, index: Index) -> Term:
        if index < 0:
            raise IndexError(f"negative index {index}")
        return self._terms[index]

    def entries(self, lo: Index, hi: Index, max_bytes: int = 0) -> list[Entry]:
        if lo < 1 or hi > len(self._entries) + 1 or lo > hi:
            raise IndexError(f"entries [{lo}, {hi}) outside [1, {len(self._entries) + 1})")
        out = self._entries[lo - 1:hi - 1]
        if max_bytes > 0:
            out = limit_bytes(out, max_bytes)
        return out

    def append(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        first = entries[0].index
        if first < 1 or first > len(self._entries) + 1:
            raise ValueError(f"append at {first} leaves a hole (last index {len(self._entries)})")
        del self._entries[first - 1:]
        del self._terms[first:]
        for i, e in enumerate(entries):
            if e.index != first + i:
                raise ValueError(f"non-consecutive entry index {e.index}, expected {first + i}")
            self._entries.append(e)
            self._terms.append(e.term)
        self.writes += 1

    def hard_state(self) -> HardState:
        return self._hs

    def set_hard_state(self, hs: HardState) -> None:
        self._hs = hs
        self.writes += 1

    def sync(self) -> None:
        return None

    def all_entries(self) -> list[Entry]:
        """A copy of every stored entry (tests and simulator checks)."""
        return list(self._entries)


def limit_bytes(entries: list[Entry], max_bytes: int) -> list[Entry]:
    """Longest prefix of ``entries`` whose payload total stays <= ``max_bytes`` (never empty if input isn't)."""
    total = 0
    for i, e in enumerate(entries):
        total += len(e.data)
        if total > max_bytes and i > 0:
            return entries[:i]
    return entries


__all__ = ["HardState", "RaftLog", "MemoryLog", "limit_bytes"]
