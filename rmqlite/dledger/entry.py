"""DLedger 0.2.6 entry and index-unit codec (DLedgerEntry / DLedgerEntryCoder / DLedgerMmapFileStore).

How it works:
  A data file holds entries back to back, big-endian:
      magic:4 (=1) size:4 (whole entry) index:8 term:8 pos:8 (absolute byte position of the entry)
      channel:4 (0) chainCrc:4 (0) bodyCrc:4 (0) bodyLen:4 body:bodyLen
  i.e. a 48-byte header then the body (``BODY_OFFSET`` = 48). Java's ``DLedgerEntry.HEADER_SIZE`` is 44:
  the bytes before bodyLen; we keep that name for parity and call the 48-byte header ``BODY_OFFSET``.
  Entries never span data files: the end of a file is a filler, magic -1 then the remaining size
  (MmapFileList.preAppend, at least ``MIN_BLANK_LEN`` = 8 bytes). The index file holds one 32-byte unit
  per entry index: magic:4 pos:8 size:4 index:8 term:8 (DLedgerEntryCoder.encodeIndex).

Rules:
  1. ``size == BODY_OFFSET + bodyLen`` and ``size > HEADER_SIZE`` (DLedgerMmapFileStore.recover checks).
  2. DLedger indexes start at 0; the Raft core's start at 1 (``to_dledger_index`` / ``from_dledger_index``).
  3. Decoding never trusts lengths: truncated or inconsistent input raises ``EntryFormatError``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC_OFFSET = 0
SIZE_OFFSET = 4
INDEX_OFFSET = 8
TERM_OFFSET = 16
POS_OFFSET = 24          # DLedgerEntry.POS_OFFSET
CHANNEL_OFFSET = 32
CHAIN_CRC_OFFSET = 36
BODY_CRC_OFFSET = 40
BODY_LEN_OFFSET = 44
HEADER_SIZE = 44         # DLedgerEntry.HEADER_SIZE (bytes before bodyLen)
BODY_OFFSET = 48         # DLedgerEntry.BODY_OFFSET (the full 48-byte header)

MAGIC_1 = 1              # DLedgerMmapFileStore.MAGIC_1 == CURRENT_MAGIC
CURRENT_MAGIC = MAGIC_1
BLANK_MAGIC_CODE = -1    # MmapFileList.BLANK_MAGIC_CODE (end-of-file filler)
MIN_BLANK_LEN = 8        # MmapFileList.MIN_BLANK_LEN
INDEX_UNIT_SIZE = 32     # DLedgerMmapFileStore.INDEX_NUIT_SIZE

_HEADER = struct.Struct(">iiqqqiiii")   # magic size index term pos channel chainCrc bodyCrc bodyLen
_INDEX_UNIT = struct.Struct(">iqiqq")   # magic pos size index term
_POS = struct.Struct(">q")
assert _HEADER.size == BODY_OFFSET and _INDEX_UNIT.size == INDEX_UNIT_SIZE


class EntryFormatError(ValueError):
    """Bytes that are not a valid DLedger entry / index unit."""


@dataclass(frozen=True, slots=True)
class DLedgerEntry:
    """One DLedger entry as stored on disk (``index`` is DLedger's 0-based index)."""

    index: int
    term: int
    pos: int
    body: bytes
    magic: int = CURRENT_MAGIC
    channel: int = 0
    chain_crc: int = 0
    body_crc: int = 0

    @property
    def size(self) -> int:
        """Total encoded size (DLedgerEntry.computeSizeInBytes)."""
        return BODY_OFFSET + len(self.body)


def encode_entry(e: DLedgerEntry) -> bytes:
    """Entry -> bytes (DLedgerEntryCoder.encode)."""
    head = _HEADER.pack(e.magic, e.size, e.index, e.term, e.pos, e.channel, e.chain_crc, e.body_crc,
                        len(e.body))
    return head + e.body


def decode_entry(buf: bytes | bytearray | memoryview, offset: int = 0) -> DLedgerEntry:
    """Bytes at ``offset`` -> entry (DLedgerEntryCoder.decode), validating rule 1 and bounds."""
    if offset < 0 or len(buf) - offset < BODY_OFFSET:
        raise EntryFormatError(f"need {BODY_OFFSET} header bytes at {offset}, have {len(buf) - offset}")
    magic, size, index, term, pos, channel, chain, body_crc, body_len = _HEADER.unpack_from(buf, offset)
    if magic == BLANK_MAGIC_CODE:
        raise EntryFormatError(f"filler (blank magic) at {offset}")
    if magic < MAGIC_1 or magic > CURRENT_MAGIC:
        raise EntryFormatError(f"unknown magic {magic} at {offset}")
    if body_len < 0 or size != BODY_OFFSET + body_len or size <= HEADER_SIZE:
        raise EntryFormatError(f"size {size} != {BODY_OFFSET} + bodyLen {body_len} at {offset}")
    end = offset + size
    if end > len(buf):
        raise EntryFormatError(f"entry of {size} bytes at {offset} truncated at {len(buf)}")
    body = bytes(buf[offset + BODY_OFFSET:end])
    return DLedgerEntry(index, term, pos, body, magic, channel, chain, body_crc)


def peek_magic_size(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """(magic, size) of whatever starts at ``offset`` (entry or filler)."""
    if len(buf) - offset < 8:
        raise EntryFormatError(f"need 8 bytes at {offset}")
    magic, size = struct.unpack_from(">ii", buf, offset)
    return magic, size


def get_pos(buf: bytes | bytearray | memoryview, offset: int = 0) -> int:
    """The ``pos`` field of the entry at ``offset`` (DLedgerEntryCoder.getPos)."""
    return int(_POS.unpack_from(buf, offset + POS_OFFSET)[0])


def set_pos(buf: bytearray | memoryview, offset: int, pos: int) -> None:
    """Patch the ``pos`` field of the entry at ``offset`` in place (DLedgerEntryCoder.setPos)."""
    _POS.pack_into(buf, offset + POS_OFFSET, pos)


def encode_filler(remaining: int) -> bytes:
    """End-of-file filler occupying ``remaining`` bytes: magic -1, size, zeros (MmapFileList.preAppend)."""
    if remaining < MIN_BLANK_LEN:
        raise ValueError(f"filler needs at least {MIN_BLANK_LEN} bytes, got {remaining}")
    return struct.pack(">ii", BLANK_MAGIC_CODE, remaining) + bytes(remaining - 8)


def encode_index_unit(pos: int, size: int, index: int, term: int, magic: int = CURRENT_MAGIC) -> bytes:
    """32-byte index unit for entry ``index`` (DLedgerEntryCoder.encodeIndex)."""
    return _INDEX_UNIT.pack(magic, pos, size, index, term)


def decode_index_unit(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int, int, int, int]:
    """32-byte unit -> (magic, pos, size, index, term)."""
    if offset < 0 or len(buf) - offset < INDEX_UNIT_SIZE:
        raise EntryFormatError(f"need {INDEX_UNIT_SIZE} index bytes at {offset}")
    magic, pos, size, index, term = _INDEX_UNIT.unpack_from(buf, offset)
    return magic, pos, size, index, term


def to_dledger_index(raft_index: int) -> int:
    """Raft core index (1-based) -> DLedger entry index (0-based)."""
    return raft_index - 1


def from_dledger_index(dledger_index: int) -> int:
    """DLedger entry index (0-based) -> Raft core index (1-based)."""
    return dledger_index + 1


__all__ = [
    "MAGIC_OFFSET", "SIZE_OFFSET", "INDEX_OFFSET", "TERM_OFFSET", "POS_OFFSET", "CHANNEL_OFFSET",
    "CHAIN_CRC_OFFSET", "BODY_CRC_OFFSET", "BODY_LEN_OFFSET", "HEADER_SIZE", "BODY_OFFSET", "MAGIC_1",
    "CURRENT_MAGIC", "BLANK_MAGIC_CODE", "MIN_BLANK_LEN", "INDEX_UNIT_SIZE", "EntryFormatError",
    "DLedgerEntry", "encode_entry", "decode_entry", "peek_magic_size", "get_pos", "set_pos",
    "encode_filler", "encode_index_unit", "decode_index_unit", "to_dledger_index", "from_dledger_index",
]
