"""Queue locks for orderly consumers (RocketMQ ``RebalanceLockManager``).

How it works:
1. Per consumer group, a MessageQueue (topic, brokerName, queueId) is locked by one clientId.
2. ``try_lock_batch`` grants each queue that is free, expired (no renewal for 60 s) or already
   held by the same client (renewing it); queues held by another live client are refused.
3. ``unlock_batch`` releases only the queues held by that client. Time comes in as ``now_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["MessageQueue", "LockTable", "LOCK_MAX_LIVE_TIME_MS"]

LOCK_MAX_LIVE_TIME_MS = 60_000


@dataclass(frozen=True, slots=True)
class MessageQueue:
    topic: str
    brokerName: str
    queueId: int

    def to_json(self) -> dict[str, Any]:
        return {"brokerName": self.brokerName, "queueId": self.queueId, "topic": self.topic}

    @classmethod
    def from_json(cls, d: Any) -> MessageQueue:
        if hasattr(d, "as_dict"):
            d = d.as_dict()
        return cls(topic=str(d.get("topic", "")), brokerName=str(d.get("brokerName", "")),
                   queueId=int(d.get("queueId", 0)))


@dataclass(slots=True)
class _LockEntry:
    client_id: str
    last_update_ms: int


class LockTable:
    """Locks per group; ``max_live_ms`` is ``rocketmq.broker.rebalance.lockMaxLiveTime``."""

    def __init__(self, max_live_ms: int = LOCK_MAX_LIVE_TIME_MS) -> None:
        self.max_live_ms = max_live_ms
        self.groups: dict[str, dict[MessageQueue, _LockEntry]] = {}

    def _expired(self, entry: _LockEntry, now_ms: int) -> bool:
        return now_ms - entry.last_update_ms > self.max_live_ms

    def is_locked(self, group: str, mq: MessageQueue, client_id: str, now_ms: int) -> bool:
        entry = self.groups.get(group, {}).get(mq)
        return entry is not None and entry.client_id == client_id and not self._expired(entry, now_ms)

    def try_lock_batch(self, group: str, mqs: Iterable[MessageQueue], client_id: str,
                       now_ms: int) -> list[MessageQueue]:
        """Lock or renew what can be; returns the queues now held by ``client_id``."""
        table = self.groups.setdefault(group, {})
        locked: list[MessageQueue] = []
        for mq in mqs:
            entry = table.get(mq)
            if entry is None or entry.client_id == client_id or self._expired(entry, now_ms):
                table[mq] = _LockEntry(client_id, now_ms)
                locked.append(mq)
        return locked

    def unlock_batch(self, group: str, mqs: Iterable[MessageQueue], client_id: str) -> None:
        table = self.groups.get(group)
        if not table:
            return
        for mq in mqs:
            entry = table.get(mq)
            if entry is not None and entry.client_id == client_id:
                del table[mq]
        if not table:
            del self.groups[group]
