"""The fault-injection proxies alone: forwarding, cut (isolate/partition), delay, heal."""

from __future__ import annotations

import asyncio

import pytest

from rmqlite.cluster.faults import CLIENTS, FaultNet


async def _echo_server() -> tuple[asyncio.base_events.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _roundtrip(port: int, payload: bytes = b"ping") -> tuple[bytes, float]:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = loop.time()
    writer.write(payload)
    data = await asyncio.wait_for(reader.readexactly(len(payload)), 5)
    elapsed = loop.time() - t0
    writer.close()
    return data, elapsed


@pytest.fixture
async def net():
    server, port = await _echo_server()
    fnet = FaultNet()
    fnet.add(CLIENTS, "node-a", ("127.0.0.1", 0), ("127.0.0.1", port))
    fnet.add("node-b", "node-a", ("127.0.0.1", 0), ("127.0.0.1", port))
    await fnet.start()
    yield fnet
    await fnet.close()
    server.close()
    await server.wait_closed()


async def test_forwards_bytes_both_ways(net: FaultNet) -> None:
    big = bytes(range(256)) * 4096          # 1 MiB, several chunks
    data, _ = await _roundtrip(net.links[0].port, big)
    assert data == big


async def test_isolate_resets_open_and_new_connections_then_heal(net: FaultNet) -> None:
    link = net.links[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
    writer.write(b"x")
    assert await reader.readexactly(1) == b"x"
    net.isolate("node-a")
    assert link.cut and net.links[1].cut
    assert await asyncio.wait_for(reader.read(10), 5) == b""          # the open one is reset
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await _roundtrip(link.port)                                      # a new one too
    net.heal()
    assert (await _roundtrip(link.port))[0] == b"ping"


async def test_partition_cuts_only_across_sides(net: FaultNet) -> None:
    net.partition([["node-a", CLIENTS], ["node-b"]])
    assert not net.links[0].cut                  # clients <-> node-a: same side
    assert net.links[1].cut                      # node-b -> node-a: across
    assert (await _roundtrip(net.links[0].port))[0] == b"ping"
    net.heal()
    assert not net.links[1].cut


async def test_delay_applies_each_way_and_keeps_order(net: FaultNet) -> None:
    port = net.links[0].port
    _, fast = await _roundtrip(port)
    net.delay("node-a", 60)
    data, slow = await _roundtrip(port, b"0123456789" * 1000)
    assert data == b"0123456789" * 1000
    assert slow >= 0.12 - 0.01                   # 60 ms there + 60 ms back
    net.delay("node-a", 0)
    _, again = await _roundtrip(port)
    assert again < 0.1
    with pytest.raises(ValueError):
        net.delay("node-a", -1)


async def test_target_down_resets_the_client(net: FaultNet) -> None:
    dead = net.add(CLIENTS, "node-c", ("127.0.0.1", 0), ("127.0.0.1", 1))   # nothing listens on port 1
    await net.start()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await _roundtrip(dead.port)
