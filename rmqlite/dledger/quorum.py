"""Majority quorum maths: commit index from match indexes, vote tallies, active-quorum checks.

How it works:
  Pure functions over a fixed voter set (DLedger: votes or acks >= n/2 + 1).

Rules:
  1. ``quorum_size(n) == n // 2 + 1``; any two quorums of the same voter set intersect.
  2. ``committed_index`` is the largest index that a quorum of voters has matched (missing voters = 0):
     sort the match indexes descending and take the (quorum-1)-th one.
  3. ``vote_result`` is WON once granted votes reach a quorum, LOST once rejections make a quorum
     impossible, else PENDING. Votes of non-voters are ignored.
"""
from __future__ import annotations

import enum
from typing import Collection, Mapping

from rmqlite.dledger.messages import Index, NodeId


class VoteResult(enum.Enum):
    """Outcome of a (pre-)vote round so far."""

    PENDING = "pending"
    WON = "won"
    LOST = "lost"


def quorum_size(n: int) -> int:
    """Smallest majority of ``n`` voters."""
    if n < 1:
        raise ValueError("a Raft group needs at least one voter")
    return n // 2 + 1


def committed_index(voters: Collection[NodeId], match: Mapping[NodeId, Index]) -> Index:
    """Largest index replicated on a quorum of ``voters`` according to ``match``."""
    srt = sorted((match.get(v, 0) for v in voters), reverse=True)
    return srt[quorum_size(len(voters)) - 1]


def vote_result(voters: Collection[NodeId], votes: Mapping[NodeId, bool]) -> VoteResult:
    """Tally ``votes`` (node -> granted) of a round among ``voters``."""
    q = quorum_size(len(voters))
    granted = rejected = 0
    for v in voters:
        got = votes.get(v)
        if got is True:
            granted += 1
        elif got is False:
            rejected += 1
    if granted >= q:
        return VoteResult.WON
    if len(voters) - rejected < q:
        return VoteResult.LOST
    return VoteResult.PENDING


def has_quorum(voters: Collection[NodeId], active: Collection[NodeId]) -> bool:
    """True when the ``active`` nodes include a quorum of ``voters``."""
    act = set(active)
    return sum(1 for v in voters if v in act) >= quorum_size(len(voters))


__all__ = ["VoteResult", "quorum_size", "committed_index", "vote_result", "has_quorum"]
