"""Subscription group table (RocketMQ ``SubscriptionGroupManager``), ``subscriptionGroup.json``.

How it works:
1. Built-in groups (TOOLS_CONSUMER, FILTERSRV_CONSUMER, ...) exist from the start; the persisted
   file is merged on top.
2. ``find(group, now_ms)`` returns the config, auto-creating it with defaults (retryQueueNums 1,
   retryMaxTimes 16) when ``autoCreateSubscriptionGroup`` is on or the group is a system group
   (``CID_RMQ_SYS_`` prefix); None otherwise.
3. Every change bumps ``data_version`` and persists at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rmqlite.broker.config import BrokerConfig
from rmqlite.broker.persist import VersionedTable
from rmqlite.broker.topics import DataVersion

__all__ = ["SubscriptionGroupConfig", "SubscriptionTable", "subscriptions_path"]

TOOLS_CONSUMER_GROUP = "TOOLS_CONSUMER"
_BUILTIN_GROUPS = ("TOOLS_CONSUMER", "FILTERSRV_CONSUMER", "SELF_TEST_C_GROUP", "CID_ONS-HTTP-PROXY",
                   "CID_ONSAPI_PULL", "CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER")
SYS_CONSUMER_GROUP_PREFIX = "CID_RMQ_SYS_"


@dataclass(slots=True)
class SubscriptionGroupConfig:
    """One consumer group's settings (Java ``SubscriptionGroupConfig``)."""

    groupName: str
    consumeEnable: bool = True
    consumeFromMinEnable: bool = True
    consumeBroadcastEnable: bool = True
    retryQueueNums: int = 1
    retryMaxTimes: int = 16
    brokerId: int = 0
    whichBrokerWhenConsumeSlowly: int = 1
    notifyConsumerIdsChangedEnable: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "brokerId": self.brokerId, "consumeBroadcastEnable": self.consumeBroadcastEnable,
            "consumeEnable": self.consumeEnable, "consumeFromMinEnable": self.consumeFromMinEnable,
            "groupName": self.groupName, "notifyConsumerIdsChangedEnable": self.notifyConsumerIdsChangedEnable,
            "retryMaxTimes": self.retryMaxTimes, "retryQueueNums": self.retryQueueNums,
            "whichBrokerWhenConsumeSlowly": self.whichBrokerWhenConsumeSlowly,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SubscriptionGroupConfig:
        def b(key: str, default: bool) -> bool:
            v = d.get(key, default)
            return v if isinstance(v, bool) else str(v).lower() == "true"
        return cls(
            groupName=str(d.get("groupName", "")),
            consumeEnable=b("consumeEnable", True),
            consumeFromMinEnable=b("consumeFromMinEnable", True),
            consumeBroadcastEnable=b("consumeBroadcastEnable", True),
            retryQueueNums=int(d.get("retryQueueNums", 1)),
            retryMaxTimes=int(d.get("retryMaxTimes", 16)),
            brokerId=int(d.get("brokerId", 0)),
            whichBrokerWhenConsumeSlowly=int(d.get("whichBrokerWhenConsumeSlowly", 1)),
            notifyConsumerIdsChangedEnable=b("notifyConsumerIdsChangedEnable", True),
        )


class SubscriptionTable(VersionedTable):
    """Consumer group configs; persisted to ``<config_dir>/subscriptionGroup.json``."""

    TABLE_KEY = "subscriptionGroupTable"

    def __init__(self, config: BrokerConfig, now_ms: int, path: str | None = None) -> None:
        self.config = config
        self.path = path
        self.data_version = DataVersion(timestamp=now_ms)
        self.table: dict[str, SubscriptionGroupConfig] = {g: SubscriptionGroupConfig(g) for g in _BUILTIN_GROUPS}

    def entry_from_json(self, name: str, raw: dict[str, Any]) -> SubscriptionGroupConfig:
        cfg = SubscriptionGroupConfig.from_json(raw)
        cfg.groupName = cfg.groupName or name
        return cfg

    def get(self, group: str) -> SubscriptionGroupConfig | None:
        """The config without auto-creation."""
        return self.table.get(group)

    def find(self, group: str, now_ms: int) -> SubscriptionGroupConfig | None:
        """The config, auto-created when allowed (``findSubscriptionGroupConfig``)."""
        cfg = self.table.get(group)
        if cfg is None and (self.config.autoCreateSubscriptionGroup or group.startswith(SYS_CONSUMER_GROUP_PREFIX)):
            cfg = SubscriptionGroupConfig(group)
            self.table[group] = cfg
            self._changed(now_ms)
        return cfg

    def update(self, cfg: SubscriptionGroupConfig, now_ms: int) -> None:
        """Create or replace (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)."""
        self.table[cfg.groupName] = cfg
        self._changed(now_ms)

    def delete(self, group: str, now_ms: int) -> bool:
        if self.table.pop(group, None) is None:
            return False
        self._changed(now_ms)
        return True

    def _changed(self, now_ms: int) -> None:
        self.data_version.next_version(now_ms)
        self.persist()


def subscriptions_path(config: BrokerConfig) -> str:
    return os.path.join(config.config_dir, "subscriptionGroup.json")
