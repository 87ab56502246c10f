"""Nameserver bodies: RegisterBrokerBody in, TopicRouteData / ClusterInfo / TopicList / KVTable out.

How it works:
1. ``decode_register_body`` reads both forms a broker sends: the fastjson RegisterBrokerBody
   and the ``compressed`` zlib form (int len + DataVersion JSON, int n, n x (int len +
   "name read write perm filterType"), int len + filter-server JSON list). Bad input raises
   ``BodyError`` with the reason; nothing is half-applied.
2. Encoders emit exactly what Java's fastjson emits: bean properties alphabetically, nulls
   omitted, maps and sets in the Java ``HashMap`` order the caller already applied.
3. ``compact`` output (fastjson defaults) writes ``Map<Long, String>`` keys unquoted
   (``{0:"ip:port"}``); Go v2.0.0 depends on that.
4. ``standard`` output (4.9.4 route for request version >= 401 / acceptStandardJsonOnly) is
   fastjson with BrowserCompatible + MapSortField: every map sorted by key, all keys quoted,
   ``/`` written ``\\/`` and every char >= 0x7F as an upper-case ``\\uXXXX`` escape.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from rmqlite.remoting import fastjson

__all__ = [
    "BodyError", "DataVersion", "TopicConfig", "RegisterBrokerBody", "decode_register_body",
    "encode_register_body", "encode_data_version", "decode_data_version", "dumps_compact",
    "dumps_standard", "encode_topic_list", "encode_kv_table",
]

TOPIC_FILTER_TYPES = ("SINGLE_TAG", "MULTI_TAG")


class BodyError(ValueError):
    """A request body could not be decoded."""


@dataclass(frozen=True, slots=True)
class DataVersion:
    """A broker's topic-config version; equal when timestamp and counter are."""

    timestamp: int = 0
    counter: int = 0


@dataclass(slots=True)
class TopicConfig:
    """The parts of a broker's TopicConfig the nameserver uses (Java defaults)."""

    topic_name: str
    read_queue_nums: int = 16
    write_queue_nums: int = 16
    perm: int = 6
    topic_filter_type: str = "SINGLE_TAG"
    topic_sys_flag: int = 0
    order: bool = False

    def to_json_obj(self) -> dict[str, Any]:
        """The fastjson bean form (alphabetical properties)."""
        return {"order": self.order, "perm": self.perm, "readQueueNums": self.read_queue_nums,
                "topicFilterType": self.topic_filter_type, "topicName": self.topic_name,
                "topicSysFlag": self.topic_sys_flag, "writeQueueNums": self.write_queue_nums}


@dataclass(slots=True)
class RegisterBrokerBody:
    """Decoded REGISTER_BROKER body. ``data_version`` None = body carried none."""

    data_version: DataVersion | None = None
    topic_configs: list[TopicConfig] = field(default_factory=list)
    filter_server_list: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ decoding


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BodyError(f"{what}: not an integer: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise BodyError(f"{what}: not an integer: {value!r}") from None


def decode_data_version(obj: Any) -> DataVersion:
    """DataVersion from parsed JSON (``{"counter":N,"timestamp":T}``) or raw bytes."""
    if isinstance(obj, (bytes, bytearray)):
        obj = _loads(bytes(obj), "DataVersion")
    if not isinstance(obj, dict):
        raise BodyError(f"DataVersion is not an object: {obj!r:.60}")
    return DataVersion(timestamp=_int(obj.get("timestamp", 0), "dataVersion.timestamp"),
                       counter=_int(obj.get("counter", 0), "dataVersion.counter"))


def encode_data_version(dv: DataVersion) -> bytes:
    """fastjson form of a DataVersion."""
    return fastjson.dumps({"counter": dv.counter, "timestamp": dv.timestamp}).encode()


def _loads(data: bytes, what: str) -> Any:
    try:
        return fastjson.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, IndexError, ValueError) as e:
        raise BodyError(f"{what}: bad JSON: {e}") from None


def _topic_config_from_json(name: str, obj: Any) -> TopicConfig:
    if not isinstance(obj, dict):
        raise BodyError(f"topicConfigTable[{name!r}] is not an object")
    topic = obj.get("topicName")
    topic = name if topic is None else str(topic)
    return TopicConfig(
        topic_name=topic,
        read_queue_nums=_int(obj.get("readQueueNums", 16), f"{topic}.readQueueNums"),
        write_queue_nums=_int(obj.get("writeQueueNums", 16), f"{topic}.writeQueueNums"),
        perm=_int(obj.get("perm", 6), f"{topic}.perm"),
        topic_filter_type=str(obj.get("topicFilterType", "SINGLE_TAG")),
        topic_sys_flag=_int(obj.get("topicSysFlag", 0), f"{topic}.topicSysFlag"),
        order=obj.get("order") is True or obj.get("order") == "true",
    )


def _decode_json_body(data: bytes) -> RegisterBrokerBody:
    root = _loads(data, "RegisterBrokerBody")
    if not isinstance(root, dict):
        raise BodyError("RegisterBrokerBody is not a JSON object")
    body = RegisterBrokerBody()
    wrapper = root.get("topicConfigSerializeWrapper")
    if wrapper is not None:
        if not isinstance(wrapper, dict):
            raise BodyError("topicConfigSerializeWrapper is not an object")
        if wrapper.get("dataVersion") is not None:
            body.data_version = decode_data_version(wrapper["dataVersion"])
        table = wrapper.get("topicConfigTable") or {}
        if not isinstance(table, dict):
            raise BodyError("topicConfigTable is not an object")
        body.topic_configs = [_topic_config_from_json(str(k), v) for k, v in table.items()]
    servers = root.get("filterServerList")
    if servers is not None:
        if not isinstance(servers, list):
            raise BodyError("filterServerList is not a list")
        body.filter_server_list = [str(s) for s in servers]
    return body


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BodyError("compressed RegisterBrokerBody: End of compressed data has reached")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def text(self) -> str:
        try:
            return self.take(self.int()).decode("utf-8")
        except UnicodeDecodeError as e:
            raise BodyError(f"compressed RegisterBrokerBody: {e}") from None


def _topic_config_from_text(text: str) -> TopicConfig:
    parts = text.split(" ")
    if len(parts) != 5 or parts[4] not in TOPIC_FILTER_TYPES:
        raise BodyError(f"compressed RegisterBrokerBody: bad topic config {text[:80]!r}")
    return TopicConfig(topic_name=parts[0], read_queue_nums=_int(parts[1], "readQueueNums"),
                       write_queue_nums=_int(parts[2], "writeQueueNums"),
                       perm=_int(parts[3], "perm"), topic_filter_type=parts[4])


def _decode_compressed_body(data: bytes) -> RegisterBrokerBody:
    try:
        raw = zlib.decompressobj().decompress(data)
    except zlib.error as e:
        raise BodyError(f"compressed RegisterBrokerBody: {e}") from None
    reader = _Reader(raw)
    body = RegisterBrokerBody(data_version=decode_data_version(_loads(reader.take(reader.int()),
                                                                      "DataVersion")))
    count = reader.int()
    if count < 0:
        raise BodyError(f"compressed RegisterBrokerBody: negative topic count {count}")
    body.topic_configs = [_topic_config_from_text(reader.text()) for _ in range(count)]
    try:  # Java logs a bad filter-server list and goes on with an empty one
        servers = fastjson.loads(reader.text())
        body.filter_server_list = [str(s) for s in servers] if isinstance(servers, list) else []
    except (json.JSONDecodeError, ValueError, IndexError):
        body.filter_server_list = []
    return body


def decode_register_body(data: bytes, compressed: bool) -> RegisterBrokerBody:
    """Decode a REGISTER_BROKER body (``compressed`` = the request's ``compressed`` ext)."""
    if compressed:
        return _decode_compressed_body(data)
    return _decode_json_body(data)


def encode_register_body(data_version: DataVersion, topics: list[TopicConfig],
                         filter_servers: list[str] | None = None, compressed: bool = False) -> bytes:
    """Build a RegisterBrokerBody as a Java broker sends it (for brokers and tests)."""
    servers = list(filter_servers or [])
    if not compressed:
        obj = {"filterServerList": servers, "topicConfigSerializeWrapper": {
            "dataVersion": {"counter": data_version.counter, "timestamp": data_version.timestamp},
            "topicConfigTable": {t.topic_name: t.to_json_obj() for t in topics}}}
        return fastjson.dumps(obj).encode()
    parts = [encode_data_version(data_version)]
    out = [struct.pack(">i", len(parts[0])), parts[0], struct.pack(">i", len(topics))]
    for t in topics:
        line = (f"{t.topic_name} {t.read_queue_nums} {t.write_queue_nums} {t.perm} "
                f"{t.topic_filter_type}").encode()
        out += [struct.pack(">i", len(line)), line]
    servers_json = fastjson.dumps(servers).encode()
    out += [struct.pack(">i", len(servers_json)), servers_json]
    return zlib.compress(b"".join(out), 9)


# ------------------------------------------------------------------ encoding


# fastjson also escapes U+007F..U+009F, U+2028 and U+2029 in its default mode; these chars
# only occur inside JSON strings, so escaping them in the finished text is safe (and a no-op
# once rmqlite.remoting.fastjson does it itself).
_FASTJSON_EXTRA_ESCAPES = {c: "\\u%04X" % c for c in [*range(0x7F, 0xA0), 0x2028, 0x2029]}


def dumps_compact(obj: Any) -> bytes:
    """fastjson default output (``RemotingSerializable.encode``)."""
    return fastjson.dumps(obj).translate(_FASTJSON_EXTRA_ESCAPES).encode("utf-8")


def _browser_str(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\/':
            out.append("\\" + ch)
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 0x20 or 0x7F <= code <= 0xFFFF:
            out.append("\\u%04X" % code)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append("\\u%04X\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _sort_key(key: Any) -> Any:
    return key.encode("utf-16-be") if isinstance(key, str) else key


def _standard(obj: Any, out: list[str]) -> None:
    if isinstance(obj, dict):
        out.append("{")
        for i, key in enumerate(sorted(obj, key=_sort_key)):
            out.append("," if i else "")
            out.append(_browser_str(str(key)))
            out.append(":")
            _standard(obj[key], out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, item in enumerate(obj):
            out.append("," if i else "")
            _standard(item, out)
        out.append("]")
    elif isinstance(obj, str):
        out.append(_browser_str(obj))
    elif obj is True or obj is False or obj is None:
        out.append(json.dumps(obj))
    elif isinstance(obj, int):
        out.append(str(obj) if -9007199254740991 <= obj <= 9007199254740991 else f'"{obj}"')
    else:
        raise TypeError(f"cannot serialize {type(obj).__name__}")


def dumps_standard(obj: Any) -> bytes:
    """fastjson with BrowserCompatible, QuoteFieldNames, SkipTransientField, MapSortField.

    Beans are passed as dicts (sorted like any map, which matches fastjson's SortField).
    """
    out: list[str] = []
    _standard(obj, out)
    return "".join(out).encode("ascii")


def encode_topic_list(topics: list[str], broker_addr: str | None = None) -> bytes:
    """TopicList bean: ``{"brokerAddr":...,"topicList":[...]}`` (brokerAddr omitted when None)."""
    obj: dict[str, Any] = {}
    if broker_addr is not None:
        obj["brokerAddr"] = broker_addr
    obj["topicList"] = list(topics)
    return dumps_compact(obj)


def encode_kv_table(items: list[tuple[str, str]]) -> bytes:
    """KVTable bean: ``{"table":{k:v,...}}`` (items already in Java order)."""
    return dumps_compact({"table": dict(items)})
