"""Consumer offsets (RocketMQ ``ConsumerOffsetManager``), persisted as ``consumerOffset.json``.

How it works:
1. Table key ``topic@group`` -> {queueId: offset}; file shape
   ``{"offsetTable":{"topic@group":{0:12,1:7}}}`` with UNQUOTED integer queue ids (fastjson).
2. ``commit`` only changes memory and marks the table dirty; the shell calls ``persist()``
   every ``flushConsumerOffsetInterval`` (5 s) and on shutdown. ``query`` returns -1 if unknown.
3. Loading accepts quoted or unquoted queue-id keys.
"""

from __future__ import annotations

import os
from typing import Any

from rmqlite.broker.config import BrokerConfig
from rmqlite.broker.persist import load_json, save_json

__all__ = ["ConsumerOffsetTable", "offsets_path"]

TOPIC_GROUP_SEPARATOR = "@"


class ConsumerOffsetTable:
    """Committed consumer progress per (topic, group, queueId)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.table: dict[str, dict[int, int]] = {}
        self.dirty = False

    def load(self) -> None:
        if not self.path:
            return
        data = load_json(self.path)
        if not isinstance(data, dict):
            return
        for key, queues in (data.get("offsetTable") or {}).items():
            if isinstance(queues, dict):
                self.table[str(key)] = {int(q): int(o) for q, o in queues.items()}

    def persist(self) -> None:
        """Write the table if it changed since the last write."""
        if self.path and self.dirty:
            save_json(self.path, self.to_json())
        self.dirty = False

    def to_json(self) -> dict[str, Any]:
        return {"offsetTable": {k: dict(sorted(v.items())) for k, v in self.table.items()}}

    @staticmethod
    def key(topic: str, group: str) -> str:
        return f"{topic}{TOPIC_GROUP_SEPARATOR}{group}"

    def commit(self, group: str, topic: str, queue_id: int, offset: int) -> None:
        self.table.setdefault(self.key(topic, group), {})[queue_id] = offset
        self.dirty = True

    def query(self, group: str, topic: str, queue_id: int) -> int:
        """Committed offset or -1."""
        return self.table.get(self.key(topic, group), {}).get(queue_id, -1)

    def queue_offsets(self, group: str, topic: str) -> dict[int, int]:
        return dict(self.table.get(self.key(topic, group), {}))

    def topics_of_group(self, group: str) -> set[str]:
        out = set()
        for key in self.table:
            topic, sep, g = key.rpartition(TOPIC_GROUP_SEPARATOR)
            if sep and g == group:
                out.add(topic)
        return out

    def groups_of_topic(self, topic: str) -> set[str]:
        out = set()
        for key in self.table:
            t, sep, g = key.rpartition(TOPIC_GROUP_SEPARATOR)
            if sep and t == topic:
                out.add(g)
        return out

    def remove_topic(self, topic: str) -> None:
        for key in [k for k in self.table if k.rpartition(TOPIC_GROUP_SEPARATOR)[0] == topic]:
            del self.table[key]
            self.dirty = True

    def remove_group(self, group: str) -> None:
        for key in [k for k in self.table if k.rpartition(TOPIC_GROUP_SEPARATOR)[2] == group]:
            del self.table[key]
            self.dirty = True


def offsets_path(config: BrokerConfig) -> str:
    return os.path.join(config.config_dir, "consumerOffset.json")
