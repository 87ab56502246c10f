"""RaftNode: the deterministic Raft state machine behind rmqlite's DLedger replication.

How it works:
  Inputs: ``step(msg)``, ``tick()``, ``propose(data)``, ``transfer_leadership(id)``, ``campaign()``.
  Outputs: ``ready()`` -> ``Ready`` (hard state + entries to persist, messages to send afterwards,
  committed entries to apply), acknowledged with ``advance(ready)`` (contract in ready.py).
  There is no clock and no global randomness: ticks are counted, and the randomized election timeout
  comes from the ``random.Random`` passed in. Role behaviour lives in flat functions: election.py
  (pre-vote, vote, campaign), replication.py (leader), follower.py (follower); ``step`` and ``tick``
  dispatch to them through per-role function slots (etcd's stepLeader/stepFollower design).

Rules:
  1. At most one vote per term, and the vote and term are persisted before any message that depends on
     them is sent (they ride in ``Ready.hard_state``).
  2. A message with a higher term makes this node a follower of that term before it is handled, except
     pre-vote traffic (never changes terms) and vote requests received while a live leader is known
     ("lease", with check-quorum) unless they come from a leadership transfer.
  3. Messages with a lower term are dropped, but stale leaders and pre-candidates get a reply carrying our
     term so they step down / catch up.
  4. The leader counts its own entries only once persisted (``advance``), and commits directly only
     entries of its own term (Raft §5.4.2); a no-op is appended on election to commit older entries.
"""
from __future__ import annotations

import random
from typing import Callable, Sequence

from rmqlite.dledger import election, follower, replication
from rmqlite.dledger.config import Accepted, Busy, NotLeader, ProposeResult, RaftConfig, Role, SoftState
from rmqlite.dledger.log import HardState, RaftLog
from rmqlite.dledger.log_view import LogView
from rmqlite.dledger.messages import (
    AppendRequest,
    Entry,
    Heartbeat,
    Index,
    Message,
    NodeId,
    Term,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from rmqlite.dledger.progress import Progress
from rmqlite.dledger.ready import Ready


class RaftNode:
    """One member of a DLedger/Raft group (see module docstring for the I/O contract)."""

    def __init__(self, config: RaftConfig, log: RaftLog, rng: random.Random) -> None:
        """Restore from durable ``log`` (entries + hard state); start as a follower with no leader."""
        self.cfg = config
        self.id: NodeId = config.node_id
        self.voters: tuple[NodeId, ...] = config.voters
        self.peers: tuple[NodeId, ...] = tuple(v for v in config.voters if v != config.node_id)
        self.rng = rng
        hs = log.hard_state()
        self.term: Term = hs.term
        self.vote: NodeId | None = hs.vote
        self.log = LogView(log, hs.commit, config.applied)
        self.role = Role.FOLLOWER
        self.leader: NodeId | None = None
        self.preferred: NodeId | None = config.preferred_leader
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_timeout = config.election_tick
        self.votes: dict[NodeId, bool] = {}
        self.progress: dict[NodeId, Progress] = {}
        self.term_start: Index = 0
        self.transferee: NodeId | None = None
        self.transfer_elapsed = 0
        self.transfer_backoff = 0
        self.msgs: list[Message] = []
        self.need_bcast = False
        self.commit_bcast = False
        self.prev_hs = hs
        self.prev_ss = SoftState(Role.FOLLOWER, None, hs.term)
        self._tick: Callable[[RaftNode], None] = election.tick_election
        self._step: Callable[[RaftNode, Message], None] = follower.step_follower
        self.reset_timeout()

    # ---------------------------------------------------------------- inputs
    def tick(self) -> None:
        """Advance logical time by one tick (heartbeats, election and check-quorum timeouts)."""
        self._tick(self)

    def step(self, m: Message) -> None:
        """Handle one message from a peer (any message, any order, duplicates allowed)."""
        if m.dst != self.id or m.src not in self.voters or m.src == self.id:
            return
        if m.term > self.term:
            t = type(m)
            if t is VoteRequest:
                assert isinstance(m, VoteRequest)
                if election.in_lease(self) and not m.transfer:
                    return  # rule 2: a healthy leader is known; don't let a stray candidate depose it
                if not m.pre_vote:
                    self.become_follower(m.term, None)
            elif t is VoteResponse and m.pre_vote and m.granted:  # type: ignore[union-attr]
                pass  # granted pre-votes carry the term we would campaign in
            else:
                lead = m.src if t in (AppendRequest, Heartbeat, TimeoutNow) else None
                self.become_follower(m.term, lead)
        elif m.term < self.term:
            election.reply_stale(self, m)
            return
        if isinstance(m, VoteRequest):
            election.on_vote_request(self, m)
            return
        self._step(self, m)

    def propose(self, data: bytes) -> ProposeResult:
        """Append one opaque payload (leader only). See ``propose_batch``."""
        return self.propose_batch((data,))

    def propose_batch(self, datas: Sequence[bytes]) -> ProposeResult:
        """Append payloads as consecutive entries of the current term (leader only).

        Returns ``Accepted(first, last, term)``, ``NotLeader(known_leader)`` or ``Busy(reason, leader)``.
        Empty payloads are reserved for leader no-ops and rejected with ValueError."""
        if not datas:
            raise ValueError("nothing to propose")
        if any(not d for d in datas):
            raise ValueError("empty payloads are reserved for leader no-ops")
        if self.role is not Role.LEADER:
            return NotLeader(self.leader)
        if self.transferee is not None:
            return Busy("LEADER_TRANSFERRING", self.id)
        if self.log.last_index() - self.log.committed + len(datas) > self.cfg.max_uncommitted:
            return Busy("LEADER_PENDING_FULL", self.id)
        first = self.log.last_index() + 1
        self.log.append([Entry(first + i, self.term, bytes(d)) for i, d in enumerate(datas)])
        self.need_bcast = True
        return Accepted(first, first + len(datas) - 1, self.term)

    def campaign(self) -> None:
        """Start an election now (pre-vote first when enabled); no-op on a leader."""
        election.hup(self, transfer=False)

    def transfer_leadership(self, target: NodeId) -> bool:
        """Leader: hand leadership to ``target`` once it has caught up (TimeoutNow). False if impossible."""
        return replication.transfer_leadership(self, target)

    def set_preferred_leader(self, node: NodeId | None) -> None:
        """Set (or clear) the preferred leader (DLedger preferredLeaderId); the leader transfers to it
        once it is a caught-up follower."""
        if node is not None and node not in self.voters:
            raise ValueError(f"preferred leader {node!r} is not a voter")
        self.preferred = node

    # ---------------------------------------------------------------- outputs
    def has_ready(self) -> bool:
        """True when ``ready()`` would return work."""
        return bool(
            self.msgs or self.need_bcast or self.commit_bcast or self.log.unstable
            or self.log.committed > self.log.applied
            or self.term != self.prev_hs.term or self.vote != self.prev_hs.vote
            or self.role is not self.prev_ss.role or self.leader != self.prev_ss.leader
        )

    def ready(self) -> Ready:
        """Collect pending work; the caller must process it and then call ``advance`` (ready.py)."""
        if self.need_bcast or self.commit_bcast:
            replication.flush(self)
        hs = None
        if self.term != self.prev_hs.term or self.vote != self.prev_hs.vote:
            hs = HardState(self.term, self.vote, self.log.committed)
        ss = None
        if self.role is not self.prev_ss.role or self.leader != self.prev_ss.leader \
                or self.term != self.prev_ss.term:
            ss = SoftState(self.role, self.leader, self.term)
        committed = self.log.next_committed(self.cfg.max_apply_bytes) \
            if self.log.committed > self.log.applied else []
        msgs, self.msgs = self.msgs, []
        return Ready(hs, tuple(self.log.unstable), tuple(msgs), tuple(committed), ss)

    def advance(self, rd: Ready) -> None:
        """The driver persisted, sent and applied ``rd``."""
        if rd.hard_state is not None:
            self.prev_hs = rd.hard_state
        if rd.soft_state is not None:
            self.prev_ss = rd.soft_state
        if rd.entries:
            last = rd.entries[-1]
            self.log.stable_to(last.index, last.term)
            if self.role is Role.LEADER and replication.maybe_commit(self):
                self.commit_bcast = True
        if rd.committed:
            self.log.applied = max(self.log.applied, rd.committed[-1].index)

    # ---------------------------------------------------------------- transitions
    def reset_timeout(self) -> None:
        """Pick a new randomized election timeout in [election_tick, 2 * election_tick)."""
        et = self.cfg.election_tick
        self.randomized_timeout = et + self.rng.randrange(et)

    def _reset(self, term: Term) -> None:
        if term != self.term:
            self.term = term
            self.vote = None
        self.leader = None
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.votes = {}
        self.progress = {}
        self.transferee = None
        self.need_bcast = self.commit_bcast = False
        self.reset_timeout()

    def become_follower(self, term: Term, leader: NodeId | None) -> None:
        """Follow ``leader`` (None = unknown) in ``term``."""
        self._reset(term)
        self.role = Role.FOLLOWER
        self.leader = leader
        self._tick = election.tick_election
        self._step = follower.step_follower

    def become_pre_candidate(self) -> None:
        """Pre-vote stage: ask for votes at term + 1 without changing term or vote."""
        assert self.role is not Role.LEADER
        self.votes = {}
        self.leader = None
        self.election_elapsed = 0
        self.reset_timeout()
        self.role = Role.PRE_CANDIDATE
        self._tick = election.tick_election
        self._step = election.step_candidate

    def become_candidate(self) -> None:
        """Real election: bump the term and vote for ourselves."""
        assert self.role is not Role.LEADER
        self._reset(self.term + 1)
        self.vote = self.id
        self.role = Role.CANDIDATE
        self._tick = election.tick_election
        self._step = election.step_candidate

    def become_leader(self) -> None:
        """Won the election: track followers, append the no-op of this term."""
        assert self.role is Role.CANDIDATE
        self._reset(self.term)
        self.role = Role.LEADER
        self.leader = self.id
        last = self.log.last_index()
        self.progress = {p: Progress(last + 1) for p in self.peers}
        self.term_start = last + 1
        self.log.append([Entry(last + 1, self.term, b"")])
        self.need_bcast = True
        self._tick = replication.tick_leader
        self._step = replication.step_leader

    # ---------------------------------------------------------------- queries
    def send(self, m: Message) -> None:
        """Queue ``m`` for the next Ready."""
        self.msgs.append(m)

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    @property
    def leader_ready(self) -> bool:
        """Leader whose no-op is committed: every earlier entry is committed and applied-able
        (DLedger's broker waits for this before switching to master)."""
        return self.role is Role.LEADER and self.log.committed >= self.term_start

    @property
    def commit_index(self) -> Index:
        return self.log.committed

    @property
    def last_index(self) -> Index:
        return self.log.last_index()

    def status(self) -> dict[str, object]:
        """Debug snapshot (role, term, indexes, progress)."""
        return {
            "id": self.id, "role": self.role.value, "term": self.term, "vote": self.vote,
            "leader": self.leader, "last": self.log.last_index(), "commit": self.log.committed,
            "applied": self.log.applied, "progress": {p: repr(pr) for p, pr in self.progress.items()},
        }

    def __repr__(self) -> str:
        return (f"RaftNode({self.id} {self.role.value} t={self.term} lead={self.leader} "
                f"last={self.log.last_index()} commit={self.log.committed})")


__all__ = ["RaftNode"]
