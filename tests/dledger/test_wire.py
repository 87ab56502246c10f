"""Peer wire codec: exact round trip, and garbage is refused with WireError (never another exception)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmqlite.dledger.messages import (
    AppendRequest,
    AppendResponse,
    Entry,
    Heartbeat,
    HeartbeatResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from rmqlite.dledger.wire import WireError, decode_messages, encode_messages

ids = st.sampled_from(["n0", "n1", "n2", "node-ü"])
i64 = st.integers(0, 2**62)
entries = st.lists(st.builds(Entry, i64, i64, st.binary(max_size=64)), max_size=4).map(tuple)
messages = st.one_of(
    st.builds(VoteRequest, i64, ids, ids, i64, i64, st.booleans(), st.booleans()),
    st.builds(VoteResponse, i64, ids, ids, st.booleans(), st.booleans()),
    st.builds(AppendRequest, i64, ids, ids, i64, i64, entries, i64),
    st.builds(AppendResponse, i64, ids, ids, i64, st.booleans(), i64, i64),
    st.builds(Heartbeat, i64, ids, ids, i64),
    st.builds(HeartbeatResponse, i64, ids, ids),
    st.builds(TimeoutNow, i64, ids, ids),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(messages, max_size=8))
def test_round_trip(msgs: list) -> None:
    assert decode_messages(encode_messages(msgs)) == msgs


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_raises_wire_error_only(data: bytes) -> None:
    try:
        decode_messages(data)
    except WireError:
        pass


def test_truncation_and_trailing_bytes() -> None:
    body = encode_messages([AppendRequest(3, "n0", "n1", 4, 2, (Entry(5, 3, b"abc"),), 4)])
    for cut in range(len(body)):
        with pytest.raises(WireError):
            decode_messages(body[:cut])
    with pytest.raises(WireError):
        decode_messages(body + b"\x00")
    with pytest.raises(WireError):
        decode_messages(b"\x02" + body[1:])   # unknown version
