"""PULL_MESSAGE (11) (``PullMessageProcessor``).

How it works:
1. Checks: broker readable, subscription group exists (auto-created if allowed) and may consume,
   topic exists and is readable, 0 <= queueId < readQueueNums.
2. Subscription: from the request when sysFlag bit2 (0x4) is set, else the one registered by
   HEART_BEAT: no group -> SUBSCRIPTION_NOT_EXIST, no topic -> SUBSCRIPTION_NOT_EXIST,
   registered subVersion < request subVersion -> SUBSCRIPTION_NOT_LATEST. Non-TAG (SQL92) expressions go
   through ``filters.property_filter`` (FILTER_DATA_NOT_EXIST, enablePropertyFilter, record filter).
3. Store status -> code (wire-facts 6.5): FOUND 0; NO_MESSAGE_IN_QUEUE / NO_MATCHED_LOGIC_QUEUE ->
   19 if offset 0 else 21; OFFSET_OVERFLOW_ONE / OFFSET_FOUND_NULL -> 19; OFFSET_OVERFLOW_BADLY and
   OFFSET_TOO_SMALL -> 21; NO_MATCHED_MESSAGE / MESSAGE_WAS_REMOVING -> 20. On a slave without
   slaveReadEnable: 20 with suggestWhichBrokerId 0. Remark = store status name.
4. Response ext ALWAYS has suggestWhichBrokerId, nextBeginOffset, minOffset, maxOffset.
5. 19 on a first run with the suspend flag -> ``Hold`` (deadline = now + suspendTimeoutMillis,
   or shortPollingTimeMills when long polling is off). Re-runs (``ctx.first_run`` False) never
   hold and never commit. First runs commit ``commitOffset`` when bit0 is set on a master.
6. 21 on a master also stores an OffsetMovedEvent into OFFSET_MOVED_EVENT.
"""

from __future__ import annotations

from typing import Any

from rmqlite.broker.filters import (SubscriptionData, SubscriptionParseError, build_subscription, property_filter,
                                    tag_filter)
from rmqlite.broker.handlers.base import FAQ_SUFFIX, handler, json_body, status_name
from rmqlite.broker.handlers.send import store_message
from rmqlite.broker.long_poll import Hold
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.broker.topics import OFFSET_MOVED_EVENT, PERM_READ
from rmqlite.common.message import encode_properties
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_int, ext_opt_int, ext_opt_str, ext_str

__all__ = ["pull_message"]

FLAG_COMMIT_OFFSET = 0x1
FLAG_SUSPEND = 0x2
FLAG_SUBSCRIPTION = 0x4

_STATUS_CODES = {
    "FOUND": ResponseCode.SUCCESS,
    "MESSAGE_WAS_REMOVING": ResponseCode.PULL_RETRY_IMMEDIATELY,
    "NO_MATCHED_MESSAGE": ResponseCode.PULL_RETRY_IMMEDIATELY,
    "OFFSET_FOUND_NULL": ResponseCode.PULL_NOT_FOUND,
    "OFFSET_OVERFLOW_ONE": ResponseCode.PULL_NOT_FOUND,
    "OFFSET_OVERFLOW_BADLY": ResponseCode.PULL_OFFSET_MOVED,
    "OFFSET_TOO_SMALL": ResponseCode.PULL_OFFSET_MOVED,
}


def _error(cmd: RemotingCommand, code: int, remark: str) -> RemotingCommand:
    return cmd.response(code, remark)


def _subscription(state: BrokerState, cmd: RemotingCommand, group: str, topic: str, sys_flag: int,
                  group_cfg: Any) -> SubscriptionData | RemotingCommand:
    if sys_flag & FLAG_SUBSCRIPTION:
        try:
            return build_subscription(topic, ext_opt_str(cmd, "subscription", None),
                                      ext_opt_str(cmd, "expressionType", None), ext_opt_int(cmd, "subVersion", 0))
        except SubscriptionParseError:
            return _error(cmd, ResponseCode.SUBSCRIPTION_PARSE_FAILED, "parse the consumer's subscription failed")
    info = state.clients.consumer_group(group)
    if info is None:
        return _error(cmd, ResponseCode.SUBSCRIPTION_NOT_EXIST, "the consumer's group info not exist" + FAQ_SUFFIX)
    if not group_cfg.consumeBroadcastEnable and info.message_model == "BROADCASTING":
        return _error(cmd, ResponseCode.NO_PERMISSION, f"the consumer group[{group}] can not consume by broadcast way")
    sub = info.subscriptions.get(topic)
    if sub is None:
        return _error(cmd, ResponseCode.SUBSCRIPTION_NOT_EXIST, "the consumer's subscription not exist" + FAQ_SUFFIX)
    if sub.subVersion < ext_opt_int(cmd, "subVersion", 0):
        return _error(cmd, ResponseCode.SUBSCRIPTION_NOT_LATEST, "the consumer's subscription not latest")
    return sub


@handler(RequestCode.PULL_MESSAGE)
def pull_message(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand | Hold | None:
    group = ext_str(cmd, "consumerGroup")
    topic = ext_str(cmd, "topic")
    queue_id = ext_int(cmd, "queueId")
    offset = ext_int(cmd, "queueOffset")
    max_nums = ext_int(cmd, "maxMsgNums")
    sys_flag = ext_int(cmd, "sysFlag")
    commit_offset = ext_int(cmd, "commitOffset")
    suspend_ms = ext_opt_int(cmd, "suspendTimeoutMillis", 0)
    cfg = state.config
    if not cfg.brokerPermission & PERM_READ:
        return _error(cmd, ResponseCode.NO_PERMISSION, f"the broker[{cfg.brokerIP1}] pulling message is forbidden")
    group_cfg = state.subscriptions.find(group, ctx.now_ms)
    if group_cfg is None:
        return _error(cmd, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
                      f"subscription group [{group}] does not exist, {FAQ_SUFFIX}")
    if not group_cfg.consumeEnable:
        return _error(cmd, ResponseCode.NO_PERMISSION, f"subscription group no permission, {group}")
    topic_cfg = state.topics.get(topic)
    if topic_cfg is None:
        return _error(cmd, ResponseCode.TOPIC_NOT_EXIST, f"topic[{topic}] not exist, apply first please! {FAQ_SUFFIX}")
    if not topic_cfg.readable:
        return _error(cmd, ResponseCode.NO_PERMISSION, f"the topic[{topic}] pulling message is forbidden")
    if queue_id < 0 or queue_id >= topic_cfg.readQueueNums:
        return _error(cmd, ResponseCode.SYSTEM_ERROR, (
            f"queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:"
            f"[{topic_cfg.readQueueNums}] consumer:[{ctx.remote_addr}]"))
    sub = _subscription(state, cmd, group, topic, sys_flag, group_cfg)
    if isinstance(sub, RemotingCommand):
        return sub
    # --- features hook (SQL92 property filter, rmqlite.broker.filters.property_filter) ---
    record_filter = property_filter(sub, cfg.enablePropertyFilter, bool(sys_flag & FLAG_SUBSCRIPTION))
    if isinstance(record_filter, tuple):
        return _error(cmd, *record_filter)
    # --- end features hook ---
    result = state.store.get_messages(topic, queue_id, offset, max(0, max_nums), tag_filter(sub), record_filter)
    reply = _reply(state, cmd, ctx, result, group, topic, queue_id, offset)
    if ctx.first_run and sys_flag & FLAG_COMMIT_OFFSET and state.is_master:
        state.offsets.commit(group, topic, queue_id, commit_offset)
    if reply.code == ResponseCode.PULL_NOT_FOUND and ctx.first_run and sys_flag & FLAG_SUSPEND:
        hold_ms = suspend_ms if cfg.longPollingEnable else cfg.shortPollingTimeMills
        return Hold(request=cmd, channel=ctx.channel, topic=topic, queue_id=queue_id, offset=offset,
                    deadline_ms=ctx.now_ms + max(0, hold_ms))
    return reply


def _reply(state: BrokerState, cmd: RemotingCommand, ctx: Ctx, result: Any, group: str, topic: str,
           queue_id: int, offset: int) -> RemotingCommand:
    status = status_name(result.status)
    code = _STATUS_CODES.get(status)
    if code is None:   # NO_MESSAGE_IN_QUEUE, NO_MATCHED_LOGIC_QUEUE
        code = ResponseCode.PULL_OFFSET_MOVED if offset != 0 else ResponseCode.PULL_NOT_FOUND
    if not state.is_master and not state.config.slaveReadEnable:
        code = ResponseCode.PULL_RETRY_IMMEDIATELY
    reply = cmd.response(code, status)
    reply.ext_fields.update({
        "suggestWhichBrokerId": "0",
        "nextBeginOffset": str(result.next_begin_offset),
        "minOffset": str(result.min_offset),
        "maxOffset": str(result.max_offset),
    })
    if code == ResponseCode.SUCCESS:
        records = list(result.records)
        reply.body = b"".join(records)
        state.stats.on_get(len(records))
    else:
        state.stats.on_get(0)
    if code == ResponseCode.PULL_OFFSET_MOVED:
        if state.is_master or state.config.offsetCheckInSlave:
            _offset_moved_event(state, ctx, group, topic, queue_id, offset, result.next_begin_offset)
        else:
            reply.code = ResponseCode.PULL_RETRY_IMMEDIATELY
    return reply


def _offset_moved_event(state: BrokerState, ctx: Ctx, group: str, topic: str, queue_id: int,
                        requested: int, new_offset: int) -> None:
    body = json_body({
        "consumerGroup": group,
        "messageQueue": {"brokerName": state.config.brokerName, "queueId": queue_id, "topic": topic},
        "offsetNew": new_offset, "offsetRequest": requested,
    })
    props = {"TAGS": group, "KEYS": group}
    host = state.store_host
    msg = state.new_message(topic=OFFSET_MOVED_EVENT, queue_id=0, body=body, properties=encode_properties(props),
                            born_timestamp=ctx.now_ms, born_host=host, store_host=host)
    store_message(state, msg, ctx.now_ms)
