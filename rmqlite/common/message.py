"""RocketMQ message encodings: stored record, properties string, batch body, ids, hashes.

How it works (wire-facts section 4; Java ``MessageDecoder`` / ``CommitLog`` of 4.9.4):
1. A stored record is a big-endian struct: TOTALSIZE, MAGIC, BODYCRC, QUEUEID, FLAG, QUEUEOFFSET,
   PHYSICALOFFSET, SYSFLAG, BORNTIMESTAMP, BORNHOST, STORETIMESTAMP, STOREHOST, RECONSUMETIMES,
   PREPARED_TX_OFFSET, BODYLEN+BODY, TOPICLEN(1)+TOPIC, PROPLEN(2)+PROPERTIES. Hosts are 4+4 bytes
   (IPv4 + port) unless SYSFLAG bit 0x10 (born) / 0x20 (store) says IPv6 (16+4).
2. ``encode_record`` writes every field exactly as given (the store fills in offsets, times, CRC);
   ``decode_record`` is its inverse and keeps the raw properties text, so decode→encode is byte-exact.
   ``pack_record`` writes the same bytes from already-encoded parts (the store's per-message path).
3. Properties are ``name\\x01value\\x02`` pairs; we encode like Java 4.9.1+ (no trailing \\x02) and decode
   like Java (split on \\x02, then on the first \\x01; pairs with empty key or value are dropped).
4. Strings are UTF-8 on the wire; hashes (tagsCode, index keys) are Java ``String.hashCode`` over
   UTF-16 code units, signed 32-bit. BODYCRC is zlib CRC32 & 0x7FFFFFFF.
5. Nothing here does I/O: bytes in, values out; malformed input raises ``RecordError`` (a ValueError).
"""

from __future__ import annotations

import functools
import ipaddress
import operator
import struct
import zlib
from dataclasses import dataclass, field
from typing import Iterator, Mapping

Host = tuple[str, int]

MESSAGE_MAGIC_CODE = 0xDAA320A7  # -626843481 as a Java int
BLANK_MAGIC_CODE = 0xCBD43194  # -875286124 as a Java int
NAME_VALUE_SEPARATOR = "\x01"
PROPERTY_SEPARATOR = "\x02"
MAX_TOPIC_BYTES = 127  # TOPICLEN is a signed byte
MAX_PROPERTIES_BYTES = 32767  # PROPLEN is a signed short


class RecordError(ValueError):
    """Bytes that are not a well-formed record / batch / id."""


class MessageSysFlag:
    """Bits of SYSFLAG (Java ``MessageSysFlag``)."""

    COMPRESSED_FLAG = 0x1
    MULTI_TAGS_FLAG = 0x2
    TRANSACTION_NOT_TYPE = 0x0
    TRANSACTION_PREPARED_TYPE = 0x4
    TRANSACTION_COMMIT_TYPE = 0x8
    TRANSACTION_ROLLBACK_TYPE = 0xC
    BORNHOST_V6_FLAG = 0x10
    STOREHOSTADDRESS_V6_FLAG = 0x20
    NEED_UNWRAP_FLAG = 0x40
    INNER_BATCH_FLAG = 0x80
    COMPRESSION_LZ4_TYPE = 0x100
    COMPRESSION_ZSTD_TYPE = 0x200
    COMPRESSION_ZLIB_TYPE = 0x300
    COMPRESSION_TYPE_COMPARATOR = 0x700

    @staticmethod
    def get_transaction_value(flag: int) -> int:
        """Transaction type bits (NOT/PREPARED/COMMIT/ROLLBACK)."""
        return flag & MessageSysFlag.TRANSACTION_ROLLBACK_TYPE

    @staticmethod
    def reset_transaction_value(flag: int, tran_type: int) -> int:
        """``flag`` with its transaction bits replaced by ``tran_type``."""
        return (flag & ~MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) | tran_type


TRANSACTION_NOT_TYPE = MessageSysFlag.TRANSACTION_NOT_TYPE
TRANSACTION_PREPARED_TYPE = MessageSysFlag.TRANSACTION_PREPARED_TYPE
TRANSACTION_COMMIT_TYPE = MessageSysFlag.TRANSACTION_COMMIT_TYPE
TRANSACTION_ROLLBACK_TYPE = MessageSysFlag.TRANSACTION_ROLLBACK_TYPE


class MessageConst:
    """Property names (Java ``MessageConst``, 4.9.4)."""

    PROPERTY_KEYS = "KEYS"
    PROPERTY_TAGS = "TAGS"
    PROPERTY_WAIT_STORE_MSG_OK = "WAIT"
    PROPERTY_DELAY_TIME_LEVEL = "DELAY"
    PROPERTY_RETRY_TOPIC = "RETRY_TOPIC"
    PROPERTY_REAL_TOPIC = "REAL_TOPIC"
    PROPERTY_REAL_QUEUE_ID = "REAL_QID"
    PROPERTY_TRANSACTION_PREPARED = "TRAN_MSG"
    PROPERTY_PRODUCER_GROUP = "PGROUP"
    PROPERTY_MIN_OFFSET = "MIN_OFFSET"
    PROPERTY_MAX_OFFSET = "MAX_OFFSET"
    PROPERTY_BUYER_ID = "BUYER_ID"
    PROPERTY_ORIGIN_MESSAGE_ID = "ORIGIN_MESSAGE_ID"
    PROPERTY_TRANSFER_FLAG = "TRANSFER_FLAG"
    PROPERTY_CORRECTION_FLAG = "CORRECTION_FLAG"
    PROPERTY_MQ2_FLAG = "MQ2_FLAG"
    PROPERTY_RECONSUME_TIME = "RECONSUME_TIME"
    PROPERTY_MSG_REGION = "MSG_REGION"
    PROPERTY_TRACE_SWITCH = "TRACE_ON"
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX = "UNIQ_KEY"
    PROPERTY_MAX_RECONSUME_TIMES = "MAX_RECONSUME_TIMES"
    PROPERTY_CONSUME_START_TIMESTAMP = "CONSUME_START_TIME"
    PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET = "TRAN_PREPARED_QUEUE_OFFSET"
    PROPERTY_TRANSACTION_CHECK_TIMES = "TRANSACTION_CHECK_TIMES"
    PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS = "CHECK_IMMUNITY_TIME_IN_SECONDS"
    PROPERTY_INSTANCE_ID = "INSTANCE_ID"
    PROPERTY_CORRELATION_ID = "CORRELATION_ID"
    PROPERTY_MESSAGE_REPLY_TO_CLIENT = "REPLY_TO_CLIENT"
    PROPERTY_MESSAGE_TTL = "TTL"
    PROPERTY_REPLY_MESSAGE_ARRIVE_TIME = "ARRIVE_TIME"
    PROPERTY_PUSH_REPLY_TIME = "PUSH_REPLY_TIME"
    PROPERTY_CLUSTER = "CLUSTER"
    PROPERTY_MESSAGE_TYPE = "MSG_TYPE"
    PROPERTY_INNER_MULTI_DISPATCH = "INNER_MULTI_DISPATCH"
    PROPERTY_INNER_MULTI_QUEUE_OFFSET = "INNER_MULTI_QUEUE_OFFSET"
    # client-internal names that also travel in properties
    PROPERTY_TRANSACTION_ID = "__transactionId__"
    PROPERTY_START_DELIVER_TIME = "__STARTDELIVERTIME"
    KEY_SEPARATOR = " "


# ----------------------------------------------------------------------------- hashes, CRC


_POW31 = tuple(pow(31, k, 1 << 32) for k in range(256))  # 31^k mod 2^32


def java_string_hash(s: str) -> int:
    """Java ``String.hashCode()``: s[0]*31^(n-1) + ... over UTF-16 code units, signed 32-bit."""
    h = 0
    if s.isascii() and len(s) <= 256:  # fast path: one code unit per byte; sum of c * 31^k in C, mask once
        h = sum(map(operator.mul, reversed(s.encode("ascii")), _POW31)) & 0xFFFFFFFF
    else:
        for (u,) in struct.iter_unpack(">H", s.encode("utf-16-be", "surrogatepass")):
            h = (31 * h + u) & 0xFFFFFFFF
    return h - 0x100000000 if h & 0x80000000 else h


def crc32_body(body: bytes) -> int:
    """BODYCRC as Java ``UtilAll.crc32``: zlib CRC32 & 0x7FFFFFFF."""
    return zlib.crc32(body) & 0x7FFFFFFF


def tags_code(tags: str | None) -> int:
    """CQ tagsCode for a TAGS value: its Java hashCode, 0 when there is no tag."""
    return java_string_hash(tags) if tags else 0


# ----------------------------------------------------------------------------- properties


def encode_properties(props: Mapping[str, str | None]) -> str:
    """``name\\x01value\\x02...`` in mapping order, without trailing \\x02; None values skipped."""
    return PROPERTY_SEPARATOR.join([f"{k}{NAME_VALUE_SEPARATOR}{v}" for k, v in props.items() if v is not None])


def decode_properties(s: str) -> dict[str, str]:
    """Parse a properties string exactly like Java ``string2messageProperties``."""
    out: dict[str, str] = {}
    for item in s.split(PROPERTY_SEPARATOR):
        if len(item) >= 3:
            key, _, value = item.partition(NAME_VALUE_SEPARATOR)   # the value may hold more \x01
            if key and value:
                out[key] = value
    return out


def merge_batch_properties(inner: str, outer: str) -> str:
    """4.9.4 batch store: inner message properties + batch-level ones (adds \\x02 when needed)."""
    if not inner or not outer:
        return inner + outer
    if inner.endswith(PROPERTY_SEPARATOR):
        return inner + outer
    return inner + PROPERTY_SEPARATOR + outer


# ----------------------------------------------------------------------------- hosts and ids


@functools.lru_cache(maxsize=4096)
def _pack_ip(ip: str, v6: bool) -> bytes:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError as e:
        raise RecordError(f"not an IP address: {ip!r}") from e
    if v6:
        return ipaddress.IPv6Address(addr.packed if addr.version == 6 else f"::ffff:{addr}").packed
    if addr.version == 6:
        mapped = addr.ipv4_mapped  # type: ignore[union-attr]
        if mapped is None:
            raise RecordError(f"IPv6 host {ip} needs the IPv6 sysflag bit")
        return mapped.packed
    return addr.packed


def _host_bytes(host: Host, v6: bool) -> bytes:
    ip, port = host
    if not -0x80000000 <= port <= 0x7FFFFFFF:
        raise RecordError(f"bad port {port}")
    return _pack_ip(ip, v6) + struct.pack(">i", port)


_HOST_BYTES: dict[tuple[Host, bool], bytes] = {}


def host_bytes(host: Host, v6: bool) -> bytes:
    """BORNHOST / STOREHOST bytes (IP + port; 8, or 20 with ``v6``), remembered per host.
    Raises ``RecordError`` for a bad address or port."""
    key = (host, v6)
    try:
        data = _HOST_BYTES.get(key)
    except TypeError:           # not hashable (a list): no caching
        return _host_bytes(host, v6)
    if data is None:
        data = _host_bytes(host, v6)
        if len(_HOST_BYTES) >= 4096:
            _HOST_BYTES.clear()
        _HOST_BYTES[key] = data
    return data


@functools.lru_cache(maxsize=4096)
def is_ipv6_host(ip: str) -> bool:
    """True when ``ip`` must be stored as a 16-byte IPv6 host (IPv4-mapped addresses are IPv4).
    Raises ``RecordError`` for something that is not an IP address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError as e:
        raise RecordError(f"not an IP address: {ip!r}") from e
    return addr.version == 6 and addr.ipv4_mapped is None  # type: ignore[union-attr]


def _host_from(buf: bytes | memoryview, pos: int, v6: bool) -> tuple[Host, int]:
    if v6:
        ip = str(ipaddress.IPv6Address(bytes(buf[pos : pos + 16])))
        n = 16
    else:
        ip = "%d.%d.%d.%d" % tuple(buf[pos : pos + 4])
        n = 4
    (port,) = struct.unpack_from(">i", buf, pos + n)
    return (ip, port), pos + n + 4


_ID_PREFIXES: dict[Host, str] = {}


def offset_msg_id(host: str, port: int, phys_offset: int) -> str:
    """Server-side message id: store host ip + port + commitlog offset, upper-case hex."""
    prefix = _ID_PREFIXES.get((host, port))
    if prefix is None:
        prefix = _host_bytes((host, port), is_ipv6_host(host)).hex().upper()
        if len(_ID_PREFIXES) >= 1024:
            _ID_PREFIXES.clear()
        _ID_PREFIXES[(host, port)] = prefix
    if 0 <= phys_offset < 1 << 63:
        return f"{prefix}{phys_offset:016X}"
    return prefix + struct.pack(">q", phys_offset).hex().upper()


def decode_offset_msg_id(msg_id: str) -> tuple[str, int, int]:
    """Inverse of ``offset_msg_id``: (ip, port, phys_offset). 32 hex chars = IPv4, 56 = IPv6."""
    if len(msg_id) not in (32, 56):
        raise RecordError(f"offset msg id must be 32 or 56 hex chars, got {len(msg_id)}")
    try:
        raw = bytes.fromhex(msg_id)
    except ValueError as e:
        raise RecordError(f"offset msg id is not hex: {msg_id!r}") from e
    (ip, port), pos = _host_from(raw, 0, len(raw) == 28)
    (offset,) = struct.unpack_from(">q", raw, pos)
    return ip, port, offset


# ----------------------------------------------------------------------------- records


@dataclass(slots=True)
class MessageExt:
    """A stored message (every field of wire-facts 4.1).

    ``properties_string`` is the raw text as stored; when it is not None, ``encode_record`` writes it
    verbatim (byte-exact round trips). Use ``set_property`` to change a property: it resets it.
    """

    topic: str = ""
    body: bytes = b""
    flag: int = 0
    properties: dict[str, str] = field(default_factory=dict)
    queue_id: int = 0
    store_size: int = 0
    queue_offset: int = 0
    sys_flag: int = 0
    born_timestamp: int = 0
    born_host: Host = ("127.0.0.1", 0)
    store_timestamp: int = 0
    store_host: Host = ("127.0.0.1", 0)
    commit_log_offset: int = 0
    body_crc: int = 0
    reconsume_times: int = 0
    prepared_transaction_offset: int = 0
    properties_string: str | None = None

    def get_property(self, name: str) -> str | None:
        """One property value, or None."""
        return self.properties.get(name)

    def set_property(self, name: str, value: str) -> None:
        """Set a property (the raw properties text is then re-encoded from the dict)."""
        self.properties[name] = value
        self.properties_string = None

    def encoded_properties(self) -> str:
        """Properties text as it will be stored."""
        if self.properties_string is not None:
            return self.properties_string
        return encode_properties(self.properties)

    @property
    def tags(self) -> str | None:
        return self.properties.get(MessageConst.PROPERTY_TAGS)

    @property
    def keys(self) -> list[str]:
        """KEYS tokens (space separated), empty ones dropped."""
        raw = self.properties.get(MessageConst.PROPERTY_KEYS, "")
        return [k for k in raw.split(MessageConst.KEY_SEPARATOR) if k]

    @property
    def uniq_key(self) -> str | None:
        return self.properties.get(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)

    @property
    def offset_msg_id(self) -> str:
        """Server id from STOREHOST + PHYSICALOFFSET."""
        return offset_msg_id(self.store_host[0], self.store_host[1], self.commit_log_offset)

    @property
    def msg_id(self) -> str:
        """Client-visible id: UNIQ_KEY if present, else the offset msg id."""
        return self.uniq_key or self.offset_msg_id


_HEAD = struct.Struct(">iIiiiqqiq")  # TOTALSIZE..BORNTIMESTAMP, 52 bytes
_MID = struct.Struct(">iq")  # RECONSUMETIMES, PREPARED TX OFFSET
_Q = struct.Struct(">q")
_I = struct.Struct(">i")
_H = struct.Struct(">h")


def record_length(sys_flag: int, body_len: int, topic_len: int, props_len: int) -> int:
    """TOTALSIZE of a record (Java ``calMsgLength``): 91 + data for IPv4 hosts, +12 per IPv6 host."""
    born = 20 if sys_flag & MessageSysFlag.BORNHOST_V6_FLAG else 8
    store = 20 if sys_flag & MessageSysFlag.STOREHOSTADDRESS_V6_FLAG else 8
    return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + born + 8 + store + 4 + 8 + 4 + body_len + 1 + topic_len + 2 + props_len


def encode_record(msg: MessageExt) -> bytes:
    """Encode a stored record from ``msg`` (fields written as given; TOTALSIZE computed)."""
    topic = msg.topic.encode("utf-8")
    props = msg.encoded_properties().encode("utf-8")
    if len(topic) > MAX_TOPIC_BYTES:
        raise RecordError(f"topic is {len(topic)} bytes, max {MAX_TOPIC_BYTES}")
    if len(props) > MAX_PROPERTIES_BYTES:
        raise RecordError(f"properties are {len(props)} bytes, max {MAX_PROPERTIES_BYTES}")
    sf = msg.sys_flag
    total = record_length(sf, len(msg.body), len(topic), len(props))
    return b"".join(
        (
            _HEAD.pack(total, MESSAGE_MAGIC_CODE, msg.body_crc, msg.queue_id, msg.flag, msg.queue_offset,
                       msg.commit_log_offset, sf, msg.born_timestamp),
            _host_bytes(msg.born_host, bool(sf & MessageSysFlag.BORNHOST_V6_FLAG)),
            _Q.pack(msg.store_timestamp),
            _host_bytes(msg.store_host, bool(sf & MessageSysFlag.STOREHOSTADDRESS_V6_FLAG)),
            _MID.pack(msg.reconsume_times, msg.prepared_transaction_offset),
            _I.pack(len(msg.body)), msg.body,
            bytes((len(topic),)), topic,
            _H.pack(len(props)), props,
        )
    )


_MID_BODYLEN = struct.Struct(">iqi")  # RECONSUMETIMES, PREPARED TX OFFSET, BODYLEN
_TOPIC_LEN = [bytes((n,)) for n in range(MAX_TOPIC_BYTES + 1)]


def pack_record(topic: bytes, body: bytes, props: bytes, body_crc: int, queue_id: int, flag: int,
                queue_offset: int, phys_offset: int, sys_flag: int, born_timestamp: int, born_host: bytes,
                store_timestamp: int, store_host: bytes, reconsume_times: int,
                prepared_transaction_offset: int) -> bytes:
    """``encode_record`` from already-encoded parts (topic and properties UTF-8, hosts from ``host_bytes``
    matching the SYSFLAG v6 bits); the caller has checked the topic and properties lengths."""
    total = 75 + len(born_host) + len(store_host) + len(body) + len(topic) + len(props)
    return b"".join((
        _HEAD.pack(total, MESSAGE_MAGIC_CODE, body_crc, queue_id, flag, queue_offset, phys_offset, sys_flag,
                   born_timestamp),
        born_host, _Q.pack(store_timestamp), store_host,
        _MID_BODYLEN.pack(reconsume_times, prepared_transaction_offset, len(body)), body,
        _TOPIC_LEN[len(topic)], topic, _H.pack(len(props)), props,
    ))


def decode_record(buf: bytes | bytearray | memoryview, offset: int = 0, check_crc: bool = False) -> tuple[MessageExt, int]:
    """Decode the record at ``buf[offset:]``; returns (message, TOTALSIZE). Raises ``RecordError``."""
    try:
        return _decode_record(buf, offset, check_crc)
    except (struct.error, IndexError, ValueError) as e:
        if isinstance(e, RecordError):
            raise
        raise RecordError(f"malformed record at {offset}: {e}") from e


def _decode_record(buf: bytes | bytearray | memoryview, offset: int, check_crc: bool) -> tuple[MessageExt, int]:
    (total, magic, body_crc, queue_id, flag, queue_offset, phys, sys_flag, born_ts) = _HEAD.unpack_from(buf, offset)
    if magic != MESSAGE_MAGIC_CODE:
        raise RecordError(f"bad magic 0x{magic:08X} at {offset}")
    if total < 91 or offset + total > len(buf):
        raise RecordError(f"record size {total} at {offset} exceeds buffer of {len(buf)}")
    pos = offset + _HEAD.size
    born_host, pos = _host_from(buf, pos, bool(sys_flag & MessageSysFlag.BORNHOST_V6_FLAG))
    (store_ts,) = _Q.unpack_from(buf, pos)
    store_host, pos = _host_from(buf, pos + 8, bool(sys_flag & MessageSysFlag.STOREHOSTADDRESS_V6_FLAG))
    reconsume, prepared = _MID.unpack_from(buf, pos)
    (body_len,) = _I.unpack_from(buf, pos + 12)
    pos += 16
    if body_len < 0 or pos + body_len > offset + total:
        raise RecordError(f"bad body length {body_len} at {offset}")
    body = bytes(buf[pos : pos + body_len])
    pos += body_len
    if check_crc and crc32_body(body) != body_crc:
        raise RecordError(f"body CRC mismatch at {offset}")
    topic_len = buf[pos]
    if topic_len > MAX_TOPIC_BYTES:
        raise RecordError(f"bad topic length {topic_len} at {offset}")
    topic = bytes(buf[pos + 1 : pos + 1 + topic_len]).decode("utf-8", "replace")
    pos += 1 + topic_len
    (props_len,) = _H.unpack_from(buf, pos)
    if props_len < 0 or record_length(sys_flag, body_len, topic_len, props_len) != total:
        raise RecordError(f"record at {offset}: TOTALSIZE {total} disagrees with its field lengths")
    props_text = bytes(buf[pos + 2 : pos + 2 + props_len]).decode("utf-8", "replace")
    msg = MessageExt(
        topic=topic, body=body, flag=flag, properties=decode_properties(props_text), queue_id=queue_id,
        store_size=total, queue_offset=queue_offset, sys_flag=sys_flag, born_timestamp=born_ts,
        born_host=born_host, store_timestamp=store_ts, store_host=store_host, commit_log_offset=phys,
        body_crc=body_crc, reconsume_times=reconsume, prepared_transaction_offset=prepared,
        properties_string=props_text,
    )
    return msg, total


def decode_records(buf: bytes | bytearray | memoryview, check_crc: bool = False) -> list[MessageExt]:
    """Decode concatenated records (a pull / query body)."""
    return list(iter_records(buf, check_crc))


def iter_records(buf: bytes | bytearray | memoryview, check_crc: bool = False) -> Iterator[MessageExt]:
    """Yield the records of a concatenation, in order; raises ``RecordError`` on garbage."""
    pos = 0
    while pos < len(buf):
        msg, size = decode_record(buf, pos, check_crc)
        yield msg
        pos += size


def record_store_timestamp(buf: bytes | bytearray | memoryview, offset: int = 0) -> int:
    """STORETIMESTAMP of the record at ``offset`` without decoding the rest."""
    (sys_flag,) = _I.unpack_from(buf, offset + 36)
    born = 20 if sys_flag & MessageSysFlag.BORNHOST_V6_FLAG else 8
    return _Q.unpack_from(buf, offset + 48 + born)[0]


def patch_offsets(record: bytearray, queue_offset: int, phys_offset: int, base: int = 0) -> None:
    """Write QUEUEOFFSET (@20) and PHYSICALOFFSET (@28) into an encoded record in place."""
    struct.pack_into(">qq", record, base + 20, queue_offset, phys_offset)


# ----------------------------------------------------------------------------- batch body


@dataclass(slots=True)
class BatchItem:
    """One inner message of a SEND_BATCH_MESSAGE body."""

    flag: int
    body: bytes
    properties_string: str

    @property
    def properties(self) -> dict[str, str]:
        return decode_properties(self.properties_string)


_BATCH_HEAD = struct.Struct(">iiiii")  # TOTALSIZE, MAGIC, BODYCRC, FLAG, BODYLEN


def decode_batch_body(body: bytes | bytearray | memoryview) -> list[BatchItem]:
    """Split a batch body (wire-facts 4.6) into its inner messages. Raises ``RecordError``."""
    items: list[BatchItem] = []
    pos = 0
    n = len(body)
    try:
        while pos < n:
            total, _magic, _crc, flag, body_len = _BATCH_HEAD.unpack_from(body, pos)
            start = pos + _BATCH_HEAD.size
            if body_len < 0 or start + body_len + 2 > n:
                raise RecordError(f"batch item at {pos}: bad body length {body_len}")
            (props_len,) = _H.unpack_from(body, start + body_len)
            end = start + body_len + 2 + props_len
            if props_len < 0 or end > n or total != end - pos:
                raise RecordError(f"batch item at {pos}: sizes disagree")
            props = bytes(body[start + body_len + 2 : end]).decode("utf-8", "replace")
            items.append(BatchItem(flag, bytes(body[start : start + body_len]), props))
            pos = end
    except struct.error as e:
        raise RecordError(f"truncated batch body at {pos}") from e
    return items


def encode_batch_body(items: list[BatchItem]) -> bytes:
    """Encode inner messages like Java ``MessageDecoder.encodeMessages`` (for tests and tools)."""
    out = []
    for it in items:
        props = it.properties_string.encode("utf-8")
        total = 22 + len(it.body) + len(props)
        out.append(_BATCH_HEAD.pack(total, 0, 0, it.flag, len(it.body)) + it.body + _H.pack(len(props)) + props)
    return b"".join(out)
