"""Protocol-level look-ups the feature tests make (QUERY_MESSAGE on a trace topic, send/pull helpers)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rmqlite.broker.msgtrace import trace_views
from rmqlite.client.api import Client
from rmqlite.common.message import decode_records
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand


async def query_by_key(namesrv: str, topic: str, key: str) -> list[Any]:
    """QUERY_MESSAGE (12) for ``key`` on every broker of ``topic``'s route (what mqadmin queryMsgByKey does)."""
    client = Client(namesrv)
    try:
        route = await client.route(topic)
        out: list[Any] = []
        for broker in route.brokers:
            addr = broker.master
            if addr is None:
                continue
            cmd = RemotingCommand.request(RequestCode.QUERY_MESSAGE, {
                "topic": topic, "key": key, "maxNum": "64", "beginTimestamp": "0",
                "endTimestamp": str(int(time.time() * 1000) + 60_000)})
            resp = await client.call(addr, cmd)
            if resp.code == ResponseCode.SUCCESS and resp.body:
                out += [m for m in decode_records(resp.body) if key in m.keys]
        return out
    finally:
        await client.close()


def trace_types(namesrv: str, msg_id: str, topic: str = "RMQ_SYS_TRACE_TOPIC") -> set[str]:
    """Trace kinds recorded for ``msg_id`` (Pub, SubBefore, SubAfter, EndTransaction)."""
    try:
        messages = asyncio.run(query_by_key(namesrv, topic, msg_id))
    except Exception:
        return set()
    return {v.msg_type for v in trace_views(msg_id, messages)}
