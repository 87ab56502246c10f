"""Producer/consumer registry fed by HEART_BEAT (RocketMQ ``ProducerManager``/``ConsumerManager``).

How it works:
1. A channel is any hashable token for one client TCP connection (the shell passes its
   ``Connection``); the registry never calls methods on it.
2. ``register_consumer`` records the channel (-> clientId, language, version, last heartbeat)
   and the group's subscription table. It returns True when a new channel joined or a topic was
   added/removed: the caller then sends NOTIFY_CONSUMER_IDS_CHANGED to the group's channels.
   A higher subVersion for an existing topic replaces the subscription silently (as in Java).
3. ``channel_closed`` removes the channel everywhere and returns the consumer groups that lost a
   member (to be notified); ``expire(now_ms)`` does the same for channels idle > 120 s and
   returns the channels to close.
4. ``parse_heartbeat`` accepts Java (enum names), Go (codeSet strings, fixed enums) and C++
   (enum ordinals, subVersion as string, missing fields) HeartbeatData bodies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Hashable

from rmqlite.broker.filters import SubscriptionData
from rmqlite.remoting import fastjson

__all__ = ["ClientChannelInfo", "ConsumerData", "ConsumerGroupInfo", "HeartbeatData", "ClientRegistry",
           "parse_heartbeat", "CHANNEL_EXPIRED_TIMEOUT_MS"]

CHANNEL_EXPIRED_TIMEOUT_MS = 120_000
CONSUME_TYPES = ("CONSUME_ACTIVELY", "CONSUME_PASSIVELY")
MESSAGE_MODELS = ("BROADCASTING", "CLUSTERING")
CONSUME_FROM_WHERE = (
    "CONSUME_FROM_LAST_OFFSET", "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
    "CONSUME_FROM_MIN_OFFSET", "CONSUME_FROM_MAX_OFFSET", "CONSUME_FROM_FIRST_OFFSET", "CONSUME_FROM_TIMESTAMP",
)


def _enum(value: Any, names: tuple[str, ...], default: str) -> str:
    """An enum given by name or by ordinal (C++) -> its name."""
    if value is None:
        return default
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return names[value] if 0 <= value < len(names) else default
    text = str(value).strip()
    if text.isdigit():
        return _enum(int(text), names, default)
    return text if text in names else default


@dataclass(slots=True)
class ConsumerData:
    groupName: str
    consumeType: str = "CONSUME_PASSIVELY"
    messageModel: str = "CLUSTERING"
    consumeFromWhere: str = "CONSUME_FROM_LAST_OFFSET"
    subscriptionDataSet: list[SubscriptionData] = field(default_factory=list)
    unitMode: bool = False


@dataclass(slots=True)
class HeartbeatData:
    clientID: str
    producer_groups: list[str] = field(default_factory=list)
    consumers: list[ConsumerData] = field(default_factory=list)


def parse_heartbeat(body: bytes | None) -> HeartbeatData:
    """Decode a HEART_BEAT body. Raises ValueError on a body that is not a JSON object."""
    if not body:
        raise ValueError("heartbeat body is empty")
    text = body.decode("utf-8", errors="replace")
    try:
        raw = json.loads(text)
    except ValueError:
        raw = fastjson.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("heartbeat body is not a JSON object")
    hb = HeartbeatData(clientID=str(raw.get("clientID") or raw.get("clientId") or ""))
    for p in raw.get("producerDataSet") or []:
        if isinstance(p, dict) and p.get("groupName"):
            hb.producer_groups.append(str(p["groupName"]))
    for c in raw.get("consumerDataSet") or []:
        if not isinstance(c, dict) or not c.get("groupName"):
            continue
        subs = [SubscriptionData.from_json(s) for s in (c.get("subscriptionDataSet") or []) if isinstance(s, dict)]
        unit = c.get("unitMode", False)
        hb.consumers.append(ConsumerData(
            groupName=str(c["groupName"]),
            consumeType=_enum(c.get("consumeType"), CONSUME_TYPES, "CONSUME_PASSIVELY"),
            messageModel=_enum(c.get("messageModel"), MESSAGE_MODELS, "CLUSTERING"),
            consumeFromWhere=_enum(c.get("consumeFromWhere"), CONSUME_FROM_WHERE, "CONSUME_FROM_LAST_OFFSET"),
            subscriptionDataSet=subs,
            unitMode=unit if isinstance(unit, bool) else str(unit).lower() == "true",
        ))
    return hb


@dataclass(slots=True)
class ClientChannelInfo:
    channel: Hashable
    client_id: str
    language: str
    version: int
    remote_addr: str
    last_update_ms: int


@dataclass(slots=True)
class ConsumerGroupInfo:
    group_name: str
    consume_type: str
    message_model: str
    consume_from_where: str
    channels: dict[Hashable, ClientChannelInfo] = field(default_factory=dict)
    subscriptions: dict[str, SubscriptionData] = field(default_factory=dict)
    last_update_ms: int = 0

    def client_ids(self) -> list[str]:
        return [info.client_id for info in self.channels.values()]


class ClientRegistry:
    """Live producers and consumers by group."""

    def __init__(self) -> None:
        self.producers: dict[str, dict[Hashable, ClientChannelInfo]] = {}
        self.consumers: dict[str, ConsumerGroupInfo] = {}

    # ------------------------------------------------------------------ consumers
    def register_consumer(self, data: ConsumerData, info: ClientChannelInfo) -> bool:
        """Add/refresh a consumer channel; True if membership or topic set changed."""
        group = self.consumers.get(data.groupName)
        if group is None:
            group = ConsumerGroupInfo(data.groupName, data.consumeType, data.messageModel, data.consumeFromWhere)
            self.consumers[data.groupName] = group
        group.consume_type, group.message_model = data.consumeType, data.messageModel
        group.consume_from_where = data.consumeFromWhere
        changed = False
        old = group.channels.get(info.channel)
        if old is None:
            group.channels[info.channel] = info
            changed = True
        else:
            if old.client_id != info.client_id:
                group.channels[info.channel] = info
            else:
                old.last_update_ms = info.last_update_ms
                old.version, old.language = info.version, info.language
        group.last_update_ms = info.last_update_ms
        return self._update_subscriptions(group, data.subscriptionDataSet) or changed

    @staticmethod
    def _update_subscriptions(group: ConsumerGroupInfo, subs: list[SubscriptionData]) -> bool:
        changed = False
        topics = set()
        for sub in subs:
            topics.add(sub.topic)
            old = group.subscriptions.get(sub.topic)
            if old is None:
                group.subscriptions[sub.topic] = sub
                changed = True
            elif sub.subVersion > old.subVersion:
                group.subscriptions[sub.topic] = sub
        for topic in [t for t in group.subscriptions if t not in topics]:
            del group.subscriptions[topic]
            changed = True
        return changed

    def unregister_consumer(self, group_name: str, channel: Hashable) -> bool:
        """Remove one channel from a group; True if the group existed."""
        group = self.consumers.get(group_name)
        if group is None:
            return False
        group.channels.pop(channel, None)
        if not group.channels:
            del self.consumers[group_name]
        return True

    def consumer_group(self, group_name: str) -> ConsumerGroupInfo | None:
        return self.consumers.get(group_name)

    def consumer_channels(self, group_name: str) -> list[Hashable]:
        group = self.consumers.get(group_name)
        return list(group.channels) if group else []

    def find_subscription(self, group_name: str, topic: str) -> SubscriptionData | None:
        group = self.consumers.get(group_name)
        return group.subscriptions.get(topic) if group else None

    def groups_consuming(self, topic: str) -> set[str]:
        """Online groups subscribed to ``topic`` (``queryTopicConsumeByWho``)."""
        return {g for g, info in self.consumers.items() if topic in info.subscriptions}

    # ------------------------------------------------------------------ producers
    def register_producer(self, group_name: str, info: ClientChannelInfo) -> None:
        chans = self.producers.setdefault(group_name, {})
        old = chans.get(info.channel)
        if old is None or old.client_id != info.client_id:
            chans[info.channel] = info
        else:
            old.last_update_ms = info.last_update_ms

    def unregister_producer(self, group_name: str, channel: Hashable) -> None:
        chans = self.producers.get(group_name)
        if chans is not None:
            chans.pop(channel, None)
            if not chans:
                del self.producers[group_name]

    def producer_channels(self, group_name: str) -> list[ClientChannelInfo]:
        return list(self.producers.get(group_name, {}).values())

    # ------------------------------------------------------------------ channel lifecycle
    def channel_closed(self, channel: Hashable) -> list[str]:
        """Forget ``channel`` everywhere; returns consumer groups that lost it (still non-empty or not)."""
        for group_name in list(self.producers):
            self.unregister_producer(group_name, channel)
        affected = []
        for group_name in list(self.consumers):
            if channel in self.consumers[group_name].channels:
                self.unregister_consumer(group_name, channel)
                affected.append(group_name)
        return affected

    def expire(self, now_ms: int, timeout_ms: int = CHANNEL_EXPIRED_TIMEOUT_MS) -> list[Hashable]:
        """Channels whose last heartbeat is older than ``timeout_ms`` (removed from the registry)."""
        stale: set[Hashable] = set()
        for chans in self.producers.values():
            stale.update(c for c, info in chans.items() if now_ms - info.last_update_ms > timeout_ms)
        for group in self.consumers.values():
            stale.update(c for c, info in group.channels.items() if now_ms - info.last_update_ms > timeout_ms)
        for channel in stale:
            self.channel_closed(channel)
        return list(stale)
