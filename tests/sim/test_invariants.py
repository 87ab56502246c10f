"""The checkers must catch what they claim to catch (fed hand-made violations)."""
from __future__ import annotations

import pytest

from rmqlite.dledger.log import MemoryLog
from rmqlite.dledger.log_view import LogView
from rmqlite.dledger.messages import Entry
from rmqlite.sim.invariants import Invariants, InvariantViolation


def test_two_leaders_in_one_term() -> None:
    inv = Invariants()
    inv.on_leader("n0", 3, LogView(MemoryLog()))
    inv.on_leader("n0", 3, LogView(MemoryLog()))  # same node again is fine
    with pytest.raises(InvariantViolation, match="election safety"):
        inv.on_leader("n1", 3, LogView(MemoryLog()))


def test_applied_entries_must_agree() -> None:
    inv = Invariants()
    inv.on_apply("n0", Entry(1, 1, b"a"), 1)
    inv.on_apply("n1", Entry(1, 1, b"a"), 1)
    with pytest.raises(InvariantViolation, match="state machine safety"):
        inv.on_apply("n2", Entry(1, 1, b"b"), 1)
    with pytest.raises(InvariantViolation, match="hole"):
        inv.on_apply("n2", Entry(3, 1, b"c"), 1)


def test_log_matching_same_index_term_different_data_or_prev() -> None:
    inv = Invariants()
    d0, d1 = MemoryLog(), MemoryLog([Entry(1, 2, b"z")])
    inv.on_persist("n0", d0, [Entry(1, 1, b"a"), Entry(2, 2, b"b")], 0)
    with pytest.raises(InvariantViolation, match="log matching"):
        inv.on_persist("n1", MemoryLog(), [Entry(1, 1, b"X")], 0)
    with pytest.raises(InvariantViolation, match="log matching"):
        inv.on_persist("n1", d1, [Entry(2, 2, b"b")], 0)  # same (2,2) but previous term 2, not 1


def test_rewriting_applied_entries() -> None:
    inv = Invariants()
    with pytest.raises(InvariantViolation, match="already applied"):
        inv.on_persist("n0", MemoryLog([Entry(1, 1, b"a")]), [Entry(1, 2, b"b")], 1)


def test_leader_without_committed_or_acknowledged_entry() -> None:
    inv = Invariants()
    inv.on_apply("n0", Entry(1, 1, b"a"), 1)
    inv.on_apply("n0", Entry(2, 1, b"b"), 1)
    inv.on_ack(2, 1, b"b", 1)
    inv.on_leader("n1", 1, LogView(MemoryLog()))  # committed in term 1: a leader of term 1 may lack it
    with pytest.raises(InvariantViolation, match="leader completeness"):
        inv.on_leader("n2", 2, LogView(MemoryLog([Entry(1, 1, b"a")])))
    inv.on_leader("n3", 3, LogView(MemoryLog([Entry(1, 1, b"a"), Entry(2, 1, b"b")])))


def test_ack_must_be_committed() -> None:
    inv = Invariants()
    with pytest.raises(InvariantViolation, match="acknowledged"):
        inv.on_ack(1, 1, b"a", 1)
