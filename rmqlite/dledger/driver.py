"""``RaftDriver``: the asyncio shell that runs one ``RaftNode`` (ticks, peer frames, persistence, commits).

How it works:
  Every input (a tick from a loop timer, a peer frame, a proposal) is fed to the node and immediately
  followed by ``process_ready``: entries and hard state are written to the log synchronously, so after any
  input the log holds everything the node knows (no unpersisted tail; the broker can compute where the
  next entry will land). Outgoing messages and client acknowledgements are NOT sent right away: they go
  to an outbox that one ``call_soon`` callback per event-loop turn flushes - first the deferred log sync
  (SYNC_FLUSH group commit), then one frame per peer holding all its messages, then the commit futures.
  Peer frames are oneway remoting commands (wire.py) over one outgoing connection per peer; a peer
  that is down costs nothing but a refused connect per attempt, messages to it are dropped (Raft
  retransmits) and messages queued while a connection is being made are sent once it is up.

Rules:
  1. Nothing the node emits leaves the process before the Ready that produced it was persisted (rule 1
     of ready.py), and with ``sync_before_send`` before it was msynced too.
  2. A commit future (``wait_committed(index, term)``) succeeds only when the entry at ``index`` is
     applied with ``term``; it fails with ``TermChanged`` when that index commits (or is rewritten) with
     another term. Futures are resolved after the turn's sync, never earlier.
  3. At most one tick per timer callback: a stalled loop slows the election clock instead of firing
     several ticks at once (stalls must not cause elections).
  4. A frame from another group, addressed to another node, or from a peer whose data file size differs
     is dropped with a warning (replicas of different layouts would not be byte-identical).
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable

from rmqlite.common.aio import stop_tasks, wait_event
from rmqlite.dledger.config import (
    Busy,
    NotLeader,
    ProposeResult,
    RaftConfig,
    Role,
    SoftState,
)
from rmqlite.dledger.log import RaftLog
from rmqlite.dledger.messages import Entry, Index, Message, NodeId, Term
from rmqlite.dledger.node import RaftNode
from rmqlite.dledger.ready import process_ready
from rmqlite.dledger.wire import (
    RAFT_MESSAGES,
    WireError,
    decode_messages,
    encode_messages,
)
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import Connection, RemotingClient, RemotingServer

log = logging.getLogger("rmqlite.dledger")

ApplyHook = Callable[[list[Entry]], None]
RoleHook = Callable[[SoftState, bool], None]
_BACKLOG_MAX = 256
_RECONNECT_MS = 50


class TermChanged(Exception):
    """The proposal's entry was replaced by another term's entry (DLedger TERM_CHANGED)."""


class ConfigError(ValueError):
    """Bad DLedger group settings (peers, self id)."""


def parse_peers(text: str) -> dict[NodeId, str]:
    """``n0-127.0.0.1:40911;n1-127.0.0.1:40912`` -> {"n0": "127.0.0.1:40911", ...} (first ``-`` splits)."""
    peers: dict[NodeId, str] = {}
    for item in (text or "").split(";"):
        item = item.strip()
        if not item:
            continue
        node, sep, addr = item.partition("-")
        host, colon, port = addr.rpartition(":")
        if not sep or not node or not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"bad dLegerPeers entry {item!r}, expected id-host:port")
        if node in peers:
            raise ConfigError(f"duplicate peer id {node!r} in dLegerPeers")
        peers[node] = f"{host}:{port}"
    if not peers:
        raise ConfigError("dLegerPeers is empty")
    return peers


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """One member's view of its DLedger group and timings."""

    group: str
    self_id: NodeId
    peers: dict[NodeId, str]              # every member, self included: id -> host:port
    tick_ms: int = 25
    election_ticks: int = 12
    heartbeat_ticks: int = 4
    max_pending: int = 10000
    preferred_leader: NodeId | None = None
    file_size: int = 0                    # data file size, compared with every peer (rule 4)
    flush_interval_ms: int = 500

    def __post_init__(self) -> None:
        if self.self_id not in self.peers:
            raise ConfigError(f"dLegerSelfId {self.self_id!r} is not in dLegerPeers {sorted(self.peers)}")
        if self.tick_ms <= 0 or not 0 < self.heartbeat_ticks < self.election_ticks:
            raise ConfigError("need tick_ms > 0 and 0 < heartbeat ticks < election timeout ticks")


class PeerLink:
    """Outgoing frames to one peer over one lazily (re)made connection."""

    def __init__(self, client: RemotingClient, peer: NodeId, addr: str) -> None:
        self.client = client
        self.peer = peer
        self.addr = addr
        self.conn: Connection | None = None
        self.backlog: list[RemotingCommand] = []
        self.connecting: asyncio.Task[None] | None = None
        self.next_attempt = 0.0

    def send(self, cmd: RemotingCommand) -> None:
        conn = self.conn
        if conn is not None and not conn.closed:
            conn.send_oneway(cmd)
            return
        self.conn = None
        if self.connecting is None and time.monotonic() < self.next_attempt:
            return   # recently refused: drop (rule: Raft retransmits)
        self.backlog.append(cmd)
        if len(self.backlog) > _BACKLOG_MAX:
            del self.backlog[0]
        self.connect()

    def connect(self) -> None:
        if self.connecting is None and (self.conn is None or self.conn.closed):
            self.connecting = asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        try:
            self.conn = await self.client.connection(self.addr)
        except Exception as exc:
            log.debug("dledger peer %s (%s) unreachable: %s", self.peer, self.addr, exc)
            self.backlog.clear()
            self.next_attempt = time.monotonic() + _RECONNECT_MS / 1000.0
            return
        finally:
            self.connecting = None
        backlog, self.backlog = self.backlog, []
        for cmd in backlog:
            self.conn.send_oneway(cmd)


class RaftDriver:
    """Runs a ``RaftNode`` on the event loop (see module docstring)."""

    def __init__(self, gc: GroupConfig, raft_log: RaftLog, *, applied: Index = 0, rng: random.Random | None = None,
                 on_apply: ApplyHook | None = None, on_role: RoleHook | None = None,
                 frame_ext: Callable[[], dict[str, str]] | None = None,
                 on_frame: Callable[[NodeId, dict[str, str]], None] | None = None,
                 sync_before_send: bool = False) -> None:
        self.gc = gc
        self.log = raft_log
        voters = tuple(sorted(gc.peers))
        preferred = gc.preferred_leader if gc.preferred_leader in gc.peers else None
        self.config = RaftConfig(node_id=gc.self_id, voters=voters, election_tick=gc.election_ticks,
                                 heartbeat_tick=gc.heartbeat_ticks, max_uncommitted=gc.max_pending,
                                 preferred_leader=preferred, applied=applied, max_apply_bytes=16 << 20)
        self.node = RaftNode(self.config, raft_log, rng or random.Random())
        self.on_apply = on_apply
        self.on_role = on_role
        self.frame_ext = frame_ext
        self.on_frame = on_frame
        self.sync_before_send = sync_before_send
        self.server: RemotingServer | None = None
        self.client = RemotingClient(name="dledger-peer", connect_timeout_ms=1000)
        self.links = {p: PeerLink(self.client, p, a) for p, a in gc.peers.items() if p != gc.self_id}
        self._outbox: dict[NodeId, list[Message]] = {}
        self._resolved: list[tuple[asyncio.Future[None], BaseException | None]] = []
        self._waiters: dict[Index, list[tuple[Term, asyncio.Future[None]]]] = {}
        self._applied_batch: list[Entry] = []
        self._truncated_from: Index | None = None
        self._flush_scheduled = False
        self._processing = False
        self._again = False
        self._serving = False
        self._reported: tuple[Role, NodeId | None] = (Role.FOLLOWER, None)
        self._timer: asyncio.TimerHandle | None = None
        self._next_tick = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._role_changed = asyncio.Event()
        self.failed: BaseException | None = None
        self.closed = False
        self.leader_changes = 0
        if hasattr(raft_log, "on_truncate"):
            raft_log.on_truncate = self._on_truncate

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Listen on our peer address, start ticking and connecting to the peers."""
        host, _, port = self.gc.peers[self.gc.self_id].rpartition(":")
        self.server = RemotingServer(host, int(port), name=f"dledger-{self.gc.self_id}")
        self.server.register(RAFT_MESSAGES, self._on_frame)
        await self.server.start()
        loop = asyncio.get_running_loop()
        self._next_tick = loop.time() + self.gc.tick_ms / 1000.0
        self._timer = loop.call_at(self._next_tick, self._on_tick)
        for link in self.links.values():
            link.connect()
        # a brand-new group (term 0, empty log) need not sit out a whole election timeout: its preferred
        # leader (or else its first voter) campaigns as soon as it reaches a quorum of peers
        self._fast_start = (self.node.term == 0 and self.node.last_index == 0
                            and self.gc.self_id == (self.node.preferred or min(self.node.voters)))
        self._tasks.append(asyncio.create_task(self._flush_loop()))
        self._process()

    async def close(self, transfer_timeout_ms: int = 0) -> None:
        """Stop (after handing leadership to a caught-up peer when ``transfer_timeout_ms`` > 0)."""
        if self.closed:
            return
        if transfer_timeout_ms > 0 and self.node.is_leader and self.failed is None:
            await self._hand_over(transfer_timeout_ms)
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        await stop_tasks(self._tasks, 2.0, f"dledger {self.gc.self_id}")
        self._flush()
        for waiters in self._waiters.values():
            for _term, fut in waiters:
                if not fut.done():
                    fut.set_exception(TermChanged("dledger node closed"))
        self._waiters.clear()
        for link in self.links.values():
            if link.connecting is not None:
                link.connecting.cancel()
        if self.server is not None:
            await self.server.close()
        await self.client.close()
        flush = getattr(self.log, "flush", None)
        if flush is not None:
            getattr(self.log, "write_checkpoint", lambda c: None)(self.node.commit_index)
            flush()

    async def _hand_over(self, timeout_ms: int) -> None:
        node = self.node
        best = max((p for p in node.progress), key=lambda p: node.progress[p].match, default=None)
        if best is None or not node.transfer_leadership(best):
            return
        self._process()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000.0
        poll = 4 * self.gc.tick_ms / 1000.0
        # bounded: give up at the deadline (peers down) or once the node dropped the transfer
        while node.is_leader and node.transferee is not None and not self.closed and self.failed is None:
            left = deadline - loop.time()
            if left <= 0:
                log.warning("dledger %s: leadership transfer to %s did not complete in %d ms, closing anyway",
                            self.gc.self_id, best, timeout_ms)
                return
            self._role_changed.clear()
            await wait_event(self._role_changed, min(left, poll))

    # ------------------------------------------------------------------ proposals
    def propose_refusal(self, count: int = 1) -> str | None:
        """Why a proposal of ``count`` entries would be refused now (None = it would be accepted)."""
        node = self.node
        if self.failed is not None or self.closed or node.role is not Role.LEADER:
            return "NOT_LEADER"
        if self._processing:
            return "LEADER_BUSY"      # called back from inside the Ready loop: the entry would not be persisted yet
        if node.transferee is not None:
            return "LEADER_TRANSFERRING"
        if node.log.last_index() - node.log.committed + count > self.config.max_uncommitted:
            return "LEADER_PENDING_FULL"
        return None

    def propose(self, data: bytes) -> ProposeResult:
        """Append ``data`` as one entry (leader only); the entry is persisted when this returns."""
        if self.failed is not None or self.closed:
            return NotLeader(None)
        res = self.node.propose(data)
        if not isinstance(res, (NotLeader, Busy)):
            self._process()
        return res

    def wait_committed(self, index: Index, term: Term) -> asyncio.Future[None]:
        """Future resolved when entry ``index`` of ``term`` is committed and applied (rule 2)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        node = self.node
        if index <= node.log.applied:
            if node.log.term(index) == term:
                fut.set_result(None)
            else:
                fut.set_exception(TermChanged(f"entry {index} committed with another term"))
            return fut
        self._waiters.setdefault(index, []).append((term, fut))
        return fut

    # ------------------------------------------------------------------ state
    @property
    def role(self) -> Role:
        return self.node.role

    @property
    def leader_id(self) -> NodeId | None:
        return self.node.leader

    @property
    def serving(self) -> bool:
        """Leader whose whole log up to its no-op is committed and applied (can act as master)."""
        n = self.node
        return n.is_leader and n.leader_ready and n.log.applied >= n.log.committed and self.failed is None

    # ------------------------------------------------------------------ inputs
    def _on_tick(self) -> None:
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        step = self.gc.tick_ms / 1000.0
        self._next_tick += step
        if self._next_tick < now:
            self._next_tick = now + step    # rule 3: drop missed ticks
        self._timer = loop.call_at(self._next_tick, self._on_tick)
        if self.failed is None:
            if self._fast_start:
                self._maybe_fast_start()
            self.node.tick()
            self._process()

    def _maybe_fast_start(self) -> None:
        node = self.node
        if node.term > 0 or node.leader is not None or node.last_index > 0:
            self._fast_start = False
            return
        reachable = 1
        for link in self.links.values():
            if link.conn is not None and not link.conn.closed:
                reachable += 1
            elif time.monotonic() >= link.next_attempt:
                link.connect()        # peers booting after us: keep trying (a follower sends nothing)
        if reachable >= len(node.voters) // 2 + 1:
            self._fast_start = False
            node.campaign()

    def _on_frame(self, cmd: RemotingCommand, conn: Connection) -> None:
        ext = cmd.ext_fields
        src = ext.get("from", "")
        if (ext.get("group") != self.gc.group or ext.get("to") != self.gc.self_id or src not in self.links
                or ext.get("fileSize", "0") != str(self.gc.file_size)):
            log.warning("dledger %s: dropping frame %s (this node: group=%s id=%s fileSize=%s)",
                        self.gc.self_id, {k: ext.get(k) for k in ("group", "from", "to", "fileSize")},
                        self.gc.group, self.gc.self_id, self.gc.file_size)
            return
        try:
            msgs = decode_messages(cmd.body or b"")
        except WireError as exc:
            log.warning("dledger %s: bad frame from %s: %s", self.gc.self_id, src, exc)
            return
        link = self.links[src]
        if link.conn is None or link.conn.closed:
            link.next_attempt = 0.0     # it just spoke to us, so it is up: our answer may connect at once
        if self.on_frame is not None:
            self.on_frame(src, ext)
        if self.closed or self.failed is not None:
            return
        for m in msgs:
            if m.src == src:
                self.node.step(m)
        self._process()
        return

    def _on_truncate(self, first: Index, end: int) -> None:
        log.warning("dledger %s/%s: truncated uncommitted entries from index %d (data end now %d)",
                    self.gc.group, self.gc.self_id, first, end)
        self._truncated_from = first if self._truncated_from is None else min(first, self._truncated_from)

    # ------------------------------------------------------------------ the Ready loop
    def _process(self) -> None:
        """process_ready + apply + role check; re-entrant calls are folded into the running one."""
        if self._processing:
            self._again = True
            return
        if self.failed is not None:
            return
        self._processing = True
        try:
            while True:
                self._again = False
                process_ready(self.node, self.log, self._queue, self._applied_batch.append, None)
                self._after_ready()
                if not self._again:
                    break
        except Exception as exc:   # storage failure: stop acting rather than run on inconsistent state
            self.failed = exc
            log.critical("dledger %s: stopped after a storage error: %s", self.gc.self_id, exc, exc_info=True)
        finally:
            self._processing = False
        self._schedule_flush()

    def _after_ready(self) -> None:
        if self._truncated_from is not None:
            self._fail_rewritten(self._truncated_from)
            self._truncated_from = None
        batch, self._applied_batch = self._applied_batch, []
        if batch:
            for e in batch:
                for term, fut in self._waiters.pop(e.index, ()):
                    self._resolved.append((fut, None if term == e.term else
                                           TermChanged(f"entry {e.index} committed with term {e.term}")))
            if self.on_apply is not None:
                self.on_apply(batch)
        node = self.node
        before, self._reported = self._reported, (node.role, node.leader)
        changed = before != self._reported
        serving = self.serving
        if changed:
            if node.leader != before[1] and node.leader is not None:
                self.leader_changes += 1
            log.warning("dledger %s/%s: %s term %d leader %s", self.gc.group, self.gc.self_id,
                        node.role.value, node.term, node.leader)
            self._role_changed.set()
        if changed or serving != self._serving:
            self._serving = serving
            if self.on_role is not None:
                self.on_role(SoftState(node.role, node.leader, node.term), serving)

    def _fail_rewritten(self, first: Index) -> None:
        last = self.node.log.last_index()
        for index in [i for i in self._waiters if i >= first]:
            keep = []
            for term, fut in self._waiters[index]:
                if index > last or self.node.log.term(index) != term:
                    self._resolved.append((fut, TermChanged(f"entry {index} was overwritten")))
                else:
                    keep.append((term, fut))
            if keep:
                self._waiters[index] = keep
            else:
                del self._waiters[index]

    def _queue(self, m: Message) -> None:
        self._outbox.setdefault(m.dst, []).append(m)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and (self._outbox or self._resolved):
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Once per loop turn: deferred sync, then frames, then commit futures (rule 1, 2)."""
        self._flush_scheduled = False
        if self.sync_before_send and getattr(self.log, "sync_pending", False):
            try:
                self.log.flush_data()   # type: ignore[attr-defined]
            except Exception as exc:
                self.failed = exc
                log.critical("dledger %s: sync failed: %s", self.gc.self_id, exc)
                return
        outbox, self._outbox = self._outbox, {}
        if not self.closed:
            ext = self.frame_ext() if self.frame_ext is not None else {}
            for dst, msgs in outbox.items():
                link = self.links.get(dst)
                if link is None:
                    continue
                fields = {"group": self.gc.group, "from": self.gc.self_id, "to": dst,
                          "fileSize": str(self.gc.file_size), **ext}
                link.send(RemotingCommand.request(RAFT_MESSAGES, fields, encode_messages(msgs), oneway=True))
        resolved, self._resolved = self._resolved, []
        for fut, error in resolved:
            if fut.done():
                continue
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)

    async def _flush_loop(self) -> None:
        """Periodic msync + checkpoint (what a power loss could still take)."""
        interval = max(10, self.gc.flush_interval_ms) / 1000.0
        flush = getattr(self.log, "flush", None)
        checkpoint = getattr(self.log, "write_checkpoint", None)
        while True:
            await asyncio.sleep(interval)
            try:
                if checkpoint is not None:
                    checkpoint(self.node.commit_index)
                if flush is not None:
                    flush()
            except Exception:
                log.exception("dledger %s: periodic flush failed", self.gc.self_id)


__all__ = ["RaftDriver", "GroupConfig", "PeerLink", "TermChanged", "ConfigError", "parse_peers"]
