"""A broker without sockets for the feature tests: BrokerState over a small MessageStore, a manual clock.

``Broker(root, **conf)``: ``call(code, ext, body)`` runs the handler like the server does (features' ACL hook
included when ``acl`` is given); ``send``/``heartbeat``/``pull`` build the usual requests; ``now`` is the clock.
"""

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

T0 = 1_800_000_000_000


class Broker:
    def __init__(self, root: str, now: int = T0, **conf: Any) -> None:
        cfg = BrokerConfig(storePathRootDir=root, mappedFileSizeCommitLog=4 << 20, mappedFileSizeConsumeQueue=20 * 1000,
                           maxHashSlotNum=1000, maxIndexNum=4000, brokerName="broker-a", listenPort=10911)
        for key, value in conf.items():
            cfg.set(key, value)
        self.root, self.conf, self.now = root, conf, now
        self.rng = random.Random(5)
        self.store = MessageStore(build_store_config(cfg, 1 << 30))
        self.store.open(self.now)
        self.state = BrokerState.create(cfg, self.store, self.now)

    def restart(self) -> Broker:
        """Persist and close like a clean shutdown, then open a new broker on the same files."""
        self.state.persist_all()
        self.store.close()
        return Broker(self.root, self.now, **self.conf)

    def close(self) -> None:
        self.store.close()

    def call(self, code: int, ext: dict[str, Any] | None = None, body: bytes | None = None,
             channel: Any = "chan-1") -> Any:
        cmd = RemotingCommand.request(code, {k: str(v) for k, v in (ext or {}).items()}, body)
        return dispatch(self.state, cmd, Ctx(now_ms=self.now, rng=self.rng, channel=channel,
                                            remote_addr="127.0.0.1:40000"))

    def send(self, topic: str, body: bytes = b"hi", queue_id: int = 0, props: dict[str, str] | None = None,
             sys_flag: int = 0, born: int | None = None) -> Any:
        props = {"UNIQ_KEY": f"U{self.rng.randrange(10**9)}", **(props or {})}
        ext = {"a": "pg", "b": topic, "c": "TBW102", "d": 4, "e": queue_id, "f": sys_flag,
               "g": self.now if born is None else born, "h": 0, "i": encode_properties(props)}
        return self.call(RequestCode.SEND_MESSAGE_V2, ext, body)

    def heartbeat(self, group: str, subs: list[dict[str, Any]], producer_group: str = "pg",
                  channel: Any = "chan-1") -> Any:
        body = {"clientID": "127.0.0.1@1", "producerDataSet": [{"groupName": producer_group}], "consumerDataSet": [{
            "groupName": group, "consumeType": "CONSUME_PASSIVELY", "messageModel": "CLUSTERING",
            "consumeFromWhere": "CONSUME_FROM_FIRST_OFFSET", "subscriptionDataSet": subs, "unitMode": False}]}
        return self.call(RequestCode.HEART_BEAT, {}, json.dumps(body).encode(), channel=channel)

    def pull(self, group: str, topic: str, offset: int = 0, queue_id: int = 0, sys_flag: int = 0,
             **extra: Any) -> Any:
        ext = {"consumerGroup": group, "topic": topic, "queueId": queue_id, "queueOffset": offset, "maxMsgNums": 32,
               "sysFlag": sys_flag, "commitOffset": 0, "suspendTimeoutMillis": 0, "subVersion": 0, **extra}
        return self.call(RequestCode.PULL_MESSAGE, ext)


def sql_sub(topic: str, expression: str, version: int = 1, kind: str = "SQL92") -> dict[str, Any]:
    return {"topic": topic, "subString": expression, "expressionType": kind, "tagsSet": [], "codeSet": [],
            "subVersion": version, "classFilterMode": False}


def records(resp: Any) -> list[Any]:
    return decode_records(resp.body or b"")
