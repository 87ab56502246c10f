"""asyncio server/client: request matching, oneway, timeouts, and hostile input."""

from __future__ import annotations

import asyncio
import struct

import pytest

from rmqlite.remoting.codes import ResponseCode
from rmqlite.remoting.command import RemotingCommand, SerializeType
from rmqlite.remoting.headers import ext_int
from rmqlite.remoting.transport import RemotingClient, RemotingServer, RemotingTimeout


@pytest.fixture
async def server():
    srv = RemotingServer(name="test")
    seen_oneway = asyncio.Queue()

    def echo(cmd, conn):
        return cmd.response(body=str(ext_int(cmd, "n")).encode())

    async def slow(cmd, conn):
        await asyncio.sleep(float(cmd.ext_fields["s"]))
        return cmd.response(remark="late")

    def oneway(cmd, conn):
        seen_oneway.put_nowait(cmd)
        return cmd.response()

    def boom(cmd, conn):
        raise RuntimeError("kaput")

    srv.register(1, echo)
    srv.register(2, slow)
    srv.register(3, oneway)
    srv.register(4, boom)
    await srv.start()
    srv.seen_oneway = seen_oneway
    yield srv
    await srv.close()


@pytest.fixture
async def client():
    cl = RemotingClient()
    yield cl
    await cl.close()


async def test_concurrent_requests_match_by_opaque(server, client):
    addr = f"127.0.0.1:{server.port}"
    cmds = [RemotingCommand.request(1, {"n": str(i)}, serialize_type=i % 2) for i in range(50)]
    replies = await asyncio.gather(*(client.invoke(addr, c) for c in cmds))
    assert [r.body for r in replies] == [str(i).encode() for i in range(50)]
    assert [r.serialize_type for r in replies] == [i % 2 for i in range(50)]


async def test_slow_handler_does_not_block_others(server, client):
    addr = f"127.0.0.1:{server.port}"
    slow = asyncio.ensure_future(client.invoke(addr, RemotingCommand.request(2, {"s": "0.2"})))
    fast = await client.invoke(addr, RemotingCommand.request(1, {"n": "1"}))
    assert fast.body == b"1" and not slow.done()
    assert (await slow).remark == "late"


async def test_timeout_and_errors(server, client):
    addr = f"127.0.0.1:{server.port}"
    with pytest.raises(RemotingTimeout):
        await client.invoke(addr, RemotingCommand.request(2, {"s": "1"}), timeout_ms=50)
    unknown = await client.invoke(addr, RemotingCommand.request(999))
    assert unknown.code == ResponseCode.REQUEST_CODE_NOT_SUPPORTED
    assert unknown.remark == " request type 999 not supported"
    missing = await client.invoke(addr, RemotingCommand.request(1))
    assert missing.code == ResponseCode.SYSTEM_ERROR and "'n'" in missing.remark
    boom = await client.invoke(addr, RemotingCommand.request(4))
    assert boom.code == ResponseCode.SYSTEM_ERROR and "kaput" in boom.remark


async def test_oneway_gets_no_reply(server, client):
    addr = f"127.0.0.1:{server.port}"
    await client.invoke_oneway(addr, RemotingCommand.request(3, oneway=True))
    got = await asyncio.wait_for(server.seen_oneway.get(), 5)
    assert got.is_oneway
    # the next request's reply is the next frame on the wire: no stray oneway reply
    reply = await client.invoke(addr, RemotingCommand.request(1, {"n": "7"}))
    assert reply.body == b"7"


GARBAGE = [
    b"\x00\x00\x00\x02",                                  # length too small
    b"\x7f\xff\xff\xff" + b"x" * 10,                      # oversized
    struct.pack(">iI", 9, 5) + b"{bad}",                  # invalid JSON
    struct.pack(">iI", 8, (9 << 24) | 4) + b"abcd",        # unknown serialize type
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                 # wrong protocol
    struct.pack(">i", 100) + b"half a frame",             # truncated, then close
]


@pytest.mark.parametrize("garbage", GARBAGE)
async def test_garbage_closes_only_that_connection(server, client, garbage):
    addr = f"127.0.0.1:{server.port}"
    ok = await client.invoke(addr, RemotingCommand.request(1, {"n": "1"}))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(garbage)
    await writer.drain()
    if garbage.startswith(struct.pack(">i", 100)):
        writer.close()
    else:
        assert await asyncio.wait_for(reader.read(), 5) == b""  # server closed it
    writer.close()
    again = await client.invoke(addr, RemotingCommand.request(1, {"n": "2"}))
    assert ok.body == b"1" and again.body == b"2"


async def test_server_survives_many_hostile_connections(server, client):
    addr = f"127.0.0.1:{server.port}"
    for garbage in GARBAGE * 5:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(garbage)
        writer.close()
    reply = await client.invoke(addr, RemotingCommand.request(1, {"n": "3"}, serialize_type=SerializeType.ROCKETMQ))
    assert reply.body == b"3"
