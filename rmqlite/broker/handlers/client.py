"""Client management: HEART_BEAT (34), UNREGISTER_CLIENT (35), CHECK_CLIENT_CONFIG (46).

How it works:
1. HEART_BEAT: for each consumer group, find (auto-create) its subscription group, create its
   ``%RETRY%group`` topic (retryQueueNums queues, perm RW), register channel + subscriptions;
   a membership/topic change adds the group to ``ctx.notify_groups`` (NOTIFY_CONSUMER_IDS_CHANGED)
   when the group and the broker allow it. Producer groups are registered too.
2. UNREGISTER_CLIENT removes the channel from the named producer/consumer group; removing a
   consumer notifies the remaining members.
3. CHECK_CLIENT_CONFIG: TAG subscriptions are fine; anything else needs enablePropertyFilter and an
   expression that compiles (``filters.check_client_config``: Java's SUBSCRIPTION_PARSE_FAILED remark).
"""

from __future__ import annotations

from rmqlite.broker.clients import ClientChannelInfo, parse_heartbeat
from rmqlite.broker.filters import SubscriptionData
from rmqlite.broker.filters import check_client_config as sql_check_client_config
from rmqlite.broker.handlers.base import BodyError, handler, parse_json_body
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.broker.topics import PERM_READ, PERM_WRITE, retry_topic
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_opt_str, ext_str

__all__ = ["heart_beat"]


def _channel_info(cmd: RemotingCommand, ctx: Ctx, client_id: str) -> ClientChannelInfo:
    return ClientChannelInfo(channel=ctx.channel, client_id=client_id, language=str(cmd.language),
                             version=int(cmd.version), remote_addr=ctx.remote_addr, last_update_ms=ctx.now_ms)


def _notify_enabled(state: BrokerState, group: str) -> bool:
    cfg = state.subscriptions.get(group)
    return state.config.notifyConsumerIdsChangedEnable and (cfg is None or cfg.notifyConsumerIdsChangedEnable)


@handler(RequestCode.HEART_BEAT)
def heart_beat(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    try:
        hb = parse_heartbeat(cmd.body)
    except ValueError as exc:
        raise BodyError(f"HEART_BEAT: {exc}") from None
    info = _channel_info(cmd, ctx, hb.clientID)
    for data in hb.consumers:
        group_cfg = state.subscriptions.find(data.groupName, ctx.now_ms)
        if group_cfg is not None:
            state.topics.create_in_send_back(retry_topic(data.groupName), group_cfg.retryQueueNums,
                                             PERM_READ | PERM_WRITE, 2 if data.unitMode else 0, ctx.now_ms)
        member = _channel_info(cmd, ctx, hb.clientID)
        if state.clients.register_consumer(data, member) and _notify_enabled(state, data.groupName):
            ctx.notify_groups.add(data.groupName)
    for group in hb.producer_groups:
        state.clients.register_producer(group, info)
    return cmd.response(ResponseCode.SUCCESS)


@handler(RequestCode.UNREGISTER_CLIENT)
def unregister_client(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    ext_str(cmd, "clientID")
    producer_group = ext_opt_str(cmd, "producerGroup", None)
    consumer_group = ext_opt_str(cmd, "consumerGroup", None)
    if producer_group:
        state.clients.unregister_producer(producer_group, ctx.channel)
    if consumer_group:
        existed = state.clients.unregister_consumer(consumer_group, ctx.channel)
        if existed and _notify_enabled(state, consumer_group):
            ctx.notify_groups.add(consumer_group)
    return cmd.response(ResponseCode.SUCCESS)


@handler(RequestCode.CHECK_CLIENT_CONFIG)
def check_client_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    body = parse_json_body(cmd, "CHECK_CLIENT_CONFIG") if cmd.body else {}
    raw = body.get("subscriptionData") if isinstance(body, dict) else None
    if not isinstance(raw, dict):
        return cmd.response(ResponseCode.SUCCESS)
    # --- features hook (SQL92: rmqlite.broker.filters.check_client_config) ---
    code, remark = sql_check_client_config(SubscriptionData.from_json(raw), state.config.enablePropertyFilter)
    return cmd.response(code, remark)
