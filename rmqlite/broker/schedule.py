"""Delayed delivery (RocketMQ ``ScheduleMessageService`` + the delay rewrite of ``CommitLog``, 4.9.4).

How it works:
1. On store, a message whose DELAY property is > 0 (transaction type NOT or COMMIT) is rewritten by the store
   (as Java's CommitLog does): level clamped to the max level, REAL_TOPIC / REAL_QID saved in its properties,
   topic -> ``SCHEDULE_TOPIC_XXXX``, queueId -> level - 1.
2. ``ScheduleState`` keeps, per level, the next consume-queue offset to deliver (delayOffset.json,
   ``{"offsetTable":{1:0,3:12}}`` with unquoted int keys). A message is due at its store timestamp + the
   level's delay; a due time further away than one delay period (the clock went back) means "now"
   (``correctDeliverTimestamp``).
3. ``due(store, now_ms)`` walks each level from its offset and returns the due messages in queue order; it
   stops a level at its first message not yet due and remembers the earliest such time in ``next_due_ms``
   (None: nothing waiting), so a driver can sleep exactly until then. An offset below the queue's minimum or
   above its maximum is corrected to it (``correctDelayOffset``).
4. ``deliver_due(state, now_ms)`` stores each due message to REAL_TOPIC / REAL_QID - body, flag, sysFlag, born
   and store host, born time and reconsumeTimes of the schedule record, its properties text unchanged (REAL_*
   kept) - then advances that level. Like Java, the delivered record keeps DELAY in its text; it is
   stored with ``MessageToStore.delay_level = 0`` so the store does not delay it again. A record with no usable REAL_TOPIC / REAL_QID, or one that
   would go back to RMQ_SYS_TRANS_HALF_TOPIC, is skipped (Java discards the latter); a failed put retries the
   level later. Masters only; no clock, no tasks here.
5. Replicated (DLedger) stores: a stored copy is durable only once committed, i.e. once the store dispatched
   past its end. ``advance`` remembers copies not yet dispatched; ``to_json`` (what is persisted and what
   followers copy through GET_ALL_DELAY_OFFSET) publishes per level the offset of the first such copy, never
   beyond: a master deposed before its copy commits cannot make its successor skip (lose) that message.
6. ``restart_delivery()`` runs on every role change: progress falls back to the published offsets and every
   level is "verified" - until its first due record that has no copy yet, a due record whose copy already
   sits in REAL_TOPIC / REAL_QID (same UNIQ_KEY, stored after it; found through the index) is passed over
   instead of delivered again. So a new master whose copied delay offsets lag behind what its predecessor
   delivered (they are synced every dLedgerMetaSyncIntervalMs) delivers each message once. Records without
   UNIQ_KEY (or with the index off) fall back to Java's at-least-once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rmqlite.broker.persist import load_json, save_json
from rmqlite.common.message import decode_record, encode_properties

__all__ = ["SCHEDULE_TOPIC", "Delivery", "ScheduleState", "already_delivered", "delay_offsets_path", "deliver_due"]

SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX"
PROPERTY_DELAY = "DELAY"
PROPERTY_REAL_TOPIC = "REAL_TOPIC"
PROPERTY_REAL_QID = "REAL_QID"
TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC"
_BATCH = 32
_COPY_LOOKUP = 32              # index hits read per copy lookup (rule 6)
_CLOCK_SLACK_MS = 60_000       # a copy stored by another node may carry a slightly earlier clock


@dataclass(slots=True)
class Delivery:
    """One due delayed message."""

    level: int
    next_offset: int
    topic: str
    queue_id: int
    record: Any            # decoded MessageExt of the schedule record
    done: bool = False     # a copy is already in REAL_TOPIC (rule 6): only advance past it


class ScheduleState:
    """Per-level delivery progress over SCHEDULE_TOPIC_XXXX."""

    def __init__(self, delays_ms: list[int], path: str | None = None) -> None:
        self.delays_ms = list(delays_ms)
        self.path = path
        self.offsets: dict[int, int] = {}
        self.dirty = False
        self.next_due_ms: int | None = None
        self._unconfirmed: dict[int, list[tuple[int, int]]] = {}   # level -> [(queue offset, copy end)]
        self._verify: set[int] = set(range(1, len(self.delays_ms) + 1))
        self._store: Any = None

    @property
    def max_level(self) -> int:
        return len(self.delays_ms)

    def delay_ms(self, level: int) -> int:
        return self.delays_ms[min(max(level, 1), self.max_level) - 1]

    def load(self) -> None:
        if not self.path:
            return
        data = load_json(self.path)
        if isinstance(data, dict):
            for level, offset in (data.get("offsetTable") or {}).items():
                self.offsets[int(level)] = int(offset)

    def persist(self) -> None:
        if self.path:
            save_json(self.path, self.to_json())
        self.dirty = False

    def to_json(self) -> dict[str, Any]:
        """delayOffset.json / GET_ALL_DELAY_OFFSET body: the published (durable) offsets (rule 5)."""
        return {"offsetTable": dict(sorted(self.published_offsets().items()))}

    def published_offsets(self) -> dict[int, int]:
        """Per level, the next offset whose delivery is not known durable (rule 5)."""
        self._confirm()
        out = dict(self.offsets)
        for level, pending in self._unconfirmed.items():
            if pending:
                out[level] = pending[0][0]
        return out

    def advance(self, level: int, next_offset: int, copy_end: int | None = None) -> None:
        """Level ``level`` continues at ``next_offset``; ``copy_end``: commitlog end of the copy just stored."""
        if copy_end is not None and copy_end > self._durable_end():
            self._unconfirmed.setdefault(level, []).append((next_offset - 1, copy_end))
        if self.offsets.get(level) != next_offset:
            self.offsets[level] = next_offset
            self.dirty = True

    def restart_delivery(self) -> None:
        """Role change (rule 6): rewind to the published offsets and verify every level again."""
        for level, offset in self.published_offsets().items():
            self.advance(level, offset)
        self._unconfirmed.clear()
        self._verify = set(range(1, self.max_level + 1))
        self.next_due_ms = None

    def _durable_end(self) -> int:
        end = getattr(self._store, "dispatched_offset", None)
        return end if isinstance(end, int) else 1 << 62

    def _confirm(self) -> None:
        if not self._unconfirmed:
            return
        durable = self._durable_end()
        for level in list(self._unconfirmed):
            pending = self._unconfirmed[level]
            while pending and pending[0][1] <= durable:
                pending.pop(0)
            if not pending:
                del self._unconfirmed[level]

    def due_at(self, level: int, store_timestamp: int, now_ms: int) -> int:
        """When a record of ``level`` stored at ``store_timestamp`` is due (Java's corrected deliver time)."""
        delay = self.delay_ms(level)
        deliver = store_timestamp + delay
        return now_ms if deliver > now_ms + delay else deliver

    def due(self, store: Any, now_ms: int) -> list[Delivery]:
        """Due messages of every level, in queue order; sets ``next_due_ms``."""
        self._store = store
        self._confirm()
        out: list[Delivery] = []
        nxt: int | None = None
        for level in range(1, self.max_level + 1):
            level_next = self._due_level(store, level, now_ms, out)
            if level_next is not None and (nxt is None or level_next < nxt):
                nxt = level_next
        self.next_due_ms = nxt
        return out

    def _due_level(self, store: Any, level: int, now_ms: int, out: list[Delivery]) -> int | None:
        qid = level - 1
        offset = self.offsets.get(level, 0)
        max_offset = store.max_offset(SCHEDULE_TOPIC, qid)
        if offset >= max_offset:
            if offset > max_offset:
                self.advance(level, max_offset)
            return None
        result = store.get_messages(SCHEDULE_TOPIC, qid, offset, _BATCH, None)
        status = getattr(result.status, "name", str(result.status))
        if status != "FOUND":
            if status in ("OFFSET_TOO_SMALL", "OFFSET_OVERFLOW_BADLY"):
                self.advance(level, result.next_begin_offset)
                return now_ms
            return None
        records = list(result.records)
        for raw in records:
            msg, _ = decode_record(raw)
            when = self.due_at(level, msg.store_timestamp, now_ms)
            if when > now_ms:
                return when
            d = Delivery(level, msg.queue_offset + 1, msg.properties.get(PROPERTY_REAL_TOPIC) or "",
                         _int(msg.properties.get(PROPERTY_REAL_QID)), msg)
            if level in self._verify:
                d.done = already_delivered(store, d, now_ms)
                if not d.done:
                    self._verify.discard(level)        # later records of this level were not delivered either
            out.append(d)
        return now_ms if len(records) >= _BATCH else None


def already_delivered(store: Any, d: Delivery, now_ms: int) -> bool:
    """Whether a copy of ``d``'s schedule record is already stored in its real queue (rule 6)."""
    rec = d.record
    uniq = rec.properties.get("UNIQ_KEY")
    if not uniq or not d.topic or d.queue_id < 0:
        return False
    begin = max(0, rec.store_timestamp - _CLOCK_SLACK_MS)
    for raw in store.query_by_key(d.topic, uniq, _COPY_LOOKUP, begin, now_ms + _CLOCK_SLACK_MS):
        copy, _ = decode_record(raw)
        if (copy.queue_id == d.queue_id and copy.commit_log_offset > rec.commit_log_offset
                and copy.born_timestamp == rec.born_timestamp):     # not a producer's resend of the same id
            return True
    return False


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return -1


def deliver_due(state: Any, now_ms: int) -> int:
    """Store every due delayed message via ``state`` (a BrokerState); returns how many."""
    delivered = 0
    stalled: set[int] = set()
    for d in state.schedule.due(state.store, now_ms):
        if d.level in stalled:
            continue
        if d.done:
            state.schedule.advance(d.level, d.next_offset)     # a previous master delivered it (rule 6)
            continue
        if not d.topic or d.queue_id < 0 or d.topic == TRANS_HALF_TOPIC:
            state.schedule.advance(d.level, d.next_offset)     # unrecoverable: skip it
            continue
        m = d.record
        props: Any = m.properties_string if m.properties_string is not None else encode_properties(m.properties)
        msg = state.new_message(
            topic=d.topic, queue_id=d.queue_id, body=m.body, properties=props, flag=m.flag,
            sys_flag=m.sys_flag, born_timestamp=m.born_timestamp, born_host=m.born_host,
            store_host=m.store_host, reconsume_times=m.reconsume_times,
        )
        msg.delay_level = 0        # keep DELAY in the text (as Java does) without delaying again
        result = state.store.put_message(msg, now_ms)
        if getattr(result.status, "name", str(result.status)) != "PUT_OK":
            stalled.add(d.level)                                # retry this level shortly
            state.schedule.next_due_ms = now_ms + 100
            continue
        state.schedule.advance(d.level, d.next_offset, result.phys_offset + result.wrote_bytes)
        delivered += 1
    return delivered


def delay_offsets_path(config: Any) -> str:
    return os.path.join(config.config_dir, "delayOffset.json")
