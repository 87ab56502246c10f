"""A list of fixed-size memory-mapped files addressed by global byte offset (DLedger ``MmapFileList``).

How it works:
  A directory holds files of exactly ``file_size`` bytes named by the global offset of their first byte
  (20 zero-padded digits), contiguous from the first one. The byte stream ends at ``end`` (the write
  position); everything after it in the last file is zero. Files are sparse (``ftruncate``) and mapped
  read/write, so a write is in the page cache as soon as the slice assignment returns: it survives the
  death of the process (kill -9); ``flush`` msyncs what was written since the last flush (power loss).

Rules:
  1. Offsets in [``start``, ``end``) are readable; writes go at or after ``start`` inside a file and may
     create the next files (contiguously) but never leave a gap file missing.
  2. ``truncate(offset)`` makes ``end = offset``: later files are deleted and the tail of the file holding
     ``offset`` is zeroed, so a later recovery scan never finds stale bytes there.
  3. ``load`` opens every file and sets ``end`` to the end of the last file; recovery then truncates.
"""
from __future__ import annotations

import mmap
import os
from typing import Iterator

PAGE = mmap.PAGESIZE
_ZERO = bytes(1 << 20)


class MmapFileError(OSError):
    """A data or index file that cannot be used (wrong size, gap, unreadable)."""


class MmapFile:
    """One fixed-size mapped file."""

    __slots__ = ("path", "start", "size", "_mm")

    def __init__(self, path: str, start: int, size: int) -> None:
        self.path = path
        self.start = start
        self.size = size
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            have = os.fstat(fd).st_size
            if have > size:
                raise MmapFileError(f"{path}: size {have} > configured {size}")
            if have < size:
                os.ftruncate(fd, size)
            self._mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)

    @property
    def end(self) -> int:
        """Global offset just past this file."""
        return self.start + self.size

    def write(self, pos: int, data: bytes | bytearray | memoryview) -> None:
        """Write at a file-relative position."""
        self._mm[pos:pos + len(data)] = data

    def read(self, pos: int, size: int) -> bytes:
        return self._mm[pos:pos + size]

    def zero_from(self, pos: int) -> None:
        """Zero every non-zero byte from ``pos`` to the end of the file."""
        at = pos
        while at < self.size:
            n = min(len(_ZERO), self.size - at)
            if self._mm[at:at + n] != _ZERO[:n]:
                self._mm[at:at + n] = _ZERO[:n]
            at += n

    def msync(self, lo: int, hi: int) -> None:
        """msync file-relative [lo, hi) (page aligned down)."""
        if hi <= lo or self._mm.closed:
            return
        lo = (lo // PAGE) * PAGE
        self._mm.flush(lo, hi - lo)

    def close(self) -> None:
        if not self._mm.closed:
            self._mm.close()

    def destroy(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class MmapFileList:
    """Contiguous mapped files forming one byte stream (see module rules)."""

    def __init__(self, directory: str, file_size: int) -> None:
        if file_size <= 0:
            raise ValueError("file_size must be positive")
        self.directory = directory
        self.file_size = file_size
        self.files: list[MmapFile] = []
        self.end = 0
        self.flushed = 0

    # ------------------------------------------------------------------ lifecycle
    def load(self) -> None:
        """Open every 20-digit file of the directory; ``end`` = end of the last one (rule 3)."""
        self.close()
        if not os.path.isdir(self.directory):
            return
        names = sorted(n for n in os.listdir(self.directory) if len(n) == 20 and n.isdigit())
        for name in names:
            start = int(name)
            if start % self.file_size:
                self.close()
                raise MmapFileError(f"{self.directory}/{name}: offset is not a multiple of {self.file_size}")
            if self.files and start != self.files[-1].end:
                self.close()
                raise MmapFileError(f"{self.directory}/{name}: not contiguous with the previous file")
            self.files.append(MmapFile(os.path.join(self.directory, name), start, self.file_size))
        self.end = self.flushed = self.files[-1].end if self.files else 0

    def close(self) -> None:
        for f in self.files:
            f.close()
        self.files = []

    # ------------------------------------------------------------------ addressing
    @property
    def start(self) -> int:
        """Offset of the first byte of the first file (0 when empty)."""
        return self.files[0].start if self.files else 0

    def find(self, offset: int) -> MmapFile | None:
        """The file holding ``offset``, or None."""
        if not self.files or offset < self.files[0].start:
            return None
        i = (offset - self.files[0].start) // self.file_size
        return self.files[i] if i < len(self.files) else None

    def _file_for_write(self, offset: int) -> MmapFile:
        """The file holding ``offset``, creating files up to it (contiguously)."""
        f = self.find(offset)
        if f is not None:
            return f
        os.makedirs(self.directory, exist_ok=True)
        if not self.files:
            first = offset - offset % self.file_size
            self.files.append(MmapFile(os.path.join(self.directory, f"{first:020d}"), first, self.file_size))
        while self.files[-1].end <= offset:
            nxt = self.files[-1].end
            self.files.append(MmapFile(os.path.join(self.directory, f"{nxt:020d}"), nxt, self.file_size))
        f = self.find(offset)
        if f is None:
            raise MmapFileError(f"{self.directory}: offset {offset} is before the first file")
        return f

    # ------------------------------------------------------------------ data
    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at global ``offset`` (inside one file); ``end`` grows to cover it."""
        f = self._file_for_write(offset)
        rel = offset - f.start
        if rel + len(data) > f.size:
            raise MmapFileError(f"write of {len(data)} bytes at {offset} crosses the end of {f.path}")
        f.write(rel, data)
        self.end = max(self.end, offset + len(data))

    def read(self, offset: int, size: int) -> bytes | None:
        """``size`` bytes at ``offset`` when they lie in one file below ``end``; else None."""
        if size < 0 or offset < self.start or offset + size > self.end:
            return None
        f = self.find(offset)
        if f is None or offset + size > f.end:
            return None
        return f.read(offset - f.start, size)

    def truncate(self, offset: int) -> None:
        """Forget every byte at or after ``offset`` (rule 2)."""
        keep: list[MmapFile] = []
        for f in self.files:
            if f.end <= offset:
                keep.append(f)
            elif f.start <= offset:
                f.zero_from(offset - f.start)
                keep.append(f)
            else:
                f.destroy()
        if keep and keep[-1].start == offset and len(keep) > 1:
            keep.pop().destroy()   # an empty trailing file would only hold zeros
        self.files = keep
        self.end = offset
        self.flushed = min(self.flushed, offset)

    def flush(self) -> None:
        """msync [flushed, end) (rule: what a kill -9 keeps is already safe; this is for power loss)."""
        if self.flushed >= self.end:
            return
        for f in self.iter_from(self.flushed):
            if f.start >= self.end:
                break
            f.msync(max(self.flushed, f.start) - f.start, min(self.end, f.end) - f.start)
        self.flushed = self.end

    def iter_from(self, offset: int) -> Iterator[MmapFile]:
        """Files from the one holding ``offset`` on."""
        for f in self.files:
            if f.end > offset:
                yield f


__all__ = ["MmapFile", "MmapFileList", "MmapFileError", "PAGE"]
