"""Store file layers: mapped files, commitlog, consume queue, index file, checkpoint, config files."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmqlite.common.message import BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE, MessageExt, crc32_body, decode_record, encode_record
from rmqlite.store.checkpoint import StoreCheckpoint
from rmqlite.store.commitlog import CommitLog, check_record
from rmqlite.store.config_files import ConfigFileError, load_json_config, save_json_config
from rmqlite.store.consume_queue import FILLER_SIZE, ConsumeQueue
from rmqlite.store.index_file import IndexFile, IndexService, index_key_hash
from rmqlite.store.mapped_file import MappedFileQueue, StoreFileError

# ----------------------------------------------------------------------------- mapped files


def test_mapped_file_queue_names_and_truncate(tmp_path) -> None:
    q = MappedFileQueue(str(tmp_path / "q"), 100)
    q.file_for_append(0).append(b"x" * 100)
    mf = q.file_for_append()
    mf.append(b"y" * 30)
    assert sorted(os.listdir(tmp_path / "q")) == ["00000000000000000000", "00000000000000000100"]
    assert (q.min_offset, q.max_offset) == (0, 130)
    assert q.find(99).file_from_offset == 0 and q.find(100) is mf and q.find(200) is None
    q.truncate_dirty(50)
    assert q.max_offset == 50 and len(q.files) == 1
    assert q.files[0].read(50, 50) == bytes(50)  # tail zeroed
    q.close()
    # a short last file (torn) is extended; a short middle file is an error
    with open(tmp_path / "q" / "00000000000000000100", "wb") as f:
        f.write(b"z" * 10)
    q.load()
    assert [m.file_size for m in q.files] == [100, 100] and os.path.getsize(tmp_path / "q" / "00000000000000000100") == 100
    q.close()
    with open(tmp_path / "q" / "00000000000000000000", "r+b") as f:
        f.truncate(40)
    with pytest.raises(StoreFileError):
        q.load()


def test_mapped_file_queue_first_file_rounds_down(tmp_path) -> None:
    q = MappedFileQueue(str(tmp_path / "q"), 100)
    assert q.file_for_append(250).file_from_offset == 200
    q.destroy()
    assert not os.path.exists(tmp_path / "q")


# ----------------------------------------------------------------------------- commitlog


def _record(phys: int, body: bytes, topic: str = "T", qoff: int = 0) -> bytes:
    m = MessageExt(topic=topic, body=body, queue_offset=qoff, commit_log_offset=phys, body_crc=crc32_body(body),
                   store_timestamp=1000 + phys, store_host=("127.0.0.1", 10911), properties={"K": "v"})
    return encode_record(m)


def _fill(cl: CommitLog, n: int, body_size: int = 100) -> list[tuple[int, bytes]]:
    out = []
    for i in range(n):
        rec_len = len(_record(0, b"b" * body_size))
        phys = cl.prepare(rec_len)
        rec = _record(phys, bytes([i % 256]) * body_size, qoff=i)
        assert cl.append(rec) == phys
        out.append((phys, rec))
    return out


def test_commitlog_rollover_blank_and_read(tmp_path) -> None:
    cl = CommitLog(str(tmp_path / "cl"), 1024)
    recs = _fill(cl, 20)  # 195-byte records: 5 per 1 KiB file (5*195 + 8 <= 1024), then a blank
    assert len(recs[0][1]) == 195 and len(cl.files) == 4
    for phys, rec in recs:
        assert phys // 1024 == (phys + len(rec) - 1) // 1024  # never spans files
        assert cl.read_record(phys) == rec
        assert cl.read(phys, len(rec)) == rec
    first = cl.files[0]
    blank_at = 5 * 195
    assert struct.unpack(">iI", first.read(blank_at, 8)) == (1024 - blank_at, BLANK_MAGIC_CODE)
    assert [p for p, _ in cl.iter_records(0, cl.max_offset)] == [p for p, _ in recs]
    assert cl.read_record(blank_at) is None and cl.read(cl.max_offset, 1) is None
    assert cl.roll_next_file(1500) == 2048
    assert cl.store_timestamp(recs[5][0]) == 1000 + recs[5][0]
    with pytest.raises(StoreFileError):
        cl.prepare(1020)
    cl.close()


def test_commitlog_recovery_truncates_at_first_bad_record(tmp_path) -> None:
    cl = CommitLog(str(tmp_path / "cl"), 1024)
    recs = _fill(cl, 10)
    bad_phys = recs[6][0]
    cl.files[bad_phys // 1024].write_at(bad_phys % 1024 + 100, b"\xee")  # corrupt a body byte
    cl.close()
    cl2 = CommitLog(str(tmp_path / "cl"), 1024)
    cl2.load()
    assert cl2.recover(0) == bad_phys
    assert [p for p, _ in cl2.iter_records(0, cl2.max_offset)] == [p for p, _ in recs[:6]]
    phys = cl2.prepare(len(recs[6][1]))
    assert phys == bad_phys  # appends continue where the valid data ended
    cl2.close()


# ----------------------------------------------------------------------------- consume queue


def test_consume_queue_put_prefill_truncate(tmp_path) -> None:
    cq = ConsumeQueue(str(tmp_path), "T", 0, 4)
    assert cq.put(1000, 100, 7, 5)  # first unit at logical 5: file 4.. pre-filled with one filler
    assert os.listdir(tmp_path / "T" / "0") == ["00000000000000000080"]
    assert cq.unit(4) is None and (cq.min_offset, cq.max_offset) == (5, 6)
    assert struct.unpack(">qiq", cq.queue.files[0].read(0, 20)) == (0, FILLER_SIZE, 0)
    assert not cq.put(1000, 100, 7, 5)  # idempotent
    for i in range(6, 12):
        assert cq.put(1000 + (i - 5) * 100, 100, i, i)
    assert cq.max_offset == 12 and cq.unit(11) == (1600, 100, 11)
    assert cq.units_from(9) is not None and len(cq.units_from(9)) == 3 * 20  # rest of its file
    assert cq.roll_next_file(9) == 12
    cq.truncate_dirty(1300)
    assert cq.max_offset == 8 and cq.max_physic_offset == 1300
    cq.close()
    cq2 = ConsumeQueue(str(tmp_path), "T", 0, 4)
    cq2.load()
    cq2.recover()
    cq2.correct_min_offset(0)
    assert (cq2.min_offset, cq2.max_offset, cq2.max_physic_offset) == (5, 8, 1300)
    cq2.destroy()
    assert not os.path.exists(tmp_path / "T")


def test_consume_queue_offset_by_time(tmp_path) -> None:
    cq = ConsumeQueue(str(tmp_path), "T", 0, 8)
    times = {100 * i: t for i, t in enumerate([10, 20, 20, 30, 50, 80])}
    for i in range(6):
        cq.put(100 * i, 100, 0, i)

    def at(ts: int) -> int:
        return cq.offset_by_time(ts, lambda phys, _size: times[phys], 0)

    assert [at(t) for t in (5, 10, 20, 25, 30, 39, 41, 80, 99)] == [0, 0, 1, 2, 3, 3, 4, 5, 5]
    assert cq.offset_by_time(50, lambda p, s: times[p], 300) == 4  # units before phys 300 are gone
    cq.close()


# ----------------------------------------------------------------------------- index


def test_index_file_chain_query_and_truncate(tmp_path) -> None:
    svc = IndexService(str(tmp_path / "index"), slot_num=4, index_num=6)  # collisions + 2 files
    times = {}
    for i in range(8):
        phys, ts = 1000 * i, 1_700_000_000_000 + 1000 * i
        times[phys] = ts
        svc.build("T", phys, ts, 0, {"KEYS": f"k{i % 2} all", "UNIQ_KEY": f"u{i}"})
    assert len(svc.files) > 1
    names = [f.name for f in svc.files]
    assert names == sorted(names) and all(len(n) == 17 for n in names)
    found, last_ts, last_phy = svc.query("T", "all", 64, 0, 2**62)
    assert found == [7000, 6000, 5000, 4000, 3000, 2000, 1000, 0] and last_phy == 7000
    assert svc.query("T", "k1", 64, 0, 2**62)[0] == [7000, 5000, 3000, 1000]
    assert svc.query("T", "u3", 64, 0, 2**62)[0] == [3000]
    assert svc.query("T", "all", 2, 0, 2**62)[0] == [7000, 6000]
    assert svc.query("T", "all", 64, 1_700_000_002_000, 1_700_000_004_000)[0] == [4000, 3000, 2000]
    assert svc.query("Other", "all", 64, 0, 2**62)[0] == []
    svc.build("T", 7000, times[7000], 0, {"KEYS": "again"})  # at/below endPhyOffset: skipped
    assert svc.query("T", "again", 64, 0, 2**62)[0] == []
    svc.truncate_after(5000, lambda p: times[p])
    assert svc.query("T", "all", 64, 0, 2**62)[0] == [4000, 3000, 2000, 1000, 0]
    assert svc.last_end_phy == 4000
    svc.build("T", 5000, times[5000], 0, {"KEYS": "new"})
    assert svc.query("T", "new", 64, 0, 2**62)[0] == [5000]
    svc.close()
    svc.load()
    assert svc.query("T", "all", 64, 0, 2**62)[0] == [4000, 3000, 2000, 1000, 0]
    svc.close()


def test_index_header_layout_and_hash(tmp_path) -> None:
    assert index_key_hash("polygenelubricants") == 0  # |Integer.MIN_VALUE| -> 0
    assert index_key_hash("TopicTest#KEY1") == 1656969516
    f = IndexFile(str(tmp_path / "20240101000000000"), 10, 5)
    assert os.path.getsize(f.path) == 40 + 10 * 4 + 5 * 20
    f.put_key("TopicTest#KEY1", 4242, 5000)
    begin_ts, end_ts, begin_phy, end_phy, slots, count = struct.unpack(">qqqqii", f.mf.read(0, 40))
    assert (begin_ts, end_ts, begin_phy, end_phy, slots, count) == (5000, 5000, 4242, 4242, 1, 2)
    slot = 40 + (1656969516 % 10) * 4
    assert struct.unpack(">i", f.mf.read(slot, 4)) == (1,)
    assert struct.unpack(">iqii", f.mf.read(40 + 40 + 20, 20)) == (1656969516, 4242, 0, 0)
    f.close()


# ----------------------------------------------------------------------------- checkpoint, configs


def test_checkpoint_roundtrip(tmp_path) -> None:
    cp = StoreCheckpoint(str(tmp_path / "checkpoint"))
    cp.load()
    assert cp.min_timestamp() == 0
    cp.physic_msg_timestamp, cp.logics_msg_timestamp, cp.index_msg_timestamp = 10_000, 9_000, 1
    cp.flush()
    assert os.path.getsize(tmp_path / "checkpoint") == 4096
    cp2 = StoreCheckpoint(str(tmp_path / "checkpoint"))
    cp2.load()
    assert (cp2.physic_msg_timestamp, cp2.logics_msg_timestamp, cp2.index_msg_timestamp) == (10_000, 9_000, 1)
    assert cp2.min_timestamp() == 6_000 and cp2.min_timestamp(index_safe=True) == 0


def test_config_files_tmp_bak_and_int_keys(tmp_path) -> None:
    path = str(tmp_path / "config" / "consumerOffset.json")
    assert load_json_config(path) is None
    save_json_config(path, {"offsetTable": {"T@g": {0: 12, 1: 7}}})
    text = open(path).read()
    assert "{0:12" in text.replace("\n", "").replace("\t", "") or "0:12" in text
    assert load_json_config(path) == {"offsetTable": {"T@g": {0: 12, 1: 7}}}
    save_json_config(path, {"offsetTable": {}})
    assert load_json_config(path + ".bak") == {"offsetTable": {"T@g": {0: 12, 1: 7}}}
    assert not os.path.exists(path + ".tmp")
    with open(path, "w") as f:
        f.write("{broken")
    assert load_json_config(path) == {"offsetTable": {"T@g": {0: 12, 1: 7}}}  # falls back to .bak
    with open(path + ".bak", "w") as f:
        f.write("{also broken")
    with pytest.raises(ConfigFileError):
        load_json_config(path)


def test_decode_record_from_commitlog_file(tmp_path) -> None:
    cl = CommitLog(str(tmp_path / "cl"), 4096)
    (phys, rec), = _fill(cl, 1, body_size=3)
    msg, size = decode_record(cl.read_record(phys), check_crc=True)
    assert size == len(rec) and msg.properties == {"K": "v"}
    cl.close()


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=40, max_size=140), st.sampled_from([0, 0x10, 0x20, 0x30]), st.binary(max_size=300))
def test_check_record_never_raises_on_garbage(data: bytes, sys_flag: int, noise: bytes) -> None:
    framed = struct.pack(">iIiiiqqi", len(data) + 40, MESSAGE_MAGIC_CODE, 0, 0, 0, 0, 0, sys_flag) + data
    for buf in (noise, framed, framed + bytes(64)):
        size, _clean = check_record(memoryview(buf), 0, 0, True)
        assert size in (-1, 0) or 91 <= size <= len(buf)
