"""SEND_REPLY_MESSAGE (324) / SEND_REPLY_MESSAGE_V2 (325) (``ReplyMessageProcessor``).

How it works:
1. Same header and checks as SEND (topic auto-create, queueId); the reply is stored when
   ``storeReplyMessageEnable`` (default true).
2. The reply must reach the requester: the producer channel whose clientId equals the message's
   REPLY_TO_CLIENT property gets PUSH_REPLY_MESSAGE_TO_CLIENT (326, sync) with the send header
   plus bornHost/storeHost/storeTimestamp and PUSH_REPLY_TIME added to the properties. The handler
   returns a ``ReplyPush``; the shell invokes it and answers SUCCESS (msgId "0", queueOffset 0)
   or SYSTEM_ERROR "push reply message to <id>fail." (Java's text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable

from rmqlite.broker.handlers.base import handler
from rmqlite.broker.handlers.send import _msg_check, _response, parse_send_header
from rmqlite.broker.state import BrokerState, Ctx, parse_addr
from rmqlite.common.message import decode_properties, encode_properties
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand

__all__ = ["ReplyPush", "reply_message", "finish_reply"]


@dataclass(slots=True)
class ReplyPush:
    """A reply to deliver to the requesting client before answering the replier."""

    channel: Hashable
    push: RemotingCommand
    response: RemotingCommand
    sender_id: str


@handler(RequestCode.SEND_REPLY_MESSAGE, RequestCode.SEND_REPLY_MESSAGE_V2)
def reply_message(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand | ReplyPush:
    h = parse_send_header(cmd)
    if ctx.now_ms < state.config.startAcceptSendRequestTimeStamp:
        return _response(state, cmd, ResponseCode.SYSTEM_ERROR, "broker unable to service")
    topic_cfg, code, remark = _msg_check(state, h, ctx)
    if topic_cfg is None:
        return _response(state, cmd, code, remark)
    queue_id = h.queueId
    if queue_id < 0:
        queue_id = ctx.rng.randrange(99999999) % max(1, topic_cfg.writeQueueNums)
    props = decode_properties(h.properties or "")
    born = parse_addr(ctx.remote_addr)
    if state.config.extra.get("storeReplyMessageEnable", True) and state.is_master:
        msg = state.new_message(topic=h.topic, queue_id=queue_id, body=cmd.body or b"", properties=h.properties or "",
                                flag=h.flag, sys_flag=h.sysFlag, born_timestamp=h.bornTimestamp, born_host=born,
                                reconsume_times=h.reconsumeTimes)
        state.store.put_message(msg, ctx.now_ms)
        ctx.wrote = True
    sender = props.get("REPLY_TO_CLIENT")
    if sender is None:
        return _response(state, cmd, ResponseCode.SYSTEM_ERROR, "reply message properties[REPLY_TO_CLIENT] is null")
    channel = next((c.channel for group in state.clients.producers.values() for c in group.values()
                    if c.client_id == sender), None)
    if channel is None:
        return _response(state, cmd, ResponseCode.SYSTEM_ERROR,
                         f"push reply message fail, channel of <{sender}> not found.")
    props["PUSH_REPLY_TIME"] = str(ctx.now_ms)
    host, port = state.store_host
    ext = {"producerGroup": h.producerGroup, "topic": h.topic, "defaultTopic": h.defaultTopic,
           "defaultTopicQueueNums": str(h.defaultTopicQueueNums), "queueId": str(h.queueId),
           "sysFlag": str(h.sysFlag), "bornTimestamp": str(h.bornTimestamp), "flag": str(h.flag),
           "properties": encode_properties(props), "reconsumeTimes": str(h.reconsumeTimes),
           "unitMode": str(h.unitMode).lower(), "bornHost": f"{born[0]}:{born[1]}", "storeHost": f"{host}:{port}",
           "storeTimestamp": str(ctx.now_ms)}
    push = RemotingCommand.request(RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT, ext, cmd.body)
    ok = _response(state, cmd, ResponseCode.SUCCESS)
    ok.ext_fields.update({"msgId": "0", "queueId": str(queue_id), "queueOffset": "0"})
    return ReplyPush(channel, push, ok, sender)


def finish_reply(state: BrokerState, cmd: RemotingCommand, reply: ReplyPush, pushed: Any) -> RemotingCommand:
    """The replier's answer once the push completed (``pushed``: response or exception)."""
    if isinstance(pushed, RemotingCommand) and pushed.code == ResponseCode.SUCCESS:
        return reply.response
    return _response(state, cmd, ResponseCode.SYSTEM_ERROR, f"push reply message to {reply.sender_id}fail.")
