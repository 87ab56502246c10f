"""Raft log entries and peer-to-peer messages of the DLedger core (pure data).

How it works:
  Every message is a frozen, slotted dataclass carrying ``term``, ``src`` and ``dst``. The node consumes
  them in ``RaftNode.step`` and emits them in ``Ready.messages``; a shell turns them into DLedger RPCs
  (VOTE 51001, PUSH 51004, HEART_BEAT 51002, LEADERSHIP_TRANSFER 51005) or the simulator delivers them.

Rules:
  1. Messages are immutable values: a duplicated or delayed copy is always safe to deliver.
  2. ``Entry.index`` is 1-based (0 = "before the first entry", term 0). DLedger's on-disk index is
     ``index - 1`` (its first entry has index 0); the file log does that mapping, the core never does.
  3. An entry whose ``data`` is empty is a leader no-op (appended on election); applications skip it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias, Union

NodeId: TypeAlias = str  # DLedger selfId, e.g. "n0"
Term: TypeAlias = int
Index: TypeAlias = int


@dataclass(frozen=True, slots=True)
class Entry:
    """One replicated log entry; ``data`` is an opaque payload (empty = leader no-op)."""

    index: Index
    term: Term
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class VoteRequest:
    """RequestVote (``pre_vote``: the trial round that changes nobody's term; ``transfer``: TimeoutNow-driven)."""

    term: Term
    src: NodeId
    dst: NodeId
    last_index: Index
    last_term: Term
    pre_vote: bool = False
    transfer: bool = False


@dataclass(frozen=True, slots=True)
class VoteResponse:
    """Answer to a VoteRequest; ``pre_vote`` mirrors the request."""

    term: Term
    src: NodeId
    dst: NodeId
    granted: bool
    pre_vote: bool = False


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """AppendEntries: ``entries`` follow (``prev_index``, ``prev_term``); may be empty (commit/probe only)."""

    term: Term
    src: NodeId
    dst: NodeId
    prev_index: Index
    prev_term: Term
    entries: tuple[Entry, ...]
    commit: Index


@dataclass(frozen=True, slots=True)
class AppendResponse:
    """Success: ``index`` = last index known to match. Reject: ``index`` = the rejected ``prev_index`` and
    (``hint_index``, ``hint_term``) = the follower's last entry that may match (fast backtracking)."""

    term: Term
    src: NodeId
    dst: NodeId
    index: Index
    reject: bool = False
    hint_index: Index = 0
    hint_term: Term = 0


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Leader liveness; ``commit`` = min(follower match, leader commit) so it never exceeds the follower's log."""

    term: Term
    src: NodeId
    dst: NodeId
    commit: Index


@dataclass(frozen=True, slots=True)
class HeartbeatResponse:
    """Answer to a Heartbeat (feeds check-quorum and restarts stalled replication)."""

    term: Term
    src: NodeId
    dst: NodeId


@dataclass(frozen=True, slots=True)
class TimeoutNow:
    """Leadership transfer: the leader tells a caught-up follower to campaign at once (skipping pre-vote)."""

    term: Term
    src: NodeId
    dst: NodeId


Message: TypeAlias = Union[
    VoteRequest, VoteResponse, AppendRequest, AppendResponse, Heartbeat, HeartbeatResponse, TimeoutNow
]

__all__ = [
    "NodeId", "Term", "Index", "Entry", "VoteRequest", "VoteResponse", "AppendRequest", "AppendResponse",
    "Heartbeat", "HeartbeatResponse", "TimeoutNow", "Message",
]
