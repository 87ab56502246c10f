"""Put-path checks and rewrites: MessageToStore -> MessageExt ready to encode (Java ``checkMessage``,
the encoder's size checks and the delay rewrite of ``CommitLog.asyncPutMessage``).

How it works:
1. Topic <= 127 UTF-8 bytes and usable as a directory name; properties <= 32767 chars
   (MESSAGE_ILLEGAL) and <= 32767 bytes (PROPERTIES_SIZE_EXCEEDED); body <= maxMessageSize.
2. A NOT/COMMIT message with DELAY > 0 goes to ``SCHEDULE_TOPIC_XXXX`` queue level-1 (level clamped
   to the highest), with REAL_TOPIC / REAL_QID saved in its properties (unless already there).
3. IPv6 born/store hosts set SYSFLAG bits 0x10 / 0x20 (IPv4-mapped addresses stay IPv4).
4. Batches: one topic and queue, no transaction type, no delay, total size <= maxMessageSize.
5. ``check_message`` applies rules 1-3 and returns the values to store; ``to_message_ext`` wraps them in a
   ``MessageExt``. Topic names that passed rule 1 are remembered (the check is a pure function of the name).
"""

from __future__ import annotations

from rmqlite.common.message import (
    MAX_PROPERTIES_BYTES,
    MAX_TOPIC_BYTES,
    TRANSACTION_COMMIT_TYPE,
    TRANSACTION_NOT_TYPE,
    TRANSACTION_ROLLBACK_TYPE,
    MessageConst,
    MessageExt,
    MessageSysFlag,
    crc32_body,
    decode_properties,
    encode_properties,
    is_ipv6_host,
)
from rmqlite.store.dispatch import SCHEDULE_TOPIC, delay_level_of
from rmqlite.store.model import MessageToStore, PutResult, PutStatus


def _illegal(why: str, status: PutStatus = PutStatus.MESSAGE_ILLEGAL) -> PutResult:
    return PutResult(status, remark=why)


#: topic -> its UTF-8 bytes, for names that passed the topic checks of rule 1 (pure, so cached)
_GOOD_TOPICS: dict[str, bytes] = {}


def check_message(m: MessageToStore, batch: bool, max_message_size: int, delay_levels: dict[int, int]
                  ) -> tuple[str, int, int, dict[str, str], str, bytes, bytes] | PutResult:
    """Rules 1-3 for one message: (topic, queue_id, sys_flag, properties, properties text, its UTF-8
    bytes, topic UTF-8 bytes) as they are to be stored, or a refusal."""
    topic_bytes = _GOOD_TOPICS.get(m.topic)
    if topic_bytes is None:
        if not m.topic or len(m.topic.encode("utf-8")) > MAX_TOPIC_BYTES:
            return _illegal(f"bad topic length: {m.topic[:200]!r}")
        if "/" in m.topic or "\x00" in m.topic or m.topic in (".", ".."):
            return _illegal(f"topic {m.topic!r} cannot name a directory")
        if len(_GOOD_TOPICS) >= 10_000:
            _GOOD_TOPICS.clear()
        topic_bytes = _GOOD_TOPICS[m.topic] = m.topic.encode("utf-8")
    if isinstance(m.properties, str):
        text, props = m.properties, decode_properties(m.properties)
    else:
        text, props = encode_properties(m.properties), {k: v for k, v in m.properties.items() if v is not None}
    if len(text) > MAX_PROPERTIES_BYTES:
        return _illegal("properties longer than 32767 chars")
    text_bytes = text.encode("utf-8")
    if len(text_bytes) > MAX_PROPERTIES_BYTES:
        return _illegal("properties longer than 32767 bytes", PutStatus.PROPERTIES_SIZE_EXCEEDED)
    if len(m.body) > max_message_size:
        return _illegal("message body exceeds maxMessageSize")
    topic, queue_id, sys_flag = m.topic, m.queue_id, m.sys_flag
    tran = sys_flag & TRANSACTION_ROLLBACK_TYPE
    if m.delay_level is not None:
        level = m.delay_level
    else:
        level = delay_level_of(props) if MessageConst.PROPERTY_DELAY_TIME_LEVEL in props else 0
    if batch and (tran != TRANSACTION_NOT_TYPE or level > 0):
        return _illegal("batch messages support neither transactions nor delay")
    if level > 0 and tran in (TRANSACTION_NOT_TYPE, TRANSACTION_COMMIT_TYPE) and topic != SCHEDULE_TOPIC and delay_levels:
        level = min(level, max(delay_levels))
        props[MessageConst.PROPERTY_DELAY_TIME_LEVEL] = str(level)
        props[MessageConst.PROPERTY_REAL_TOPIC] = topic
        props[MessageConst.PROPERTY_REAL_QUEUE_ID] = str(queue_id)
        text = encode_properties(props)
        text_bytes = text.encode("utf-8")
        topic, queue_id = SCHEDULE_TOPIC, level - 1
        topic_bytes = topic.encode("utf-8")
    try:
        if is_ipv6_host(m.born_host[0]):
            sys_flag |= MessageSysFlag.BORNHOST_V6_FLAG
        if is_ipv6_host(m.store_host[0]):
            sys_flag |= MessageSysFlag.STOREHOSTADDRESS_V6_FLAG
    except ValueError as e:
        return _illegal(f"bad host address: {e}")
    return topic, queue_id, sys_flag, props, text, text_bytes, topic_bytes


def to_message_ext(m: MessageToStore, now_ms: int, batch: bool, max_message_size: int,
                   delay_levels: dict[int, int]) -> tuple[MessageExt, dict[str, str]] | PutResult:
    """Validate one message; return (record to encode with offsets 0, its properties) or a refusal."""
    res = check_message(m, batch, max_message_size, delay_levels)
    if isinstance(res, PutResult):
        return res
    topic, queue_id, sys_flag, props, text, _, _ = res
    ext = MessageExt(
        topic=topic, body=bytes(m.body), flag=m.flag, properties=props, queue_id=queue_id, sys_flag=sys_flag,
        born_timestamp=m.born_timestamp, born_host=m.born_host, store_timestamp=now_ms, store_host=m.store_host,
        body_crc=crc32_body(m.body), reconsume_times=m.reconsume_times,
        prepared_transaction_offset=m.prepared_transaction_offset, properties_string=text,
    )
    return ext, props


def check_batch(msgs: list[MessageExt], max_message_size: int) -> PutResult | None:
    """Batch-level refusals (rule 4), or None."""
    first = msgs[0]
    if any(e.topic != first.topic or e.queue_id != first.queue_id for e in msgs):
        return _illegal("batch messages must share topic and queue")
    if sum(22 + len(e.body) + len(e.encoded_properties().encode("utf-8")) for e in msgs) > max_message_size:
        return _illegal("batch body exceeds maxMessageSize")
    return None
