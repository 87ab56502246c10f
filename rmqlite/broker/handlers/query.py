"""VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12) (``QueryMessageProcessor``).

How it works:
1. VIEW_MESSAGE_BY_ID reads the one record at commitlog ``offset``; body = its stored bytes.
2. QUERY_MESSAGE looks ``key`` up in the index (KEYS tokens and UNIQ_KEY) within
   [beginTimestamp, endTimestamp]; ``_UNIQUE_KEY_QUERY=true`` uses defaultQueryMaxNum; maxNum is
   capped at maxMsgsNumBatch. Response ext indexLastUpdateTimestamp/indexLastUpdatePhyoffset;
   nothing found -> QUERY_NOT_FOUND.
"""

from __future__ import annotations

from rmqlite.broker.handlers.base import handler
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_int, ext_opt_str, ext_str

__all__ = ["view_message_by_id", "query_message"]


@handler(RequestCode.VIEW_MESSAGE_BY_ID)
def view_message_by_id(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    offset = ext_int(cmd, "offset")
    raw = state.store.read_record(offset) if offset >= 0 else None
    if not raw:
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"can not find message by the offset, {offset}")
    return cmd.response(ResponseCode.SUCCESS, body=bytes(raw))


@handler(RequestCode.QUERY_MESSAGE)
def query_message(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    topic, key = ext_str(cmd, "topic"), ext_str(cmd, "key")
    max_num = ext_int(cmd, "maxNum")
    begin, end = ext_int(cmd, "beginTimestamp"), ext_int(cmd, "endTimestamp")
    if (ext_opt_str(cmd, "_UNIQUE_KEY_QUERY", "") or "").lower() == "true":
        max_num = state.config.defaultQueryMaxNum
    max_num = max(0, min(max_num, state.config.maxMsgsNumBatch))
    result = state.store.query_by_key(topic, key, max_num, begin, end)
    records = list(getattr(result, "records", result) or [])
    ext = {
        "indexLastUpdateTimestamp": str(getattr(result, "index_last_update_timestamp", 0)),
        "indexLastUpdatePhyoffset": str(getattr(result, "index_last_update_phyoffset", 0)),
    }
    if not records:
        return cmd.response(ResponseCode.QUERY_NOT_FOUND, "can not find message, maybe time range not correct",
                            ext_fields=ext)
    return cmd.response(ResponseCode.SUCCESS, ext_fields=ext, body=b"".join(bytes(r) for r in records))
