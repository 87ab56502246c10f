"""Message key index: hash files from ``topic#key`` to commitlog offsets (Java ``IndexFile``/``IndexService``).

How it works (wire-facts 5.3):
1. A file is a 40-byte header (beginTimestamp, endTimestamp, beginPhyOffset, endPhyOffset: longs;
   hashSlotCount, indexCount: ints), ``slot_num`` 4-byte hash slots, then ``index_num`` 20-byte
   entries (keyHash 4, phyOffset 8, timeDiff seconds 4, previous entry number 4).
2. hash = |Java hashCode(topic#key)| (MIN_VALUE -> 0), slot = hash % slot_num. A slot holds the number
   of the newest entry of its bucket; entries chain to older ones. Entry 0 is never used: indexCount
   starts at 1. When indexCount reaches ``index_num`` a new file is started.
3. Files are named by creation time ``yyyyMMddHHmmssSSS`` (local time, strictly increasing) and
   queried newest to oldest. Per message we index UNIQ_KEY and every non-empty KEYS token, never
   rollback records, and skip records at or before the last file's endPhyOffset (idempotent redo).
4. Unlike Java we write the header through to the mmap on every put, and ``truncate_after`` undoes
   the newest entries (slot := previous entry) so a truncated commitlog tail leaves no stale keys.
"""

from __future__ import annotations

import os
import struct
import time
from typing import Callable

from rmqlite.common.message import TRANSACTION_ROLLBACK_TYPE, MessageConst, MessageSysFlag, java_string_hash
from rmqlite.store.mapped_file import MappedFile

HEADER_SIZE = 40
HASH_SLOT_SIZE = 4
INDEX_SIZE = 20
_HEADER = struct.Struct(">qqqqii")
_ENTRY = struct.Struct(">iqii")
_I = struct.Struct(">i")


def index_key_hash(key: str) -> int:
    """Non-negative key hash as Java ``indexKeyHashMethod``."""
    h = abs(java_string_hash(key))
    return 0 if h > 0x7FFFFFFF else h


def index_file_name(now_ms: int) -> str:
    """``yyyyMMddHHmmssSSS`` of ``now_ms`` in local time (Java ``UtilAll.timeMillisToHumanString``)."""
    t = time.localtime(now_ms // 1000)
    return time.strftime("%Y%m%d%H%M%S", t) + f"{now_ms % 1000:03d}"


class IndexFile:
    """One index file (rule 1)."""

    def __init__(self, path: str, slot_num: int, index_num: int, end_phy: int = 0, end_ts: int = 0) -> None:
        self.slot_num = slot_num
        self.index_num = index_num
        self.path = path
        self.dirty = False
        existed = os.path.exists(path)
        self.mf = MappedFile(path, HEADER_SIZE + slot_num * HASH_SLOT_SIZE + index_num * INDEX_SIZE, 0)
        if existed:
            (self.begin_ts, self.end_ts, self.begin_phy, self.end_phy, self.slot_count,
             self.index_count) = _HEADER.unpack(self.mf.read(0, HEADER_SIZE))
            self.index_count = max(self.index_count, 1)
        else:
            self.begin_ts = self.end_ts = max(end_ts, 0)
            self.begin_phy = self.end_phy = max(end_phy, 0)
            self.slot_count, self.index_count = 0, 1
            self._write_header()

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def is_write_full(self) -> bool:
        return self.index_count >= self.index_num

    def _write_header(self) -> None:
        self.dirty = True
        self.mf.write_at(0, _HEADER.pack(self.begin_ts, self.end_ts, self.begin_phy, self.end_phy,
                                         self.slot_count, self.index_count))

    def _slot_pos(self, key_hash: int) -> int:
        return HEADER_SIZE + (key_hash % self.slot_num) * HASH_SLOT_SIZE

    def _entry_pos(self, n: int) -> int:
        return HEADER_SIZE + self.slot_num * HASH_SLOT_SIZE + n * INDEX_SIZE

    def put_key(self, key: str, phy: int, store_ts: int) -> bool:
        """Add one key; False when the file is full."""
        count = self.index_count
        if count >= self.index_num:
            return False
        mm = self.mf.mm
        key_hash = index_key_hash(key)
        slot_pos = HEADER_SIZE + (key_hash % self.slot_num) * HASH_SLOT_SIZE
        (slot,) = _I.unpack_from(mm, slot_pos)
        if slot <= 0 or slot > count:
            slot = 0
        diff = 0 if self.begin_ts <= 0 else min(max((store_ts - self.begin_ts) // 1000, 0), 0x7FFFFFFF)
        _ENTRY.pack_into(mm, HEADER_SIZE + self.slot_num * HASH_SLOT_SIZE + count * INDEX_SIZE,
                         key_hash, phy, diff, slot)
        _I.pack_into(mm, slot_pos, count)
        if count <= 1:
            self.begin_phy, self.begin_ts = phy, store_ts
        if slot == 0:
            self.slot_count += 1
        self.index_count = count + 1
        self.end_phy, self.end_ts = phy, store_ts
        self.dirty = True
        _HEADER.pack_into(mm, 0, self.begin_ts, self.end_ts, self.begin_phy, phy, self.slot_count, count + 1)
        return True

    def is_time_matched(self, begin: int, end: int) -> bool:
        """Java ``isTimeMatched``: the file's time range overlaps [begin, end]."""
        b, e = self.begin_ts, self.end_ts
        return (begin < b and end > e) or b <= begin <= e or b <= end <= e

    def select(self, out: list[int], key: str, max_num: int, begin: int, end: int) -> None:
        """Append to ``out`` the offsets of ``key`` stored in [begin, end], newest first."""
        key_hash = index_key_hash(key)
        (n,) = _I.unpack(self.mf.read(self._slot_pos(key_hash), 4))
        if n <= 0 or n > self.index_count or self.index_count <= 1:
            return
        while len(out) < max_num:
            h, phy, diff, prev = _ENTRY.unpack(self.mf.read(self._entry_pos(n), INDEX_SIZE))
            if diff < 0:
                break
            t = self.begin_ts + diff * 1000
            if h == key_hash and begin <= t <= end:
                out.append(phy)
            if prev <= 0 or prev > self.index_count or prev == n or t < begin:
                break
            n = prev

    def truncate_after(self, phys_end: int, store_time: Callable[[int], int]) -> None:
        """Undo the newest entries whose offset is >= ``phys_end`` (rule 4)."""
        changed = False
        while self.index_count > 1:
            n = self.index_count - 1
            h, phy, _diff, prev = _ENTRY.unpack(self.mf.read(self._entry_pos(n), INDEX_SIZE))
            if phy < phys_end:
                break
            self.mf.write_at(self._slot_pos(h), _I.pack(prev if 0 < prev < n else 0))
            if not 0 < prev < n:
                self.slot_count -= 1
            self.mf.write_at(self._entry_pos(n), bytes(INDEX_SIZE))
            self.index_count = n
            changed = True
        if not changed:
            return
        if self.index_count > 1:
            _h, self.end_phy, diff, _p = _ENTRY.unpack(self.mf.read(self._entry_pos(self.index_count - 1), INDEX_SIZE))
            ts = store_time(self.end_phy)
            self.end_ts = ts if ts > 0 else self.begin_ts + diff * 1000
        else:
            self.begin_ts = self.end_ts = self.begin_phy = self.end_phy = 0
        self._write_header()

    def flush(self) -> None:
        if self.dirty:
            self.mf.flush_all()
            self.dirty = False

    def take_dirty(self) -> list[str]:
        if not self.dirty:
            return []
        self.dirty = False
        return [self.mf.path]

    def close(self) -> None:
        self.mf.close()

    def destroy(self) -> None:
        self.mf.destroy()


class IndexService:
    """The list of index files of a store (rule 3)."""

    def __init__(self, directory: str, slot_num: int, index_num: int, max_query_num: int = 64) -> None:
        self.directory = directory
        self.slot_num = slot_num
        self.index_num = index_num
        self.max_query_num = max_query_num
        self.files: list[IndexFile] = []

    def load(self) -> None:
        """Open existing index files in name order."""
        self.close()
        if not os.path.isdir(self.directory):
            return
        for name in sorted(os.listdir(self.directory)):
            if len(name) == 17 and name.isdigit():
                self.files.append(IndexFile(os.path.join(self.directory, name), self.slot_num, self.index_num))

    def _writable_file(self, now_ms: int) -> IndexFile:
        last = self.files[-1] if self.files else None
        if last is not None and not last.is_write_full:
            return last
        os.makedirs(self.directory, exist_ok=True)
        name = index_file_name(now_ms)
        if last is not None and name <= last.name:
            name = str(int(last.name) + 1)  # keep names strictly increasing
        f = IndexFile(os.path.join(self.directory, name), self.slot_num, self.index_num,
                      last.end_phy if last else 0, last.end_ts if last else 0)
        if last is not None:
            last.flush()
        self.files.append(f)
        return f

    @property
    def last_end_phy(self) -> int:
        """endPhyOffset of the newest file, or -1 when nothing is indexed."""
        for f in reversed(self.files):
            if f.index_count > 1 or f.end_phy > 0:
                return f.end_phy
        return -1

    def build(self, topic: str, phy: int, store_ts: int, sys_flag: int, props: dict[str, str]) -> None:
        """Index one record's UNIQ_KEY and KEYS tokens (rule 3)."""
        if MessageSysFlag.get_transaction_value(sys_flag) == TRANSACTION_ROLLBACK_TYPE:
            return
        last = self.files[-1] if self.files else None
        if last is not None and (last.index_count > 1 or last.end_phy > 0):
            if phy <= last.end_phy:         # last_end_phy, without the walk when the newest file has entries
                return
        elif phy <= self.last_end_phy:
            return
        uniq = props.get(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        keys = props.get(MessageConst.PROPERTY_KEYS)
        if uniq and not keys and last is not None and last.index_count < last.index_num:
            last.put_key(f"{topic}#{uniq}", phy, store_ts)      # the common case: one key, room in the file
            return
        todo = [uniq] if uniq else []
        if keys:
            todo.extend(k for k in keys.split(MessageConst.KEY_SEPARATOR) if k)
        for key in todo:
            full = f"{topic}#{key}"
            f = self._writable_file(store_ts)
            if not f.put_key(full, phy, store_ts):
                self._writable_file(store_ts).put_key(full, phy, store_ts)

    def query(self, topic: str, key: str, max_num: int, begin: int, end: int) -> tuple[list[int], int, int]:
        """(offsets newest first, indexLastUpdateTimestamp, indexLastUpdatePhyoffset)."""
        out: list[int] = []
        max_num = min(max_num, self.max_query_num)
        last_ts = last_phy = 0
        for i in range(len(self.files) - 1, -1, -1):
            f = self.files[i]
            if i == len(self.files) - 1:
                last_ts, last_phy = f.end_ts, f.end_phy
            if f.is_time_matched(begin, end):
                f.select(out, f"{topic}#{key}", max_num, begin, end)
            if f.begin_ts < begin or len(out) >= max_num:
                break
        return out, last_ts, last_phy

    def truncate_after(self, phys_end: int, store_time: Callable[[int], int]) -> None:
        """Undo entries for records at or beyond ``phys_end``; drop files left empty."""
        while self.files:
            f = self.files[-1]
            f.truncate_after(phys_end, store_time)
            if f.index_count > 1 or len(self.files) == 1:
                break
            self.files.pop().destroy()

    def flush(self) -> None:
        for f in self.files:
            f.flush()

    def take_dirty(self) -> list[str]:
        return [p for f in self.files for p in f.take_dirty()]

    def close(self) -> None:
        for f in self.files:
            f.close()
        self.files = []

    def destroy(self) -> None:
        for f in self.files:
            f.destroy()
        self.files = []
