"""Broker handler test harness: BrokerState over a real (small) MessageStore, no sockets."""

from __future__ import annotations

import json
import random
from typing import Any

from rmqlite.broker.config import BrokerConfig
from rmqlite.broker.handlers import dispatch
from rmqlite.broker.server import build_store_config
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.common.message import decode_records, encode_properties
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.store.message_store import MessageStore

T0 = 1_700_000_000_000


class Harness:
    """A BrokerState plus request helpers; ``now`` is a manual clock."""

    def __init__(self, root: str, **overrides: Any) -> None:
        cfg = BrokerConfig(storePathRootDir=root, mappedFileSizeCommitLog=4 << 20,
                           mappedFileSizeConsumeQueue=20 * 1000, maxHashSlotNum=1000, maxIndexNum=4000,
                           brokerName="broker-a", listenPort=10911)
        for key, value in overrides.items():
            cfg.set(key, value)
        self.config = cfg
        self.now = T0
        self.rng = random.Random(7)
        self.store = MessageStore(build_store_config(cfg, 1 << 30))
        self.store.open(self.now)
        self.state = BrokerState.create(cfg, self.store, self.now)
        self.last_ctx: Ctx | None = None

    def close(self) -> None:
        self.store.close()

    def ctx(self, channel: Any = "chan-1", first_run: bool = True) -> Ctx:
        return Ctx(now_ms=self.now, rng=self.rng, channel=channel, remote_addr="127.0.0.1:40000",
                   first_run=first_run)

    def call(self, code: int, ext: dict[str, Any] | None = None, body: bytes | None = None,
             channel: Any = "chan-1", version: int = 401, first_run: bool = True) -> Any:
        cmd = RemotingCommand.request(code, {k: str(v) for k, v in (ext or {}).items()}, body)
        cmd.version = version
        ctx = self.ctx(channel, first_run)
        self.last_ctx = ctx
        return dispatch(self.state, cmd, ctx)

    # ------------------------------------------------------------------ shortcuts
    def send(self, topic: str, body: bytes = b"hi", queue_id: int = 0, props: dict[str, str] | None = None,
             code: int = RequestCode.SEND_MESSAGE_V2, **extra: Any) -> Any:
        props = {"UNIQ_KEY": f"U{self.rng.randrange(10**9)}", "WAIT": "true", **(props or {})}
        if code == RequestCode.SEND_MESSAGE:
            ext = {"producerGroup": "pg", "topic": topic, "defaultTopic": "TBW102", "defaultTopicQueueNums": 4,
                   "queueId": queue_id, "sysFlag": 0, "bornTimestamp": self.now, "flag": 0,
                   "properties": encode_properties(props), "reconsumeTimes": 0, "unitMode": "false", "batch": "false"}
        else:
            ext = {"a": "pg", "b": topic, "c": "TBW102", "d": 4, "e": queue_id, "f": 0, "g": self.now, "h": 0,
                   "i": encode_properties(props)}
        ext.update(extra)
        return self.call(code, ext, body)

    def heartbeat(self, group: str, topics: dict[str, str], client_id: str = "127.0.0.1@1",
                  channel: Any = "chan-1", sub_version: int = 1, model: str = "CLUSTERING") -> Any:
        subs = [{"classFilterMode": False, "topic": t, "subString": s, "tagsSet": [], "codeSet": [],
                 "subVersion": sub_version, "expressionType": "TAG"} for t, s in topics.items()]
        for sub, expr in zip(subs, topics.values()):
            if expr != "*":
                from rmqlite.common.message import java_string_hash
                tags = [x.strip() for x in expr.split("||")]
                sub["tagsSet"], sub["codeSet"] = tags, [java_string_hash(x) for x in tags]
        body = {"clientID": client_id, "producerDataSet": [{"groupName": "pg"}], "consumerDataSet": [{
            "groupName": group, "consumeType": "CONSUME_PASSIVELY", "messageModel": model,
            "consumeFromWhere": "CONSUME_FROM_FIRST_OFFSET", "subscriptionDataSet": subs, "unitMode": False}]}
        return self.call(RequestCode.HEART_BEAT, {}, json.dumps(body).encode(), channel=channel)

    def pull(self, group: str, topic: str, offset: int, queue_id: int = 0, sys_flag: int = 0x2,
             max_nums: int = 32, commit_offset: int = 0, channel: Any = "chan-1", first_run: bool = True,
             **extra: Any) -> Any:
        ext = {"consumerGroup": group, "topic": topic, "queueId": queue_id, "queueOffset": offset,
               "maxMsgNums": max_nums, "sysFlag": sys_flag, "commitOffset": commit_offset,
               "suspendTimeoutMillis": 15000, "subVersion": 0, **extra}
        return self.call(RequestCode.PULL_MESSAGE, ext, channel=channel, first_run=first_run)


def records(resp: Any) -> list:
    return decode_records(resp.body or b"")
