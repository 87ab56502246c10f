"""Frame codec: golden bytes, round trips (hypothesis), incremental decoding, bad input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmqlite.remoting.codec import FrameDecoder, FrameError, decode_payload, encode_frame
from rmqlite.remoting.command import RemotingCommand, SerializeType


def route_request(stype: int) -> RemotingCommand:
    return RemotingCommand(code=105, opaque=1, ext_fields={"topic": "T"}, version=401,
                           language="JAVA", serialize_type=stype)


def test_golden_json_frame():
    frame = encode_frame(route_request(SerializeType.JSON))
    header = (b'{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":1,'
              b'"serializeTypeCurrentRPC":"JSON","version":401}')
    assert len(header) == 123
    assert frame == bytes.fromhex("0000007f0000007b") + header


def test_golden_binary_frame():
    frame = encode_frame(route_request(SerializeType.ROCKETMQ))
    expected = bytes.fromhex(
        "00000025" "01000021" "0069" "00" "0191" "00000001" "00000000" "00000000"
        "0000000c" "0005" "746f706963" "00000001" "54"
    )
    assert frame == expected


def test_decodes_java_style_json_with_numbers_and_booleans():
    header = (b'{"code":310,"extFields":{"a":"g","e":3,"k":false,"n":null},"flag":0,'
              b'"language":"CPP","opaque":7,"remark":null,"version":333}')
    payload = struct.pack(">I", len(header)) + header + b"body"
    cmd = decode_payload(payload)
    assert cmd.ext_fields == {"a": "g", "e": "3", "k": "false"}
    assert cmd.language == "CPP" and cmd.remark is None and cmd.body == b"body"


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
nonempty = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
commands = st.builds(
    RemotingCommand,
    code=st.integers(-32768, 32767),
    opaque=st.integers(-(2**31), 2**31 - 1),
    flag=st.integers(0, 3),
    remark=st.one_of(st.none(), nonempty),
    ext_fields=st.dictionaries(nonempty, nonempty, max_size=8),
    body=st.one_of(st.none(), st.binary(min_size=1, max_size=300)),
    language=st.sampled_from(["JAVA", "GO", "CPP", "PYTHON"]),
    version=st.integers(0, 32767),
    serialize_type=st.sampled_from([SerializeType.JSON, SerializeType.ROCKETMQ]),
)


@given(commands)
@settings(max_examples=300)
def test_roundtrip(cmd: RemotingCommand):
    (decoded,) = FrameDecoder().feed(encode_frame(cmd))
    assert decoded == cmd


@given(st.lists(commands, min_size=1, max_size=4), st.binary(max_size=3))
@settings(max_examples=100)
def test_byte_by_byte_and_trailing(cmds: list[RemotingCommand], trailing: bytes):
    stream = b"".join(encode_frame(c) for c in cmds)
    dec = FrameDecoder()
    out: list[RemotingCommand] = []
    for i in range(len(stream)):
        out.extend(dec.feed(stream[i : i + 1]))
    assert out == cmds
    whole = FrameDecoder()
    assert whole.feed(stream + trailing) == cmds
    assert whole.pending_bytes == len(trailing)


@pytest.mark.parametrize("data", [
    struct.pack(">i", 2),                                   # length below minimum
    struct.pack(">i", 17 * 1024 * 1024),                    # over the 16 MiB cap
    struct.pack(">iI", 8, 100) + b"xxxx",                   # header longer than frame
    struct.pack(">iI", 8, (7 << 24) | 4) + b"xxxx",          # unknown serialize type
    struct.pack(">iI", 9, 5) + b"{bad}",                    # invalid JSON
    struct.pack(">iI", 7, 3) + b"[1]",                      # JSON not an object
    struct.pack(">iI", 9, (1 << 24) | 5) + b"\x00" * 5,      # truncated binary header
])
def test_bad_frames_raise_frame_error(data: bytes):
    with pytest.raises(FrameError):
        FrameDecoder().feed(data)


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_random_bytes_only_raise_frame_error(data: bytes):
    try:
        FrameDecoder().feed(data)
    except FrameError:
        pass
