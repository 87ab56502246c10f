"""The broker process: a thin asyncio shell around ``BrokerState`` and the handlers.

How it works:
1. ``start()`` opens the store (recovery included), loads the config tables, listens on
   ``listenPort`` and on the VIP port ``listenPort - 2`` with the same handlers, registers with
   every nameserver at once and starts the periodic tasks. ``close()`` answers held pulls,
   unregisters, persists the tables and closes the store.
2. Every request goes through ``handlers.dispatch`` with a fresh ``Ctx`` (now, rng, channel).
   Effects come back in the ``Ctx``: consumer groups to notify (NOTIFY_CONSUMER_IDS_CHANGED,
   oneway), a store write (SYNC_FLUSH: the reply waits for a group-commit flush of the commitlog,
   one flush per loop turn for all sends of that turn; > syncFlushTimeout answers
   FLUSH_DISK_TIMEOUT), and a ``Hold`` (long poll).
3. Held pulls are woken by the store's dispatch listener (collected, then handled on the next
   loop turn) or by their deadline (ticker); a re-run never holds and never commits offsets.
4. Registration: one persistent connection per nameserver (RemotingClient), a registration every
   ``registerNameServerPeriod`` (clamped 10-60 s) and right after any topic-table change.
5. Periodic: ASYNC_FLUSH every flushIntervalCommitLog, consumer offsets every 5 s, delayOffset
   every 10 s, delayed delivery and hold expiry every 100 ms, idle client channels (> 120 s) every
   10 s, stats sampling every second, transaction checks every transactionCheckInterval.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any

from rmqlite.broker.config import BrokerConfig
from rmqlite.broker.handlers import dispatch
from rmqlite.broker.handlers.reply import ReplyPush, finish_reply
from rmqlite.broker.feature_tasks import REFUSED_ONEWAY
from rmqlite.broker.long_poll import Hold
from rmqlite.broker.registration import register_broker_request, unregister_broker_request
from rmqlite.broker.schedule import deliver_due
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import Connection, RemotingClient, RemotingServer
from rmqlite.common.aio import stop_tasks, wait_event

log = logging.getLogger("rmqlite.broker")

__all__ = ["Broker", "build_store_config", "physical_memory_bytes"]

_TICK_S = 0.1


def physical_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 8 * 1024 ** 3


def build_store_config(config: BrokerConfig, memory_bytes: int) -> Any:
    """The store's StoreConfig from broker.conf keys."""
    from rmqlite.store.model import StoreConfig
    return StoreConfig(
        store_path_root_dir=config.storePathRootDir,
        store_path_commitlog=config.storePathCommitLog,
        mapped_file_size_commitlog=config.mappedFileSizeCommitLog,
        mapped_file_size_consume_queue=config.mappedFileSizeConsumeQueue,
        max_hash_slot_num=config.maxHashSlotNum,
        max_index_num=config.maxIndexNum,
        max_message_size=config.maxMessageSize,
        flush_disk_type=config.flushDiskType,
        broker_role=config.brokerRole,
        check_crc_on_recover=config.checkCRCOnRecover,
        message_index_enable=config.messageIndexEnable,
        message_index_safe=config.messageIndexSafe,
        max_msgs_num_batch=config.maxMsgsNumBatch,
        max_transfer_bytes_on_message_in_memory=config.maxTransferBytesOnMessageInMemory,
        max_transfer_count_on_message_in_memory=config.maxTransferCountOnMessageInMemory,
        max_transfer_bytes_on_message_in_disk=config.maxTransferBytesOnMessageInDisk,
        max_transfer_count_on_message_in_disk=config.maxTransferCountOnMessageInDisk,
        access_message_in_memory_max_bytes=memory_bytes * config.accessMessageInMemoryMaxRatio // 100,
        offset_check_in_slave=config.offsetCheckInSlave,
        message_delay_level=config.messageDelayLevel,
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


class Broker:
    """One RocketMQ broker (single master; the DLedger seam is ``state.role``/``broker_id``)."""

    def __init__(self, config: BrokerConfig, store: Any = None, rng: random.Random | None = None,
                 host: str | None = None) -> None:
        """``host`` to listen on: default all interfaces, or only brokerIP1 when it is a loopback address."""
        self.config = config
        self.host = host or (config.brokerIP1 if config.brokerIP1.startswith("127.") else "0.0.0.0")
        self.memory_bytes = physical_memory_bytes()
        self._store = store
        self.rng = rng or random.Random()
        self.state: BrokerState | None = None
        self.server: RemotingServer | None = None
        self.vip_server: RemotingServer | None = None
        self.namesrv_client = RemotingClient(name="broker-outer")
        self._tasks: list[asyncio.Task[None]] = []
        self._register_wanted: asyncio.Event | None = None   # created in start()
        self._registered_version = -1
        self._wakeups: list[tuple[str, int, int]] = []
        self._wake_scheduled = False
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._async_dirty = False
        self._closing = False
        self.features: Any = None           # BrokerFeatures (feature_tasks.py): ACL hook, on-time delayed delivery
        self.dledger: Any = None            # DLedgerMode when enableDLegerCommitLog (dledger_mode.py)
        if config.enableDLegerCommitLog:
            from rmqlite.broker.dledger_mode import DLedgerMode
            self.dledger = DLedgerMode(config, rng=self.rng)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open the store, listen, register with the nameservers, start the periodic tasks."""
        cfg = self.config
        now = _now_ms()
        if self._store is None and self.dledger is not None:
            self._store = self.dledger.create_store(build_store_config(cfg, self.memory_bytes))
        if self._store is None:
            from rmqlite.store.message_store import MessageStore
            self._store = MessageStore(build_store_config(cfg, self.memory_bytes))
        self._store.open(now)
        try:
            self.state = BrokerState.create(cfg, self._store, now)
            if self.dledger is not None:
                self.state.raft_status = self.dledger.raft_status
            self.state.memory_bytes = self.memory_bytes
            if self.dledger is not None:
                self.dledger.attach(self)
            self._store.add_dispatch_listener(self._on_dispatch)
            # --- features hook: ACL (a bad plain_acl.yml stops the start) and on-time delayed delivery ---
            from rmqlite.broker.feature_tasks import BrokerFeatures
            self.features = BrokerFeatures(self)
            self.state.acl = self.features.acl
            self._store.add_dispatch_listener(self.features.on_dispatch)
            self.server = RemotingServer(self.host, cfg.listenPort, name="broker")
            vip_port = cfg.listenPort - 2 if cfg.listenPort > 2 else 0
            self.vip_server = RemotingServer(self.host, vip_port, name="broker-vip")
            for srv in (self.server, self.vip_server):
                srv.register_default(self._on_request)
                srv.on_close(self._on_channel_close)
            await self.server.start()
            cfg.listenPort = self.server.port
            cfg.haListenPort = cfg.listenPort + 1
            await self.vip_server.start()
            self._register_wanted = asyncio.Event()
            if self.dledger is not None:
                await self.dledger.start()
        except BaseException:
            if self.dledger is not None:
                await self.dledger.close()
            await self._close_servers()
            self._store.close()
            self.state = None
            raise
        await self._register_all()
        for coro in (self._register_loop(), self._ticker(), self._flush_loop(), self._offsets_loop(),
                     self._client_scan_loop(), self._transaction_check_loop()):
            self._tasks.append(asyncio.create_task(coro))
        for coro in self.features.tasks():            # features hook
            self._tasks.append(asyncio.create_task(coro))

    def ready_line(self) -> str:
        """Java's boot line."""
        line = f"The broker[{self.config.brokerName}, {self.config.broker_addr}] boot success. serializeType=JSON"
        if self.config.namesrvAddr:
            line += f" and name server is {self.config.namesrvAddr}"
        return line

    def set_role(self, role: str, broker_id: int) -> None:
        """Role seam (DLedger): ``role`` ASYNC_MASTER/SYNC_MASTER/SLAVE and the id to register with;
        re-registers with the nameservers at once."""
        assert self.state is not None
        self.state.role, self.state.broker_id = role, broker_id
        store_config = getattr(self._store, "config", None)
        if store_config is not None and hasattr(store_config, "broker_role"):
            store_config.broker_role = role
        self._registered_version = -1
        if self._register_wanted is not None:
            self._register_wanted.set()

    @property
    def port(self) -> int:
        return self.server.port if self.server else self.config.listenPort

    @property
    def vip_port(self) -> int:
        return self.vip_server.port if self.vip_server else 0

    async def close(self) -> None:
        """Answer held pulls, unregister, persist, stop listening, close the store."""
        if self._closing or self.state is None:
            return
        self._closing = True
        state = self.state
        if self._register_wanted is not None:
            self._register_wanted.set()    # the register loop also stops on _closing if a cancel is swallowed
        await stop_tasks(self._tasks, 2.0, "broker close")
        self._tasks.clear()
        if self.dledger is not None:
            await self.dledger.close()
        for hold in state.holds.pop_all():
            self._answer_hold(hold, _now_ms())
        if self._flush_task is not None:
            await asyncio.wait([self._flush_task], timeout=max(1.0, self.config.syncFlushTimeout / 1000.0))
        await self._unregister_all()
        await self.namesrv_client.close()
        await self._close_servers()
        try:
            state.persist_all()
        finally:
            self._store.close()

    async def _close_servers(self) -> None:
        for srv in (self.server, self.vip_server):
            if srv is not None:
                await srv.close()

    # ------------------------------------------------------------------ requests
    def _ctx(self, conn: Connection | None, first_run: bool = True) -> Ctx:
        addr = "%s:%d" % conn.remote_addr if conn is not None else "127.0.0.1:0"
        return Ctx(_now_ms(), self.rng, conn, addr, first_run)   # now_ms, rng, channel, remote_addr, first_run

    def _on_request(self, cmd: RemotingCommand, conn: Connection) -> Any:
        assert self.state is not None
        # --- features hook: ACL check before any handler (Java's RPC hook) ---
        refusal = self.features.check_request(cmd, conn) if self.features is not None else None
        if refusal is not None:
            return None if refusal is REFUSED_ONEWAY else refusal
        if cmd.code in (RequestCode.GET_CONSUMER_RUNNING_INFO, RequestCode.CONSUME_MESSAGE_DIRECTLY):
            return self._call_consumer(cmd)
        ctx = self._ctx(conn)
        if self.dledger is not None:
            self.dledger.begin_request()
        result = dispatch(self.state, cmd, ctx)
        self._after(ctx)
        if self.dledger is not None and isinstance(result, RemotingCommand):
            waiting = self.dledger.finish_request(cmd, result)   # reply once committed on a quorum
            if waiting is not None:
                self._async_dirty = True
                return waiting
        if type(result) is not RemotingCommand:     # (a reply: none of these)
            if isinstance(result, ReplyPush):
                return self._push_reply(cmd, result)
            if isinstance(result, Hold):
                loop = asyncio.get_running_loop()
                result.waiter = loop.create_future()
                self.state.holds.add(result)
                return result.waiter
        if (cmd.code == RequestCode.UPDATE_AND_CREATE_TOPIC and isinstance(result, RemotingCommand)
                and self.state.topics.data_version.counter != self._registered_version):
            return self._reply_after_register(result)  # Java registers before answering
        if ctx.wrote:
            self._async_dirty = True
            if (ctx.wait_flush and self.config.is_sync_flush and isinstance(result, RemotingCommand)
                    and result.code == ResponseCode.SUCCESS):
                return self._reply_after_flush(result)
        return result

    async def _reply_after_register(self, result: RemotingCommand) -> RemotingCommand:
        await self._register_all()
        return result

    async def _call_consumer(self, cmd: RemotingCommand) -> RemotingCommand:
        """Forward an admin request to one consumer and relay its answer (``callConsumer``)."""
        assert self.state is not None
        group = cmd.ext_fields.get("consumerGroup", "")
        client_id = cmd.ext_fields.get("clientId", "")
        info = self.state.clients.consumer_group(group)
        chan = next((c.channel for c in (info.channels.values() if info else []) if c.client_id == client_id), None)
        if not isinstance(chan, Connection) or chan.closed:
            return cmd.response(ResponseCode.SYSTEM_ERROR, f"The Consumer <{group}> <{client_id}> not online")
        forward = RemotingCommand.request(cmd.code, dict(cmd.ext_fields), cmd.body)
        try:
            return await chan.invoke(forward, 10_000)
        except Exception as exc:
            return cmd.response(ResponseCode.SYSTEM_ERROR,
                                f"invoke consumer <{group}> <{client_id}> Exception: {exc}")

    async def _push_reply(self, cmd: RemotingCommand, reply: ReplyPush) -> RemotingCommand:
        """Deliver a request-reply answer to its requester, then answer the replier."""
        assert self.state is not None
        pushed: Any
        if not isinstance(reply.channel, Connection) or reply.channel.closed:
            pushed = None
        else:
            try:
                pushed = await reply.channel.invoke(reply.push, 10_000)
            except Exception as exc:
                pushed = exc
        return finish_reply(self.state, cmd, reply, pushed)

    def _after(self, ctx: Ctx) -> None:
        """Carry out a handler's side effects."""
        assert self.state is not None
        for group in ctx.notify_groups:
            self._notify_group(group)
        for chan, request in ctx.outbox:
            if isinstance(chan, Connection) and not chan.closed:
                chan.send_oneway(request)
        if self.state.topics.data_version.counter != self._registered_version and self._register_wanted:
            self._register_wanted.set()

    def _notify_group(self, group: str) -> None:
        assert self.state is not None
        for chan in self.state.clients.consumer_channels(group):
            if isinstance(chan, Connection) and not chan.closed:
                chan.send_oneway(RemotingCommand.request(
                    RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, {"consumerGroup": group}, oneway=True))

    def _on_channel_close(self, conn: Connection) -> None:
        if self.state is None:
            return
        for hold in self.state.holds.drop_channel(conn):
            if hold.waiter is not None and not hold.waiter.done():
                hold.waiter.set_result(None)
        for group in self.state.clients.channel_closed(conn):
            self._notify_group(group)

    # ------------------------------------------------------------------ long polling
    def _on_dispatch(self, topic: str, queue_id: int, max_offset: int) -> None:
        """Store callback (may run inside put_message): defer the wake-up to the loop."""
        self._wakeups.append((topic, queue_id, max_offset))
        if not self._wake_scheduled:
            self._wake_scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self._process_wakeups)
            except RuntimeError:
                self._wake_scheduled = False

    def _process_wakeups(self) -> None:
        self._wake_scheduled = False
        wakeups, self._wakeups = self._wakeups, []
        if self.state is None:
            return
        now = _now_ms()
        for topic, queue_id, max_offset in wakeups:
            for hold in self.state.holds.wake(topic, queue_id, max_offset):
                self._answer_hold(hold, now)

    def _answer_hold(self, hold: Hold, now_ms: int) -> None:
        """Re-run a held pull (no suspend, no commit) and complete its waiter."""
        if hold.waiter is None or hold.waiter.done():
            return
        conn = hold.channel if isinstance(hold.channel, Connection) else None
        ctx = self._ctx(conn, first_run=False)
        ctx.now_ms = now_ms
        assert self.state is not None
        result = dispatch(self.state, hold.request, ctx)
        self._after(ctx)
        hold.waiter.set_result(result if isinstance(result, RemotingCommand) else None)

    # ------------------------------------------------------------------ flushing
    async def _reply_after_flush(self, reply: RemotingCommand) -> RemotingCommand:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flush_waiters.append(fut)
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._group_commit())
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.config.syncFlushTimeout / 1000.0)
        except asyncio.TimeoutError:
            reply.code = ResponseCode.FLUSH_DISK_TIMEOUT
        except Exception as exc:
            log.error("sync flush failed: %s", exc)
            reply.code = ResponseCode.FLUSH_DISK_TIMEOUT
        return reply

    async def _group_commit(self) -> None:
        """Flush the commitlog once for every send waiting, batching those that arrive meanwhile."""
        while self._flush_waiters:
            await asyncio.sleep(0)            # let the sends of this loop turn join the batch
            waiters, self._flush_waiters = self._flush_waiters, []
            try:     # the fsync runs in a worker thread (store rule 6)
                await asyncio.to_thread(self._store.prepare_flush(commitlog_only=True).run)
            except Exception as exc:
                for w in waiters:
                    if not w.done():
                        w.set_exception(exc)
                continue
            for w in waiters:
                if not w.done():
                    w.set_result(None)
            self._async_dirty = True      # CQ/index/checkpoint follow on the periodic flush

    async def _flush_loop(self) -> None:
        interval = max(10, self.config.flushIntervalCommitLog) / 1000.0
        while True:
            await asyncio.sleep(interval)
            if self._async_dirty:
                self._async_dirty = False
                try:     # fsyncs in a worker thread: the event loop keeps serving (store rule 6)
                    await asyncio.to_thread(self._store.prepare_flush().run)
                except Exception:
                    log.exception("periodic store flush failed")

    # ------------------------------------------------------------------ periodic work
    async def _ticker(self) -> None:
        last_sample = 0
        while True:
            await asyncio.sleep(_TICK_S)
            state = self.state
            assert state is not None
            now = _now_ms()
            try:
                if state.is_master and deliver_due(state, now):
                    self._async_dirty = True
                for hold in state.holds.expire(now):
                    self._answer_hold(hold, now)
                if now - last_sample >= 1000:
                    last_sample = now
                    state.stats.sample(now)
            except Exception:
                log.exception("broker ticker failed")

    async def _offsets_loop(self) -> None:
        last_delay_persist = _now_ms()
        while True:
            await asyncio.sleep(max(100, self.config.flushConsumerOffsetInterval) / 1000.0)
            state = self.state
            assert state is not None
            try:
                state.offsets.persist()
                if state.schedule.dirty and _now_ms() - last_delay_persist >= self.config.flushDelayOffsetInterval:
                    state.schedule.persist()
                    last_delay_persist = _now_ms()
            except Exception:
                log.exception("persisting consumer offsets failed")

    async def _client_scan_loop(self) -> None:
        while True:
            await asyncio.sleep(10)
            assert self.state is not None
            for chan in self.state.clients.expire(_now_ms()):
                if isinstance(chan, Connection):
                    log.warning("closing idle client channel %s", chan.peer)
                    chan.close()

    async def _transaction_check_loop(self) -> None:
        while True:
            await asyncio.sleep(max(100, self.config.transactionCheckInterval) / 1000.0)
            state = self.state
            assert state is not None
            if not state.is_master:
                continue
            try:
                await self._check_transactions(state)
            except Exception:
                log.exception("transaction check failed")

    async def _check_transactions(self, state: BrokerState) -> None:
        """One check-back run. The re-appended half messages must be readable (in DLedger mode: committed)
        before the producer's END_TRANSACTION for them can arrive, so the checks go out only after that."""
        if self.dledger is not None:
            self.dledger.begin_request()
        try:
            requests = state.transactions.step(state, _now_ms())
        finally:
            committed = await self.dledger.wait_proposed() if self.dledger is not None else True
        self._async_dirty = True
        if not committed:
            log.warning("transaction check-back: re-appended half messages not committed; checks skipped")
            return
        for req in requests:
            if isinstance(req.channel, Connection) and not req.channel.closed:
                req.channel.send_oneway(req.command)

    # ------------------------------------------------------------------ nameserver registration
    async def _register_loop(self) -> None:
        period = min(60_000, max(10_000, self.config.registerNameServerPeriod)) / 1000.0
        assert self._register_wanted is not None
        while not self._closing:    # flag too: wait_for inside invoke (3.11) can swallow the close's cancel
            await wait_event(self._register_wanted, period)
            self._register_wanted.clear()
            if not self._closing:
                await self._register_all()

    async def _register_all(self) -> None:
        """Register with every nameserver concurrently; failures are logged, never raised."""
        state = self.state
        assert state is not None
        addrs = self.config.namesrv_addrs
        self._registered_version = state.topics.data_version.counter
        if not addrs or state.broker_id < 0:   # DLedger: no id before the first role change
            return
        timeout = self.config.registerBrokerTimeoutMills
        results = await asyncio.gather(
            *(self.namesrv_client.invoke(a, register_broker_request(state), timeout) for a in addrs),
            return_exceptions=True)
        for addr, res in zip(addrs, results):
            if isinstance(res, BaseException):
                log.warning("register broker to name server %s failed: %s", addr, res)
            elif res.code != ResponseCode.SUCCESS:
                log.warning("register broker to name server %s failed: code %s %s", addr, res.code, res.remark)

    async def register_now(self) -> None:
        """Register with every nameserver right away (tests, role changes)."""
        await self._register_all()

    async def _unregister_all(self) -> None:
        assert self.state is not None
        addrs = self.config.namesrv_addrs
        if not addrs or self.state.broker_id < 0:
            return
        await asyncio.gather(
            *(self.namesrv_client.invoke(a, unregister_broker_request(self.state), 3000) for a in addrs),
            return_exceptions=True)

