"""Elections: election timer, pre-vote, vote granting, candidate tally (Raft §5.2, §5.4.1; thesis §9.6).

How it works:
  A follower that hears nothing from a leader for its randomized timeout becomes a PRE_CANDIDATE and asks
  for pre-votes at term + 1 without touching its own term. Only if a quorum would vote for it does it
  become a CANDIDATE (term + 1, vote for itself) and ask for real votes. A node cut off by a partition
  therefore never inflates its term, and cannot depose a healthy leader when it comes back.

Rules:
  1. A vote (pre or real) is granted only to a log at least as up to date as ours (§5.4.1).
  2. A real vote is granted at most once per term: to the node we already voted for, or to anyone when
     we have neither voted nor know a leader in this term. Granting resets our election timer.
  3. A pre-vote is also granted when its term is above ours (it changes nothing on our side).
  4. Lease: with check-quorum, a node that heard from a leader within the last election timeout ignores
     higher-term vote requests, unless they carry ``transfer`` (TimeoutNow-driven campaign).
  5. Tie-break (pre-vote only, never affects safety): a PRE_CANDIDATE refuses its pre-vote to another
     pre-candidate whose log is equally up to date but which comes later in ``voters``. Ticks are coarse
     (6 distinct timeouts at election_tick 6), so two followers often time out together; without this
     both would pass pre-vote, vote for themselves and split the real vote (one more timeout lost).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rmqlite.dledger.config import Role
from rmqlite.dledger.messages import AppendRequest, AppendResponse, Heartbeat, Message, VoteRequest, VoteResponse
from rmqlite.dledger.quorum import VoteResult, vote_result

if TYPE_CHECKING:
    from rmqlite.dledger.node import RaftNode


def in_lease(n: RaftNode) -> bool:
    """True while a leader is known and was heard from within the election timeout (rule 4)."""
    return n.cfg.check_quorum and n.leader is not None and n.election_elapsed < n.cfg.election_tick


def tick_election(n: RaftNode) -> None:
    """Follower / candidate tick: start an election once the randomized timeout elapses."""
    n.election_elapsed += 1
    if n.election_elapsed >= n.randomized_timeout:
        n.election_elapsed = 0
        hup(n, transfer=False)


def hup(n: RaftNode, transfer: bool) -> None:
    """Start an election: pre-vote round unless disabled or driven by a leadership transfer."""
    if n.role is Role.LEADER:
        return
    if n.cfg.pre_vote and not transfer:
        n.become_pre_candidate()
        _request_votes(n, n.term + 1, False)
    else:
        n.become_candidate()
        _request_votes(n, n.term, transfer)


def _request_votes(n: RaftNode, term: int, transfer: bool) -> None:
    pre = n.role is Role.PRE_CANDIDATE
    n.votes[n.id] = True
    if _tally(n):
        return  # single-node group
    last = n.log.last_index()
    last_term = n.log.term(last)
    for p in n.peers:
        n.send(VoteRequest(term, n.id, p, last, last_term, pre, transfer))


def on_vote_request(n: RaftNode, m: VoteRequest) -> None:
    """Grant or refuse a (pre-)vote (rules 1-3); the term check already ran in ``RaftNode.step``."""
    can_vote = (
        n.vote == m.src
        or (n.vote is None and n.leader is None)
        or (m.pre_vote and m.term > n.term)
    )
    if can_vote and m.pre_vote and n.role is Role.PRE_CANDIDATE and _loses_tie_break(n, m):
        can_vote = False
    if can_vote and n.log.is_up_to_date(m.last_index, m.last_term):
        n.send(VoteResponse(m.term, n.id, m.src, True, m.pre_vote))
        if not m.pre_vote:
            n.vote = m.src
            n.election_elapsed = 0
    else:
        n.send(VoteResponse(n.term, n.id, m.src, False, m.pre_vote))


def _loses_tie_break(n: RaftNode, m: VoteRequest) -> bool:
    """Rule 5: two pre-candidates with equally good logs: only the one listed first in ``voters`` gets
    the other's pre-vote, so simultaneous timeouts do not end in a split real vote."""
    last = n.log.last_index()
    last_term = n.log.term(last)
    if m.last_term != last_term or m.last_index != last:
        return not n.log.is_up_to_date(m.last_index, m.last_term)
    return n.voters.index(m.src) > n.voters.index(n.id)


def reply_stale(n: RaftNode, m: Message) -> None:
    """Answer lower-term traffic that needs to learn our term (node.py rule 3); drop the rest."""
    t = type(m)
    if t is AppendRequest or t is Heartbeat:
        n.send(AppendResponse(n.term, n.id, m.src, 0, reject=True))
    elif t is VoteRequest and m.pre_vote:  # type: ignore[union-attr]
        n.send(VoteResponse(n.term, n.id, m.src, False, True))


def step_candidate(n: RaftNode, m: Message) -> None:
    """PRE_CANDIDATE / CANDIDATE: count votes; a leader of our term makes us follow it."""
    t = type(m)
    if t is VoteResponse:
        assert isinstance(m, VoteResponse)
        if m.pre_vote != (n.role is Role.PRE_CANDIDATE):
            return  # leftover answer of the other round kind
        n.votes.setdefault(m.src, m.granted)
        _tally(n)
    elif t is AppendRequest or t is Heartbeat:
        n.become_follower(n.term, m.src)
        n._step(n, m)


def _tally(n: RaftNode) -> bool:
    """Act on the vote count; True when the round is decided."""
    res = vote_result(n.voters, n.votes)
    if res is VoteResult.WON:
        if n.role is Role.PRE_CANDIDATE:
            n.become_candidate()  # pre-vote won: run the real election now
            _request_votes(n, n.term, False)
        else:
            n.become_leader()
        return True
    if res is VoteResult.LOST:
        n.become_follower(n.term, None)
        return True
    return False


__all__ = ["in_lease", "tick_election", "hup", "on_vote_request", "reply_stale", "step_candidate"]
