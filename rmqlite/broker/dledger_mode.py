"""DLedger mode of the broker (``enableDLegerCommitLog=true``): Raft group, roles, quorum-acked writes.

How it works:
  ``DLedgerMode`` owns the group's ``FileLog`` (``<storePathRootDir>/dledger-<selfId>``), the store's
  commitlog adapter (dledger_commitlog.py) and the ``RaftDriver`` listening on this node's
  ``dLegerPeers`` address. The broker calls it at five points: ``create_store``, ``attach`` (after the
  state exists: SLAVE with brokerId -1, no registration), ``start``, ``begin_request``/``finish_request``
  around every request (``begin_request``/``wait_proposed`` around background writers whose effect others
  must see committed, e.g. the transaction check-back), ``close``.
  * Committed entries are applied by ``store.dispatch_up_to(end of the last committed entry)``: consume
    queues and the index only ever see committed records, on every replica.
  * Role change handler (Java ``DLedgerRoleChangeHandler``): a leader whose no-op is committed and
    applied rebuilds the queue-offset table, adds topics found in its consume queues but missing from its
    topic table, becomes writable and switches to ``SYNC_MASTER`` with brokerId 0; any other role switches
    to ``SLAVE`` with id = digits of ``dLegerSelfId`` + 1. ``Broker.set_role`` re-registers at once.
    Either way delayed delivery restarts from the durable delay offsets, verifying what a previous master
    already delivered (schedule.py rules 5-6, Java ``ScheduleMessageService.start`` reloading
    delayOffset.json); a new master wakes its delivery loop at once.
  * A request that wrote answers only after its entries are committed on a quorum. Send-type replies
    map failures like DLedgerCommitLog + SendMessageProcessor: refused as not leader -> 14 with the slave
    remark; pending full / transferring -> 1 "[PC_SYNCHRONIZED]broker busy..."; no quorum ack within
    ``dLedgerMaxWaitAckTimeMs`` -> the same (WAIT_QUORUM_ACK_TIMEOUT -> OS_PAGECACHE_BUSY); entry lost
    to another term -> 1 "UNKNOWN_ERROR" (TERM_CHANGED).
  * Followers copy the leader's topics, subscription groups, consumer offsets and delay offsets (Java
    ``SlaveSynchronize``) every ``dLedgerMetaSyncIntervalMs`` and at once when the leader's peer frames
    announce a new topic / group data version.

Rules:
  1. brokerId 0 is advertised only while the node is a serving leader (everything committed applied).
  2. A send is acknowledged SUCCESS only when all its entries are committed (and, with SYNC_FLUSH,
     synced by this node); nothing uncommitted is ever dispatched.
  3. Failure mapping applies to send-type requests; other writers (pull's offset-moved event, ...) just
     wait (bounded) for their entries before answering.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import time
from typing import TYPE_CHECKING, Any, Awaitable

from rmqlite.broker.dledger_commitlog import DLedgerCommitLog, records_valid
from rmqlite.broker.handlers.send import _NOT_AVAILABLE
from rmqlite.broker.subscriptions import SubscriptionGroupConfig
from rmqlite.broker.topics import PERM_READ, PERM_WRITE, DataVersion, TopicConfig
from rmqlite.dledger.config import Accepted, SoftState
from rmqlite.dledger.driver import GroupConfig, RaftDriver, TermChanged, parse_peers
from rmqlite.dledger.file_log import FileLog
from rmqlite.dledger.messages import Entry, NodeId
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient
from rmqlite.common.aio import stop_tasks, wait_event

if TYPE_CHECKING:
    from rmqlite.broker.config import BrokerConfig
    from rmqlite.broker.server import Broker

log = logging.getLogger("rmqlite.broker.dledger")

__all__ = ["DLedgerMode", "slave_id_of", "BUSY_REMARK"]

BUSY_REMARK = "[PC_SYNCHRONIZED]broker busy, start flow control for a while"
SEND_CODES = frozenset({RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE,
                        RequestCode.CONSUMER_SEND_MSG_BACK, RequestCode.SEND_REPLY_MESSAGE,
                        RequestCode.SEND_REPLY_MESSAGE_V2})
_SELF_ID = re.compile(r"^[A-Za-z]+(\d+)$")
_SYNC_TIMEOUT_MS = 3000


def slave_id_of(self_id: str) -> int:
    """``n2`` -> 3: the brokerId a follower registers with (Java: digits of selfId + 1)."""
    m = _SELF_ID.match(self_id or "")
    if m is None:
        raise ValueError(f"dLegerSelfId must be letters followed by digits (e.g. n0), got {self_id!r}")
    return int(m.group(1)) + 1


def group_config(config: BrokerConfig) -> GroupConfig:
    """The Raft group settings from broker.conf keys (raises ValueError on bad ones)."""
    peers = parse_peers(config.dLegerPeers or "")
    preferred = next((p.strip() for p in (config.preferredLeaderId or "").split(";") if p.strip() in peers), None)
    return GroupConfig(
        group=config.dLegerGroup or config.brokerName, self_id=config.dLegerSelfId or "", peers=peers,
        tick_ms=config.dLedgerTickMs, election_ticks=config.dLedgerElectionTimeoutTicks,
        heartbeat_ticks=config.dLedgerHeartbeatTicks, max_pending=config.dLedgerMaxPendingRequestsNum,
        preferred_leader=preferred, file_size=config.mappedFileSizeCommitLog,
        flush_interval_ms=config.flushIntervalCommitLog)


class DLedgerMode:
    """The broker's DLedger machinery (see module docstring)."""

    def __init__(self, config: BrokerConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self.gc = group_config(config)
        self.slave_id = slave_id_of(self.gc.self_id)
        base = os.path.join(config.storePathRootDir, f"dledger-{self.gc.self_id}")
        self.file_log = FileLog(base, data_dir=config.storePathDLedgerCommitLog or None,
                                data_file_size=config.mappedFileSizeCommitLog, fsync=config.is_sync_flush,
                                defer_sync=True, body_check=records_valid)
        self.commitlog = DLedgerCommitLog(self.file_log)
        self.rng = rng
        self.broker: Broker | None = None
        self.driver: RaftDriver | None = None
        self.client = RemotingClient(name="dledger-sync")
        self.master = False
        self.leader_broker_addr: str | None = None
        self._leader_meta: str | None = None
        self._sync_wanted = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.became_master_at: float | None = None

    # ------------------------------------------------------------------ broker hooks
    def create_store(self, store_config: Any) -> Any:
        """The message store over the DLedger commitlog (dispatch driven by commits)."""
        from rmqlite.store.message_store import MessageStore
        return MessageStore(store_config, commitlog=self.commitlog, auto_confirm=False)

    def attach(self, broker: Broker) -> None:
        """Right after the broker state exists: a DLedger broker starts as SLAVE with brokerId -1."""
        self.broker = broker
        broker.set_role("SLAVE", -1)

    async def start(self) -> None:
        """Start the Raft node (after the store is open and the broker listens)."""
        broker = self.broker
        assert broker is not None and broker.state is not None
        store = broker.state.store
        applied = self.file_log.index_at_or_after(store.dispatched_offset) - 1
        self.file_log.raise_committed(applied)
        self.driver = RaftDriver(self.gc, self.file_log, applied=max(applied, 0), rng=self.rng,
                                 on_apply=self._on_apply, on_role=self._on_role, frame_ext=self._frame_ext,
                                 on_frame=self._on_frame, sync_before_send=self.config.is_sync_flush)
        self.commitlog.driver = self.driver
        await self.driver.start()
        self._tasks.append(asyncio.create_task(self._sync_loop()))

    async def close(self) -> None:
        """Hand leadership over (bounded), stop the node and the sync task."""
        self._closing = True
        self._sync_wanted.set()         # the sync loop also stops on the flag if a cancel gets swallowed
        await stop_tasks(self._tasks, 2.0, f"dledger broker {self.gc.self_id}")
        if self.driver is not None:
            timeout = 2 * self.gc.election_ticks * self.gc.tick_ms
            await self.driver.close(transfer_timeout_ms=timeout)
        self.commitlog.writable = False
        await self.client.close()

    def begin_request(self) -> None:
        self.commitlog.begin()

    def finish_request(self, cmd: RemotingCommand, result: RemotingCommand) -> Awaitable[RemotingCommand] | None:
        """None when the request proposed nothing; else an awaitable reply (rules 2, 3)."""
        outcomes = self.commitlog.end()
        if not outcomes:
            return None
        waits = []
        failure: str | None = None
        for o in outcomes:
            if isinstance(o, Accepted):
                assert self.driver is not None
                waits.append(self.driver.wait_committed(o.last_index, o.term))
            else:
                failure = o if isinstance(o, str) else type(o).__name__
        if failure is not None and not waits:
            self._refused(cmd, result, failure)
            return None
        return self._reply_when_committed(cmd, result, waits)

    async def wait_proposed(self) -> bool:
        """Close a ``begin_request`` bracket opened by a background task (check-back, ...).

        True once everything it proposed is committed on a quorum (or it proposed nothing); False if a
        proposal was refused, lost to another term or not acked within ``dLedgerMaxWaitAckTimeMs``.
        """
        outcomes = self.commitlog.end()
        if not all(isinstance(o, Accepted) for o in outcomes):
            return False
        assert self.driver is not None or not outcomes
        waits = [self.driver.wait_committed(o.last_index, o.term) for o in outcomes]  # type: ignore[union-attr]
        if not waits:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*waits), self.config.dLedgerMaxWaitAckTimeMs / 1000.0)
        except (TimeoutError, TermChanged):
            return False
        return True

    async def _reply_when_committed(self, cmd: RemotingCommand, result: RemotingCommand,
                                    waits: list[asyncio.Future[None]]) -> RemotingCommand:
        try:
            await asyncio.wait_for(asyncio.gather(*waits), self.config.dLedgerMaxWaitAckTimeMs / 1000.0)
        except TimeoutError:
            self._fail(cmd, result, ResponseCode.SYSTEM_ERROR, BUSY_REMARK)
        except TermChanged:
            self._fail(cmd, result, ResponseCode.SYSTEM_ERROR, "UNKNOWN_ERROR")
        return result

    def _refused(self, cmd: RemotingCommand, result: RemotingCommand, reason: str) -> None:
        if reason in ("NOT_LEADER", "NotLeader"):
            self._fail(cmd, result, ResponseCode.SERVICE_NOT_AVAILABLE, _NOT_AVAILABLE)
        else:
            self._fail(cmd, result, ResponseCode.SYSTEM_ERROR, BUSY_REMARK)

    @staticmethod
    def _fail(cmd: RemotingCommand, result: RemotingCommand, code: int, remark: str) -> None:
        if cmd.code not in SEND_CODES:
            return
        result.code, result.remark = code, remark
        for key in ("msgId", "queueId", "queueOffset", "transactionId"):
            result.ext_fields.pop(key, None)

    # ------------------------------------------------------------------ driver callbacks
    def _on_apply(self, entries: list[Entry]) -> None:
        broker = self.broker
        if broker is None or broker.state is None:
            return
        pos, size = self.file_log.entry_span(entries[-1].index)
        store = broker.state.store
        store.dispatch_up_to(pos + size)
        # followers never put: let the store checkpoint's physic timestamp follow what was applied, so a
        # crash recovery re-dispatches from a recent data file rather than from the first one
        store.last_written_store_ts = max(store.last_written_store_ts, store.last_dispatched_store_ts)
        broker._async_dirty = True

    def _on_role(self, soft: SoftState, serving: bool) -> None:
        broker = self.broker
        if broker is None or broker.state is None:
            return
        if serving and not self.master:
            state = broker.state
            state.store.rebuild_queue_offsets()
            self._adopt_queue_topics()
            self.master = True
            self.commitlog.writable = True
            self.became_master_at = time.time()
            state.schedule.restart_delivery()      # from the durable delay offsets, verified (schedule.py rule 6)
            broker.set_role("SYNC_MASTER", 0)
            features = getattr(broker, "features", None)
            if features is not None:
                features.wake()
            log.warning("dledger %s/%s: serving as master (brokerId 0) in term %d",
                        self.gc.group, self.gc.self_id, soft.term)
        elif not serving and (self.master or broker.state.broker_id != self.slave_id):
            self.master = False
            self.commitlog.writable = False
            broker.state.schedule.restart_delivery()
            broker.set_role("SLAVE", self.slave_id)
            if soft.leader != self.gc.self_id:
                self._sync_wanted.set()

    def _adopt_queue_topics(self) -> None:
        """Topics the old leader created after our last metadata sync still have consume queues here."""
        state = self.broker.state if self.broker else None
        if state is None:
            return
        queues: dict[str, int] = {}
        for topic, qid in list(state.store.cqs):
            # the queues we can see are a lower bound: a client-created topic has at least as many queues
            # as clients ask for by default (4), unless it is a retry/DLQ/system topic (1 queue)
            floor = 1 if topic.startswith(("%RETRY%", "%DLQ%", "RMQ_SYS_", "SCHEDULE_TOPIC")) else 4
            queues[topic] = max(queues.get(topic, 0), qid + 1, min(floor, self.config.defaultTopicQueueNums))
        now = int(time.time() * 1000)
        for topic, n in queues.items():
            if topic not in state.topics:
                state.topics.update(TopicConfig(topic, readQueueNums=n, writeQueueNums=n,
                                                perm=PERM_READ | PERM_WRITE), now)
                log.warning("dledger: adopted topic %s (%d queues) from the consume queues", topic, n)

    def raft_status(self) -> dict[str, str]:
        """This node's Raft view, added to GET_BROKER_RUNTIME_INFO (the console shows it)."""
        node = self.driver.node if self.driver is not None else None
        if node is None:
            return {}
        return {"dLedgerRole": node.role.name, "dLedgerTerm": str(node.term),
                "dLedgerLeaderId": str(node.leader or "")}

    def _frame_ext(self) -> dict[str, str]:
        state = self.broker.state if self.broker else None
        if state is None or not self.master:
            return {}
        return {"brokerAddr": self.config.broker_addr,
                "meta": f"{state.topics.data_version.counter}.{state.subscriptions.data_version.counter}"}

    def _on_frame(self, src: NodeId, ext: dict[str, str]) -> None:
        addr = ext.get("brokerAddr")
        if addr is None:
            return
        self.leader_broker_addr = addr
        meta = ext.get("meta")
        if meta != self._leader_meta:
            self._leader_meta = meta
            self._sync_wanted.set()

    # ------------------------------------------------------------------ follower metadata sync
    async def _sync_loop(self) -> None:
        interval = max(100, self.config.dLedgerMetaSyncIntervalMs) / 1000.0
        # loop on the flag, not only on cancellation: ``asyncio.wait_for`` (3.11) inside client.invoke drops
        # a cancel that lands in the turn the reply arrives, and this loop then never ended (close hung)
        while not self._closing:
            await wait_event(self._sync_wanted, interval)
            self._sync_wanted.clear()
            addr = self.leader_broker_addr
            if self._closing or self.master or addr is None or addr == self.config.broker_addr:
                continue
            try:
                await self.sync_from(addr)
            except Exception as exc:
                log.info("dledger metadata sync from %s failed: %s", addr, exc)

    async def sync_from(self, addr: str) -> None:
        """Copy topics, subscription groups, consumer and delay offsets from the master at ``addr``."""
        bodies = {}
        for code in (RequestCode.GET_ALL_TOPIC_CONFIG, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
                     RequestCode.GET_ALL_CONSUMER_OFFSET, RequestCode.GET_ALL_DELAY_OFFSET):
            resp = await self.client.invoke(addr, RemotingCommand.request(code), _SYNC_TIMEOUT_MS)
            if resp.code != ResponseCode.SUCCESS or not resp.body:
                return
            bodies[code] = fastjson.loads(resp.body)
        state = self.broker.state if self.broker else None
        if state is None or self.master or self._closing:
            return
        apply_topics(state, bodies[RequestCode.GET_ALL_TOPIC_CONFIG])
        apply_subscriptions(state, bodies[RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG])
        apply_offsets(state, bodies[RequestCode.GET_ALL_CONSUMER_OFFSET])
        apply_delay_offsets(state, bodies[RequestCode.GET_ALL_DELAY_OFFSET])


def apply_topics(state: Any, body: Any) -> None:
    """SlaveSynchronize.syncTopicConfig: replace the table when the master's data version differs."""
    if not isinstance(body, dict) or not isinstance(body.get("topicConfigTable"), dict):
        return
    version = DataVersion.from_json(body.get("dataVersion"))
    mine = state.topics.data_version
    if (version.counter, version.timestamp) == (mine.counter, mine.timestamp):
        return
    table = {}
    for name, raw in body["topicConfigTable"].items():
        if isinstance(raw, dict):
            cfg = TopicConfig.from_json(raw)
            cfg.topicName = cfg.topicName or str(name)
            table[str(name)] = cfg
    state.topics.table = table
    state.topics.data_version = version
    state.topics.persist()


def apply_subscriptions(state: Any, body: Any) -> None:
    """SlaveSynchronize.syncSubscriptionGroupConfig."""
    if not isinstance(body, dict) or not isinstance(body.get("subscriptionGroupTable"), dict):
        return
    version = DataVersion.from_json(body.get("dataVersion"))
    mine = state.subscriptions.data_version
    if (version.counter, version.timestamp) == (mine.counter, mine.timestamp):
        return
    table = {}
    for name, raw in body["subscriptionGroupTable"].items():
        if isinstance(raw, dict):
            cfg = SubscriptionGroupConfig.from_json(raw)
            cfg.groupName = cfg.groupName or str(name)
            table[str(name)] = cfg
    state.subscriptions.table = table
    state.subscriptions.data_version = version
    state.subscriptions.persist()


def apply_offsets(state: Any, body: Any) -> None:
    """SlaveSynchronize.syncConsumerOffset: the master's offsets overwrite ours."""
    if not isinstance(body, dict) or not isinstance(body.get("offsetTable"), dict):
        return
    for key, queues in body["offsetTable"].items():
        if isinstance(queues, dict):
            state.offsets.table[str(key)] = {int(q): int(o) for q, o in queues.items()}
    state.offsets.dirty = True


def apply_delay_offsets(state: Any, body: Any) -> None:
    """SlaveSynchronize.syncDelayOffset."""
    if not isinstance(body, dict) or not isinstance(body.get("offsetTable"), dict):
        return
    for level, offset in body["offsetTable"].items():
        state.schedule.advance(int(level), int(offset))
