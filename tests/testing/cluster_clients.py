"""Helpers for the fixture tests: rmqlite's own RocketMQ protocol client, send / pull / masters."""

from __future__ import annotations

import asyncio

from rmqlite.client.api import Client, ClientError, SendResult


async def send_to(namesrv: str, topic: str, group: str, body: bytes, timeout_ms: int = 3000) -> SendResult:
    """Send one message to queue 0 of ``group`` through the route the nameservers give."""
    async with Client(namesrv, timeout_ms=timeout_ms) as client:
        route = await client.route(topic)
        return await client.send(route, group, 0, body)


async def pull_bodies(namesrv: str, topic: str, group: str) -> list[bytes]:
    async with Client(namesrv) as client:
        route = await client.route(topic)
        res = await client.pull(route.master_of(group), "fixture_test", topic, 0, 0, 32)
        return [m.body for m in res.messages]


async def masters(namesrv: str) -> dict[str, str]:
    """brokerName -> master address, as the first nameserver sees it."""
    async with Client(namesrv) as client:
        info = await client.cluster_info()
    return {name: e["brokerAddrs"][0] for name, e in info.get("brokerAddrTable", {}).items()
            if 0 in e.get("brokerAddrs", {})}


def run(coro):
    """Run a client coroutine from a sync test."""
    return asyncio.run(coro)


__all__ = ["ClientError", "masters", "pull_bodies", "run", "send_to"]
