"""The DLedger data file as the broker's commitlog: a ``CommitLogLike`` over ``FileLog`` (DLedgerCommitLog).

How it works:
  ``MessageStore`` (created with ``auto_confirm=False``) encodes records and asks ``prepare(size)`` where
  they go, patches QUEUEOFFSET/PHYSICALOFFSET and calls ``append(bytes)``. Here ``prepare`` answers the
  body position of the entry the bytes will become (``next entry pos + 48``) and ``append`` proposes them
  to the Raft driver, which persists the entry before returning; so a message is written once, into the
  DLedger data file, and PHYSICALOFFSET / offset msg ids equal the body position on every replica.
  Reads (``read``, ``read_record``, ``iter_records``) see message records inside entry bodies; empty
  bodies (leader no-ops) and fillers hold none. The store only dispatches up to the committed body end.

Rules:
  1. ``prepare`` refuses (``ProposalRefused``, an OSError, so the store answers before touching its queue
     offsets) unless this node is a writable leader that would accept one more proposal; ``append`` right
     after it therefore always lands where ``prepare`` said (checked).
  2. While a request is being handled, ``begin()``/``end()`` collect what it proposed (``Accepted``) or
     why it was refused, so the broker answers only after those entries are committed.
  3. ``truncate`` is a no-op: the Raft log truncates its own uncommitted suffix (committed data never
     shrinks), and the store never dispatched past the commit point.
"""
from __future__ import annotations

import logging
import struct
from typing import Iterator

from rmqlite.common.message import MESSAGE_MAGIC_CODE, record_store_timestamp
from rmqlite.dledger.config import Accepted, ProposeResult
from rmqlite.dledger.driver import RaftDriver
from rmqlite.dledger.entry import BODY_OFFSET
from rmqlite.dledger.file_log import FileLog
from rmqlite.store.commitlog import check_record

log = logging.getLogger("rmqlite.broker.dledger")

_TM = struct.Struct(">iI")
_PHYS = struct.Struct(">q")
PHYS_POS = 28          # PHYSICALOFFSET inside a record


class ProposalRefused(OSError):
    """This node cannot take a write now; ``reason`` is DLedger's code name (NOT_LEADER, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"dledger refused the append: {reason}")
        self.reason = reason


def records_valid(body: bytes, body_pos: int) -> bool:
    """Recovery check of an entry body: back-to-back valid records (CRC, sizes, PHYSICALOFFSET)."""
    view = memoryview(body)
    at = 0
    while at < len(body):
        size, _clean = check_record(view, at, body_pos + at, True)
        if size <= 0:
            return False
        at += size
    return at == len(body)


class DLedgerCommitLog:
    """``CommitLogLike`` over a DLedger ``FileLog`` (see module docstring)."""

    def __init__(self, file_log: FileLog) -> None:
        self.log = file_log
        self.driver: RaftDriver | None = None
        self.writable = False
        self._collect: list[ProposeResult | str] | None = None
        self._prepared = -1

    # ------------------------------------------------------------------ request bracketing (rule 2)
    def begin(self) -> None:
        self._collect = []

    def end(self) -> list[ProposeResult | str]:
        out, self._collect = self._collect or [], None
        return out

    def _note(self, what: ProposeResult | str) -> None:
        if self._collect is not None:
            self._collect.append(what)

    # ------------------------------------------------------------------ CommitLogLike: layout
    @property
    def min_offset(self) -> int:
        return self.log.data.start

    @property
    def max_offset(self) -> int:
        return self.log.end_pos

    @property
    def file_size(self) -> int:
        return self.log.file_size

    def load(self) -> None:
        self.log.open()

    def recovery_start(self, abnormal: bool, min_timestamp: int) -> int:
        """Where re-dispatch may start after a crash (Java ``isMmapFileMatchedRecover``): the newest data
        file whose first record was stored at or before the store checkpoint's ``min_timestamp``."""
        files = self.log.data.files
        if not abnormal or not files:
            return files[max(0, len(files) - 3)].start if files else 0
        for f in reversed(files):
            ts = self._first_store_timestamp(f.start)
            if 0 < ts <= min_timestamp:
                return f.start
        return files[0].start

    def _first_store_timestamp(self, file_start: int) -> int:
        """STORETIMESTAMP of the first record in the data file starting at ``file_start`` (0 if none)."""
        fl = self.log
        index = fl.index_at_or_after(file_start)
        while index <= fl.last_index():
            pos, size = fl.entry_span(index)
            if pos >= file_start + self.file_size:
                return 0
            if size > BODY_OFFSET:
                ts = self.store_timestamp(pos + BODY_OFFSET)
                return max(0, ts)
            index += 1
        return 0

    def recover(self, start: int, check_crc: bool = True, strict: bool = False) -> int:
        """The file log recovered itself when loaded; its end is the commitlog end."""
        return self.log.end_pos

    def roll_next_file(self, offset: int) -> int:
        return offset + self.file_size - offset % self.file_size

    # ------------------------------------------------------------------ CommitLogLike: writes
    def prepare(self, size: int) -> int:
        """Body position of the entry ``size`` bytes will become (rule 1)."""
        driver = self.driver
        reason = "NOT_LEADER" if driver is None or not self.writable else driver.propose_refusal()
        if reason is not None:
            self._note(reason)
            raise ProposalRefused(reason)
        self._prepared = self.log.next_entry_pos(BODY_OFFSET + size) + BODY_OFFSET
        return self._prepared

    def append(self, data: bytes | bytearray) -> int:
        """Propose ``data`` (records already patched for ``prepare``'s position); returns that position."""
        expected, self._prepared = self._prepared, -1
        assert self.driver is not None
        res = self.driver.propose(bytes(data))
        self._note(res)
        if not isinstance(res, Accepted):
            log.error("dledger append refused after prepare: %s", res)
            return expected
        pos = self.log.entry_pos(res.last_index) + BODY_OFFSET
        if pos != expected:
            log.error("dledger entry %d landed at body %d, store expected %d", res.last_index, pos, expected)
        return pos

    def truncate(self, offset: int) -> None:
        """Rule 3."""
        if offset < self.log.end_pos:
            log.debug("ignoring store truncate to %d (raft log owns its tail)", offset)

    # ------------------------------------------------------------------ CommitLogLike: reads
    def read(self, phys: int, size: int) -> bytes | None:
        if size < 0:
            return None
        return self.log.read(phys, size)

    def read_record(self, phys: int) -> bytes | None:
        head = self.log.read(phys, 8)
        if head is None:
            return None
        total, magic = _TM.unpack(head)
        if magic != MESSAGE_MAGIC_CODE or total < 91:
            return None
        return self.log.read(phys, total)

    def store_timestamp(self, phys: int) -> int:
        head = self.read_record(phys)
        if head is None:
            return -1
        try:
            return record_store_timestamp(head)
        except struct.error:
            return -1

    def iter_records(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """(phys, record) of every record whose bytes lie in [start, end), in log order."""
        fl = self.log
        index = fl.index_at_or_after(start)
        last = fl.last_index()
        while index <= last:
            pos, size = fl.entry_span(index)
            if pos + BODY_OFFSET >= end:
                return
            body = fl.read(pos + BODY_OFFSET, size - BODY_OFFSET) or b""
            at = 0
            while at + 8 <= len(body):
                total, magic = _TM.unpack_from(body, at)
                if magic != MESSAGE_MAGIC_CODE or total < 91 or at + total > len(body):
                    log.error("entry %d holds no valid record at body offset %d", index, at)
                    break
                phys = pos + BODY_OFFSET + at
                if phys + total > end:
                    return
                if phys >= start:
                    yield phys, body[at:at + total]
                at += total
            index += 1

    # ------------------------------------------------------------------ CommitLogLike: lifecycle
    def flush(self) -> None:
        self.log.flush()

    def take_dirty(self) -> list[str]:
        """The DLedger log syncs itself (the driver's group commit and flush loop): flushed here, no paths."""
        self.log.flush()
        return []

    def close(self) -> None:
        self.log.close()


__all__ = ["DLedgerCommitLog", "ProposalRefused", "records_valid", "PHYS_POS"]
