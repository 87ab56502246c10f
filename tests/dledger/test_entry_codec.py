"""DLedger 0.2.6 entry / index-unit codec: golden bytes (laid out by hand from DLedgerEntryCoder), bounds."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmqlite.dledger import entry as E
from rmqlite.dledger.entry import DLedgerEntry, EntryFormatError, decode_entry, encode_entry

# magic=1 size=53 index=5 term=2 pos=1024 channel=0 chainCrc=0 bodyCrc=0 bodyLen=5 "hello"
GOLDEN = bytes.fromhex(
    "00000001" "00000035" "0000000000000005" "0000000000000002" "0000000000000400"
    "00000000" "00000000" "00000000" "00000005" "68656c6c6f"
)


def test_offsets_match_dledger_entry_constants() -> None:
    assert (E.POS_OFFSET, E.HEADER_SIZE, E.BODY_OFFSET) == (24, 44, 48)  # DLedgerEntry.java
    assert (E.MAGIC_OFFSET, E.SIZE_OFFSET, E.INDEX_OFFSET, E.TERM_OFFSET) == (0, 4, 8, 16)
    assert (E.CHANNEL_OFFSET, E.CHAIN_CRC_OFFSET, E.BODY_CRC_OFFSET, E.BODY_LEN_OFFSET) == (32, 36, 40, 44)
    assert E.INDEX_UNIT_SIZE == 32 and E.MIN_BLANK_LEN == 8 and E.BLANK_MAGIC_CODE == -1


def test_encode_golden() -> None:
    e = DLedgerEntry(index=5, term=2, pos=1024, body=b"hello")
    assert e.size == 53
    assert encode_entry(e) == GOLDEN


def test_decode_golden() -> None:
    assert decode_entry(GOLDEN) == DLedgerEntry(5, 2, 1024, b"hello")
    assert decode_entry(b"\xff" * 7 + GOLDEN + b"tail", 7) == DLedgerEntry(5, 2, 1024, b"hello")


def test_pos_patch_in_place() -> None:
    buf = bytearray(b"xx" + GOLDEN)
    assert E.get_pos(buf, 2) == 1024
    E.set_pos(buf, 2, 0x1122334455)
    assert E.get_pos(buf, 2) == 0x1122334455
    assert buf[2 + 24:2 + 32] == bytes.fromhex("0000001122334455")
    assert decode_entry(buf, 2).pos == 0x1122334455


def test_filler_and_peek() -> None:
    f = E.encode_filler(20)
    assert f == bytes.fromhex("ffffffff" "00000014") + bytes(12)
    assert E.peek_magic_size(f) == (-1, 20)
    with pytest.raises(EntryFormatError):
        decode_entry(f + bytes(40))
    with pytest.raises(ValueError):
        E.encode_filler(7)


def test_index_unit_golden() -> None:
    unit = E.encode_index_unit(pos=1024, size=53, index=5, term=2)
    assert unit == bytes.fromhex("00000001" "0000000000000400" "00000035" "0000000000000005" "0000000000000002")
    assert E.decode_index_unit(unit) == (1, 1024, 53, 5, 2)
    with pytest.raises(EntryFormatError):
        E.decode_index_unit(unit[:31])


@pytest.mark.parametrize("bad,why", [
    (GOLDEN[:47], "header"),
    (GOLDEN[:-1], "truncated"),
    (b"\x00\x00\x00\x02" + GOLDEN[4:], "magic"),
    (GOLDEN[:4] + b"\x00\x00\x00\x36" + GOLDEN[8:], "size"),
    (GOLDEN[:44] + b"\xff\xff\xff\xff" + GOLDEN[48:], "size"),
])
def test_decode_rejects_malformed(bad: bytes, why: str) -> None:
    with pytest.raises(EntryFormatError):
        decode_entry(bad)


def test_index_mapping() -> None:
    assert E.to_dledger_index(1) == 0 and E.from_dledger_index(0) == 1


@given(st.integers(0, 2**62), st.integers(0, 2**62), st.integers(0, 2**62), st.binary(max_size=300),
       st.integers(-2**31, 2**31 - 1))
def test_roundtrip(index: int, term: int, pos: int, body: bytes, chain: int) -> None:
    e = DLedgerEntry(index, term, pos, body, chain_crc=chain)
    raw = encode_entry(e)
    assert len(raw) == e.size == 48 + len(body)
    assert decode_entry(raw) == e


@given(st.binary(max_size=120))
def test_random_bytes_only_raise_entry_format_error(raw: bytes) -> None:
    try:
        decode_entry(raw)
    except EntryFormatError:
        pass
