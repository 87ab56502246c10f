"""Store checkpoint file (Java ``StoreCheckpoint``).

How it works:
1. ``root/checkpoint`` is a 4096-byte file: physicMsgTimestamp @0, logicsMsgTimestamp @8,
   indexMsgTimestamp @16 (big-endian longs, ms); the rest is zero.
2. The timestamps are store times of the last record made durable in the commitlog, in the
   consume queues and in the index. Abnormal recovery re-dispatches from the newest commitlog file
   whose first record is older than ``min_timestamp()`` (min of physic and logics, minus 3 s).
3. ``flush`` rewrites the 24 bytes and fsyncs; a missing or short file reads as zeros.
"""

from __future__ import annotations

import os
import struct

CHECKPOINT_FILE_SIZE = 4096
_TS = struct.Struct(">qqq")


class StoreCheckpoint:
    """The three recovery timestamps of a store."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.physic_msg_timestamp = 0
        self.logics_msg_timestamp = 0
        self.index_msg_timestamp = 0

    def load(self) -> None:
        """Read the file if it exists (else keep zeros)."""
        try:
            with open(self.path, "rb") as f:
                data = f.read(_TS.size)
        except FileNotFoundError:
            return
        if len(data) == _TS.size:
            self.physic_msg_timestamp, self.logics_msg_timestamp, self.index_msg_timestamp = _TS.unpack(data)

    def flush(self) -> None:
        """Write the timestamps and fsync."""
        write_checkpoint(self.path, self.timestamps())

    def timestamps(self) -> tuple[int, int, int]:
        """(physic, logics, index) as they are now."""
        return self.physic_msg_timestamp, self.logics_msg_timestamp, self.index_msg_timestamp

    def min_timestamp(self, index_safe: bool = False) -> int:
        """Java ``getMinTimestamp`` (or ``getMinTimestampIndex`` when ``index_safe``), minus 3 s, >= 0."""
        m = min(self.physic_msg_timestamp, self.logics_msg_timestamp)
        if index_safe:
            m = min(m, self.index_msg_timestamp)
        return max(m - 3000, 0)


def write_checkpoint(path: str, timestamps: tuple[int, int, int]) -> None:
    """Write (physic, logics, index) timestamps to the checkpoint file at ``path`` and fsync it (rule 3).
    Touches no store object, so a flush may run it in a worker thread."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size < CHECKPOINT_FILE_SIZE:
            os.ftruncate(fd, CHECKPOINT_FILE_SIZE)
        os.pwrite(fd, _TS.pack(*timestamps), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
