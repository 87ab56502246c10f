"""Java text formats that mqadmin prints, reproduced for ``python -m rmqlite admin`` (pure).

How it works:
1. ``version_desc(n)`` maps a remoting ``version`` number to RocketMQ's ``MQVersion.Version``
   name (``401`` -> ``V4_9_4``), the table being the enum's declaration order.
2. ``hashmap_order(keys)`` gives the iteration order of a ``java.util.HashMap`` filled with
   ``keys`` in that order (bucket = spread hash & (capacity - 1), capacity doubling past 0.75
   load, insertion order inside a bucket), so ``{K=V, ...}`` property dumps match Java's.
3. ``pretty_json`` is fastjson's ``toJSONString(obj, true)``: tab indents, and maps with
   numeric keys written on one line with the closing brace on the next.
4. ``human_time`` is ``UtilAll.timeMillisToHumanString2`` (local time, ``,SSS`` millis);
   ``message_ext_str`` is ``MessageExt.toString()`` of a message a Java client pulled.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from rmqlite.common.message import MessageExt, java_string_hash

__all__ = ["version_desc", "hashmap_order", "java_map_str", "pretty_json", "human_time", "date_time",
           "message_ext_str", "mq_str", "java_bytes_str", "parse_timestamp"]

_SPECIAL = (["V3_0_0_SNAPSHOT", "V3_0_0_ALPHA1"] + [f"V3_0_0_BETA{i}" for i in range(1, 6)]
            + [n for i in range(6, 10) for n in (f"V3_0_0_BETA{i}_SNAPSHOT", f"V3_0_0_BETA{i}")]
            + ["V3_0_0_FINAL"])


def _pairs(versions: Iterable[tuple[int, int, int]]) -> list[str]:
    return [n for (a, b, c) in versions for n in (f"V{a}_{b}_{c}_SNAPSHOT", f"V{a}_{b}_{c}")]


def _build_versions() -> list[str]:
    names = list(_SPECIAL)
    names += _pairs((3, 0, p) for p in range(1, 16))
    names += _pairs((3, m, p) for m in (1, 2) for p in range(10))
    names += _pairs((3, m, p) for m in range(3, 10) for p in range(1, 10))   # there is no V3_3_0 .. V3_9_0
    names += _pairs((a, m, p) for a in (4, 5) for m in range(10) for p in range(10))
    return names + ["HIGHER_VERSION"]


_VERSIONS = _build_versions()


def version_desc(value: int) -> str:
    """``MQVersion.getVersionDesc``: the enum name of a version ordinal (last one when too big)."""
    if value < 0:
        return _VERSIONS[0]
    return _VERSIONS[min(value, len(_VERSIONS) - 1)]


def hashmap_order(keys: Iterable[str]) -> list[str]:
    """Iteration order of a Java HashMap<String, ?> into which ``keys`` were put in this order."""
    unique: list[str] = []
    seen: set[str] = set()
    for k in keys:
        if k not in seen:
            seen.add(k)
            unique.append(k)
    capacity = 16
    while len(unique) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key: str) -> int:
        h = java_string_hash(key) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(unique, key=lambda k: bucket(k))   # sort is stable: insertion order inside a bucket


def java_map_str(mapping: dict[str, str], order: list[str] | None = None) -> str:
    """``AbstractMap.toString()`` of a HashMap: ``{k=v, k2=v2}``."""
    keys = hashmap_order(order or list(mapping))
    return "{" + ", ".join(f"{k}={mapping[k]}" for k in keys if k in mapping) + "}"


def pretty_json(obj: Any, indent: int = 0) -> str:
    """fastjson ``JSON.toJSONString(obj, true)``."""
    tab = "\t"
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        if all(isinstance(k, int) for k in obj):
            inner = ",".join(f"{k}:{pretty_json(v, indent + 1)}" for k, v in obj.items())
            return "{" + inner + "\n" + tab * indent + "}"
        parts = [f"\n{tab * (indent + 1)}{_json_str(str(k))}:{pretty_json(v, indent + 1)}" for k, v in obj.items()]
        return "{" + ",".join(parts) + "\n" + tab * indent + "}"
    if isinstance(obj, list):
        if not obj:
            return "[]"
        parts = [f"\n{tab * (indent + 1)}{pretty_json(v, indent + 1)}" for v in obj]
        return "[" + ",".join(parts) + "\n" + tab * indent + "]"
    if isinstance(obj, str):
        return _json_str(obj)
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if obj is None:
        return "null"
    return str(obj)


def _json_str(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)


def human_time(ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss,SSS`` in local time."""
    t = time.localtime(ms / 1000.0)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + f",{ms % 1000:03d}"


def date_time(ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in local time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000.0))


def parse_timestamp(text: str) -> int:
    """mqadmin time arguments: epoch millis or ``yyyy-MM-dd#HH:mm:ss:SSS`` (local time)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        head, millis = text.rsplit(":", 1)
        t = time.strptime(head, "%Y-%m-%d#%H:%M:%S")
    except ValueError:
        raise ValueError(f"bad timestamp {text!r}: use epoch millis or yyyy-MM-dd#HH:mm:ss:SSS") from None
    return int(time.mktime(t)) * 1000 + int(millis)


def java_bytes_str(body: bytes) -> str:
    """``Arrays.toString(byte[])`` (signed bytes)."""
    return "[" + ", ".join(str(b - 256 if b > 127 else b) for b in body) + "]"


def mq_str(topic: str, broker_name: str, queue_id: int) -> str:
    """``MessageQueue.toString()``."""
    return f"MessageQueue [topic={topic}, brokerName={broker_name}, queueId={queue_id}]"


def _host(h: tuple[str, int]) -> str:
    return f"/{h[0]}:{h[1]}"


def message_ext_str(msg: MessageExt, broker_name: str | None, extra_props: dict[str, str] | None = None) -> str:
    """``MessageExt.toString()`` of a message a Java client pulled (MIN/MAX_OFFSET added last)."""
    props = dict(msg.properties)
    order = list(msg.properties)
    for k, v in (extra_props or {}).items():
        props[k] = v
        order.append(k)
    props_text = java_map_str(props, order)
    inner = (f"Message{{topic='{msg.topic}', flag={msg.flag}, properties={props_text}, "
             f"body={java_bytes_str(msg.body)}, transactionId='null'}}")
    return (f"MessageExt [brokerName={broker_name}, queueId={msg.queue_id}, storeSize={msg.store_size}, "
            f"queueOffset={msg.queue_offset}, sysFlag={msg.sys_flag}, bornTimestamp={msg.born_timestamp}, "
            f"bornHost={_host(msg.born_host)}, storeTimestamp={msg.store_timestamp}, "
            f"storeHost={_host(msg.store_host)}, msgId={msg.offset_msg_id}, "
            f"commitLogOffset={msg.commit_log_offset}, bodyCRC={msg.body_crc}, "
            f"reconsumeTimes={msg.reconsume_times}, preparedTransactionOffset={msg.prepared_transaction_offset}, "
            f"toString()={inner}]")
