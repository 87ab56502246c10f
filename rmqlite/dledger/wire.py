"""Peer-to-peer wire format of rmqlite's DLedger groups: Raft messages in one remoting frame.

How it works:
  Peers exchange oneway remoting commands with code ``RAFT_MESSAGES`` (an internal code next to
  DLedger's 5xxxx range; clients never see it). The ext fields identify the frame (``group``, ``from``,
  ``to``, ``fileSize`` = data file size, which must match for byte-identical replicas, plus optional
  broker facts such as ``brokerAddr``); the body carries every message the sender had for that peer in
  one event-loop turn, in a compact big-endian binary form (stdlib ``struct``, no third-party codec):

      body    := version:u8 (=1) count:u32 message*
      message := type:u8 term:i64 src:str dst:str fields
      str     := len:u8 utf-8 bytes
      VoteRequest      1: last_index:i64 last_term:i64 flags:u8 (bit0 pre_vote, bit1 transfer)
      VoteResponse     2: flags:u8 (bit0 granted, bit1 pre_vote)
      AppendRequest    3: prev_index:i64 prev_term:i64 commit:i64 n:u32 (index:i64 term:i64 len:u32 data)*n
      AppendResponse   4: index:i64 reject:u8 hint_index:i64 hint_term:i64
      Heartbeat        5: commit:i64
      HeartbeatResponse 6, TimeoutNow 7: nothing more

Rules:
  1. ``decode_messages(encode_messages(ms)) == ms`` for every list of messages.
  2. Decoding never trusts a length: truncated, oversized or unknown input raises ``WireError``.
"""
from __future__ import annotations

import struct
from typing import Any, Sequence

from rmqlite.dledger.messages import (
    AppendRequest,
    AppendResponse,
    Entry,
    Heartbeat,
    HeartbeatResponse,
    Message,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)

RAFT_MESSAGES = 51100      # remoting request code of a peer frame (oneway)
WIRE_VERSION = 1

_BATCH = struct.Struct(">BI")
_COMMON = struct.Struct(">Bq")
_VOTE_REQ = struct.Struct(">qqB")
_APPEND = struct.Struct(">qqqI")
_ENTRY = struct.Struct(">qqI")
_APPEND_RESP = struct.Struct(">qBqq")
_Q = struct.Struct(">q")
_B = struct.Struct(">B")

_TYPES: dict[type, int] = {VoteRequest: 1, VoteResponse: 2, AppendRequest: 3, AppendResponse: 4, Heartbeat: 5,
                           HeartbeatResponse: 6, TimeoutNow: 7}


class WireError(ValueError):
    """Bytes that are not a valid peer frame body."""


def _str(s: str) -> bytes:
    raw = s.encode("utf-8")
    if len(raw) > 255:
        raise WireError(f"node id too long: {s!r}")
    return _B.pack(len(raw)) + raw


def encode_messages(msgs: Sequence[Message]) -> bytes:
    """Messages -> frame body (rule 1)."""
    parts: list[bytes] = [_BATCH.pack(WIRE_VERSION, len(msgs))]
    for m in msgs:
        t = _TYPES.get(type(m))
        if t is None:
            raise WireError(f"not a Raft message: {m!r}")
        parts.append(_COMMON.pack(t, m.term))
        parts.append(_str(m.src))
        parts.append(_str(m.dst))
        if t == 1:
            assert isinstance(m, VoteRequest)
            parts.append(_VOTE_REQ.pack(m.last_index, m.last_term, int(m.pre_vote) | int(m.transfer) << 1))
        elif t == 2:
            assert isinstance(m, VoteResponse)
            parts.append(_B.pack(int(m.granted) | int(m.pre_vote) << 1))
        elif t == 3:
            assert isinstance(m, AppendRequest)
            parts.append(_APPEND.pack(m.prev_index, m.prev_term, m.commit, len(m.entries)))
            for e in m.entries:
                parts.append(_ENTRY.pack(e.index, e.term, len(e.data)))
                parts.append(e.data)
        elif t == 4:
            assert isinstance(m, AppendResponse)
            parts.append(_APPEND_RESP.pack(m.index, int(m.reject), m.hint_index, m.hint_term))
        elif t == 5:
            assert isinstance(m, Heartbeat)
            parts.append(_Q.pack(m.commit))
    return b"".join(parts)


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes | memoryview) -> None:
        self.buf = memoryview(buf)
        self.pos = 0

    def unpack(self, st: struct.Struct) -> tuple[Any, ...]:
        end = self.pos + st.size
        if end > len(self.buf):
            raise WireError(f"truncated frame body at {self.pos} (need {st.size} bytes)")
        out = st.unpack_from(self.buf, self.pos)
        self.pos = end
        return out

    def bytes(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise WireError(f"truncated frame body at {self.pos} (need {n} bytes)")
        out = bytes(self.buf[self.pos:end])
        self.pos = end
        return out

    def str(self) -> str:
        (n,) = self.unpack(_B)
        try:
            return self.bytes(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise WireError(f"bad node id: {e}") from None


def decode_messages(buf: bytes | memoryview) -> list[Message]:
    """Frame body -> messages (rule 2)."""
    r = _Reader(buf)
    version, count = r.unpack(_BATCH)
    if version != WIRE_VERSION:
        raise WireError(f"unknown wire version {version}")
    out: list[Message] = []
    for _ in range(count):
        out.append(_decode_one(r))
    if r.pos != len(r.buf):
        raise WireError(f"{len(r.buf) - r.pos} trailing bytes after {count} messages")
    return out


def _decode_one(r: _Reader) -> Message:
    t, term = r.unpack(_COMMON)
    src, dst = r.str(), r.str()
    if t == 1:
        li, lt, flags = r.unpack(_VOTE_REQ)
        return VoteRequest(term, src, dst, li, lt, bool(flags & 1), bool(flags & 2))
    if t == 2:
        (flags,) = r.unpack(_B)
        return VoteResponse(term, src, dst, bool(flags & 1), bool(flags & 2))
    if t == 3:
        pi, pt, commit, n = r.unpack(_APPEND)
        if n > len(r.buf):   # each entry needs >= 20 bytes: a huge count is garbage
            raise WireError(f"entry count {n} exceeds the frame")
        ents = []
        for _ in range(n):
            idx, et, ln = r.unpack(_ENTRY)
            ents.append(Entry(idx, et, r.bytes(ln)))
        return AppendRequest(term, src, dst, pi, pt, tuple(ents), commit)
    if t == 4:
        idx, rej, hi, ht = r.unpack(_APPEND_RESP)
        return AppendResponse(term, src, dst, idx, bool(rej), hi, ht)
    if t == 5:
        (commit,) = r.unpack(_Q)
        return Heartbeat(term, src, dst, commit)
    if t == 6:
        return HeartbeatResponse(term, src, dst)
    if t == 7:
        return TimeoutNow(term, src, dst)
    raise WireError(f"unknown message type {t}")


__all__ = ["RAFT_MESSAGES", "WIRE_VERSION", "WireError", "encode_messages", "decode_messages"]
