"""Message trace data (RIP-6) as clients write it, and the by-msgId view ``mqadmin queryMsgTraceById`` prints.

How it works:
1. Clients with trace enabled send trace messages to RMQ_SYS_TRACE_TOPIC (or a customized topic); the broker
   stores them like any message (the topic exists at start when traceTopicEnable=true) and indexes their KEYS,
   which hold the traced message ids. A trace body is ``TraceDataEncoder`` text: contexts separated by \\x02,
   fields by \\x01; kinds Pub, SubBefore, SubAfter and EndTransaction.
2. ``decode_trace_data(text)`` parses a body into ``TraceContext`` records (Java's field positions and its
   "older versions" variants); ``trace_views(msg_id, records)`` keeps, for QUERY_MESSAGE results on the trace
   topic (key = msgId), the contexts of that message, like ``TraceView.decodeFromTraceTransData``; and
   ``format_trace(views)`` renders them like QueryMsgTraceByIdSubCommand (Pub lines, then Sub lines per group).
3. Pure: no I/O. A caller queries the trace topic (QUERY_MESSAGE, key = msgId) and passes the records in.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rmqlite.common.message import decode_record

__all__ = ["TRACE_TOPIC", "TraceContext", "TraceView", "decode_trace_data", "format_trace", "trace_views"]

TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC"
CONTENT_SPLITOR = "\x01"
FIELD_SPLITOR = "\x02"
MESSAGE_TYPES = ("Normal_Msg", "Trans_Msg_Half", "Trans_msg_Commit", "Delay_Msg")


@dataclass(slots=True)
class TraceContext:
    trace_type: str
    timestamp: int = 0
    region_id: str = ""
    group_name: str = ""
    request_id: str = ""
    cost_time: int = 0
    success: bool = True
    context_code: int = 0
    beans: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class TraceView:
    msg_id: str
    msg_type: str
    group_name: str
    timestamp: int
    cost_time: int
    status: str
    client_host: str
    topic: str | None = None
    tags: str | None = None
    keys: str | None = None
    store_host: str | None = None
    offset_msg_id: str | None = None


def _bool(text: str) -> bool:
    return text.lower() == "true"


def _context(line: list[str]) -> TraceContext | None:
    kind = line[0]
    if kind == "Pub":
        ctx = TraceContext("Pub", int(line[1]), line[2], line[3], cost_time=int(line[10]))
        bean = {"topic": line[4], "msgId": line[5], "tags": line[6], "keys": line[7], "storeHost": line[8],
                "bodyLength": int(line[9]), "msgType": MESSAGE_TYPES[int(line[11])]}
        if len(line) == 13:
            ctx.success = _bool(line[12])
        elif len(line) >= 14:
            bean["offsetMsgId"], ctx.success = line[12], _bool(line[13])
            if len(line) >= 15:
                bean["clientHost"] = line[14]
        ctx.beans.append(bean)
        return ctx
    if kind == "SubBefore":
        ctx = TraceContext("SubBefore", int(line[1]), line[2], line[3], request_id=line[4])
        ctx.beans.append({"msgId": line[5], "retryTimes": int(line[6]), "keys": line[7]})
        return ctx
    if kind == "SubAfter":
        ctx = TraceContext("SubAfter", request_id=line[1], cost_time=int(line[3]), success=_bool(line[4]))
        ctx.beans.append({"msgId": line[2], "keys": line[5]})
        if len(line) >= 7:
            ctx.context_code = int(line[6])
        if len(line) >= 9:
            ctx.timestamp, ctx.group_name = int(line[7]), line[8]
        return ctx
    if kind == "EndTransaction":
        ctx = TraceContext("EndTransaction", int(line[1]), line[2], line[3])
        ctx.beans.append({"topic": line[4], "msgId": line[5], "tags": line[6], "keys": line[7], "storeHost": line[8],
                          "msgType": MESSAGE_TYPES[int(line[9])], "transactionId": line[10],
                          "transactionState": line[11], "fromTransactionCheck": _bool(line[12])})
        return ctx
    return None


def decode_trace_data(text: str) -> list[TraceContext]:
    """``TraceDataEncoder.decoderFromTraceDataString``; malformed contexts are skipped."""
    out = []
    for part in text.split(FIELD_SPLITOR) if text else []:
        try:
            ctx = _context(part.split(CONTENT_SPLITOR))
        except (IndexError, ValueError):
            continue
        if ctx is not None:
            out.append(ctx)
    return out


def trace_views(msg_id: str, messages: Iterable[Any]) -> list[TraceView]:
    """The trace of ``msg_id`` in stored trace messages (decoded ``MessageExt``s or raw records), e.g. the
    QUERY_MESSAGE answer for key ``msg_id`` on the trace topic."""
    views = []
    for item in messages:
        msg = decode_record(item)[0] if isinstance(item, (bytes, bytearray, memoryview)) else item
        host = "%s:%d" % tuple(msg.born_host)
        for ctx in decode_trace_data(msg.body.decode("utf-8", "replace")):
            bean = ctx.beans[0]
            if bean.get("msgId") != msg_id:
                continue
            views.append(TraceView(msg_id, ctx.trace_type, ctx.group_name, ctx.timestamp, ctx.cost_time,
                                   "success" if ctx.success else "failed", host, bean.get("topic"), bean.get("tags"),
                                   bean.get("keys"), bean.get("storeHost"), bean.get("offsetMsgId")))
    return views


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def format_trace(views: list[TraceView]) -> str:
    """``mqadmin queryMsgTraceById`` output."""
    line = "%-10s %-20s %-20s %-20s %-10s %-10s\n"
    out: list[str] = []
    by_group: dict[str, list[TraceView]] = {}
    for v in views:
        if v.msg_type == "Pub":
            out.append(line % ("#Type", "#ProducerGroup", "#ClientHost", "#SendTime", "#CostTimes", "#Status"))
            out.append(line % ("Pub", v.group_name, v.client_host, _when(v.timestamp), f"{v.cost_time}ms", v.status))
            out.append("\n")
        elif v.msg_type == "SubAfter":
            by_group.setdefault(v.group_name, []).append(v)
    for group, subs in by_group.items():
        out.append(line % ("#Type", "#ConsumerGroup", "#ClientHost", "#ConsumerTime", "#CostTimes", "#Status"))
        for v in subs:
            out.append(line % ("Sub", v.group_name, v.client_host, _when(v.timestamp), f"{v.cost_time}ms", v.status))
        out.append("\n")
    return "".join(out)
