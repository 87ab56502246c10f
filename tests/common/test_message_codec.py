"""rmqlite.common.message: record codec, properties, ids, hashes, batch body."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmqlite.common.message import (
    BLANK_MAGIC_CODE,
    MESSAGE_MAGIC_CODE,
    BatchItem,
    MessageConst,
    MessageExt,
    MessageSysFlag,
    RecordError,
    crc32_body,
    decode_batch_body,
    decode_offset_msg_id,
    decode_properties,
    decode_record,
    decode_records,
    encode_batch_body,
    encode_properties,
    encode_record,
    java_string_hash,
    merge_batch_properties,
    offset_msg_id,
    record_length,
    record_store_timestamp,
    tags_code,
)

# ----------------------------------------------------------------------------- hashes


@pytest.mark.parametrize(
    "text, expected",
    [  # values printed by jshell: System.out.println("...".hashCode())
        ("TagA", 2598919),
        ("", 0),
        ("TopicTest#KEY1", -1656969516),
        ("\u4f60\u597d\U0001F600", 629141568),  # non-BMP char = two UTF-16 units
        ("polygenelubricants", -2147483648),
    ],
)
def test_java_string_hash_matches_jshell(text: str, expected: int) -> None:
    assert java_string_hash(text) == expected


def test_tags_code_and_crc() -> None:
    assert tags_code("TagA") == 2598919
    assert tags_code(None) == 0 and tags_code("") == 0
    assert crc32_body(b"hi") == 0x58932AAC
    assert crc32_body(b"hello") == 907060870  # zlib CRC32 has bit 31 clear here already
    assert crc32_body(b"\xff" * 7) & 0x80000000 == 0


# ----------------------------------------------------------------------------- properties


def test_properties_java_style() -> None:
    props = {"KEYS": "k1 k2", "TAGS": "A", "WAIT": "true"}
    text = encode_properties(props)
    assert text == "KEYS\x01k1 k2\x02TAGS\x01A\x02WAIT\x01true"  # no trailing \x02 (4.9.1+)
    assert decode_properties(text) == props
    assert decode_properties(text + "\x02") == props  # Go / old Java style
    assert encode_properties({"A": None, "B": "1"}) == "B\x011"


def test_properties_decode_drops_bad_pairs_like_java() -> None:
    assert decode_properties("\x01v\x02k\x01\x02ab\x02x\x01y") == {"x": "y"}
    assert decode_properties("") == {}
    assert decode_properties("k\x01a\x01b") == {"k": "a\x01b"}  # split on the first \x01
    assert decode_properties("k\x011\x02k\x012") == {"k": "2"}


_pname = st.text(st.characters(blacklist_characters="\x01\x02", blacklist_categories=("Cs",)), min_size=1, max_size=12)


@given(st.dictionaries(_pname, _pname, max_size=8))
def test_properties_roundtrip(props: dict[str, str]) -> None:
    assert decode_properties(encode_properties(props)) == props


@given(st.text(max_size=60))
def test_properties_decode_never_raises(text: str) -> None:
    assert isinstance(decode_properties(text), dict)


def test_merge_batch_properties() -> None:
    assert merge_batch_properties("A\x011", "CLUSTER\x01c") == "A\x011\x02CLUSTER\x01c"
    assert merge_batch_properties("A\x011\x02", "CLUSTER\x01c") == "A\x011\x02CLUSTER\x01c"
    assert merge_batch_properties("", "CLUSTER\x01c") == "CLUSTER\x01c"
    assert merge_batch_properties("A\x011", "") == "A\x011"


# ----------------------------------------------------------------------------- offset msg id


def test_offset_msg_id_example_from_wire_facts() -> None:
    assert offset_msg_id("192.168.0.10", 10911, 0x12345) == "C0A8000A00002A9F0000000000012345"
    assert decode_offset_msg_id("C0A8000A00002A9F0000000000012345") == ("192.168.0.10", 10911, 0x12345)
    assert decode_offset_msg_id("c0a8000a00002a9f0000000000012345")[2] == 0x12345


def test_offset_msg_id_ipv6_and_errors() -> None:
    mid = offset_msg_id("fe80::1", 10911, 7)
    assert len(mid) == 56 and mid == mid.upper()
    assert decode_offset_msg_id(mid) == ("fe80::1", 10911, 7)
    assert len(offset_msg_id("::ffff:10.0.0.1", 1, 2)) == 32  # IPv4-mapped stays IPv4
    for bad in ("", "ABC", "Z" * 32, "0" * 40):
        with pytest.raises(RecordError):
            decode_offset_msg_id(bad)


# ----------------------------------------------------------------------------- records


def _golden_msg() -> MessageExt:
    return MessageExt(
        topic="T", body=b"hi", flag=0, properties={"TAGS": "A"}, queue_id=3, queue_offset=5,
        sys_flag=0, born_timestamp=1000, born_host=("10.0.0.1", 5000), store_timestamp=2000,
        store_host=("192.168.0.10", 10911), commit_log_offset=4096, body_crc=crc32_body(b"hi"),
    )


GOLDEN_HEX = (
    "00000064"  # TOTALSIZE 100 = 91 + body 2 + topic 1 + props 6
    "DAA320A7"  # MAGICCODE
    "58932AAC"  # BODYCRC crc32(b"hi") & 0x7FFFFFFF
    "00000003"  # QUEUEID
    "00000000"  # FLAG
    "0000000000000005"  # QUEUEOFFSET @20
    "0000000000001000"  # PHYSICALOFFSET @28
    "00000000"  # SYSFLAG @36
    "00000000000003E8"  # BORNTIMESTAMP @40 = 1000
    "0A000001" "00001388"  # BORNHOST 10.0.0.1 : 5000
    "00000000000007D0"  # STORETIMESTAMP @56 = 2000
    "C0A8000A" "00002A9F"  # STOREHOST 192.168.0.10 : 10911
    "00000000"  # RECONSUMETIMES
    "0000000000000000"  # PREPARED TX OFFSET
    "00000002" "6869"  # BODYLEN @84 + "hi"
    "01" "54"  # TOPICLEN + "T"
    "0006" "54414753" "01" "41"  # PROPLEN + "TAGS\x01A"
)


def test_golden_record_bytes() -> None:
    raw = encode_record(_golden_msg())
    assert raw.hex().upper() == GOLDEN_HEX
    assert struct.unpack_from(">q", raw, 20)[0] == 5
    assert struct.unpack_from(">q", raw, 28)[0] == 4096
    assert struct.unpack_from(">i", raw, 84)[0] == 2
    assert record_store_timestamp(raw) == 2000
    msg, size = decode_record(raw, check_crc=True)
    assert size == 100 == msg.store_size
    assert (msg.topic, msg.body, msg.tags, msg.queue_id) == ("T", b"hi", "A", 3)
    assert msg.offset_msg_id == "C0A8000A00002A9F0000000000001000"
    assert msg.msg_id == msg.offset_msg_id
    msg.set_property(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "U1")
    assert msg.msg_id == "U1" and msg.properties_string is None


def test_ipv6_hosts_change_layout() -> None:
    m = _golden_msg()
    m.sys_flag = MessageSysFlag.BORNHOST_V6_FLAG | MessageSysFlag.STOREHOSTADDRESS_V6_FLAG
    m.born_host, m.store_host = ("fe80::1", 1), ("2001:db8::5", 10911)
    raw = encode_record(m)
    assert len(raw) == 100 + 24 == record_length(m.sys_flag, 2, 1, 6)
    back, _ = decode_record(raw)
    assert back.born_host == ("fe80::1", 1) and back.store_host == ("2001:db8::5", 10911)
    assert record_store_timestamp(raw) == 2000


def test_decode_errors() -> None:
    raw = encode_record(_golden_msg())
    with pytest.raises(RecordError):
        decode_record(raw[:-1])
    with pytest.raises(RecordError):
        decode_record(raw[:4] + struct.pack(">I", BLANK_MAGIC_CODE) + raw[8:])
    bad_props = bytearray(raw)
    bad_props[-2] ^= 1  # properties are not covered by the CRC
    decode_record(bytes(bad_props), check_crc=True)
    bad_body = bytearray(raw)
    bad_body[88] ^= 1  # first body byte
    with pytest.raises(RecordError):
        decode_record(bytes(bad_body), check_crc=True)
    with pytest.raises(RecordError):
        encode_record(MessageExt(topic="x" * 128))
    with pytest.raises(RecordError):
        encode_record(MessageExt(topic="t", properties={"k": "v" * 40000}))


_int32 = st.integers(-(2**31), 2**31 - 1)
_int64 = st.integers(-(2**63), 2**63 - 1)
_ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
_ipv6 = st.sampled_from(["fe80::1", "2001:db8::5", "::1", "2001:db8:1:2:3:4:5:6"])


@st.composite
def messages(draw: st.DrawFn) -> MessageExt:
    born6, store6 = draw(st.booleans()), draw(st.booleans())
    sys_flag = draw(st.integers(0, 0xFFFF)) & ~0x30
    sys_flag |= (MessageSysFlag.BORNHOST_V6_FLAG if born6 else 0) | (MessageSysFlag.STOREHOSTADDRESS_V6_FLAG if store6 else 0)
    port = st.integers(0, 65535)
    body = draw(st.binary(max_size=64))
    props = draw(st.dictionaries(_pname, _pname, max_size=4))
    return MessageExt(
        topic=draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)),
        body=body, flag=draw(_int32), properties=props, queue_id=draw(_int32), queue_offset=draw(_int64),
        sys_flag=sys_flag, born_timestamp=draw(_int64), born_host=(draw(_ipv6 if born6 else _ipv4), draw(port)),
        store_timestamp=draw(_int64), store_host=(draw(_ipv6 if store6 else _ipv4), draw(port)),
        commit_log_offset=draw(_int64), body_crc=crc32_body(body), reconsume_times=draw(_int32),
        prepared_transaction_offset=draw(_int64),
    )


@settings(max_examples=150)
@given(messages())
def test_record_roundtrip(msg: MessageExt) -> None:
    raw = encode_record(msg)
    back, size = decode_record(raw, check_crc=True)
    assert size == len(raw) == back.store_size
    assert back.properties == msg.properties
    for f in ("topic", "body", "flag", "queue_id", "queue_offset", "sys_flag", "born_timestamp", "born_host",
              "store_timestamp", "store_host", "commit_log_offset", "body_crc", "reconsume_times",
              "prepared_transaction_offset"):
        assert getattr(back, f) == getattr(msg, f), f
    assert encode_record(back) == raw  # byte-exact via the raw properties text


@settings(max_examples=50)
@given(st.lists(messages(), max_size=4))
def test_concatenated_records(msgs: list[MessageExt]) -> None:
    body = b"".join(encode_record(m) for m in msgs)
    assert [m.body for m in decode_records(body)] == [m.body for m in msgs]


def test_raw_properties_kept_byte_exact() -> None:
    m = _golden_msg()
    m.properties_string = "TAGS\x01A\x02"  # Go style trailing separator
    back, _ = decode_record(encode_record(m))
    assert back.properties_string == "TAGS\x01A\x02" and back.properties == {"TAGS": "A"}


@given(st.binary(max_size=300))
def test_garbage_raises_only_record_error(data: bytes) -> None:
    for candidate in (data, struct.pack(">iI", len(data) + 8, MESSAGE_MAGIC_CODE) + data):
        try:
            decode_records(candidate)
        except RecordError:
            pass
        try:
            decode_batch_body(candidate)
        except RecordError:
            pass


# ----------------------------------------------------------------------------- batch body


def test_batch_body_roundtrip_and_layout() -> None:
    items = [BatchItem(0, b"a", "UNIQ_KEY\x01X\x02TAGS\x01t"), BatchItem(7, b"", "")]
    body = encode_batch_body(items)
    assert struct.unpack_from(">iiiii", body, 0) == (22 + 1 + 17, 0, 0, 0, 1)
    back = decode_batch_body(body)
    assert back == items and back[0].properties == {"UNIQ_KEY": "X", "TAGS": "t"}
    with pytest.raises(RecordError):
        decode_batch_body(body[:-1])
    with pytest.raises(RecordError):
        decode_batch_body(body[:10])


def test_sysflag_helpers() -> None:
    f = MessageSysFlag.COMPRESSED_FLAG | MessageSysFlag.TRANSACTION_PREPARED_TYPE
    assert MessageSysFlag.get_transaction_value(f) == MessageSysFlag.TRANSACTION_PREPARED_TYPE
    g = MessageSysFlag.reset_transaction_value(f, MessageSysFlag.TRANSACTION_COMMIT_TYPE)
    assert g == MessageSysFlag.COMPRESSED_FLAG | MessageSysFlag.TRANSACTION_COMMIT_TYPE
