"""Topic configuration table (RocketMQ ``TopicConfigManager``), persisted as ``topics.json``.

How it works:
1. The table starts with the built-in system topics of the broker config (TBW102 only with
   ``autoCreateTopicEnable``, cluster/broker-name topics, SCHEDULE_TOPIC_XXXX, ...); the
   persisted ``topics.json`` is loaded on top (persisted entries win, as in Java).
2. Every change bumps ``data_version`` (counter + 1, timestamp = now_ms) and persists at once.
   The shell compares ``data_version.counter`` with what it registered last and re-registers.
3. Auto-create on send: an unknown topic whose ``defaultTopic`` template has PERM_INHERIT becomes
   a topic with min(client queue nums, template write queues) queues and the template perm
   without INHERIT. Retry/DLQ topics are created "in send back" with explicit queue nums/perm.
4. Topic names: ``^[%|a-zA-Z0-9_-]+$``, at most 127 chars (``TopicValidator``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from rmqlite.broker.config import BrokerConfig
from rmqlite.broker.persist import VersionedTable

__all__ = [
    "TopicConfig", "DataVersion", "TopicTable", "validate_topic", "is_system_topic",
    "PERM_PRIORITY", "PERM_READ", "PERM_WRITE", "PERM_INHERIT",
    "AUTO_CREATE_TOPIC", "SCHEDULE_TOPIC", "RETRY_GROUP_TOPIC_PREFIX", "DLQ_GROUP_TOPIC_PREFIX",
    "retry_topic", "dlq_topic",
]

PERM_PRIORITY = 8
PERM_READ = 4
PERM_WRITE = 2
PERM_INHERIT = 1

AUTO_CREATE_TOPIC = "TBW102"
SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX"
BENCHMARK_TOPIC = "BenchmarkTest"
TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC"
TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC"
TRANS_OP_HALF_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
TRANS_CHECK_MAX_TIME_TOPIC = "TRANS_CHECK_MAX_TIME_TOPIC"
SELF_TEST_TOPIC = "SELF_TEST_TOPIC"
OFFSET_MOVED_EVENT = "OFFSET_MOVED_EVENT"
SYSTEM_TOPIC_PREFIX = "rmq_sys_"
RETRY_GROUP_TOPIC_PREFIX = "%RETRY%"
DLQ_GROUP_TOPIC_PREFIX = "%DLQ%"
SCHEDULE_TOPIC_QUEUE_NUM = 18
TOPIC_MAX_LENGTH = 127

SYSTEM_TOPICS = frozenset({
    AUTO_CREATE_TOPIC, SCHEDULE_TOPIC, BENCHMARK_TOPIC, TRANS_HALF_TOPIC, TRACE_TOPIC,
    TRANS_OP_HALF_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC, SELF_TEST_TOPIC, OFFSET_MOVED_EVENT,
})
NOT_ALLOWED_SEND_TOPICS = frozenset({
    SCHEDULE_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC, OFFSET_MOVED_EVENT,
})
_VALID = re.compile(r"^[%|a-zA-Z0-9_-]+$")


def retry_topic(group: str) -> str:
    return RETRY_GROUP_TOPIC_PREFIX + group


def dlq_topic(group: str) -> str:
    return DLQ_GROUP_TOPIC_PREFIX + group


def validate_topic(topic: str | None) -> str | None:
    """None if the name is valid, else Java's SYSTEM_ERROR remark."""
    if topic is None or not topic.strip():
        return "The specified topic is blank."
    if not _VALID.match(topic):
        return "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
    if len(topic) > TOPIC_MAX_LENGTH:
        return "The specified topic is longer than topic max length."
    return None


def is_system_topic(topic: str, extra: frozenset[str] | set[str] = frozenset()) -> bool:
    return topic in SYSTEM_TOPICS or topic in extra or topic.startswith(SYSTEM_TOPIC_PREFIX)


@dataclass(slots=True)
class TopicConfig:
    """One topic's queues and permissions (Java ``TopicConfig``; JSON keys are its bean names)."""

    topicName: str
    readQueueNums: int = 16
    writeQueueNums: int = 16
    perm: int = PERM_READ | PERM_WRITE
    topicFilterType: str = "SINGLE_TAG"
    topicSysFlag: int = 0
    order: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order, "perm": self.perm, "readQueueNums": self.readQueueNums,
            "topicFilterType": self.topicFilterType, "topicName": self.topicName,
            "topicSysFlag": self.topicSysFlag, "writeQueueNums": self.writeQueueNums,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TopicConfig:
        return cls(
            topicName=str(d.get("topicName", "")),
            readQueueNums=int(d.get("readQueueNums", 16)),
            writeQueueNums=int(d.get("writeQueueNums", 16)),
            perm=int(d.get("perm", PERM_READ | PERM_WRITE)),
            topicFilterType=str(d.get("topicFilterType") or "SINGLE_TAG"),
            topicSysFlag=int(d.get("topicSysFlag", d.get("topicSynFlag", 0)) or 0),
            order=bool(d.get("order", False)),
        )

    @property
    def readable(self) -> bool:
        return bool(self.perm & PERM_READ)

    @property
    def writable(self) -> bool:
        return bool(self.perm & PERM_WRITE)

    def __str__(self) -> str:
        return (f"TopicConfig [topicName={self.topicName}, readQueueNums={self.readQueueNums}, "
                f"writeQueueNums={self.writeQueueNums}, perm={perm_to_string(self.perm)}, "
                f"topicFilterType={self.topicFilterType}, topicSysFlag={self.topicSysFlag}, order={str(self.order).lower()}]")


def perm_to_string(perm: int) -> str:
    """Java ``PermName.perm2String``: ``RW-`` style."""
    return ("R" if perm & PERM_READ else "-") + ("W" if perm & PERM_WRITE else "-") + ("X" if perm & PERM_INHERIT else "-")


@dataclass(slots=True)
class DataVersion:
    """``{"counter":n,"timestamp":ms}``; bumped on every change."""

    timestamp: int = 0
    counter: int = 0

    def next_version(self, now_ms: int) -> None:
        self.timestamp = now_ms
        self.counter += 1

    def to_json(self) -> dict[str, int]:
        return {"counter": self.counter, "timestamp": self.timestamp}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> DataVersion:
        d = d or {}
        return cls(timestamp=int(d.get("timestamp", 0)), counter=int(d.get("counter", 0)))


class TopicTable(VersionedTable):
    """All topic configs of this broker; persisted to ``<config_dir>/topics.json`` (merged over the built-ins)."""

    TABLE_KEY = "topicConfigTable"

    def __init__(self, config: BrokerConfig, now_ms: int, path: str | None = None) -> None:
        self.config = config
        self.path = path
        self.table: dict[str, TopicConfig] = {}
        self.data_version = DataVersion(timestamp=now_ms)
        self.system_topics: set[str] = set()
        self._add_builtins()

    # ------------------------------------------------------------------ builtins / load / save
    def _builtin(self, name: str, queues: int = 16, perm: int = PERM_READ | PERM_WRITE) -> None:
        self.table[name] = TopicConfig(name, readQueueNums=queues, writeQueueNums=queues, perm=perm)
        self.system_topics.add(name)

    def _add_builtins(self) -> None:
        c = self.config
        self._builtin(SELF_TEST_TOPIC, 1)
        if c.autoCreateTopicEnable:
            self._builtin(AUTO_CREATE_TOPIC, c.defaultTopicQueueNums, PERM_INHERIT | PERM_READ | PERM_WRITE)
        self._builtin(BENCHMARK_TOPIC, 1024)
        rw = PERM_READ | PERM_WRITE
        self._builtin(c.brokerClusterName, 16, PERM_INHERIT | (rw if c.clusterTopicEnable else 0))
        self._builtin(c.brokerName, 1, PERM_INHERIT | (rw if c.brokerTopicEnable else 0))
        self._builtin(OFFSET_MOVED_EVENT, 1)
        self._builtin(SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUE_NUM)
        if c.traceTopicEnable:
            self._builtin(c.msgTraceTopicName, 1)
        self._builtin(f"{c.brokerClusterName}_REPLY_TOPIC", 1)

    def entry_from_json(self, name: str, raw: dict[str, Any]) -> TopicConfig:
        cfg = TopicConfig.from_json(raw)
        cfg.topicName = cfg.topicName or name
        return cfg

    def _changed(self, now_ms: int) -> None:
        self.data_version.next_version(now_ms)
        self.persist()

    # ------------------------------------------------------------------ queries
    def get(self, topic: str) -> TopicConfig | None:
        return self.table.get(topic)

    def __contains__(self, topic: str) -> bool:
        return topic in self.table

    def names(self) -> list[str]:
        return list(self.table)

    def is_system(self, topic: str) -> bool:
        return is_system_topic(topic, self.system_topics)

    def is_order_topic(self, topic: str) -> bool:
        cfg = self.table.get(topic)
        return bool(cfg and cfg.order)

    # ------------------------------------------------------------------ changes
    def create_in_send(self, topic: str, default_topic: str, client_queue_nums: int,
                       topic_sys_flag: int, now_ms: int) -> TopicConfig | None:
        """Auto-create ``topic`` from the ``default_topic`` template (None if not allowed)."""
        existing = self.table.get(topic)
        if existing is not None:
            return existing
        template = self.table.get(default_topic)
        if template is None:
            return None
        if default_topic == AUTO_CREATE_TOPIC and not self.config.autoCreateTopicEnable:
            template.perm = PERM_READ | PERM_WRITE
        if not template.perm & PERM_INHERIT:
            return None
        queues = max(0, min(client_queue_nums, template.writeQueueNums))
        cfg = TopicConfig(topic, readQueueNums=queues, writeQueueNums=queues,
                          perm=template.perm & ~PERM_INHERIT, topicFilterType=template.topicFilterType,
                          topicSysFlag=topic_sys_flag)
        self.table[topic] = cfg
        self._changed(now_ms)
        return cfg

    def create_in_send_back(self, topic: str, queue_nums: int, perm: int, topic_sys_flag: int,
                            now_ms: int) -> TopicConfig:
        """Create a retry/DLQ topic if missing (``createTopicInSendMessageBackMethod``)."""
        existing = self.table.get(topic)
        if existing is not None:
            return existing
        cfg = TopicConfig(topic, readQueueNums=queue_nums, writeQueueNums=queue_nums, perm=perm,
                          topicSysFlag=topic_sys_flag)
        self.table[topic] = cfg
        self._changed(now_ms)
        return cfg

    def update(self, cfg: TopicConfig, now_ms: int) -> None:
        """Create or replace a topic (UPDATE_AND_CREATE_TOPIC)."""
        self.table[cfg.topicName] = cfg
        self._changed(now_ms)

    def delete(self, topic: str, now_ms: int) -> bool:
        """Remove a topic (DELETE_TOPIC_IN_BROKER); True if it existed."""
        if self.table.pop(topic, None) is None:
            return False
        self._changed(now_ms)
        return True


def topics_path(config: BrokerConfig) -> str:
    return os.path.join(config.config_dir, "topics.json")
