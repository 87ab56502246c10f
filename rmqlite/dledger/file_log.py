"""``FileLog``: the durable ``RaftLog`` over DLedger 0.2.6 files (data entries, index units, currterm).

How it works:
  Under ``base_dir`` (``<storePathRootDir>/dledger-<selfId>``): ``data/`` holds entries back to back
  (entry.py: 48-byte header + body; a filler ends a file when the next entry does not fit with 8 spare
  bytes), ``index/`` one 32-byte unit per entry (DLedger index ``i - 1`` at byte ``(i - 1) * 32``),
  ``currterm`` the hard state (``currTerm``, ``voteLeader``) and ``checkpoint`` (``endIndex``,
  ``committedIndex``), both Java properties files. Raft index ``i`` is DLedger index ``i - 1``.
  Positions are a pure function of the entry sizes and the data file size, so every replica that holds
  the same entries holds them at the same byte positions (the broker relies on it: a record's
  PHYSICALOFFSET is ``entry pos + 48`` on every node).

Rules:
  1. An entry is written body first, then header, then index unit: a write torn by the death of the
     process leaves a zero header, which recovery treats as the end of the log.
  2. ``append`` truncates to the end of entry ``first - 1`` (not to ``pos(first)``), removing a filler
     that only existed because of the replaced entries, so positions stay identical to the leader's.
  3. The hard state is written to ``currterm`` with write + fsync + rename + dir fsync before
     ``set_hard_state`` returns (votes and terms are rare and must survive power loss).
  4. Data durability: writes land in the page cache at once (a kill -9 of the process loses nothing).
     ``sync()`` msyncs data and index when ``fsync`` is on, unless ``defer_sync`` is set: then it only
     records ``sync_pending`` and the driver calls ``flush()`` once per event-loop turn, before any
     message or client acknowledgement leaves (group commit).
  5. Recovery scans from the third-last data file: each entry must have magic 1, consistent sizes,
     ``pos`` = its position, consecutive index, non-decreasing term and (when ``body_check`` is given)
     a body that passes it; the first bad entry ends the log and everything after it is truncated.
     Index units of scanned entries are rewritten from the data (the data is the truth).
"""
from __future__ import annotations

import logging
import os
import struct
from typing import Callable, Sequence

from rmqlite.dledger.entry import (
    BLANK_MAGIC_CODE,
    BODY_OFFSET,
    CURRENT_MAGIC,
    INDEX_UNIT_SIZE,
    MIN_BLANK_LEN,
    decode_index_unit,
    encode_filler,
    encode_index_unit,
)
from rmqlite.dledger.log import HardState, limit_bytes
from rmqlite.dledger.messages import Entry, Index, Term
from rmqlite.dledger.mmap_files import MmapFileList

log = logging.getLogger("rmqlite.dledger.file_log")

_HEADER = struct.Struct(">iiqqqiiii")   # magic size index term pos channel chainCrc bodyCrc bodyLen
_UNIT = struct.Struct(">iqiqq")         # magic pos size index term
DEFAULT_DATA_FILE_SIZE = 1 << 30        # DLedger mappedFileSizeForEntryData (the broker passes its own)
DEFAULT_INDEX_FILE_UNITS = 5 * 1024 * 1024   # DLedger indexFileSize = 5Mi units * 32 B = 160 MiB

BodyCheck = Callable[[bytes, int], bool]          # (body, body position) -> valid
TruncateHook = Callable[[Index, int], None]       # (first removed index, new data end)


class FileLogError(RuntimeError):
    """The log cannot be used (entry too big for a data file, unreadable unit...)."""


class FileLog:
    """Durable Raft log in DLedger's file layout (see module docstring)."""

    def __init__(self, base_dir: str, *, data_dir: str | None = None,
                 data_file_size: int = DEFAULT_DATA_FILE_SIZE, index_file_units: int = DEFAULT_INDEX_FILE_UNITS,
                 fsync: bool = True, defer_sync: bool = False, body_check: BodyCheck | None = None) -> None:
        self.base_dir = base_dir
        self.data = MmapFileList(data_dir or os.path.join(base_dir, "data"), data_file_size)
        self.index = MmapFileList(os.path.join(base_dir, "index"), index_file_units * INDEX_UNIT_SIZE)
        self.file_size = data_file_size
        self.fsync = fsync
        self.defer_sync = defer_sync
        self.sync_pending = False
        self.body_check = body_check
        self.on_truncate: TruncateHook | None = None
        self._hs = HardState()
        self._last = 0
        self._last_term = 0
        self._end = 0          # data position just past the last entry
        self._committed = 0    # from the checkpoint file (Raft index)
        self._checkpointed: tuple[int, int] = (-2, -2)
        self.opened = False

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Load the files, recover the log (rule 5), read currterm and checkpoint."""
        if self.opened:
            return
        os.makedirs(self.base_dir, exist_ok=True)
        self.data.load()
        self.index.load()
        self._recover()
        props = read_properties(self._path("currterm"))
        term = _int(props.get("currTerm"), 0)
        vote = props.get("voteLeader") or None
        cp = read_properties(self._path("checkpoint"))
        self._committed = min(max(_int(cp.get("committedIndex"), -1) + 1, 0), self._last)
        self._hs = HardState(term, vote, self._committed)
        self.opened = True

    def close(self) -> None:
        """Flush and unmap everything."""
        if not self.opened:
            return
        self.flush()
        self.data.close()
        self.index.close()
        self.opened = False

    def _path(self, name: str) -> str:
        return os.path.join(self.base_dir, name)

    # ------------------------------------------------------------------ RaftLog
    def last_index(self) -> Index:
        return self._last

    def term(self, index: Index) -> Term:
        if index == self._last:
            return self._last_term
        if index == 0:
            return 0
        if index < 0 or index > self._last:
            raise IndexError(f"index {index} outside [0, {self._last}]")
        return self._unit(index)[4]

    def entries(self, lo: Index, hi: Index, max_bytes: int = 0) -> list[Entry]:
        if lo < 1 or hi > self._last + 1 or lo > hi:
            raise IndexError(f"entries [{lo}, {hi}) outside [1, {self._last + 1})")
        out: list[Entry] = []
        total = 0
        for i in range(lo, hi):
            _m, pos, size, _idx, term = self._unit(i)
            body = self.data.read(pos + BODY_OFFSET, size - BODY_OFFSET)
            if body is None:
                raise FileLogError(f"entry {i} at {pos} is unreadable")
            total += len(body)
            if max_bytes > 0 and total > max_bytes and out:
                break
            out.append(Entry(i, term, body))
        return limit_bytes(out, max_bytes) if max_bytes > 0 else out

    def append(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        first = entries[0].index
        if first < 1 or first > self._last + 1:
            raise ValueError(f"append at {first} leaves a hole (last index {self._last})")
        if first <= self._last:
            self._truncate_after(first - 1)
        for i, e in enumerate(entries):
            if e.index != first + i:
                raise ValueError(f"non-consecutive entry index {e.index}, expected {first + i}")
            self._write_entry(e)
        self.sync_pending = True

    def hard_state(self) -> HardState:
        return self._hs

    def set_hard_state(self, hs: HardState) -> None:
        if (hs.term, hs.vote) != (self._hs.term, self._hs.vote):
            text = f"currTerm={hs.term}\n" + (f"voteLeader={hs.vote}\n" if hs.vote else "")
            write_file_durably(self._path("currterm"), text.encode("utf-8"), fsync=True)
        self._committed = max(self._committed, min(hs.commit, self._last))
        self._hs = hs

    def sync(self) -> None:
        if not self.fsync:
            return
        if self.defer_sync:
            self.sync_pending = True
        else:
            self.flush_data()

    # ------------------------------------------------------------------ positions and reads
    @property
    def end_pos(self) -> int:
        """Data position just past the last entry (where the next entry or filler goes)."""
        return self._end

    def entry_pos(self, index: Index) -> int:
        """Byte position of entry ``index`` (1..last)."""
        return self._unit(index)[1]

    def entry_span(self, index: Index) -> tuple[int, int]:
        """(position, total size) of entry ``index``."""
        _m, pos, size, _i, _t = self._unit(index)
        return pos, size

    def next_entry_pos(self, size: int) -> int:
        """Where an entry of ``size`` bytes (header included) would be written now."""
        fs = self.file_size
        if size + MIN_BLANK_LEN > fs:
            raise FileLogError(f"entry of {size} bytes cannot fit a {fs}-byte data file")
        off = self._end % fs
        if off and size + MIN_BLANK_LEN > fs - off:
            return self._end - off + fs
        return self._end

    def index_at_or_after(self, pos: int) -> Index:
        """Smallest index whose entry ends after ``pos`` (``last + 1`` when none)."""
        lo, hi = 1, self._last + 1
        while lo < hi:
            mid = (lo + hi) // 2
            p, s = self.entry_span(mid)
            if p + s <= pos:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def read(self, pos: int, size: int) -> bytes | None:
        """``size`` data bytes at ``pos`` (within one file, below the log end)."""
        if pos + size > self._end:
            return None
        return self.data.read(pos, size)

    @property
    def committed_hint(self) -> Index:
        """Commit index known from the checkpoint / hard state (never beyond the log)."""
        return min(self._committed, self._last)

    def raise_committed(self, index: Index) -> None:
        """Record that ``index`` is known committed (e.g. already dispatched by the store)."""
        self._committed = max(self._committed, min(index, self._last))
        self._hs = HardState(self._hs.term, self._hs.vote, max(self._hs.commit, self._committed))

    # ------------------------------------------------------------------ durability
    def flush_data(self) -> None:
        """msync data and index written since the last flush."""
        self.data.flush()
        self.index.flush()
        self.sync_pending = False

    def flush(self) -> None:
        """msync data and index and rewrite the checkpoint if it changed."""
        if not self.opened:
            return
        self.flush_data()
        self.write_checkpoint(self._committed)

    def write_checkpoint(self, committed: Index) -> None:
        """Persist ``endIndex`` / ``committedIndex`` (DLedger 0-based indexes) when they changed."""
        self._committed = max(self._committed, min(committed, self._last))
        state = (self._last - 1, self._committed - 1)
        if state == self._checkpointed:
            return
        text = f"endIndex={state[0]}\ncommittedIndex={state[1]}\n"
        write_file_durably(self._path("checkpoint"), text.encode("utf-8"), fsync=self.fsync)
        self._checkpointed = state

    # ------------------------------------------------------------------ internals
    def _unit(self, index: Index) -> tuple[int, int, int, int, int]:
        raw = self.index.read((index - 1) * INDEX_UNIT_SIZE, INDEX_UNIT_SIZE)
        if raw is None:
            raise FileLogError(f"index unit {index} is missing")
        return decode_index_unit(raw)

    def _write_entry(self, e: Entry) -> None:
        size = BODY_OFFSET + len(e.data)
        pos = self.next_entry_pos(size)
        if pos != self._end:
            self.data.write(self._end, encode_filler(pos - self._end))
        if e.data:
            self.data.write(pos + BODY_OFFSET, e.data)
        self.data.write(pos, _HEADER.pack(CURRENT_MAGIC, size, e.index - 1, e.term, pos, 0, 0, 0, len(e.data)))
        self.index.write((e.index - 1) * INDEX_UNIT_SIZE, encode_index_unit(pos, size, e.index - 1, e.term))
        self._last, self._last_term, self._end = e.index, e.term, pos + size

    def _truncate_after(self, keep: Index) -> None:
        """Drop entries > ``keep`` (rule 2) and tell the hook."""
        if keep < self._committed:
            log.error("truncating below the known commit index %d (keep %d)", self._committed, keep)
            self._committed = keep
        end = 0
        term = 0
        if keep > 0:
            _m, pos, size, _i, term = self._unit(keep)
            end = pos + size
        removed = keep + 1
        self.data.truncate(end)
        self.index.truncate(keep * INDEX_UNIT_SIZE)
        self._last, self._last_term, self._end = keep, term, end
        if self.on_truncate is not None:
            self.on_truncate(removed, end)

    def _recover(self) -> None:
        """Rule 5."""
        files = self.data.files
        if not files:
            self.data.truncate(0)
            self.index.truncate(0)
            self._last, self._last_term, self._end = 0, 0, 0
            return
        start, prev_index = self._scan_start()
        prev_term, end = 0, 0
        if prev_index > 0:
            _m, ppos, psize, _i, prev_term = self._unit(prev_index)
            end = ppos + psize
        end, last, last_term = self._scan(start, prev_index, prev_term, end)
        self.data.truncate(end)
        self.index.truncate(last * INDEX_UNIT_SIZE)
        self._last, self._last_term, self._end = last, last_term, end

    def _scan_start(self) -> tuple[int, int]:
        """(position, index of the entry before it): the third-last data file when its first entry and
        the index unit before it look sane, else the very beginning."""
        files = self.data.files
        start = files[max(0, len(files) - 3)].start
        if start == 0:
            return 0, 0
        head = self.data.read(start, BODY_OFFSET)
        if head is not None:
            magic, _size, idx, _term, epos, *_ = _HEADER.unpack(head)
            if magic == CURRENT_MAGIC and epos == start and idx > 0:
                raw = self.index.read((idx - 1) * INDEX_UNIT_SIZE, INDEX_UNIT_SIZE)
                if raw is not None:
                    umagic, upos, usize, uidx, _t = decode_index_unit(raw)
                    if umagic == CURRENT_MAGIC and uidx == idx - 1 and upos + usize <= start:
                        return start, idx
        log.warning("dledger data: %s does not start with a usable entry; scanning from the beginning",
                    files[max(0, len(files) - 3)].path)
        return files[0].start, 0

    def _scan(self, pos: int, prev_index: int, prev_term: int, end: int) -> tuple[int, int, int]:
        """Walk entries from ``pos`` (``end`` = end of entry ``prev_index``); returns (end position, last
        index, last term) of the valid prefix."""
        fs = self.file_size
        while True:
            off = pos % fs
            if fs - off < 8:
                pos += fs - off
                continue
            head = self.data.read(pos, 8)
            if head is None:
                break
            magic, size = struct.unpack(">ii", head)
            if magic == BLANK_MAGIC_CODE and size == fs - off and off > 0:
                pos += size
                continue
            entry = self._valid_entry(pos, prev_index, prev_term)
            if entry is None:
                break
            size, term = entry
            unit = encode_index_unit(pos, size, prev_index, term)
            if self.index.read(prev_index * INDEX_UNIT_SIZE, INDEX_UNIT_SIZE) != unit:
                self.index.write(prev_index * INDEX_UNIT_SIZE, unit)
            prev_index, prev_term = prev_index + 1, term
            pos += size
            end = pos
        return end, prev_index, prev_term

    def _valid_entry(self, pos: int, prev_index: int, prev_term: int) -> tuple[int, int] | None:
        head = self.data.read(pos, BODY_OFFSET)
        if head is None:
            return None
        magic, size, idx, term, epos, _ch, _cc, _bc, body_len = _HEADER.unpack(head)
        if (magic != CURRENT_MAGIC or size != BODY_OFFSET + body_len or body_len < 0 or epos != pos
                or idx != prev_index or term < prev_term or pos % self.file_size + size > self.file_size):
            return None
        if self.body_check is not None and body_len > 0:
            body = self.data.read(pos + BODY_OFFSET, body_len)
            if body is None or not self.body_check(body, pos + BODY_OFFSET):
                return None
        return size, term


def read_properties(path: str) -> dict[str, str]:
    """A Java properties file as a dict ({} when missing); only ``key=value`` lines."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!" or "=" not in line:
            continue
        k, _, v = line.partition("=")
        out[k.strip()] = v.strip()
    return out


def write_file_durably(path: str, data: bytes, fsync: bool) -> None:
    """Replace ``path`` atomically (tmp + rename); with ``fsync`` the data and the rename are synced."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if fsync:
        dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


__all__ = ["FileLog", "FileLogError", "read_properties", "write_file_durably", "DEFAULT_DATA_FILE_SIZE",
           "DEFAULT_INDEX_FILE_UNITS"]
