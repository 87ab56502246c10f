"""Consumer-side requests: offsets, group membership, send-back, queue locks.

Codes: QUERY_CONSUMER_OFFSET 14, UPDATE_CONSUMER_OFFSET 15, GET_CONSUMER_LIST_BY_GROUP 38,
SEARCH_OFFSET_BY_TIMESTAMP 29, GET_MAX_OFFSET 30, GET_MIN_OFFSET 31, GET_EARLIEST_MSG_STORETIME 32,
CONSUMER_SEND_MSG_BACK 36, LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42.

How it works:
1. QUERY_CONSUMER_OFFSET without a stored offset answers ``offset=0`` only when the queue's min
   offset is <= 0 and its entry 0 is still "in memory" (within accessMessageInMemoryMaxRatio % of
   RAM behind the commitlog end, or the queue is empty); otherwise QUERY_NOT_FOUND (22).
2. CONSUMER_SEND_MSG_BACK re-reads the message at the commitlog ``offset``; reconsumeTimes >=
   max (group retryMaxTimes, or the header's when version >= V3_4_9) or delayLevel < 0 sends it
   to ``%DLQ%group``, else to ``%RETRY%group`` with delay level (given, or 3 + reconsumeTimes);
   reconsumeTimes + 1, RETRY_TOPIC (first time) and ORIGIN_MESSAGE_ID are set.
3. Lock bodies are ``LockBatchRequestBody`` JSON; replies list the locked MessageQueues.
"""

from __future__ import annotations

from rmqlite.broker.handlers.base import FAQ_SUFFIX, handler, json_body, parse_json_body, status_name
from rmqlite.broker.handlers.send import store_message
from rmqlite.broker.locks import MessageQueue
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.broker.topics import PERM_READ, PERM_WRITE, dlq_topic, retry_topic
from rmqlite.common.message import decode_record, encode_properties
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_int, ext_opt_bool, ext_opt_int, ext_str

__all__ = ["query_in_memory"]

V3_4_9 = 121
DLQ_NUMS_PER_GROUP = 1
_PHYS_OFFSET_POS = 28


@handler(RequestCode.UPDATE_CONSUMER_OFFSET)
def update_consumer_offset(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    state.offsets.commit(ext_str(cmd, "consumerGroup"), ext_str(cmd, "topic"), ext_int(cmd, "queueId"),
                         ext_int(cmd, "commitOffset"))
    return cmd.response(ResponseCode.SUCCESS)


def query_in_memory(state: BrokerState, topic: str, queue_id: int) -> bool:
    """True if the message at logical offset 0 would be served from memory (or the queue is empty)."""
    result = state.store.get_messages(topic, queue_id, 0, 1, None)
    records = list(result.records) if status_name(result.status) == "FOUND" else []
    if not records:
        return True
    phys = int.from_bytes(records[0][_PHYS_OFFSET_POS:_PHYS_OFFSET_POS + 8], "big", signed=True)
    memory = state.memory_bytes * state.config.accessMessageInMemoryMaxRatio // 100
    return state.store.commitlog_max_offset - phys <= memory


@handler(RequestCode.QUERY_CONSUMER_OFFSET)
def query_consumer_offset(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    group, topic, queue_id = ext_str(cmd, "consumerGroup"), ext_str(cmd, "topic"), ext_int(cmd, "queueId")
    offset = state.offsets.query(group, topic, queue_id)
    if offset < 0 and state.store.min_offset(topic, queue_id) <= 0 and query_in_memory(state, topic, queue_id):
        offset = 0
    if offset >= 0:
        return cmd.response(ResponseCode.SUCCESS, ext_fields={"offset": str(offset)})
    return cmd.response(ResponseCode.QUERY_NOT_FOUND, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")


@handler(RequestCode.GET_CONSUMER_LIST_BY_GROUP)
def get_consumer_list_by_group(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    group = ext_str(cmd, "consumerGroup")
    info = state.clients.consumer_group(group)
    ids = info.client_ids() if info else []
    if ids:
        return cmd.response(ResponseCode.SUCCESS, body=json_body({"consumerIdList": ids}))
    return cmd.response(ResponseCode.SYSTEM_ERROR, f"no consumer for this group, {group}")


@handler(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP)
def search_offset_by_timestamp(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    offset = state.store.offset_by_time(ext_str(cmd, "topic"), ext_int(cmd, "queueId"), ext_int(cmd, "timestamp"))
    return cmd.response(ResponseCode.SUCCESS, ext_fields={"offset": str(offset)})


@handler(RequestCode.GET_MAX_OFFSET)
def get_max_offset(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    offset = state.store.max_offset(ext_str(cmd, "topic"), ext_int(cmd, "queueId"))
    return cmd.response(ResponseCode.SUCCESS, ext_fields={"offset": str(offset)})


@handler(RequestCode.GET_MIN_OFFSET)
def get_min_offset(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    offset = state.store.min_offset(ext_str(cmd, "topic"), ext_int(cmd, "queueId"))
    return cmd.response(ResponseCode.SUCCESS, ext_fields={"offset": str(offset)})


@handler(RequestCode.GET_EARLIEST_MSG_STORETIME)
def get_earliest_msg_storetime(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    ts = state.store.earliest_store_time(ext_str(cmd, "topic"), ext_int(cmd, "queueId"))
    return cmd.response(ResponseCode.SUCCESS, ext_fields={"timestamp": str(ts)})


@handler(RequestCode.CONSUMER_SEND_MSG_BACK)
def consumer_send_msg_back(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    phys_offset = ext_int(cmd, "offset")
    group = ext_str(cmd, "group")
    delay_level = ext_int(cmd, "delayLevel")
    group_cfg = state.subscriptions.find(group, ctx.now_ms)
    if group_cfg is None:
        return cmd.response(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
                            f"subscription group not exist, {group} {FAQ_SUFFIX}")
    if not state.config.brokerPermission & PERM_WRITE:
        return cmd.response(ResponseCode.NO_PERMISSION,
                            f"the broker[{state.config.brokerIP1}] sending message is forbidden")
    if group_cfg.retryQueueNums <= 0:
        return cmd.response(ResponseCode.SUCCESS)
    sys_flag = 2 if ext_opt_bool(cmd, "unitMode", False) else 0
    new_topic = retry_topic(group)
    queue_id = ctx.rng.randrange(99999999) % group_cfg.retryQueueNums
    topic_cfg = state.topics.create_in_send_back(new_topic, group_cfg.retryQueueNums, PERM_READ | PERM_WRITE,
                                                 sys_flag, ctx.now_ms)
    if not topic_cfg.writable:
        return cmd.response(ResponseCode.NO_PERMISSION, f"the topic[{new_topic}] sending message is forbidden")
    raw = state.store.read_record(phys_offset)
    if not raw:
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"look message by offset failed, {phys_offset}")
    msg, _ = decode_record(raw)
    props = dict(msg.properties)
    if "RETRY_TOPIC" not in props:
        props["RETRY_TOPIC"] = msg.topic
    props["WAIT"] = "false"
    max_times = group_cfg.retryMaxTimes
    header_max = ext_opt_int(cmd, "maxReconsumeTimes", None)
    if cmd.version >= V3_4_9 and header_max is not None:
        max_times = header_max
    if msg.reconsume_times >= max_times or delay_level < 0:
        new_topic = dlq_topic(group)
        queue_id = ctx.rng.randrange(99999999) % DLQ_NUMS_PER_GROUP
        state.topics.create_in_send_back(new_topic, DLQ_NUMS_PER_GROUP, PERM_READ | PERM_WRITE, 0, ctx.now_ms)
        props["DELAY"] = "0"
    else:
        props["DELAY"] = str(delay_level if delay_level != 0 else 3 + msg.reconsume_times)
    if not props.get("ORIGIN_MESSAGE_ID"):
        props["ORIGIN_MESSAGE_ID"] = msg.offset_msg_id      # Java: the decoded MessageExt's msgId
    inner = state.new_message(topic=new_topic, queue_id=queue_id, body=msg.body, properties=encode_properties(props),
                              flag=msg.flag, sys_flag=msg.sys_flag, born_timestamp=msg.born_timestamp,
                              born_host=msg.born_host, store_host=msg.store_host,
                              reconsume_times=msg.reconsume_times + 1)
    result = store_message(state, inner, ctx.now_ms)
    ctx.wrote = True
    status = status_name(result.status)
    if status == "PUT_OK":
        return cmd.response(ResponseCode.SUCCESS)
    return cmd.response(ResponseCode.SYSTEM_ERROR, status)


def _mq_set(body: dict, key: str) -> list[MessageQueue]:
    return [MessageQueue.from_json(d) for d in (body.get(key) or []) if isinstance(d, dict) or hasattr(d, "as_dict")]


@handler(RequestCode.LOCK_BATCH_MQ)
def lock_batch_mq(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    body = parse_json_body(cmd, "LOCK_BATCH_MQ")
    group, client_id = str(body.get("consumerGroup", "")), str(body.get("clientId", ""))
    locked = state.locks.try_lock_batch(group, _mq_set(body, "mqSet"), client_id, ctx.now_ms)
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"lockOKMQSet": [mq.to_json() for mq in locked]}))


@handler(RequestCode.UNLOCK_BATCH_MQ)
def unlock_batch_mq(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    body = parse_json_body(cmd, "UNLOCK_BATCH_MQ")
    state.locks.unlock_batch(str(body.get("consumerGroup", "")), _mq_set(body, "mqSet"), str(body.get("clientId", "")))
    return cmd.response(ResponseCode.SUCCESS)
