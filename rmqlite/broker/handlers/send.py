"""SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) (``SendMessageProcessor``).

How it works:
1. The header is read from long names (code 10) or the short a..m keys (310/320); batch vs
   single is decided by the ``batch``/``m`` flag, never by the code (C++ batches arrive as 310).
2. Checks in Java's order: broker perm (order topics), topic name, send-forbidden system topics,
   topic exists or is auto-created from ``defaultTopic`` (retry topics get 1 queue), queueId
   < max(read, write) queues. A negative queueId picks a random writable queue.
3. ``%RETRY%group`` with reconsumeTimes >= max (group retryMaxTimes, or header value when the
   request version >= V3_4_9) is re-routed to ``%DLQ%group``.
4. Stored properties get CLUSTER=<cluster>; WAIT is dropped from the stored text (4.9.4);
   TRAN_MSG=true goes to the half topic; DELAY > 0 is rewritten to SCHEDULE_TOPIC_XXXX
   by the store (as Java's CommitLog does).
5. Every response carries MSG_REGION and TRACE_ON; success adds msgId, queueId, queueOffset.
   Store statuses map as in ``handlePutMessageResult``; ``ctx.wait_flush`` asks the shell to
   flush before answering when flushDiskType is SYNC_FLUSH (unless WAIT=false).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rmqlite.broker.handlers.base import FAQ_SUFFIX, handler, status_name
from rmqlite.broker.state import BrokerState, Ctx, parse_addr
from rmqlite.broker.topics import (
    NOT_ALLOWED_SEND_TOPICS, PERM_READ, PERM_WRITE, RETRY_GROUP_TOPIC_PREFIX,
    TopicConfig, dlq_topic, validate_topic,
)
from rmqlite.common.message import decode_batch_body, decode_properties, encode_properties, merge_batch_properties
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_int, ext_opt_bool, ext_opt_int, ext_opt_str, ext_str

__all__ = ["SendHeader", "parse_send_header", "store_message", "put_status_response"]

V3_4_9 = 121
DLQ_NUMS_PER_GROUP = 1
TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC"
MULTI_TAGS_FLAG = 0x2
TRAN_TYPE_MASK = 0xC
TRAN_PREPARED = 0x4
_V2_KEYS = {"producerGroup": "a", "topic": "b", "defaultTopic": "c", "defaultTopicQueueNums": "d", "queueId": "e",
            "sysFlag": "f", "bornTimestamp": "g", "flag": "h", "properties": "i", "reconsumeTimes": "j",
            "unitMode": "k", "maxReconsumeTimes": "l", "batch": "m"}


@dataclass(slots=True)
class SendHeader:
    """``SendMessageRequestHeader`` (v1 names)."""

    producerGroup: str
    topic: str
    defaultTopic: str
    defaultTopicQueueNums: int
    queueId: int
    sysFlag: int
    bornTimestamp: int
    flag: int
    properties: str | None
    reconsumeTimes: int
    unitMode: bool
    maxReconsumeTimes: int | None
    batch: bool


_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_SHORT_CODES = frozenset({int(RequestCode.SEND_MESSAGE_V2), int(RequestCode.SEND_BATCH_MESSAGE),
                          int(RequestCode.SEND_REPLY_MESSAGE_V2)})


def _opt_bool(value: str | None) -> bool:
    """``ext_opt_bool`` of a value already fetched."""
    if not value or value == "false":
        return False
    return value == "true" or value.strip().lower() == "true"


def _parse_v2_fast(ext: dict[str, str]) -> SendHeader | None:
    """The short (a..m) header when every field is present and well-formed, else None: the general
    ``parse_send_header`` then runs and raises the HeaderError naming the first bad field."""
    try:
        nums = (int(ext["d"]), int(ext["e"]), int(ext["f"]), int(ext["g"]), int(ext["h"]))
        j, l_ = ext.get("j"), ext.get("l")
        reconsume = int(j) if j else 0
        max_reconsume = int(l_) if l_ else None
        header = SendHeader(ext["a"], ext["b"], ext["c"], *nums, ext.get("i"), reconsume,
                            _opt_bool(ext.get("k")), max_reconsume, _opt_bool(ext.get("m")))
    except (KeyError, ValueError):
        return None
    if min(nums) < _INT_MIN or max(nums) > _INT_MAX or not _INT_MIN <= reconsume <= _INT_MAX or (
            max_reconsume is not None and not _INT_MIN <= max_reconsume <= _INT_MAX):
        return None
    return header


def parse_send_header(cmd: RemotingCommand) -> SendHeader:
    """Read the v1 (code 10) or v2 (short keys) header; raises HeaderError naming the field."""
    if cmd.code in _SHORT_CODES:
        fast = _parse_v2_fast(cmd.ext_fields)
        if fast is not None:
            return fast
    short = cmd.code in (RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE, RequestCode.SEND_REPLY_MESSAGE_V2)
    k = (lambda name: _V2_KEYS[name]) if short else (lambda name: name)
    return SendHeader(
        producerGroup=ext_str(cmd, k("producerGroup")),
        topic=ext_str(cmd, k("topic")),
        defaultTopic=ext_str(cmd, k("defaultTopic")),
        defaultTopicQueueNums=ext_int(cmd, k("defaultTopicQueueNums")),
        queueId=ext_int(cmd, k("queueId")),
        sysFlag=ext_int(cmd, k("sysFlag")),
        bornTimestamp=ext_int(cmd, k("bornTimestamp")),
        flag=ext_int(cmd, k("flag")),
        properties=ext_opt_str(cmd, k("properties"), None),
        reconsumeTimes=ext_opt_int(cmd, k("reconsumeTimes"), 0),
        unitMode=ext_opt_bool(cmd, k("unitMode"), False),
        maxReconsumeTimes=ext_opt_int(cmd, k("maxReconsumeTimes"), None),
        batch=ext_opt_bool(cmd, k("batch"), False),
    )


def _response(state: BrokerState, cmd: RemotingCommand, code: int = ResponseCode.SUCCESS,
              remark: str | None = None) -> RemotingCommand:
    resp = cmd.response(code, remark)
    resp.ext_fields["MSG_REGION"] = state.config.regionId
    resp.ext_fields["TRACE_ON"] = "true" if state.config.traceOn else "false"
    return resp


#: topic names that passed the (pure) name checks of ``_msg_check``: valid and not send-forbidden
_SENDABLE_NAMES: set[str] = set()


def _msg_check(state: BrokerState, h: SendHeader, ctx: Ctx) -> tuple[TopicConfig | None, int, str | None]:
    """``AbstractSendMessageProcessor.msgCheck``: (topic config, error code, remark)."""
    cfg = state.config
    if not cfg.brokerPermission & PERM_WRITE and state.topics.is_order_topic(h.topic):
        return None, ResponseCode.NO_PERMISSION, f"the broker[{cfg.brokerIP1}] sending message is forbidden"
    if h.topic not in _SENDABLE_NAMES:
        bad = validate_topic(h.topic)
        if bad:
            return None, ResponseCode.SYSTEM_ERROR, bad
        if h.topic in NOT_ALLOWED_SEND_TOPICS:
            return None, ResponseCode.NO_PERMISSION, f"Sending message to topic[{h.topic}] is forbidden."
        if len(_SENDABLE_NAMES) >= 10_000:
            _SENDABLE_NAMES.clear()
        _SENDABLE_NAMES.add(h.topic)
    topic_cfg = state.topics.get(h.topic)
    if topic_cfg is None:
        sys_flag = 0
        if h.unitMode:
            sys_flag = 2 if h.topic.startswith(RETRY_GROUP_TOPIC_PREFIX) else 1
        topic_cfg = state.topics.create_in_send(h.topic, h.defaultTopic, h.defaultTopicQueueNums, sys_flag, ctx.now_ms)
        if topic_cfg is None and h.topic.startswith(RETRY_GROUP_TOPIC_PREFIX):
            topic_cfg = state.topics.create_in_send_back(h.topic, 1, PERM_READ | PERM_WRITE, sys_flag, ctx.now_ms)
        if topic_cfg is None:
            return None, ResponseCode.TOPIC_NOT_EXIST, f"topic[{h.topic}] not exist, apply first please!{FAQ_SUFFIX}"
    limit = max(topic_cfg.writeQueueNums, topic_cfg.readQueueNums)
    if h.queueId >= limit:
        return None, ResponseCode.SYSTEM_ERROR, (
            f"request queueId[{h.queueId}] is illegal, {topic_cfg} Producer: {ctx.remote_addr}")
    return topic_cfg, ResponseCode.SUCCESS, None


def _content_check(state: BrokerState, topic: str, props_text: str | None, body: bytes) -> str | None:
    """Size limits that make a message illegal (MESSAGE_ILLEGAL) - a clear remark or None."""
    limit = state.config.maxMessageSize
    if (len(topic) if topic.isascii() else len(topic.encode("utf-8"))) > 127:
        return f"message topic length too long {len(topic)}"
    if props_text is not None and (len(props_text) if props_text.isascii()
                                   else len(props_text.encode("utf-8"))) > 32767:
        return f"message properties length too long {len(props_text)}, limit 32767 bytes (32KB)"
    if len(body) > limit:
        # RocketMQ 4.9.4's exact remark (SendMessageProcessor / PutMessageStatus.MESSAGE_ILLEGAL)
        return (f"the message is illegal, maybe msg body or properties length not matched. "
                f"msg body length limit {limit}B, msg properties length limit 32KB.")
    return None


@handler(RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE)
def send_message(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    h = parse_send_header(cmd)
    cfg = state.config
    if ctx.now_ms < cfg.startAcceptSendRequestTimeStamp:
        return _response(state, cmd, ResponseCode.SYSTEM_ERROR,
                         f"broker unable to service, until {cfg.startAcceptSendRequestTimeStamp}")
    topic_cfg, code, remark = _msg_check(state, h, ctx)
    if topic_cfg is None:
        return _response(state, cmd, code, remark)
    if not state.is_master:
        return _response(state, cmd, ResponseCode.SERVICE_NOT_AVAILABLE, _NOT_AVAILABLE)
    queue_id = h.queueId
    if queue_id < 0:
        if topic_cfg.writeQueueNums <= 0:
            return _response(state, cmd, ResponseCode.SYSTEM_ERROR, f"topic[{h.topic}] has no writable queue")
        queue_id = ctx.rng.randrange(99999999) % topic_cfg.writeQueueNums
    body = cmd.body or b""
    if h.batch:
        return _send_batch(state, cmd, ctx, h, topic_cfg, queue_id, body)
    return _send_single(state, cmd, ctx, h, topic_cfg, queue_id, body)


_NOT_AVAILABLE = ("service not available now. It may be caused by one of the following reasons: the broker's disk "
                  "is full, messages are put to the slave, message store has been shut down, etc.")


def _send_single(state: BrokerState, cmd: RemotingCommand, ctx: Ctx, h: SendHeader, topic_cfg: TopicConfig,
                 queue_id: int, body: bytes) -> RemotingCommand:
    topic, store_qid = h.topic, queue_id
    props = decode_properties(h.properties or "")
    if topic.startswith(RETRY_GROUP_TOPIC_PREFIX):
        group = topic[len(RETRY_GROUP_TOPIC_PREFIX):]
        group_cfg = state.subscriptions.find(group, ctx.now_ms)
        if group_cfg is None:
            return _response(state, cmd, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
                             f"subscription group not exist, {group} {FAQ_SUFFIX}")
        max_times = group_cfg.retryMaxTimes
        if cmd.version >= V3_4_9 and h.maxReconsumeTimes is not None:
            max_times = h.maxReconsumeTimes
        if h.reconsumeTimes >= max_times:
            topic = dlq_topic(group)
            store_qid = ctx.rng.randrange(99999999) % DLQ_NUMS_PER_GROUP
            state.topics.create_in_send_back(topic, DLQ_NUMS_PER_GROUP, PERM_READ | PERM_WRITE, 0, ctx.now_ms)
            props.pop("DELAY", None)
    sys_flag = h.sysFlag | (MULTI_TAGS_FLAG if topic_cfg.topicFilterType == "MULTI_TAG" else 0)
    props["CLUSTER"] = state.config.brokerClusterName
    wait = props.pop("WAIT", "true").lower() != "false"
    if props.get("TRAN_MSG", "").lower() == "true":
        if state.config.rejectTransactionMessage:
            return _response(state, cmd, ResponseCode.NO_PERMISSION,
                             f"the broker[{state.config.brokerIP1}] sending transaction message is forbidden")
        if not (h.reconsumeTimes > 0 and _int(props.get("DELAY")) > 0):
            props["REAL_TOPIC"], props["REAL_QID"] = topic, str(store_qid)
            topic, store_qid = TRANS_HALF_TOPIC, 0
            sys_flag &= ~TRAN_TYPE_MASK
    props_text = encode_properties(props)
    illegal = _content_check(state, topic, props_text, body)
    if illegal:
        return _response(state, cmd, ResponseCode.MESSAGE_ILLEGAL, illegal)
    msg = state.new_message(topic=topic, queue_id=store_qid, body=body, properties=props_text, flag=h.flag,
                            sys_flag=sys_flag, born_timestamp=h.bornTimestamp, born_host=_born_host(ctx.remote_addr),
                            reconsume_times=h.reconsumeTimes)
    result = state.store.put_message(msg, ctx.now_ms)
    ctx.wrote, ctx.wait_flush = True, wait
    return put_status_response(state, cmd, result, queue_id, 1)


_BORN_HOSTS: dict[str, tuple[str, int]] = {}


def _born_host(remote_addr: str) -> tuple[str, int]:
    """``parse_addr`` of a client address, remembered (one entry per client connection)."""
    host = _BORN_HOSTS.get(remote_addr)
    if host is None:
        if len(_BORN_HOSTS) >= 10_000:
            _BORN_HOSTS.clear()
        host = _BORN_HOSTS[remote_addr] = parse_addr(remote_addr)
    return host


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _send_batch(state: BrokerState, cmd: RemotingCommand, ctx: Ctx, h: SendHeader, topic_cfg: TopicConfig,
                queue_id: int, body: bytes) -> RemotingCommand:
    if len(h.topic.encode("utf-8")) > 127:
        return _response(state, cmd, ResponseCode.MESSAGE_ILLEGAL, f"message topic length too long {len(h.topic)}")
    if h.sysFlag & TRAN_TYPE_MASK:
        return _response(state, cmd, ResponseCode.MESSAGE_ILLEGAL, "batch messages cannot be transactional")
    try:
        items = decode_batch_body(body)
    except ValueError as exc:
        return _response(state, cmd, ResponseCode.MESSAGE_ILLEGAL, f"bad batch body: {exc}")
    if not items:
        return _response(state, cmd, ResponseCode.MESSAGE_ILLEGAL, "empty batch")
    outer = decode_properties(h.properties or "")
    outer["CLUSTER"] = state.config.brokerClusterName
    outer_text = encode_properties(outer)
    sys_flag = h.sysFlag | (MULTI_TAGS_FLAG if topic_cfg.topicFilterType == "MULTI_TAG" else 0)
    born_host = _born_host(ctx.remote_addr)
    msgs: list[Any] = []
    for item in items:
        if _int(item.properties.get("DELAY")) > 0:
            return _response(state, cmd, ResponseCode.MESSAGE_ILLEGAL, "batch messages cannot have a delay level")
        props_text = merge_batch_properties(item.properties_string, outer_text)
        illegal = _content_check(state, h.topic, props_text, item.body)
        if illegal:
            return _response(state, cmd, ResponseCode.MESSAGE_ILLEGAL, illegal)
        msgs.append(state.new_message(topic=h.topic, queue_id=queue_id, body=item.body, properties=props_text,
                                      flag=item.flag, sys_flag=sys_flag, born_timestamp=h.bornTimestamp,
                                      born_host=born_host, reconsume_times=h.reconsumeTimes))
    result = state.store.put_batch(msgs, ctx.now_ms)
    ctx.wrote, ctx.wait_flush = True, outer.get("WAIT", "true").lower() != "false"
    return put_status_response(state, cmd, result, queue_id, len(msgs))


_OK_CODES = {"PUT_OK": int(ResponseCode.SUCCESS), "FLUSH_DISK_TIMEOUT": int(ResponseCode.FLUSH_DISK_TIMEOUT),
             "FLUSH_SLAVE_TIMEOUT": int(ResponseCode.FLUSH_SLAVE_TIMEOUT),
             "SLAVE_NOT_AVAILABLE": int(ResponseCode.SLAVE_NOT_AVAILABLE)}
_STATUS_NAMES: dict[Any, str] = {}     # store status (enum member or str) -> its name
_FLAG_RESPONSE = 1                      # command.FLAG_RESPONSE


def put_status_response(state: BrokerState, cmd: RemotingCommand, result: Any, queue_id: int,
                        msg_count: int) -> RemotingCommand:
    """Map a store PutResult to the send response (``handlePutMessageResult``)."""
    raw = result.status
    try:
        status = _STATUS_NAMES[raw]
    except (KeyError, TypeError):
        status = status_name(raw)
        if len(_STATUS_NAMES) < 64:
            try:
                _STATUS_NAMES[raw] = status
            except TypeError:
                pass
    ok_code = _OK_CODES.get(status)
    if ok_code is not None:
        cfg = state.config
        ids = getattr(result, "msg_ids", None) or ()
        if type(ids) is not list:
            ids = list(ids)
        ext = {"MSG_REGION": cfg.regionId, "TRACE_ON": "true" if cfg.traceOn else "false",
               "msgId": ids[0] if len(ids) == 1 else ",".join(ids), "queueId": str(queue_id),
               "queueOffset": str(result.queue_offset)}
        state.stats.on_put(msg_count, int(getattr(result, "wrote_bytes", 0) or 0))
        return RemotingCommand(ok_code, cmd.opaque, _FLAG_RESPONSE, None, ext, None,
                               serialize_type=cmd.serialize_type)
    state.stats.on_put_failed()
    limit = state.config.maxMessageSize
    errors = {
        "CREATE_MAPEDFILE_FAILED": (ResponseCode.SYSTEM_ERROR, "create mapped file failed, server is busy or broken."),
        "MESSAGE_ILLEGAL": (ResponseCode.MESSAGE_ILLEGAL, _illegal_remark(result, limit)),
        "PROPERTIES_SIZE_EXCEEDED": (ResponseCode.MESSAGE_ILLEGAL, _illegal_remark(result, limit)),
        "SERVICE_NOT_AVAILABLE": (ResponseCode.SERVICE_NOT_AVAILABLE, _NOT_AVAILABLE),
        "OS_PAGECACHE_BUSY": (ResponseCode.SYSTEM_ERROR, "[PC_SYNCHRONIZED]broker busy, start flow control for a while"),
        "UNKNOWN_ERROR": (ResponseCode.SYSTEM_ERROR, "UNKNOWN_ERROR"),
    }
    code, remark = errors.get(status, (ResponseCode.SYSTEM_ERROR, f"UNKNOWN_ERROR DEFAULT ({status})"))
    return _response(state, cmd, code, remark)


def _illegal_remark(result: Any, limit: int) -> str:
    detail = getattr(result, "remark", None) or getattr(result, "error", None)
    base = (f"the message is illegal, maybe msg body or properties length not matched. "
            f"msg body length limit {limit}B, msg properties length limit 32KB.")
    return f"{base} ({detail})" if detail else base


def store_message(state: BrokerState, msg: Any, now_ms: int) -> Any:
    """Put one internal message (send-back, offset-moved events) and account for it."""
    result = state.store.put_message(msg, now_ms)
    if status_name(result.status) == "PUT_OK":
        state.stats.on_put(1, int(getattr(result, "wrote_bytes", 0) or 0))
    return result
