"""Request builders and response parsers for the calls rmqlite's tools need.

How it works: ``Client`` owns one ``RemotingClient``. Route lookups go to the first
nameserver that answers; sends use SEND_MESSAGE_V2 with the short header; pulls use
PULL_MESSAGE without suspension unless asked. Every call raises ``ClientError`` with the
broker's response code and remark when the answer is not a success.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from dataclasses import dataclass, field

from rmqlite.common import message as m
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient

_counter = itertools.count()


class ClientError(Exception):
    """A request failed; ``code`` is the RocketMQ response code."""

    def __init__(self, code: int, remark: str | None) -> None:
        super().__init__(f"CODE: {code} DESC: {remark}")
        self.code = code
        self.remark = remark


@dataclass(slots=True)
class BrokerRef:
    name: str
    cluster: str
    addrs: dict[int, str]

    @property
    def master(self) -> str | None:
        return self.addrs.get(0)


@dataclass(slots=True)
class TopicRoute:
    topic: str
    brokers: list[BrokerRef]
    queues: list[dict]

    def write_queues(self) -> list[tuple[str, int]]:
        """(brokerName, queueId) pairs a producer may write to."""
        out = []
        for q in sorted(self.queues, key=lambda q: q["brokerName"]):
            if q.get("perm", 6) & 2:
                out += [(q["brokerName"], i) for i in range(q["writeQueueNums"])]
        return out

    def read_queues(self) -> list[tuple[str, int]]:
        out = []
        for q in sorted(self.queues, key=lambda q: q["brokerName"]):
            if q.get("perm", 6) & 4:
                out += [(q["brokerName"], i) for i in range(q["readQueueNums"])]
        return out

    def master_of(self, broker_name: str) -> str:
        for b in self.brokers:
            if b.name == broker_name and b.master:
                return b.master
        raise ClientError(ResponseCode.SYSTEM_ERROR, f"no master for broker {broker_name}")


@dataclass(slots=True)
class SendResult:
    msg_id: str
    offset_msg_id: str
    queue_id: int
    queue_offset: int
    broker_name: str
    status_code: int


@dataclass(slots=True)
class PullResult:
    code: int
    next_begin_offset: int
    min_offset: int
    max_offset: int
    messages: list[m.MessageExt] = field(default_factory=list)


def unique_id() -> str:
    """A client message id shaped like Java's (ip, pid, time, counter)."""
    ip = socket.inet_aton("127.0.0.1")
    ms = int(time.time() * 1000) & 0xFFFFFFFF
    raw = ip + (os.getpid() & 0xFFFF).to_bytes(2, "big") + id(_counter).to_bytes(8, "big")[-4:]
    raw += ms.to_bytes(4, "big") + (next(_counter) & 0xFFFF).to_bytes(2, "big")
    return raw.hex().upper()


def _ok(resp: RemotingCommand, *ok: int) -> RemotingCommand:
    if resp.code not in (ok or (ResponseCode.SUCCESS,)):
        raise ClientError(resp.code, resp.remark)
    return resp


class Client:
    """Nameserver + broker calls; ``namesrv`` is ``host:port[;host:port...]``."""

    def __init__(self, namesrv: str, timeout_ms: int = 5000, group: str = "rmqlite_tools") -> None:
        self.namesrvs = [a.strip() for a in namesrv.split(";") if a.strip()]
        self.timeout_ms = timeout_ms
        self.group = group
        self.remoting = RemotingClient(name="rmqlite-client")

    async def close(self) -> None:
        await self.remoting.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, addr: str, cmd: RemotingCommand, timeout_ms: int | None = None) -> RemotingCommand:
        return await self.remoting.invoke(addr, cmd, timeout_ms or self.timeout_ms)

    async def call_namesrv(self, cmd: RemotingCommand) -> RemotingCommand:
        last: Exception | None = None
        for addr in self.namesrvs:
            try:
                return await self.call(addr, cmd)
            except Exception as exc:  # try the next nameserver
                last = exc
                cmd = RemotingCommand.request(cmd.code, cmd.ext_fields, cmd.body)
        raise last or ClientError(ResponseCode.SYSTEM_ERROR, "no nameserver")

    # ------------------------------------------------------------ nameserver
    async def route(self, topic: str) -> TopicRoute:
        resp = _ok(await self.call_namesrv(RemotingCommand.request(
            RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": topic})))
        data = fastjson.loads(resp.body or b"{}")
        brokers = [BrokerRef(b["brokerName"], b.get("cluster", ""),
                             {int(k): v for k, v in b.get("brokerAddrs", {}).items()})
                   for b in data.get("brokerDatas", [])]
        return TopicRoute(topic, brokers, data.get("queueDatas", []))

    async def cluster_info(self) -> dict:
        resp = _ok(await self.call_namesrv(RemotingCommand.request(RequestCode.GET_BROKER_CLUSTER_INFO)))
        return fastjson.loads(resp.body or b"{}")

    # ------------------------------------------------------------ topics
    async def create_topic(self, broker_addr: str, topic: str, queues: int = 4, perm: int = 6,
                           order: bool = False) -> None:
        _ok(await self.call(broker_addr, RemotingCommand.request(RequestCode.UPDATE_AND_CREATE_TOPIC, {
            "topic": topic, "defaultTopic": "TBW102", "readQueueNums": str(queues),
            "writeQueueNums": str(queues), "perm": str(perm), "topicFilterType": "SINGLE_TAG",
            "topicSysFlag": "0", "order": "true" if order else "false"})))

    # ------------------------------------------------------------ send
    async def send(self, route: TopicRoute, broker_name: str, queue_id: int, body: bytes,
                   tags: str | None = None, keys: str | None = None,
                   properties: dict[str, str] | None = None, sys_flag: int = 0,
                   code: int = RequestCode.SEND_MESSAGE_V2, timeout_ms: int | None = None) -> SendResult:
        props = dict(properties or {})
        if tags:
            props["TAGS"] = tags
        if keys:
            props["KEYS"] = keys
        props.setdefault("WAIT", "true")
        props.setdefault("UNIQ_KEY", unique_id())
        ext = {"a": self.group, "b": route.topic, "c": "TBW102", "d": "4", "e": str(queue_id),
               "f": str(sys_flag), "g": str(int(time.time() * 1000)), "h": "0",
               "i": m.encode_properties(props), "j": "0", "k": "false", "m": "false"}
        resp = await self.call(route.master_of(broker_name),
                               RemotingCommand.request(code, ext, body), timeout_ms)
        _ok(resp, ResponseCode.SUCCESS, ResponseCode.FLUSH_DISK_TIMEOUT,
            ResponseCode.FLUSH_SLAVE_TIMEOUT, ResponseCode.SLAVE_NOT_AVAILABLE)
        return SendResult(props["UNIQ_KEY"], resp.ext_fields["msgId"], int(resp.ext_fields["queueId"]),
                          int(resp.ext_fields["queueOffset"]), broker_name, resp.code)

    # ------------------------------------------------------------ pull and offsets
    async def pull(self, broker_addr: str, group: str, topic: str, queue_id: int, offset: int,
                   max_nums: int = 32, subscription: str = "*", suspend_ms: int = 0,
                   timeout_ms: int | None = None) -> PullResult:
        sys_flag = 0x4 | (0x2 if suspend_ms else 0)
        ext = {"consumerGroup": group, "topic": topic, "queueId": str(queue_id),
               "queueOffset": str(offset), "maxMsgNums": str(max_nums), "sysFlag": str(sys_flag),
               "commitOffset": "0", "suspendTimeoutMillis": str(suspend_ms),
               "subscription": subscription, "subVersion": str(int(time.time() * 1000)),
               "expressionType": "TAG"}
        resp = await self.call(broker_addr, RemotingCommand.request(RequestCode.PULL_MESSAGE, ext),
                               timeout_ms or max(self.timeout_ms, suspend_ms + 5000))
        _ok(resp, ResponseCode.SUCCESS, ResponseCode.PULL_NOT_FOUND,
            ResponseCode.PULL_RETRY_IMMEDIATELY, ResponseCode.PULL_OFFSET_MOVED)
        msgs = m.decode_records(resp.body) if resp.code == ResponseCode.SUCCESS and resp.body else []
        e = resp.ext_fields
        return PullResult(resp.code, int(e["nextBeginOffset"]), int(e["minOffset"]),
                          int(e["maxOffset"]), msgs)

    async def max_offset(self, broker_addr: str, topic: str, queue_id: int) -> int:
        resp = _ok(await self.call(broker_addr, RemotingCommand.request(
            RequestCode.GET_MAX_OFFSET, {"topic": topic, "queueId": str(queue_id)})))
        return int(resp.ext_fields["offset"])

    async def min_offset(self, broker_addr: str, topic: str, queue_id: int) -> int:
        resp = _ok(await self.call(broker_addr, RemotingCommand.request(
            RequestCode.GET_MIN_OFFSET, {"topic": topic, "queueId": str(queue_id)})))
        return int(resp.ext_fields["offset"])

    async def view_message(self, broker_addr: str, phys_offset: int) -> m.MessageExt:
        resp = _ok(await self.call(broker_addr, RemotingCommand.request(
            RequestCode.VIEW_MESSAGE_BY_ID, {"offset": str(phys_offset)})))
        return m.decode_records(resp.body or b"")[0]
