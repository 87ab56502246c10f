"""FileLog: RaftLog contract over DLedger files, positions, fillers, truncation, recovery, hard state."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmqlite.dledger.entry import (
    BODY_OFFSET,
    decode_entry,
    decode_index_unit,
    peek_magic_size,
)
from rmqlite.dledger.file_log import FileLog, FileLogError, read_properties
from rmqlite.dledger.log import HardState, MemoryLog
from rmqlite.dledger.messages import Entry

FS = 4096          # small data files so fillers and file rolls happen
UNITS = 64         # 64 index units per index file (2 KiB)


def make(tmp: Path, name: str = "n0", **kw) -> FileLog:
    fl = FileLog(str(tmp / f"dledger-{name}"), data_file_size=FS, index_file_units=UNITS, **kw)
    fl.open()
    return fl


def ents(first: int, term: int, sizes: list[int]) -> list[Entry]:
    return [Entry(first + i, term, bytes([(first + i) % 251]) * s) for i, s in enumerate(sizes)]


def test_empty_log(tmp_path: Path) -> None:
    fl = make(tmp_path)
    assert fl.last_index() == 0 and fl.term(0) == 0 and fl.end_pos == 0
    assert fl.hard_state() == HardState()
    with pytest.raises(IndexError):
        fl.term(1)
    assert fl.entries(1, 1) == []


def test_append_read_and_dledger_layout(tmp_path: Path) -> None:
    fl = make(tmp_path)
    batch = [Entry(1, 1, b""), Entry(2, 1, b"hello"), Entry(3, 2, b"x" * 100)]
    fl.append(batch)
    assert fl.last_index() == 3 and fl.term(2) == 1 and fl.term(3) == 2
    assert fl.entries(1, 4) == batch
    assert fl.entry_pos(1) == 0 and fl.entry_pos(2) == 48 and fl.entry_pos(3) == 48 + 53
    raw = (tmp_path / "dledger-n0" / "data" / f"{0:020d}").read_bytes()
    e = decode_entry(raw, 48)
    assert (e.index, e.term, e.pos, e.body) == (1, 1, 48, b"hello")       # DLedger index = raft index - 1
    unit = (tmp_path / "dledger-n0" / "index" / f"{0:020d}").read_bytes()[64:96]
    assert decode_index_unit(unit) == (1, 101, 148, 2, 2)
    assert fl.end_pos == 101 + 148


def test_entries_max_bytes_returns_at_least_one(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append(ents(1, 1, [100, 100, 100]))
    assert [e.index for e in fl.entries(1, 4, max_bytes=150)] == [1]
    assert [e.index for e in fl.entries(1, 4, max_bytes=50)] == [1]
    assert [e.index for e in fl.entries(1, 4, max_bytes=200)] == [1, 2]


def test_filler_and_file_roll(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append(ents(1, 1, [3000, 2000]))          # second entry does not fit: filler, next file
    assert fl.entry_pos(2) == FS
    raw = (tmp_path / "dledger-n0" / "data" / f"{0:020d}").read_bytes()
    assert peek_magic_size(raw, 3048) == (-1, FS - 3048)
    assert fl.entries(2, 3)[0].data == bytes([2]) * 2000
    with pytest.raises(FileLogError):
        fl.next_entry_pos(FS)                     # never fits a file


def test_truncate_removes_filler_so_positions_match_leader(tmp_path: Path) -> None:
    follower = make(tmp_path, "f")
    follower.append(ents(1, 1, [3000, 2000]))    # entry 2 rolled to the next file behind a filler
    follower.append(ents(2, 2, [100]))           # leader's entry 2 is small: fits in file 0
    leader = make(tmp_path, "l")
    leader.append(ents(1, 1, [3000]) + ents(2, 2, [100]))
    assert follower.entry_pos(2) == leader.entry_pos(2) == 3048
    assert len(follower.data.files) == 1
    a = follower.read(0, follower.end_pos)
    b = leader.read(0, leader.end_pos)
    assert a == b


def test_truncate_hook_and_rewrite(tmp_path: Path) -> None:
    fl = make(tmp_path)
    seen = []
    fl.on_truncate = lambda first, end: seen.append((first, end))
    fl.append(ents(1, 1, [10, 10, 10]))
    fl.append([Entry(2, 2, b"new")])
    assert seen == [(2, 58)]
    assert fl.last_index() == 2 and fl.term(2) == 2 and fl.entries(2, 3)[0].data == b"new"
    with pytest.raises(ValueError):
        fl.append([Entry(5, 2, b"hole")])


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    fl = make(tmp_path)
    batch = ents(1, 1, [700] * 12) + ents(13, 3, [0, 5])
    fl.append(batch)
    fl.set_hard_state(HardState(3, "n1", 13))
    fl.write_checkpoint(13)
    fl.close()
    again = make(tmp_path)
    assert again.last_index() == 14 and again.entries(1, 15) == batch
    assert again.hard_state() == HardState(3, "n1", 13)
    props = read_properties(str(tmp_path / "dledger-n0" / "checkpoint"))
    assert props == {"endIndex": "13", "committedIndex": "12"}
    assert read_properties(str(tmp_path / "dledger-n0" / "currterm")) == {"currTerm": "3", "voteLeader": "n1"}


def test_recovery_after_kill_without_close(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append(ents(1, 1, [500] * 20))             # never closed nor flushed: mmap writes are in the page cache
    again = make(tmp_path)
    assert again.last_index() == 20 and again.entries(20, 21)[0].data == bytes([20]) * 500


def test_recovery_cuts_torn_tail(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append(ents(1, 1, [300] * 6))
    pos5 = fl.entry_pos(5)
    fl.close()
    data = tmp_path / "dledger-n0" / "data" / f"{0:020d}"
    raw = bytearray(data.read_bytes())
    raw[pos5:pos5 + BODY_OFFSET] = bytes(BODY_OFFSET)     # header of entry 5 never written (rule 1)
    data.write_bytes(raw)
    again = make(tmp_path)
    assert again.last_index() == 4 and again.end_pos == pos5
    assert again.read(pos5, 1) is None
    assert again.data.files[0].read(pos5, FS - pos5) == bytes(FS - pos5)    # tail zeroed, entry 6 gone too
    again.append(ents(5, 2, [10]))
    assert again.entry_pos(5) == pos5


def test_recovery_rebuilds_missing_index_units(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append(ents(1, 1, [100] * 5))
    fl.close()
    idx = tmp_path / "dledger-n0" / "index" / f"{0:020d}"
    raw = bytearray(idx.read_bytes())
    raw[3 * 32:] = bytes(len(raw) - 3 * 32)                 # units of entries 4 and 5 lost
    idx.write_bytes(raw)
    again = make(tmp_path)
    assert again.last_index() == 5 and again.term(5) == 1 and again.entries(4, 6)[1].data == bytes([5]) * 100


def test_body_check_rejects_bad_tail(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append([Entry(1, 1, b"good"), Entry(2, 1, b"bad!"), Entry(3, 1, b"good")])
    fl.close()
    again = make(tmp_path, body_check=lambda body, pos: body != b"bad!")
    assert again.last_index() == 1


def test_scan_starts_at_third_last_file(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append(ents(1, 1, [3000] * 8))              # one entry per file
    fl.close()
    first = tmp_path / "dledger-n0" / "data" / f"{0:020d}"
    raw = bytearray(first.read_bytes())
    raw[100:200] = b"\xff" * 100                   # damage inside an old file: not rescanned, not lost
    first.write_bytes(raw)
    again = make(tmp_path)
    assert again.last_index() == 8 and again.entry_pos(8) == 7 * FS


def test_index_at_or_after(tmp_path: Path) -> None:
    fl = make(tmp_path)
    fl.append(ents(1, 1, [0, 10, 10]))
    assert fl.index_at_or_after(0) == 1
    assert fl.index_at_or_after(48) == 2          # entry 1 ends at 48
    assert fl.index_at_or_after(60) == 2
    assert fl.index_at_or_after(fl.end_pos) == 4


def test_sync_modes(tmp_path: Path) -> None:
    deferred = make(tmp_path, "d", fsync=True, defer_sync=True)
    deferred.append(ents(1, 1, [10]))
    deferred.sync()
    assert deferred.sync_pending
    deferred.flush_data()
    assert not deferred.sync_pending
    direct = make(tmp_path, "s", fsync=True)
    direct.append(ents(1, 1, [10]))
    direct.sync()
    assert not direct.sync_pending


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 3), st.lists(st.integers(0, 1500), max_size=6)),
                max_size=12))
def test_matches_memory_log(tmp_path_factory: pytest.TempPathFactory, ops: list) -> None:
    """Random appends/truncations: same entries as MemoryLog, positions = pure layout, reopen identical."""
    tmp = tmp_path_factory.mktemp("prop")
    fl = make(tmp)
    ml = MemoryLog()
    term = 1
    for back, dterm, sizes in ops:
        first = max(1, ml.last_index() + 1 - back)
        term += dterm - 1
        batch = ents(first, max(term, ml.term(first - 1)), sizes)
        if not batch:
            continue
        fl.append(batch)
        ml.append(batch)
        assert fl.last_index() == ml.last_index()
    assert fl.entries(1, fl.last_index() + 1) == ml.all_entries()
    expect = 0
    for e in ml.all_entries():
        size = BODY_OFFSET + len(e.data)
        if expect % FS and size + 8 > FS - expect % FS:
            expect += FS - expect % FS
        assert fl.entry_pos(e.index) == expect
        expect += size
    fl.close()
    again = make(tmp)
    assert again.entries(1, again.last_index() + 1) == ml.all_entries()
