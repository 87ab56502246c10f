"""bench/hotpath.py smoke run, and the send-path fast paths checked byte for byte against the general paths."""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import hotpath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmqlite.broker.config import load_broker_config
from rmqlite.broker.handlers import send
from rmqlite.broker.state import BrokerState
from rmqlite.common import message as M
from rmqlite.remoting import codec
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import HeaderError
from rmqlite.store.message_store import MessageStore
from rmqlite.store.model import MessageToStore, PutResult, PutStatus, StoreConfig

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the benchmark itself

async def test_hotpath_round_answers_every_send() -> None:
    frames = hotpath.java_send_frames(300, size=256, tags=True)
    cpu = await hotpath._round(frames, chunk=7)        # raises unless 300 SUCCESS replies came back
    assert cpu > 0


# ------------------------------------------------------------------ remoting: JSON header encode / decode

def _general_header(cmd: RemotingCommand) -> bytes:
    """encode_json_header's general branch (the whole header through the JSON encoder)."""
    obj: dict[str, Any] = {"code": cmd.code}
    if cmd.ext_fields:
        obj["extFields"] = cmd.ext_fields
    obj.update(flag=cmd.flag, language=cmd.language, opaque=cmd.opaque)
    if cmd.remark is not None:
        obj["remark"] = cmd.remark
    obj.update(serializeTypeCurrentRPC="JSON", version=cmd.version)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@FAST
@given(st.dictionaries(texts, texts, max_size=8), st.one_of(st.none(), texts),
       st.integers(-2**31, 2**31 - 1), st.integers(0, 3))
def test_json_header_fast_path_matches_json_encoder(ext: dict[str, str], remark: str | None, opaque: int,
                                                    flag: int) -> None:
    cmd = RemotingCommand(0, opaque, flag, remark, ext, None, "JAVA", 401)
    assert codec.encode_json_header(cmd) == _general_header(cmd)
    assert codec._encode_ext(ext) == codec._dumps(ext)


def test_ext_encoder_falls_back_for_non_strings() -> None:
    odd: dict[Any, Any] = {"a": 1, 2: "b", "c": None, "d": True}
    assert codec._encode_ext(odd) == codec._dumps(odd)


def test_send_response_header_is_byte_identical() -> None:
    ext = {"MSG_REGION": "DefaultRegion", "TRACE_ON": "true", "msgId": "7F00000100002A9F0000000000000400",
           "queueId": "3", "queueOffset": "17"}
    cmd = RemotingCommand(0, 42, 1, None, ext)
    assert codec.encode_json_header(cmd) == (
        b'{"code":0,"extFields":{"MSG_REGION":"DefaultRegion","TRACE_ON":"true","msgId":'
        b'"7F00000100002A9F0000000000000400","queueId":"3","queueOffset":"17"},"flag":1,"language":"JAVA",'
        b'"opaque":42,"serializeTypeCurrentRPC":"JSON","version":401}')


@pytest.mark.parametrize("text", ['{"code":1}', ' {"code":1}', '{"code":1} ', '{"code":1}x', '[1]', '"s"', '',
                                  '\ufeff{"code":1}', '{"code":1,}'])
def test_header_loads_matches_json_loads(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError as exc:
        expected = ("error", str(exc))
    try:
        got: Any = codec._loads(text)
    except ValueError as exc:
        got = ("error", str(exc))
    assert got == expected


commands = st.builds(
    RemotingCommand, st.integers(0, 400), st.integers(0, 2**31 - 1), st.integers(0, 3),
    st.one_of(st.none(), texts), st.dictionaries(texts, texts, max_size=4),
    st.one_of(st.none(), st.binary(min_size=1, max_size=64)), st.sampled_from(["JAVA", "GO", "CPP"]),
    st.integers(0, 500), st.sampled_from([0, 1]))


@FAST
@given(st.lists(commands, max_size=6), st.lists(st.integers(1, 400), max_size=12))
def test_frame_decoder_any_chunking(cmds: list[RemotingCommand], cuts: list[int]) -> None:
    frames = [codec.encode_frame(c) for c in cmds]
    stream = b"".join(frames)
    expected = [codec.decode_payload(f[4:]) for f in frames]
    dec = codec.FrameDecoder()
    got: list[RemotingCommand] = []
    pos = 0
    for cut in cuts + [len(stream)]:
        got += dec.feed(stream[pos:pos + cut])
        pos += cut
    got += dec.feed(stream[pos:])
    assert got == expected and dec.pending_bytes == 0
    assert all(c.body is None or type(c.body) is bytes for c in got)


def test_frame_decoder_rejects_bad_length_after_partial_frame() -> None:
    dec = codec.FrameDecoder(max_frame_size=1000)
    frame = codec.encode_frame(RemotingCommand(1, 1))
    assert dec.feed(frame[:5]) == []
    with pytest.raises(codec.FrameError, match="outside"):
        dec.feed(frame[5:] + struct.pack(">i", 5000) + b"xxxx")
    with pytest.raises(codec.FrameError, match="outside"):
        codec.FrameDecoder().feed(bytearray(struct.pack(">i", 2)))


# ------------------------------------------------------------------ send handler: header and response

ext_values = st.one_of(st.none(), st.sampled_from(["", "0", "7", " 12 ", "-3", "x", "1.5", "true", "TRUE ", "false",
                                                   "9223372036854775807", "9223372036854775808", "1_0", "T1"]))


@FAST
@given(st.fixed_dictionaries({k: ext_values for k in "abcdefghijklm"}))
def test_v2_header_fast_parse_equals_general(values: dict[str, str | None]) -> None:
    ext = {k: v for k, v in values.items() if v is not None}
    cmd = RemotingCommand(RequestCode.SEND_MESSAGE_V2, ext_fields=ext)

    def run(parse: Any) -> Any:
        try:
            return parse(cmd)
        except HeaderError as exc:
            return str(exc)

    fast = run(send.parse_send_header)
    original = send._parse_v2_fast
    send._parse_v2_fast = lambda _ext: None        # the general path only
    try:
        general = run(send.parse_send_header)
    finally:
        send._parse_v2_fast = original
    assert fast == general


def _state(tmp: str) -> BrokerState:
    cfg = load_broker_config(None, {"storePathRootDir": tmp, "brokerIP1": "127.0.0.1", "regionId": "R1"})
    return BrokerState.create(cfg, store=None, now_ms=1, persist=False)


@pytest.mark.parametrize("status", [PutStatus.PUT_OK, PutStatus.FLUSH_DISK_TIMEOUT, "SLAVE_NOT_AVAILABLE",
                                    PutStatus.MESSAGE_ILLEGAL, PutStatus.OS_PAGECACHE_BUSY, "WEIRD"])
@pytest.mark.parametrize("ids", [["7F00000100002A9F0000000000000000"], ["A", "B"], []])
def test_put_status_response_matches_general(tmp_path: Path, status: Any, ids: list[str]) -> None:
    state = _state(str(tmp_path))
    req = RemotingCommand(RequestCode.SEND_MESSAGE_V2, opaque=9, serialize_type=1)
    result = PutResult(status, queue_offset=5, msg_ids=list(ids), wrote_bytes=100, remark="why")
    got = send.put_status_response(state, req, result, 3, len(ids))
    # the general shape: _response(...) then the three ext fields in this order
    name = getattr(status, "name", status)
    if name in send._OK_CODES:
        want = send._response(state, req, send._OK_CODES[name])
        want.ext_fields.update(msgId=",".join(ids), queueId="3", queueOffset="5")
    else:
        want = got
        assert got.code != ResponseCode.SUCCESS and got.remark
    assert codec.encode_frame(got) == codec.encode_frame(want) and got == want


# ------------------------------------------------------------------ common.message helpers

def _old_decode_properties(s: str) -> dict[str, str]:
    out: dict[str, str] = {}
    n, i = len(s), 0
    while i < n:
        j = s.find("\x02", i)
        j = n if j < 0 else j
        if j - i >= 3:
            kv = s.find("\x01", i)
            if i < kv < j - 1:
                out[s[i:kv]] = s[kv + 1:j]
        i = j + 1
    return out


def _old_java_hash(s: str) -> int:
    h = 0
    for (u,) in struct.iter_unpack(">H", s.encode("utf-16-be", "surrogatepass")):
        h = (31 * h + u) & 0xFFFFFFFF
    return h - 0x100000000 if h & 0x80000000 else h


@FAST
@given(st.text(st.sampled_from("ab\x01\x02é"), max_size=16))
def test_decode_properties_matches_java_rule(s: str) -> None:
    got, want = M.decode_properties(s), _old_decode_properties(s)
    assert got == want and list(got) == list(want)


@FAST
@given(st.text(max_size=300))
def test_java_string_hash(s: str) -> None:
    assert M.java_string_hash(s) == _old_java_hash(s)


@FAST
@given(st.sampled_from(["127.0.0.1", "10.1.2.3", "::1", "fe80::1", "::ffff:1.2.3.4"]), st.integers(0, 65535),
       st.one_of(st.integers(0, 2**63 - 1), st.integers(-2**63, -1)))
def test_offset_msg_id(host: str, port: int, phys: int) -> None:
    want = (M._host_bytes((host, port), M.is_ipv6_host(host)) + struct.pack(">q", phys)).hex().upper()
    assert M.offset_msg_id(host, port, phys) == want
    assert M.decode_offset_msg_id(want) == (M.decode_offset_msg_id(want)[0], port, phys)


# ------------------------------------------------------------------ store: fast single put vs the general _put

_OK_HOST = ("127.0.0.1", 50123)
hosts = st.sampled_from([_OK_HOST] * 8 + [("10.0.0.9", 1), ("::1", 7), ("::ffff:10.0.0.1", 9),
                                          ("fe80::2", 3), ("not-an-ip", 1), ("127.0.0.1", 2**31)])
props = st.dictionaries(st.sampled_from(["UNIQ_KEY", "KEYS", "TAGS", "DELAY", "WAIT", "TRAN_MSG", "é"]),
                        st.sampled_from(["", "a", "k1 k2", "3", "0", "x" * 40, "ü", "99"]), max_size=5)
messages = st.builds(
    MessageToStore,
    topic=st.sampled_from(["T"] * 6 + ["TopicB"] * 3 + ["SCHEDULE_TOPIC_XXXX", "a/b", "", "é" * 70, "x" * 128]),
    queue_id=st.integers(0, 3), flag=st.integers(-5, 5), body=st.binary(max_size=1500),
    properties=st.one_of(props, props, props.map(M.encode_properties), st.just("UNIQ_KEY\x01" + "u" * 40000)),
    sys_flag=st.sampled_from([0, 0x1, 0x4, 0x8, 0xC, 0x10, 0x20, 0x2]), born_timestamp=st.integers(0, 2**41),
    born_host=hosts, store_host=st.sampled_from([("127.0.0.1", 10911), ("::1", 10911)]),
    reconsume_times=st.integers(0, 3), prepared_transaction_offset=st.integers(0, 9),
    delay_level=st.sampled_from([None, None, 0, 2]))


def _files(root: str) -> dict[str, bytes]:
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            if n not in ("lock", "abort", "checkpoint"):
                p = os.path.join(d, n)
                out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


def _store(root: str) -> MessageStore:
    store = MessageStore(StoreConfig(root, mapped_file_size_commitlog=16 * 1024, mapped_file_size_consume_queue=600,
                                     max_hash_slot_num=64, max_index_num=40, max_message_size=2000))
    store.open(1)
    return store


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages, min_size=1, max_size=60))
def test_store_fast_put_equals_general_put(msgs: list[MessageToStore]) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        fast, general = _store(a), _store(b)
        try:
            for i, m in enumerate(msgs):
                now = 1_700_000_000_000 + i * 700
                assert fast.put_message(m, now) == general._put([m], now, batch=False)
            assert fast.queue_table == general.queue_table
            assert (fast.dispatched_offset, fast.confirmed_offset) == (general.dispatched_offset,
                                                                         general.confirmed_offset)
        finally:
            fast.close()
            general.close()
        assert _files(a) == _files(b)


@FAST
@given(messages, st.integers(0, 2**40), st.integers(0, 2**40))
def test_pack_record_equals_encode_record(m: MessageToStore, qoff: int, phys: int) -> None:
    from rmqlite.store.validate import to_message_ext
    res = to_message_ext(m, 5, False, 2000, {1: 1000, 2: 5000})
    if isinstance(res, PutResult):
        return
    ext, _ = res
    ext.queue_offset, ext.commit_log_offset = qoff, phys
    try:
        want = M.encode_record(ext)
    except M.RecordError:
        return
    sf = ext.sys_flag
    got = M.pack_record(ext.topic.encode(), ext.body, ext.encoded_properties().encode(), ext.body_crc,
                        ext.queue_id, ext.flag, qoff, phys, sf, ext.born_timestamp,
                        M.host_bytes(ext.born_host, bool(sf & 0x10)), ext.store_timestamp,
                        M.host_bytes(ext.store_host, bool(sf & 0x20)), ext.reconsume_times,
                        ext.prepared_transaction_offset)
    assert got == want


def test_store_fast_put_equals_general_put_across_file_rolls() -> None:
    """Hundreds of valid messages: commitlog, consume-queue and index files all roll over."""
    msgs = [MessageToStore(topic=("T", "TopicB")[i % 2], queue_id=i % 3, body=bytes([i % 256]) * (200 + i * 7 % 900),
                           properties={"UNIQ_KEY": f"U{i:08d}", "TAGS": f"t{i % 4}", "KEYS": f"k{i} k{i % 5}",
                                       "DELAY": "1" if i % 17 == 0 else "0"},
                           sys_flag=(0, 0x4, 0x8, 0xC)[i % 4] if i % 5 == 0 else 0, born_timestamp=i,
                           born_host=_OK_HOST, store_host=("127.0.0.1", 10911)) for i in range(400)]
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        fast, general = _store(a), _store(b)
        try:
            for i, m in enumerate(msgs):
                now = 1_700_000_000_000 + i * 300
                assert fast.put_message(m, now) == general._put([m], now, batch=False)
            assert len(fast.commitlog.queue.files) > 3 and len(fast.index.files) > 3
        finally:
            fast.close()
            general.close()
        assert _files(a) == _files(b)


def _old_put_key(f: Any, key: str, phy: int, store_ts: int) -> bool:
    """IndexFile.put_key as it was before the pack_into fast path (the reference)."""
    from rmqlite.store.index_file import _ENTRY, _I, index_key_hash
    if f.index_count >= f.index_num:
        return False
    key_hash = index_key_hash(key)
    slot_pos = f._slot_pos(key_hash)
    (slot,) = _I.unpack(f.mf.read(slot_pos, 4))
    if slot <= 0 or slot > f.index_count:
        slot = 0
    diff = 0 if f.begin_ts <= 0 else min(max((store_ts - f.begin_ts) // 1000, 0), 0x7FFFFFFF)
    f.mf.write_at(f._entry_pos(f.index_count), _ENTRY.pack(key_hash, phy, diff, slot))
    f.mf.write_at(slot_pos, _I.pack(f.index_count))
    if f.index_count <= 1:
        f.begin_phy, f.begin_ts = phy, store_ts
    if slot == 0:
        f.slot_count += 1
    f.index_count += 1
    f.end_phy, f.end_ts = phy, store_ts
    f._write_header()
    return True


def test_index_put_key_and_consume_queue_units_are_byte_identical(tmp_path: Path) -> None:
    from rmqlite.store.consume_queue import _UNIT, ConsumeQueue
    from rmqlite.store.index_file import IndexFile
    new, old = IndexFile(str(tmp_path / "new"), 7, 30), IndexFile(str(tmp_path / "old"), 7, 30)
    for i in range(35):
        key, ts = f"T#k{i % 11}", 1_700_000_000_000 + i * 1500
        assert new.put_key(key, i * 100, ts) == _old_put_key(old, key, i * 100, ts)
    new.close(), old.close()
    assert (tmp_path / "new").read_bytes() == (tmp_path / "old").read_bytes()
    cq = ConsumeQueue(str(tmp_path / "cq"), "T", 0, 4)
    units = [(i * 50, 50, i - 3) for i in range(10)]
    for n, (phys, size, tags) in enumerate(units):
        assert cq.put(phys, size, tags, n + 2)          # starts at offset 2: filler units first, then rolls
    assert not cq.put(0, 50, 0, 12)                     # already there
    raw = b"".join(mf.read(0, mf.wrote_position) for mf in cq.queue.files)
    assert raw == _UNIT.pack(0, 0x7FFFFFFF, 0) * 2 + b"".join(_UNIT.pack(*u) for u in units)
    cq.close()
