"""The commitlog: every message record, appended in arrival order (Java ``CommitLog``).

How it works:
1. Records (wire-facts 4.1) are appended to a ``MappedFileQueue`` of ``file_size`` files. The
   physical offset of a record is its global byte offset; PHYSICALOFFSET inside it equals that.
2. Records never span files: if ``size + 8`` does not fit in the rest of the current file, an
   8-byte BLANK marker (TOTALSIZE = bytes left, MAGIC = 0xCBD43194) is written and the record goes
   to the start of the next file. So there is always room for that marker.
3. Recovery scans forward from a file start, validating each record (magic, sizes agree, body CRC,
   PHYSICALOFFSET = position); at a BLANK it jumps to the next file. The first invalid record ends
   the log; everything from there on is truncated (and zeroed).
4. In ``strict`` mode (abnormal recovery) a record whose topic or properties contain NUL bytes or
   bad UTF-8 is accepted only if a valid record (or BLANK) follows it: a torn tail write shows up
   as zeroed trailing bytes, which the body CRC does not cover for the topic and properties.
5. ``CommitLogLike`` is the interface the message store relies on, so another log (e.g. a DLedger
   entry file whose entries carry records) can stand in for this one.
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterator, Protocol

from rmqlite.common.message import BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE, MessageSysFlag, record_length, record_store_timestamp
from rmqlite.store.mapped_file import MappedFile, MappedFileQueue, StoreFileError

END_FILE_MIN_BLANK_LENGTH = 8
_HEAD = struct.Struct(">iIiiiqqi")  # TOTALSIZE, MAGIC, BODYCRC, QUEUEID, FLAG, QOFF, PHYS, SYSFLAG
_TM = struct.Struct(">iI")
_I = struct.Struct(">i")
_H = struct.Struct(">h")


class CommitLogLike(Protocol):
    """What ``MessageStore`` needs from a commit log."""

    @property
    def min_offset(self) -> int: ...
    @property
    def max_offset(self) -> int: ...
    def load(self) -> None: ...
    def recovery_start(self, abnormal: bool, min_timestamp: int) -> int: ...
    def recover(self, start: int, check_crc: bool = True, strict: bool = False) -> int: ...
    def store_timestamp(self, phys: int) -> int: ...
    def prepare(self, size: int) -> int: ...
    def append(self, data: bytes | bytearray) -> int: ...
    def read(self, phys: int, size: int) -> bytes | None: ...
    def read_record(self, phys: int) -> bytes | None: ...
    def iter_records(self, start: int, end: int) -> Iterator[tuple[int, bytes]]: ...
    def roll_next_file(self, offset: int) -> int: ...
    def truncate(self, offset: int) -> None: ...
    def flush(self) -> None: ...
    def take_dirty(self) -> list[str]: ...
    def close(self) -> None: ...


def check_record(buf: memoryview, pos: int, phys: int, check_crc: bool) -> tuple[int, bool]:
    """Validate the record at ``buf[pos:]`` expected at physical offset ``phys``.

    Returns (size, clean): size > 0 for a valid message, 0 for a BLANK marker, -1 if invalid;
    ``clean`` is False when topic/properties hold NUL or bad UTF-8 (see rule 4).
    """
    avail = len(buf) - pos
    if avail < 8:
        return -1, True
    total, magic = _TM.unpack_from(buf, pos)
    if magic == BLANK_MAGIC_CODE:
        return (0, True) if total == avail else (-1, True)
    if magic != MESSAGE_MAGIC_CODE or total < 91 or total > avail:
        return -1, True
    _t, _m, crc, _q, _f, _qo, rec_phys, sys_flag = _HEAD.unpack_from(buf, pos)
    if rec_phys != phys:
        return -1, True
    born = 20 if sys_flag & MessageSysFlag.BORNHOST_V6_FLAG else 8
    store = 20 if sys_flag & MessageSysFlag.STOREHOSTADDRESS_V6_FLAG else 8
    p = pos + 48 + born + 8 + store + 12
    if p + 4 > pos + total:
        return -1, True
    (body_len,) = _I.unpack_from(buf, p)
    if body_len < 0 or body_len > total:
        return -1, True
    body_at = p + 4
    if check_crc and (zlib.crc32(buf[body_at : body_at + body_len]) & 0x7FFFFFFF) != crc:
        return -1, True
    p = body_at + body_len
    if p + 3 > pos + total:
        return -1, True
    topic_len = buf[p]
    t_at = p + 1
    (props_len,) = _H.unpack_from(buf, t_at + topic_len) if t_at + topic_len + 2 <= pos + total else (-1,)
    if topic_len > 127 or props_len < 0 or record_length(sys_flag, body_len, topic_len, props_len) != total:
        return -1, True
    text = bytes(buf[t_at : t_at + topic_len]) + bytes(buf[t_at + topic_len + 2 : pos + total])
    clean = topic_len > 0 and b"\x00" not in text
    if clean:
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            clean = False
    return total, clean


class CommitLog:
    """Append-only record log over mmap'd files (see module doc)."""

    def __init__(self, directory: str, file_size: int, preallocate: bool = False) -> None:
        self.queue = MappedFileQueue(directory, file_size, preallocate)
        self.file_size = file_size

    def load(self) -> None:
        """Open existing files (positions are fixed by ``recover``)."""
        self.queue.load()

    @property
    def min_offset(self) -> int:
        return self.queue.min_offset

    @property
    def max_offset(self) -> int:
        return self.queue.max_offset

    @property
    def files(self) -> list[MappedFile]:
        return self.queue.files

    # ------------------------------------------------------------------ append / read

    def prepare(self, size: int) -> int:
        """Make room for a ``size``-byte append in one file (rule 2); returns its physical offset."""
        if size + END_FILE_MIN_BLANK_LENGTH > self.file_size:
            raise StoreFileError(f"record of {size} bytes cannot fit a {self.file_size}-byte commitlog file")
        files = self.queue.files
        if files:       # the usual case: it fits in the current file
            mf = files[-1]
            pos = mf.wrote_position
            if pos + size + END_FILE_MIN_BLANK_LENGTH <= mf.file_size:
                return mf.file_from_offset + pos
        mf = self.queue.file_for_append(0)
        if size + END_FILE_MIN_BLANK_LENGTH > mf.remaining:
            mf.write_at(mf.wrote_position, _TM.pack(mf.remaining, BLANK_MAGIC_CODE))
            mf.wrote_position = self.file_size
            mf = self.queue.file_for_append()
        return mf.end_offset

    def append(self, data: bytes | bytearray) -> int:
        """Append bytes (after ``prepare``); returns the physical offset written at."""
        files = self.queue.files
        if not files or len(data) + END_FILE_MIN_BLANK_LENGTH > files[-1].file_size - files[-1].wrote_position:
            raise StoreFileError("append without prepare")
        return files[-1].append(data)

    def read(self, phys: int, size: int) -> bytes | None:
        """``size`` bytes at ``phys`` if they lie inside written data of one file, else None."""
        mf = self.queue.find(phys)
        if mf is None or size < 0 or phys + size > mf.end_offset:
            return None
        return mf.read(phys - mf.file_from_offset, size)

    def read_record(self, phys: int) -> bytes | None:
        """The whole message record starting at ``phys``, or None."""
        head = self.read(phys, 8)
        if head is None:
            return None
        total, magic = _TM.unpack(head)
        if magic != MESSAGE_MAGIC_CODE or total < 91:
            return None
        return self.read(phys, total)

    def store_timestamp(self, phys: int) -> int:
        """STORETIMESTAMP of the record at ``phys`` (-1 if unreadable)."""
        head = self.read(phys, 80)
        if head is None:
            return -1
        try:
            return record_store_timestamp(head)
        except struct.error:
            return -1

    def roll_next_file(self, offset: int) -> int:
        """Start offset of the file after the one containing ``offset``."""
        return offset + self.file_size - offset % self.file_size

    def iter_records(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Yield (phys, record bytes) for message records in [start, end); ``start`` on a boundary."""
        phys = start
        while phys < end:
            mf = self.queue.find(phys)
            if mf is None:
                return
            head = mf.read(phys - mf.file_from_offset, 8)
            if len(head) < 8:
                return
            total, magic = _TM.unpack(head)
            if magic == BLANK_MAGIC_CODE or total <= 0:
                phys = self.roll_next_file(phys)
                continue
            if magic != MESSAGE_MAGIC_CODE or phys + total > mf.end_offset:
                return
            yield phys, mf.read(phys - mf.file_from_offset, total)
            phys += total

    # ------------------------------------------------------------------ recovery

    def validate_from(self, start: int, check_crc: bool = True, strict: bool = False) -> int:
        """Scan from file-start offset ``start``; return the offset just past the last valid record."""
        end = start
        for mf in self.queue.iter_from(start):
            pos = end - mf.file_from_offset
            if pos < 0 or pos >= self.file_size:
                return end
            with mf.view() as view:
                pos, reached_blank = self._scan_file(view, pos, mf.file_from_offset, check_crc, strict)
            end = mf.file_from_offset + pos
            if not reached_blank:
                return end
            end = mf.file_from_offset + self.file_size
        return end

    def _scan_file(self, view: memoryview, pos: int, base: int, check_crc: bool, strict: bool) -> tuple[int, bool]:
        """Walk one file from ``pos``; returns (end pos, whether it ended with a BLANK marker)."""
        while True:
            size, clean = check_record(view, pos, base + pos, check_crc)
            if size == 0:
                return pos, True
            if size < 0:
                return pos, False
            if strict and not clean:
                nxt, _ = check_record(view, pos + size, base + pos + size, check_crc)
                if nxt < 0:
                    return pos, False
            pos += size

    def recover(self, start: int, check_crc: bool = True, strict: bool = False) -> int:
        """Validate from ``start`` (a file start) and truncate everything after the valid end."""
        if not self.queue.files:
            return 0
        start = max(start, self.min_offset)
        end = self.validate_from(start, check_crc, strict)
        self.truncate(end)
        return end

    def recovery_start(self, abnormal: bool, min_timestamp: int) -> int:
        """Where recovery starts scanning: the 3rd-last file; after a crash possibly earlier, the
        newest file whose first record was stored at or before ``min_timestamp`` (Java rule)."""
        files = self.queue.files
        if not files:
            return 0
        start = files[max(0, len(files) - 3)].file_from_offset
        if not abnormal:
            return start
        for mf in reversed(files):
            ts = self.first_store_timestamp(mf)
            if ts != 0 and ts <= min_timestamp:
                return min(start, mf.file_from_offset)
        return files[0].file_from_offset

    def first_store_timestamp(self, mf: MappedFile) -> int:
        """STORETIMESTAMP of a file's first record (0 if it does not start with a message)."""
        head = mf.read(0, 80)
        total, magic = _TM.unpack_from(head, 0)
        if magic != MESSAGE_MAGIC_CODE:
            return 0
        return record_store_timestamp(head)

    def truncate(self, offset: int) -> None:
        """Forget everything at or after ``offset``."""
        self.queue.truncate_dirty(offset)

    def flush(self) -> None:
        self.queue.flush()

    def take_dirty(self) -> list[str]:
        return self.queue.take_dirty()

    def close(self) -> None:
        self.queue.close()

    def destroy(self) -> None:
        self.queue.destroy()
