"""Delayed delivery (RocketMQ ``ScheduleMessageService`` + the delay part of ``CommitLog``).

How it works:
1. On store, a message whose DELAY property is > 0 (transaction type NOT or COMMIT) is rewritten
   by the store (Java's CommitLog does it): level clamped to the max level, REAL_TOPIC / REAL_QID
   saved in its properties, topic -> ``SCHEDULE_TOPIC_XXXX``, queueId -> level - 1.
2. ``ScheduleState`` keeps, per level, the next consume-queue offset to deliver (delayOffset.json,
   ``{"offsetTable":{1:0,3:12}}`` with unquoted int keys). A message is due at its store
   timestamp + the level's delay (Java's CQ tagsCode for this topic holds the same instant).
3. ``due(store, now_ms)`` walks each level from its offset and returns the due messages, in
   order, restored to REAL_TOPIC/REAL_QID with DELAY removed and WAIT=false (REAL_* stay in the
   properties). It stops a level at the first message not yet due. The caller stores each one
   and then calls ``advance``.
4. No clock, no tasks: the shell calls ``deliver_due(state, now_ms)`` on a timer (master only).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rmqlite.broker.persist import load_json, save_json

__all__ = ["ScheduleState", "Delivery", "deliver_due", "delay_offsets_path", "SCHEDULE_TOPIC"]

SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX"
PROPERTY_DELAY = "DELAY"
PROPERTY_REAL_TOPIC = "REAL_TOPIC"
PROPERTY_REAL_QID = "REAL_QID"
TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC"
_BATCH = 32



@dataclass(slots=True)
class Delivery:
    """One due delayed message, restored to its real topic/queue."""

    level: int
    next_offset: int
    topic: str
    queue_id: int
    record: Any            # decoded MessageExt of the schedule record
    properties: dict[str, str]   # properties to store


class ScheduleState:
    """Per-level delivery progress over SCHEDULE_TOPIC_XXXX."""

    def __init__(self, delays_ms: list[int], path: str | None = None) -> None:
        self.delays_ms = list(delays_ms)
        self.path = path
        self.offsets: dict[int, int] = {}
        self.dirty = False

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
        return {"offsetTable": dict(sorted(self.offsets.items()))}

    def advance(self, level: int, next_offset: int) -> None:
        if self.offsets.get(level) != next_offset:
            self.offsets[level] = next_offset
            self.dirty = True

    def due(self, store: Any, now_ms: int) -> list[Delivery]:
        """Due messages of every level, in queue order; stops a level at its first undue one."""
        from rmqlite.common.message import decode_record

        out: list[Delivery] = []
        for level in range(1, self.max_level + 1):
            qid = level - 1
            offset = self.offsets.get(level, 0)
            if store.max_offset(SCHEDULE_TOPIC, qid) <= offset:
                continue
            result = store.get_messages(SCHEDULE_TOPIC, qid, offset, _BATCH, None)
            status = getattr(result.status, "name", str(result.status))
            if status != "FOUND":
                if status in ("OFFSET_TOO_SMALL", "OFFSET_OVERFLOW_BADLY"):
                    self.advance(level, result.next_begin_offset)
                continue
            for raw in result.records:
                msg, _ = decode_record(raw)
                if msg.store_timestamp + self.delay_ms(level) > now_ms:
                    break
                real_topic = msg.properties.get(PROPERTY_REAL_TOPIC)
                try:
                    real_qid = int(msg.properties.get(PROPERTY_REAL_QID, ""))
                except ValueError:
                    real_qid = -1
                props = dict(msg.properties)
                props.pop(PROPERTY_DELAY, None)
                props["WAIT"] = "false"
                out.append(Delivery(level, msg.queue_offset + 1, real_topic or "", real_qid, msg, props))
        return out


def deliver_due(state: Any, now_ms: int) -> int:
    """Store every due delayed message via ``state`` (a BrokerState); returns how many."""
    delivered = 0
    stalled: set[int] = set()
    for d in state.schedule.due(state.store, now_ms):
        if d.level in stalled:
            continue
        if not d.topic or d.queue_id < 0 or d.topic == TRANS_HALF_TOPIC:
            state.schedule.advance(d.level, d.next_offset)     # unrecoverable: skip it, as Java does
            continue
        m = d.record
        msg = state.new_message(
            topic=d.topic, queue_id=d.queue_id, body=m.body, properties=d.properties, flag=m.flag,
            sys_flag=m.sys_flag, born_timestamp=m.born_timestamp, born_host=m.born_host,
            store_host=m.store_host, reconsume_times=m.reconsume_times,
        )
        result = state.store.put_message(msg, now_ms)
        if getattr(result.status, "name", str(result.status)) != "PUT_OK":
            stalled.add(d.level)                                # retry this level on the next tick
            continue
        state.schedule.advance(d.level, d.next_offset)
        delivered += 1
    return delivered


def delay_offsets_path(config: Any) -> str:
    return os.path.join(config.config_dir, "delayOffset.json")
