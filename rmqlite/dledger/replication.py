"""Leader side: heartbeats, pipelined + batched log replication, commit, check-quorum, transfers (§5.3-5.4).

How it works:
  New entries only mark the leader dirty; ``flush`` (run by ``ready()``) streams them, so every proposal
  accepted between two Ready calls travels in one batch per follower. Per follower a ``Progress`` probes
  (one append in flight) until a match is found, then pipelines up to ``max_inflight`` appends of up to
  ``max_batch_entries`` / ``max_batch_bytes``. Rejects carry a (hint_index, hint_term) that lets the
  leader jump back a whole term at a time. The commit index is the quorum match (quorum.py), counted only
  for entries of the current term. Leadership transfer (and preferredLeaderId) waits until the target's
  match equals our last index, then sends TimeoutNow.

Rules:
  1. Only entries of the current term are committed by counting replicas; older ones commit with them.
  2. The leader's own match is its persisted prefix (``log.offset - 1``), never unpersisted entries.
  3. Check-quorum: every election timeout, a leader that did not hear from a quorum steps down.
  4. While a transfer is in progress proposals are refused; it is abandoned after an election timeout,
     and an abandoned preferred-leader transfer is retried only after a back-off.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rmqlite.dledger.config import Role
from rmqlite.dledger.messages import (
    AppendRequest,
    AppendResponse,
    Heartbeat,
    HeartbeatResponse,
    Message,
    NodeId,
    TimeoutNow,
)
from rmqlite.dledger.progress import Progress, ProgressState
from rmqlite.dledger.quorum import committed_index, quorum_size

if TYPE_CHECKING:
    from rmqlite.dledger.node import RaftNode

PROBE = ProgressState.PROBE
REPLICATE = ProgressState.REPLICATE


def tick_leader(n: RaftNode) -> None:
    """Leader tick: heartbeats, check-quorum, transfer timeout, preferred-leader hand-over."""
    cfg = n.cfg
    n.heartbeat_elapsed += 1
    n.election_elapsed += 1
    if n.transfer_backoff > 0:
        n.transfer_backoff -= 1
    if n.transferee is not None:
        n.transfer_elapsed += 1
        if n.transfer_elapsed >= cfg.election_tick:
            n.transferee = None
            n.transfer_backoff = 2 * cfg.election_tick
    if n.election_elapsed >= cfg.election_tick:
        n.election_elapsed = 0
        if cfg.check_quorum:
            active = 1 + sum(1 for pr in n.progress.values() if pr.recent_active)
            if active < quorum_size(len(n.voters)):
                n.become_follower(n.term, None)
                return
            for pr in n.progress.values():
                pr.recent_active = False
    if n.heartbeat_elapsed >= cfg.heartbeat_tick:
        n.heartbeat_elapsed = 0
        _bcast_heartbeat(n)
        _maybe_transfer_to_preferred(n)


def step_leader(n: RaftNode, m: Message) -> None:
    """Handle a same-term message as the leader."""
    t = type(m)
    if t is AppendResponse:
        _on_append_response(n, m)  # type: ignore[arg-type]
    elif t is HeartbeatResponse:
        _on_heartbeat_response(n, m.src)


def flush(n: RaftNode) -> None:
    """Send what became sendable since the last Ready: new entries and/or a new commit index."""
    if n.role is not Role.LEADER:
        n.need_bcast = n.commit_bcast = False
        return
    for p, pr in n.progress.items():
        sent = send_entries(n, p, pr) if n.need_bcast else False
        if n.commit_bcast and not sent and pr.state is REPLICATE:
            _send_commit(n, p, pr)
    n.need_bcast = n.commit_bcast = False


def send_entries(n: RaftNode, to: NodeId, pr: Progress) -> bool:
    """Send appends to ``to`` while its progress allows; True when at least one went out."""
    cfg = n.cfg
    log = n.log
    last = log.last_index()
    sent = False
    while not pr.paused(cfg.max_inflight):
        nxt = pr.next
        if nxt > last and (pr.state is REPLICATE or sent):
            break  # nothing new; a PROBE may still send one empty append to find the match
        ents = log.slice(nxt, min(last + 1, nxt + cfg.max_batch_entries), cfg.max_batch_bytes)
        n.send(AppendRequest(n.term, n.id, to, nxt - 1, log.term(nxt - 1), tuple(ents), log.committed))
        pr.sent(nxt - 1 + len(ents), len(ents))
        sent = True
    return sent


def _send_commit(n: RaftNode, to: NodeId, pr: Progress) -> None:
    """Commit-only append anchored at the known match, so it can never be rejected."""
    n.send(AppendRequest(n.term, n.id, to, pr.match, n.log.term(pr.match), (), n.log.committed))


def _bcast_heartbeat(n: RaftNode) -> None:
    committed = n.log.committed
    for p, pr in n.progress.items():
        pr.hb_next = pr.next
        n.send(Heartbeat(n.term, n.id, p, min(pr.match, committed)))


def maybe_commit(n: RaftNode) -> bool:
    """Advance the commit index to the quorum match if that entry is of our term (rule 1)."""
    match = {p: pr.match for p, pr in n.progress.items()}
    match[n.id] = n.log.offset - 1  # rule 2
    ci = committed_index(n.voters, match)
    if ci > n.log.committed and n.log.term(ci) == n.term:
        n.log.commit_to(ci)
        return True
    return False


def _on_append_response(n: RaftNode, m: AppendResponse) -> None:
    pr = n.progress.get(m.src)
    if pr is None or m.index > n.log.last_index() or m.index < 0:
        return  # not a follower of ours, or an ack for entries we never sent (bad peer)
    pr.recent_active = True
    if m.reject:
        hint = m.hint_index
        if m.hint_term > 0:
            hint = n.log.find_conflict_by_term(m.hint_index, m.hint_term)
        if pr.maybe_decr_to(m.index, hint):
            send_entries(n, m.src, pr)
        return
    was_probe = pr.state is PROBE
    if pr.maybe_update(m.index) or (was_probe and pr.match == m.index):
        if was_probe:
            pr.become_replicate()
        if maybe_commit(n):
            n.commit_bcast = True
        if m.src == n.transferee and pr.match == n.log.last_index():
            n.send(TimeoutNow(n.term, n.id, m.src))
    send_entries(n, m.src, pr)


def _on_heartbeat_response(n: RaftNode, src: NodeId) -> None:
    pr = n.progress.get(src)
    if pr is None:
        return
    pr.recent_active = True
    last = n.log.last_index()
    if pr.match >= last:
        if src == n.transferee:
            n.send(TimeoutNow(n.term, n.id, src))  # the first one may have been lost
        return
    if pr.state is PROBE:
        pr.probe_sent = False
    elif pr.match < pr.hb_next - 1:
        pr.become_probe()  # appends sent before that heartbeat are lost (progress.py rule 4)
    send_entries(n, src, pr)


def transfer_leadership(n: RaftNode, target: NodeId) -> bool:
    """Start handing leadership to ``target`` (TimeoutNow once caught up). False when not possible."""
    if n.role is not Role.LEADER or target == n.id or target not in n.progress:
        return False
    if n.transferee == target:
        return True
    n.transferee = target
    n.transfer_elapsed = 0
    pr = n.progress[target]
    if pr.match == n.log.last_index():
        n.send(TimeoutNow(n.term, n.id, target))
    else:
        send_entries(n, target, pr)
    return True


def _maybe_transfer_to_preferred(n: RaftNode) -> None:
    p = n.preferred
    if p is None or p == n.id or n.transferee is not None or n.transfer_backoff > 0:
        return
    if n.log.committed < n.term_start:
        return  # our no-op is not committed yet
    pr = n.progress.get(p)
    if pr is not None and pr.recent_active and pr.match == n.log.last_index():
        transfer_leadership(n, p)


__all__ = ["tick_leader", "step_leader", "flush", "send_entries", "maybe_commit", "transfer_leadership"]
