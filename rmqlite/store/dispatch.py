"""What the store derives from one commitlog record to build consume queues and the index.

How it works:
1. ``parse_dispatch`` reads the fields dispatch needs from a stored record (topic, queue, offsets,
   sysflag, store time, properties) without copying the body.
2. tagsCode = Java hashCode of TAGS (0 without tags); for ``SCHEDULE_TOPIC_XXXX`` records with a
   DELAY level it is the delivery time: store time + that level's delay (wire-facts 6.4).
3. Only NOT/COMMIT transaction types enter a consume queue; the index skips ROLLBACK (index_file).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rmqlite.common.message import (
    TRANSACTION_COMMIT_TYPE,
    TRANSACTION_NOT_TYPE,
    MessageConst,
    MessageSysFlag,
    RecordError,
    decode_properties,
    java_string_hash,
)

SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX"
_HEAD = struct.Struct(">iIiiiqqi")
_Q = struct.Struct(">q")
_I = struct.Struct(">i")
_H = struct.Struct(">h")
_UNITS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(slots=True)
class DispatchRequest:
    """One record's consume-queue and index inputs (Java ``DispatchRequest``)."""

    topic: str
    queue_id: int
    phys_offset: int
    size: int
    tags_code: int
    store_timestamp: int
    queue_offset: int
    sys_flag: int
    properties: dict[str, str]

    @property
    def enters_consume_queue(self) -> bool:
        return MessageSysFlag.get_transaction_value(self.sys_flag) in (TRANSACTION_NOT_TYPE, TRANSACTION_COMMIT_TYPE)


def parse_delay_levels(spec: str) -> dict[int, int]:
    """``"1s 5s 10s ... 2h"`` -> {1: 1000, 2: 5000, ...} (Java ``parseDelayLevel``)."""
    out: dict[int, int] = {}
    for i, word in enumerate(spec.split(), start=1):
        unit = _UNITS.get(word[-1:])
        if unit is None or not word[:-1].isdigit():
            raise ValueError(f"bad delay level {word!r}")
        out[i] = int(word[:-1]) * unit
    return out


def delay_level_of(props: dict[str, str]) -> int:
    """The DELAY property as an int (0 when absent or not a number)."""
    try:
        return int(props.get(MessageConst.PROPERTY_DELAY_TIME_LEVEL, "0"))
    except ValueError:
        return 0


def compute_tags_code(topic: str, props: dict[str, str], store_ts: int, delay_levels: dict[int, int]) -> int:
    """tagsCode for the consume queue (rule 2)."""
    tags = props.get(MessageConst.PROPERTY_TAGS)
    code = java_string_hash(tags) if tags else 0
    if topic == SCHEDULE_TOPIC and MessageConst.PROPERTY_DELAY_TIME_LEVEL in props and delay_levels:
        level = min(delay_level_of(props), max(delay_levels))
        if level > 0:
            code = store_ts + delay_levels[level]
    return code


def parse_dispatch(record: bytes, delay_levels: dict[int, int]) -> DispatchRequest:
    """Dispatch inputs of one stored record (rule 1). Raises ``RecordError`` on garbage."""
    try:
        total, _magic, _crc, queue_id, _flag, queue_offset, phys, sys_flag = _HEAD.unpack_from(record, 0)
        born = 20 if sys_flag & MessageSysFlag.BORNHOST_V6_FLAG else 8
        store = 20 if sys_flag & MessageSysFlag.STOREHOSTADDRESS_V6_FLAG else 8
        (store_ts,) = _Q.unpack_from(record, 48 + born)
        p = 48 + born + 8 + store + 12
        (body_len,) = _I.unpack_from(record, p)
        p += 4 + body_len
        topic_len = record[p]
        topic = record[p + 1 : p + 1 + topic_len].decode("utf-8", "replace")
        p += 1 + topic_len
        (props_len,) = _H.unpack_from(record, p)
        props = decode_properties(record[p + 2 : p + 2 + max(props_len, 0)].decode("utf-8", "replace"))
    except (struct.error, IndexError) as e:
        raise RecordError(f"cannot dispatch record: {e}") from e
    return DispatchRequest(
        topic=topic, queue_id=queue_id, phys_offset=phys, size=total,
        tags_code=compute_tags_code(topic, props, store_ts, delay_levels), store_timestamp=store_ts,
        queue_offset=queue_offset, sys_flag=sys_flag, properties=props,
    )
