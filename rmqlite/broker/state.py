"""Everything a broker handler reads or changes, plus the per-request context.

How it works:
1. ``BrokerState`` bundles the config, the message store and the pure tables (topics,
   subscription groups, offsets, clients, locks, schedule, holds, stats, transaction checks). It holds no sockets,
   no tasks and no clock: time arrives as ``Ctx.now_ms``, randomness as ``Ctx.rng``.
2. ``role``/``broker_id`` are the seam for DLedger: a handler asks ``state.is_master``; the
   shell (or a future role-change handler) flips them.
3. ``Ctx`` carries the request's facts (now, rng, channel, remote address, whether it is a
   first run that may suspend) and collects its effects for the shell: consumer groups to
   notify, oneway requests to send to client channels (``outbox``), whether the store was written and whether the reply must wait for a SYNC_FLUSH
   flush (sends whose WAIT property is not "false", like Java's isWaitStoreMsgOK).
4. ``new_message`` builds the store's ``MessageToStore``; it is the one place that knows that
   type, so the handlers stay independent of the store's constructor.
"""

from __future__ import annotations

from collections.abc import Callable

import random
from dataclasses import dataclass, field
from typing import Any, Hashable

from rmqlite.broker.clients import ClientRegistry
from rmqlite.broker.config import BrokerConfig
from rmqlite.broker.locks import LockTable
from rmqlite.broker.long_poll import HoldTable
from rmqlite.broker.offsets import ConsumerOffsetTable, offsets_path
from rmqlite.broker.schedule import ScheduleState, delay_offsets_path
from rmqlite.broker.stats import BrokerStats
from rmqlite.broker.subscriptions import SubscriptionTable, subscriptions_path
from rmqlite.broker.topics import TopicTable, topics_path
from rmqlite.broker.transactions import TransactionChecker

__all__ = ["BrokerState", "Ctx", "parse_addr"]


def parse_addr(addr: str | tuple[str, int] | None) -> tuple[str, int]:
    """``"ip:port"`` (or a tuple) -> (IPv4 text, port); IPv6 peers are mapped to IPv4 text
    because Go/C++ clients decode BORNHOST as IPv4 only (wire-facts trap 10)."""
    if addr is None:
        return ("127.0.0.1", 0)
    if isinstance(addr, tuple):
        host, port = str(addr[0]), int(addr[1])
    else:
        host, _, port_text = str(addr).rpartition(":")
        port = int(port_text) if port_text.isdigit() else 0
    host = host.strip("[]")
    if host.startswith("::ffff:"):
        host = host[7:]
    if ":" in host:
        host = "127.0.0.1" if host == "::1" else "0.0.0.0"
    return (host or "127.0.0.1", port)


@dataclass(slots=True)
class Ctx:
    """Facts about one request and the effects its handler asks the shell to perform."""

    now_ms: int
    rng: random.Random = field(default_factory=random.Random)
    channel: Hashable = None
    remote_addr: str = "127.0.0.1:0"
    first_run: bool = True                  # False when a held pull is re-run
    notify_groups: set[str] = field(default_factory=set)
    wrote: bool = False                     # store written (the periodic flush has work)
    wait_flush: bool = False                # SYNC_FLUSH: the reply waits for a commitlog flush
    outbox: list[tuple[Hashable, Any]] = field(default_factory=list)   # oneway requests to clients


@dataclass(slots=True)
class BrokerState:
    """The broker's pure state."""

    config: BrokerConfig
    store: Any
    topics: TopicTable
    subscriptions: SubscriptionTable
    offsets: ConsumerOffsetTable
    clients: ClientRegistry
    locks: LockTable
    schedule: ScheduleState
    holds: HoldTable
    stats: BrokerStats
    role: str = "ASYNC_MASTER"
    broker_id: int = 0
    memory_bytes: int = 8 * 1024 ** 3
    transactions: TransactionChecker = field(default_factory=TransactionChecker)
    #: DLedger mode: returns {"dLedgerRole", "dLedgerTerm", "dLedgerLeaderId"} for runtime info (shell-set)
    raft_status: Callable[[], dict[str, str]] | None = None
    #: aclEnable=true: the broker's AclState (acl.py; shell-set), read by the ACL admin handlers
    acl: Any = None

    @classmethod
    def create(cls, config: BrokerConfig, store: Any, now_ms: int, persist: bool = True) -> BrokerState:
        """Fresh tables for ``config``; with ``persist`` they load/save under ``<root>/config``."""
        state = cls(
            config=config,
            store=store,
            topics=TopicTable(config, now_ms, topics_path(config) if persist else None),
            subscriptions=SubscriptionTable(config, now_ms, subscriptions_path(config) if persist else None),
            offsets=ConsumerOffsetTable(offsets_path(config) if persist else None),
            clients=ClientRegistry(),
            locks=LockTable(),
            schedule=ScheduleState(config.delay_levels_ms(), delay_offsets_path(config) if persist else None),
            holds=HoldTable(),
            stats=BrokerStats(boot_ms=now_ms),
            role=config.brokerRole,
            broker_id=config.brokerId,
        )
        state.topics.load()
        state.subscriptions.load()
        state.offsets.load()
        state.schedule.load()
        return state

    @property
    def is_master(self) -> bool:
        return self.role != "SLAVE"

    @property
    def store_host(self) -> tuple[str, int]:
        """STOREHOST written into records: ``brokerIP1:listenPort``."""
        return (self.config.brokerIP1, self.config.listenPort)

    def persist_all(self) -> None:
        """Write every config file (shutdown)."""
        self.topics.persist()
        self.subscriptions.persist()
        self.offsets.dirty = True
        self.offsets.persist()
        self.schedule.persist()

    def new_message(self, *, topic: str, queue_id: int, body: bytes, properties: dict[str, str] | str,
                    flag: int = 0, sys_flag: int = 0, born_timestamp: int = 0,
                    born_host: tuple[str, int] = ("127.0.0.1", 0), store_host: tuple[str, int] | None = None,
                    reconsume_times: int = 0, prepared_transaction_offset: int = 0) -> Any:
        """A ``MessageToStore`` for this broker's store."""
        from rmqlite.store import MessageToStore
        return MessageToStore(
            topic=topic, queue_id=queue_id, flag=flag, body=body, properties=properties if isinstance(properties, str) else dict(properties),
            sys_flag=sys_flag, born_timestamp=born_timestamp, born_host=born_host,
            store_host=store_host or self.store_host, reconsume_times=reconsume_times,
            prepared_transaction_offset=prepared_transaction_offset,
        )
