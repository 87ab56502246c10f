"""Per topic/queue index of commitlog positions (Java ``ConsumeQueue``).

How it works:
1. Files live at ``root/consumequeue/<topic>/<queueId>/<20-digit byte offset>``; each holds
   ``units_per_file`` 20-byte units: commitlog offset (8), record size (4), tagsCode (8).
2. Logical (queue) offset n is byte n * 20 of the queue's byte stream. ``max_offset`` = next free
   unit; ``min_offset`` = first unit still pointing into the commitlog.
3. A queue whose first unit is not logical offset 0 starts with a file named by the rounded-down
   byte offset and is pre-filled with filler units (0, Integer.MAX_VALUE, 0) up to it.
4. Appends are idempotent: a unit for a record at or before the last one written, or for a
   logical offset already present, is skipped (re-dispatch after recovery is harmless).
5. Recovery keeps units while phys >= 0 and size > 0 (checking from the 3rd-last file), then
   ``truncate_dirty`` drops units pointing at or beyond the commitlog end.
"""

from __future__ import annotations

import logging
import os
import struct
from typing import Callable

from rmqlite.store.mapped_file import MappedFileQueue

CQ_STORE_UNIT_SIZE = 20
FILLER_SIZE = 0x7FFFFFFF
_UNIT = struct.Struct(">qiq")
_FILLER = _UNIT.pack(0, FILLER_SIZE, 0)
log = logging.getLogger(__name__)


def is_filler(phys: int, size: int) -> bool:
    """True for the (0, Integer.MAX_VALUE) pre-fill unit."""
    return phys == 0 and size == FILLER_SIZE


class ConsumeQueue:
    """One topic/queue's consume queue."""

    def __init__(self, root: str, topic: str, queue_id: int, units_per_file: int) -> None:
        self.topic = topic
        self.queue_id = queue_id
        self.queue = MappedFileQueue(os.path.join(root, topic, str(queue_id)), units_per_file * CQ_STORE_UNIT_SIZE)
        self.min_logic_offset = 0  # bytes
        self.max_physic_offset = -1  # commitlog end of the last unit written

    # ------------------------------------------------------------------ load / recover

    def load(self) -> None:
        self.queue.load()

    def recover(self) -> None:
        """Find the last valid unit (rule 5) and truncate after it."""
        files = self.queue.files
        if not files:
            return
        end = files[max(0, len(files) - 3)].file_from_offset
        for mf in files[max(0, len(files) - 3) :]:
            pos = self._valid_prefix(mf.read(0, self.queue.file_size))
            end = mf.file_from_offset + pos
            if pos < self.queue.file_size:
                break
        self.queue.truncate_dirty(end)
        self._reset_max_physic()

    @staticmethod
    def _valid_prefix(data: bytes) -> int:
        """Byte length of the leading run of valid units (appends make valid units a prefix)."""
        def ok(i: int) -> bool:
            phys, size, _t = _UNIT.unpack_from(data, i * CQ_STORE_UNIT_SIZE)
            return phys >= 0 and size > 0

        lo, hi = 0, len(data) // CQ_STORE_UNIT_SIZE
        while lo < hi:
            mid = (lo + hi) // 2
            if ok(mid):
                lo = mid + 1
            else:
                hi = mid
        return lo * CQ_STORE_UNIT_SIZE

    def _reset_max_physic(self) -> None:
        end = self.queue.max_offset
        last = self._unit_at(end - CQ_STORE_UNIT_SIZE) if end > self.queue.min_offset else None
        self.max_physic_offset = last[0] + last[1] if last and not is_filler(last[0], last[1]) else -1

    def correct_min_offset(self, commitlog_min: int) -> None:
        """Set the min offset to the first real unit pointing at or after ``commitlog_min``."""
        at = self.queue.min_offset
        end = self.queue.max_offset
        while at < end:
            unit = self._unit_at(at)
            if unit is not None and unit[0] >= commitlog_min and not is_filler(unit[0], unit[1]):
                break
            at += CQ_STORE_UNIT_SIZE
        self.min_logic_offset = at

    def truncate_dirty(self, phys_end: int) -> None:
        """Drop units for records at or beyond commitlog offset ``phys_end``."""
        cut = self.queue.max_offset
        floor = self.queue.min_offset
        while cut - CQ_STORE_UNIT_SIZE >= floor:
            unit = self._unit_at(cut - CQ_STORE_UNIT_SIZE)
            if unit is None or unit[0] < phys_end or is_filler(unit[0], unit[1]):
                break
            cut -= CQ_STORE_UNIT_SIZE
        if cut < self.queue.max_offset:
            self.queue.truncate_dirty(cut)
        self._reset_max_physic()
        self.min_logic_offset = min(self.min_logic_offset, self.queue.max_offset)

    # ------------------------------------------------------------------ write

    def put(self, phys: int, size: int, tags_code: int, queue_offset: int) -> bool:
        """Append the unit for logical ``queue_offset``; False if it was already there (rule 4)."""
        if phys + size <= self.max_physic_offset:
            return False
        expect = queue_offset * CQ_STORE_UNIT_SIZE
        files = self.queue.files
        if files:       # the usual case: the next unit of a file with room goes straight into the mapping
            mf = files[-1]
            pos = mf.wrote_position
            if pos < mf.file_size and mf.file_from_offset + pos == expect:
                _UNIT.pack_into(mf.mm, pos, phys, size, tags_code)
                mf.wrote_position = pos + CQ_STORE_UNIT_SIZE
                self.max_physic_offset = phys + size
                return True
        first = not self.queue.files
        mf = self.queue.file_for_append(expect)
        if first and queue_offset != 0:
            self.min_logic_offset = expect
            for _ in range((expect - mf.file_from_offset) // CQ_STORE_UNIT_SIZE):
                mf.append(_FILLER)
        current = self.queue.max_offset
        if expect < current:
            return False
        if expect != current:
            log.warning("consume queue %s-%d: expected offset %d but at %d", self.topic, self.queue_id,
                        expect // CQ_STORE_UNIT_SIZE, current // CQ_STORE_UNIT_SIZE)
        if mf.is_full:
            mf = self.queue.file_for_append()
        mf.append(_UNIT.pack(phys, size, tags_code))
        self.max_physic_offset = phys + size
        return True

    # ------------------------------------------------------------------ read

    @property
    def min_offset(self) -> int:
        return self.min_logic_offset // CQ_STORE_UNIT_SIZE

    @property
    def max_offset(self) -> int:
        return self.queue.max_offset // CQ_STORE_UNIT_SIZE

    @property
    def units_per_file(self) -> int:
        return self.queue.file_size // CQ_STORE_UNIT_SIZE

    def _unit_at(self, byte_offset: int) -> tuple[int, int, int] | None:
        mf = self.queue.find(byte_offset)
        if mf is None or byte_offset + CQ_STORE_UNIT_SIZE > mf.end_offset:
            return None
        return _UNIT.unpack(mf.read(byte_offset - mf.file_from_offset, CQ_STORE_UNIT_SIZE))

    def unit(self, offset: int) -> tuple[int, int, int] | None:
        """(phys, size, tagsCode) at logical ``offset``, or None outside [min, max)."""
        if offset < self.min_offset or offset >= self.max_offset:
            return None
        return self._unit_at(offset * CQ_STORE_UNIT_SIZE)

    def units_from(self, offset: int, max_bytes: int | None = None) -> bytes | None:
        """Raw units from logical ``offset`` to the end of written data in its file (Java
        ``getIndexBuffer``), at most ``max_bytes``; None if that file is gone."""
        byte_offset = offset * CQ_STORE_UNIT_SIZE
        if byte_offset < self.min_logic_offset:
            return None
        mf = self.queue.find(byte_offset)
        if mf is None or byte_offset >= mf.end_offset:
            return None
        size = mf.end_offset - byte_offset
        if max_bytes is not None:
            size = min(size, max_bytes - max_bytes % CQ_STORE_UNIT_SIZE)
        return mf.read(byte_offset - mf.file_from_offset, size)

    def roll_next_file(self, offset: int) -> int:
        """First logical offset of the file after the one holding ``offset``."""
        per = self.units_per_file
        return offset + per - offset % per

    def offset_by_time(self, ts: int, store_time: Callable[[int, int], int], commitlog_min: int) -> int:
        """Queue offset whose store time is ``ts`` (first such), else the nearer neighbour
        (the earlier one on a tie); the first offset if all are later, the last if all earlier."""
        lo, hi = self.min_offset, self.max_offset
        if lo >= hi:
            return 0 if not self.queue.files else lo
        while lo < hi:  # skip units whose record is gone
            unit = self.unit(lo)
            if unit is not None and unit[0] >= commitlog_min and not is_filler(unit[0], unit[1]):
                break
            lo += 1
        first, last = lo, self.max_offset - 1
        if first > last:
            return self.max_offset

        def t(n: int) -> int:
            u = self.unit(n)
            return store_time(u[0], u[1]) if u else -1

        left, right = first, last + 1
        while left < right:
            mid = (left + right) // 2
            if t(mid) < ts:
                left = mid + 1
            else:
                right = mid
        if left <= last and t(left) == ts:
            return left
        if left == first:
            return first
        if left > last:
            return last
        return left if abs(t(left) - ts) < abs(ts - t(left - 1)) else left - 1

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        self.queue.flush()

    def take_dirty(self) -> list[str]:
        return self.queue.take_dirty()

    def close(self) -> None:
        self.queue.close()

    def destroy(self) -> None:
        """Delete the queue's files and directories."""
        self.queue.destroy()
        try:
            os.rmdir(os.path.dirname(self.queue.directory))
        except OSError:
            pass
