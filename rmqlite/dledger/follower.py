"""Follower side: accept appends, heartbeats and TimeoutNow from the leader of the current term (§5.3).

How it works:
  An append is accepted only if our log holds ``(prev_index, prev_term)``. Entries already present are
  skipped; the first entry whose term differs marks where our uncommitted divergent suffix is cut
  (DLedger's COMPARE/TRUNCATE done in one step). On mismatch we reply with a hint: the last index at or
  below the leader's ``prev_index`` whose term is <= ``prev_term``, so the leader skips a whole divergent
  term per round trip instead of one entry.

Rules:
  1. Our commit index follows the leader's but never passes the last entry this message proved we share.
  2. Entries at or below our commit index are never replaced (log_view rule 3).
  3. Every reply is queued, so it leaves only after the entries it acknowledges are persisted.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rmqlite.dledger import election
from rmqlite.dledger.messages import (
    AppendRequest,
    AppendResponse,
    Heartbeat,
    HeartbeatResponse,
    Message,
    TimeoutNow,
)

if TYPE_CHECKING:
    from rmqlite.dledger.node import RaftNode


def step_follower(n: RaftNode, m: Message) -> None:
    """Handle a same-term message as a follower."""
    t = type(m)
    if t is AppendRequest:
        n.election_elapsed = 0
        n.leader = m.src
        on_append(n, m)  # type: ignore[arg-type]
    elif t is Heartbeat:
        n.election_elapsed = 0
        n.leader = m.src
        n.log.commit_to(m.commit)  # type: ignore[union-attr]
        n.send(HeartbeatResponse(n.term, n.id, m.src))
    elif t is TimeoutNow:
        assert isinstance(m, TimeoutNow)
        election.hup(n, transfer=True)


def on_append(n: RaftNode, m: AppendRequest) -> None:
    """Raft AppendEntries receiver implementation with conflict hint."""
    log = n.log
    ents = m.entries
    if m.prev_index < 0 or (ents and (ents[0].index != m.prev_index + 1 or ents[-1].index != m.prev_index + len(ents)
                                      or ents[-1].term > m.term or ents[0].term < m.prev_term)):
        return  # malformed append (bad peer): drop it, the leader will retry
    if m.prev_index < log.committed:
        n.send(AppendResponse(n.term, n.id, m.src, log.committed))
        return
    if log.match_term(m.prev_index, m.prev_term):
        last_new = m.prev_index + len(m.entries)
        if m.entries:
            pos = log.find_conflict(m.entries)
            if pos < len(m.entries):
                log.append(m.entries[pos:])
        log.commit_to(min(m.commit, last_new))
        n.send(AppendResponse(n.term, n.id, m.src, last_new))
        return
    hint = log.find_conflict_by_term(min(m.prev_index, log.last_index()), m.prev_term)
    n.send(AppendResponse(n.term, n.id, m.src, m.prev_index, True, hint, log.term(hint)))


__all__ = ["step_follower", "on_append"]
