"""Configuration, roles and result types of the Raft core.

How it works:
  ``RaftConfig`` is immutable and identical on every member except ``node_id``. Time is counted in ticks:
  the driver calls ``RaftNode.tick()`` every tick interval (recommended 50 ms, docs/dledger-raft.md).

Rules:
  1. ``heartbeat_tick < election_tick``; a follower's randomized election timeout lies in
     [election_tick, 2 * election_tick).
  2. ``voters`` contains ``node_id``; ``preferred_leader`` (if set) is a voter.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias, Union

from rmqlite.dledger.messages import Index, NodeId, Term


class Role(enum.Enum):
    """Member role (DLedger MemberState.Role plus the pre-vote stage)."""

    FOLLOWER = "FOLLOWER"
    PRE_CANDIDATE = "PRE_CANDIDATE"
    CANDIDATE = "CANDIDATE"
    LEADER = "LEADER"


@dataclass(frozen=True, slots=True)
class RaftConfig:
    """Static settings of one member (ticks, batching, features)."""

    node_id: NodeId
    voters: tuple[NodeId, ...]
    election_tick: int = 6
    heartbeat_tick: int = 2
    pre_vote: bool = True
    check_quorum: bool = True
    max_inflight: int = 64            # pipelined appends per follower
    max_batch_entries: int = 1024     # entries per append message
    max_batch_bytes: int = 4 << 20    # payload bytes per append message (at least one entry)
    max_uncommitted: int = 10000      # proposals beyond -> Busy("LEADER_PENDING_FULL")
    max_apply_bytes: int = 0          # committed payload per Ready (0 = unbounded)
    preferred_leader: NodeId | None = None
    applied: Index = 0                # what the application already applied (restart)

    def __post_init__(self) -> None:
        if self.node_id not in self.voters:
            raise ValueError(f"node {self.node_id!r} is not among voters {self.voters}")
        if len(set(self.voters)) != len(self.voters):
            raise ValueError(f"duplicate voters {self.voters}")
        if not 0 < self.heartbeat_tick < self.election_tick:
            raise ValueError("need 0 < heartbeat_tick < election_tick")
        if self.preferred_leader is not None and self.preferred_leader not in self.voters:
            raise ValueError(f"preferred leader {self.preferred_leader!r} is not a voter")
        if self.max_inflight < 1 or self.max_batch_entries < 1:
            raise ValueError("max_inflight and max_batch_entries must be >= 1")


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state the driver reacts to (role change handler, client redirects)."""

    role: Role
    leader: NodeId | None
    term: Term


@dataclass(frozen=True, slots=True)
class Accepted:
    """Proposal appended at [first_index, last_index] in ``term``; it succeeded once an entry with that
    index AND term is committed (a different term at that index means it was lost: TERM_CHANGED)."""

    first_index: Index
    last_index: Index
    term: Term


@dataclass(frozen=True, slots=True)
class NotLeader:
    """Proposal refused: this node is not the leader; ``leader`` is the one it knows of (or None)."""

    leader: NodeId | None


@dataclass(frozen=True, slots=True)
class Busy:
    """Proposal refused by the leader: ``reason`` is LEADER_TRANSFERRING or LEADER_PENDING_FULL."""

    reason: str
    leader: NodeId | None


ProposeResult: TypeAlias = Union[Accepted, NotLeader, Busy]

__all__ = ["Role", "RaftConfig", "SoftState", "Accepted", "NotLeader", "Busy", "ProposeResult"]
