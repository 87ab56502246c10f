"""Fixed-size memory-mapped files and queues of them (Java ``MappedFile`` / ``MappedFileQueue``).

How it works:
1. A ``MappedFile`` is one file of exactly ``file_size`` bytes, mmap'd read/write, named by the
   global byte offset of its first byte as 20 zero-padded digits. ``wrote_position`` is how many of
   its bytes hold data; writes only ever go at or below the end of the file.
2. A ``MappedFileQueue`` is a directory of such files with contiguous offsets. The logical byte
   stream is: file k covers [from_k, from_k + file_size). ``max_offset`` = last file's from + wrote.
3. Files are created lazily, sized with ``ftruncate`` (sparse, zero-filled). A last file found
   shorter than ``file_size`` (a crash or a manual truncation) is extended with zeros on load;
   any other size mismatch is an error (the store refuses to guess).
4. ``truncate_dirty(offset)`` forgets everything at or beyond ``offset``: later files are deleted,
   the file containing ``offset`` gets its wrote position moved back and its tail zeroed, so a later
   recovery scan can never resurrect stale bytes.
5. ``flush`` msyncs only the range written since the last flush.
"""

from __future__ import annotations

import errno
import mmap
import os
from typing import Iterator

PAGE = mmap.PAGESIZE
_ZERO_CHUNK = 1 << 20


class StoreFileError(OSError):
    """A store file that cannot be used as-is (wrong size, bad name...)."""


def offset_file_name(offset: int) -> str:
    """20-digit zero-padded file name for a start offset."""
    return f"{offset:020d}"


def _grow(fd: int, size: int, file_size: int, preallocate: bool) -> None:
    """Extend a file with zeros; with ``preallocate`` reserve the blocks too (ENOSPC surfaces here,
    not as SIGBUS on a later mmap write)."""
    if preallocate and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, size, file_size - size)
            return
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
    os.ftruncate(fd, file_size)


class MappedFile:
    """One fixed-size mmap'd file. Not thread-safe (the store is single-threaded)."""

    def __init__(self, path: str, file_size: int, file_from_offset: int, preallocate: bool = False) -> None:
        self.path = path
        self.file_size = file_size
        self.file_from_offset = file_from_offset
        self.wrote_position = 0
        self.flushed_position = 0
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size < file_size:
                _grow(fd, size, file_size, preallocate)
            elif size > file_size:
                raise StoreFileError(f"{path}: size {size} != expected {file_size}")
            self._mm = mmap.mmap(fd, file_size)
        finally:
            os.close(fd)
        #: the mapping itself, for ``struct.pack_into`` / ``unpack_from`` by the store's writers (same object)
        self.mm = self._mm

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def end_offset(self) -> int:
        """Global offset just past the last written byte."""
        return self.file_from_offset + self.wrote_position

    @property
    def remaining(self) -> int:
        return self.file_size - self.wrote_position

    @property
    def is_full(self) -> bool:
        return self.wrote_position >= self.file_size

    def append(self, data: bytes | bytearray) -> int:
        """Write ``data`` at the wrote position; returns the global offset written at."""
        pos = self.wrote_position
        if pos + len(data) > self.file_size:
            raise StoreFileError(f"{self.path}: append of {len(data)} bytes past end")
        self._mm[pos : pos + len(data)] = data
        self.wrote_position = pos + len(data)
        return self.file_from_offset + pos

    def write_at(self, pos: int, data: bytes | bytearray) -> None:
        """Overwrite bytes at a file-relative position (headers, hash slots)."""
        self._mm[pos : pos + len(data)] = data

    def read(self, pos: int, size: int) -> bytes:
        """``size`` bytes at a file-relative position (may read past the wrote position)."""
        return self._mm[pos : pos + size]

    def view(self) -> memoryview:
        """Zero-copy view of the whole file; release it before closing the file."""
        return memoryview(self._mm)

    def flush(self) -> None:
        """msync the bytes written since the last flush."""
        if self.flushed_position >= self.wrote_position or self._mm.closed:
            return
        start = (self.flushed_position // PAGE) * PAGE
        self._mm.flush(start, self.wrote_position - start)
        self.flushed_position = self.wrote_position

    def take_dirty(self) -> str | None:
        """For a flush off the event loop: this file's path when bytes were written since the last flush
        (they count as flushed from now on; the caller fsyncs the path, which on Linux writes back the
        same dirty page-cache pages msync would), else None."""
        if self.flushed_position >= self.wrote_position or self._mm.closed:
            return None
        self.flushed_position = self.wrote_position
        return self.path

    def flush_all(self) -> None:
        """msync the whole file (files that are rewritten in place, e.g. index files)."""
        if not self._mm.closed:
            self._mm.flush()

    def truncate_to(self, pos: int) -> None:
        """Set the wrote position to ``pos`` and zero every non-zero byte after it."""
        self.wrote_position = pos
        self.flushed_position = min(self.flushed_position, pos)
        zero = bytes(_ZERO_CHUNK)
        at = pos
        while at < self.file_size:
            n = min(_ZERO_CHUNK, self.file_size - at)
            if self._mm[at : at + n] != zero[:n]:
                self._mm[at : at + n] = zero[:n]
            at += n

    def close(self) -> None:
        if not self._mm.closed:
            self._mm.close()

    def destroy(self) -> None:
        """Close and delete the file."""
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class MappedFileQueue:
    """A directory of contiguous ``MappedFile``s named by start offset."""

    def __init__(self, directory: str, file_size: int, preallocate: bool = False) -> None:
        self.directory = directory
        self.file_size = file_size
        self.preallocate = preallocate
        self.files: list[MappedFile] = []

    def load(self) -> None:
        """Open every 20-digit file in the directory (all marked fully written; recovery fixes it)."""
        self.close()
        if not os.path.isdir(self.directory):
            return
        names = sorted(n for n in os.listdir(self.directory) if len(n) == 20 and n.isdigit())
        for i, name in enumerate(names):
            path = os.path.join(self.directory, name)
            size = os.path.getsize(path)
            last = i == len(names) - 1
            if size > self.file_size or (size < self.file_size and not last):
                self.close()
                raise StoreFileError(f"{path}: size {size} != configured {self.file_size}")
            mf = MappedFile(path, self.file_size, int(name), self.preallocate)
            if self.files and mf.file_from_offset != self.files[-1].file_from_offset + self.file_size:
                mf.close()
                self.close()
                raise StoreFileError(f"{path}: not contiguous with the previous file")
            mf.wrote_position = mf.flushed_position = self.file_size
            self.files.append(mf)

    @property
    def min_offset(self) -> int:
        return self.files[0].file_from_offset if self.files else 0

    @property
    def max_offset(self) -> int:
        return self.files[-1].end_offset if self.files else 0

    def last_file(self) -> MappedFile | None:
        return self.files[-1] if self.files else None

    def create_file(self, start_offset: int) -> MappedFile:
        """Create the file that starts at ``start_offset`` (must follow the last one)."""
        os.makedirs(self.directory, exist_ok=True)
        if self.files and start_offset != self.files[-1].file_from_offset + self.file_size:
            raise StoreFileError(f"{self.directory}: new file at {start_offset} not contiguous")
        path = os.path.join(self.directory, offset_file_name(start_offset))
        mf = MappedFile(path, self.file_size, start_offset, self.preallocate)
        self.files.append(mf)
        return mf

    def file_for_append(self, start_offset: int = 0) -> MappedFile:
        """The last file if it has room, else a new one (the first at ``start_offset`` rounded down)."""
        last = self.last_file()
        if last is None:
            return self.create_file(start_offset - start_offset % self.file_size)
        if last.is_full:
            return self.create_file(last.file_from_offset + self.file_size)
        return last

    def find(self, offset: int) -> MappedFile | None:
        """The file whose range contains global ``offset``, or None."""
        if not self.files or offset < self.files[0].file_from_offset:
            return None
        idx = (offset - self.files[0].file_from_offset) // self.file_size
        return self.files[idx] if idx < len(self.files) else None

    def iter_from(self, offset: int) -> Iterator[MappedFile]:
        """Files from the one containing ``offset`` onwards."""
        for mf in self.files:
            if mf.file_from_offset + self.file_size > offset:
                yield mf

    def truncate_dirty(self, offset: int) -> None:
        """Forget all bytes at or beyond global ``offset`` (rule 4)."""
        keep: list[MappedFile] = []
        for mf in self.files:
            if mf.file_from_offset + self.file_size <= offset:
                keep.append(mf)
            elif mf.file_from_offset <= offset:
                mf.truncate_to(offset - mf.file_from_offset)
                keep.append(mf)
            else:
                mf.destroy()
        self.files = keep

    def delete_files_before(self, offset: int) -> int:
        """Delete whole files that end at or before ``offset`` (keeps the last). Returns how many."""
        n = 0
        while len(self.files) > 1 and self.files[0].file_from_offset + self.file_size <= offset:
            self.files.pop(0).destroy()
            n += 1
        return n

    def flush(self) -> None:
        for mf in self.files:
            mf.flush()

    def take_dirty(self) -> list[str]:
        """Paths of the files written since the last flush (``MappedFile.take_dirty``)."""
        return [p for p in map(MappedFile.take_dirty, self.files) if p is not None]

    def close(self) -> None:
        for mf in self.files:
            mf.close()
        self.files = []

    def destroy(self) -> None:
        """Delete every file and the directory if it ends up empty."""
        for mf in self.files:
            mf.destroy()
        self.files = []
        try:
            os.rmdir(self.directory)
        except OSError:
            pass
