"""Protocol-level load tool: produce / consume / e2e against rmqlite or any Apache RocketMQ 4.x.

How it works:
1. Routes come from the nameserver (GET_ROUTEINFO_BY_TOPIC); ``--create-topic N`` first sends
   UPDATE_AND_CREATE_TOPIC to every master in GET_BROKER_CLUSTER_INFO and waits for the route.
2. ``produce``: ``inflight`` coroutines each send SEND_MESSAGE_V2 (or SEND_BATCH_MESSAGE with ``batch`` > 1)
   round-robin over the write queues and await the reply before the next send; latency = request written ->
   reply decoded. Stops after ``duration`` seconds or ``count`` messages.
3. ``consume``: one coroutine per read queue pulls (32 per PULL_MESSAGE, subscription "*", no heartbeat
   needed) from the queue's min offset (``--from first``) or max offset (``last``); records are counted by
   walking TOTALSIZE only. Stops at ``count`` messages, after ``duration``, or once every queue is caught up
   for ``idle`` seconds. RT = pull round trip.
4. ``e2e``: a long-polling consumer (suspend 1 s) per read queue starts at the max offsets, then a paced
   producer sends ``rate`` msg/s whose first 8 body bytes are ``perf_counter_ns`` at send time; latency =
   receive time - that stamp (same process, same clock).
5. Every second a ``stats.Meter`` window is printed (TPS, RT avg/p99/max, failures); at the end a summary.
   Clock and output are passed in, so the tests drive the same code.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rmqlite.bench.stats import Meter, format_line
from rmqlite.client.api import Client, TopicRoute, unique_id
from rmqlite.common import message as m
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand

__all__ = ["LoadOptions", "produce", "consume", "e2e", "count_records"]

Printer = Callable[[str], None]
_TOTAL = struct.Struct(">i")
_PULL_OK = (ResponseCode.SUCCESS, ResponseCode.PULL_NOT_FOUND, ResponseCode.PULL_RETRY_IMMEDIATELY,
            ResponseCode.PULL_OFFSET_MOVED)


@dataclass
class LoadOptions:
    """Everything the three modes take (unused fields are ignored by a mode)."""

    namesrv: str
    topic: str = "BenchTopic"
    size: int = 1024
    inflight: int = 8
    batch: int = 1
    duration: float = 10.0
    count: int = 0                 # 0 = until duration
    group: str = "rmqlite_bench"
    create_topic: int = 0          # queues per master; 0 = do not create
    start_from: str = "first"      # consume: first | last
    idle: float = 3.0
    rate: float = 1000.0
    timeout_ms: int = 5000
    quiet: bool = False
    extra: dict = field(default_factory=dict)


def count_records(body: bytes | None) -> int:
    """Number of stored records in a pull body, reading only their TOTALSIZE words."""
    if not body:
        return 0
    n = pos = 0
    end = len(body)
    while pos + 4 <= end:
        (size,) = _TOTAL.unpack_from(body, pos)
        if size <= 0:
            break
        pos += size
        n += 1
    return n


async def _ensure_topic(client: Client, topic: str, queues: int) -> None:
    info = await client.cluster_info()
    masters = [addr for b in info.get("brokerAddrTable", {}).values()
               for bid, addr in b.get("brokerAddrs", {}).items() if int(bid) == 0]
    for addr in masters:
        await client.create_topic(addr, topic, queues)


async def _route(client: Client, topic: str, wait_s: float = 15.0) -> TopicRoute:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            route = await client.route(topic)
            if route.queues and any(b.master for b in route.brokers):
                return route
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise RuntimeError(f"no route for topic {topic}")
        await asyncio.sleep(0.2)


def _send_command(opts: LoadOptions, queue_id: int, body: bytes, batch: int) -> RemotingCommand:
    born = str(int(time.time() * 1000))
    if batch <= 1:
        props = m.encode_properties({"UNIQ_KEY": unique_id(), "WAIT": "true"})
        ext = {"a": opts.group, "b": opts.topic, "c": "TBW102", "d": "4", "e": str(queue_id), "f": "0",
               "g": born, "h": "0", "i": props, "j": "0", "k": "false", "m": "false"}
        return RemotingCommand.request(RequestCode.SEND_MESSAGE_V2, ext, body)
    items = [m.BatchItem(0, body, m.encode_properties({"UNIQ_KEY": unique_id(), "WAIT": "true"}))
             for _ in range(batch)]
    ext = {"a": opts.group, "b": opts.topic, "c": "TBW102", "d": "4", "e": str(queue_id), "f": "0",
           "g": born, "h": "0", "i": "", "j": "0", "k": "false", "m": "true"}
    return RemotingCommand.request(RequestCode.SEND_BATCH_MESSAGE, ext, m.encode_batch_body(items))


class _Progress:
    """Prints one meter line per second until stopped."""

    def __init__(self, meter: Meter, out: Printer, quiet: bool, label: str = "") -> None:
        self.meter, self.out, self.quiet, self.label = meter, out, quiet, label

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
            line = self.meter.tick(time.perf_counter_ns())
            if line is not None and not self.quiet:
                self.out(format_line(line, self.label))


def _finish(mode: str, opts: LoadOptions, meter: Meter, out: Printer, extra: dict | None = None) -> dict:
    now = time.perf_counter_ns()
    line = meter.tick(now, force=True)
    if line is not None and line["requests"] and not opts.quiet:
        out(format_line(line, ""))
    summary = {"mode": mode, "topic": opts.topic, "size": opts.size, "inflight": opts.inflight,
               "batch": opts.batch, **meter.summary(now), **(extra or {}), "per_second": meter.seconds}
    if not opts.quiet:
        out(format_line(summary, f"{mode} total: ").lstrip())
    return summary


async def produce(opts: LoadOptions, out: Printer = print) -> dict:
    """Closed-loop producer; returns the summary (see module doc rule 2)."""
    async with Client(opts.namesrv, timeout_ms=opts.timeout_ms) as client:
        if opts.create_topic:
            await _ensure_topic(client, opts.topic, opts.create_topic)
        route = await _route(client, opts.topic)
        targets = [(route.master_of(b), q) for b, q in route.write_queues()]
        if not targets:
            raise RuntimeError(f"topic {opts.topic} has no writable queue")
        body = os.urandom(opts.size)
        batch = max(1, opts.batch)
        rr = itertools.count()
        reserved = itertools.count()
        meter = Meter(time.perf_counter_ns())
        stop = asyncio.Event()
        deadline = time.monotonic() + opts.duration if opts.duration > 0 else float("inf")

        async def worker() -> None:
            while not stop.is_set() and time.monotonic() < deadline:
                if opts.count and next(reserved) * batch >= opts.count:
                    return
                addr, qid = targets[next(rr) % len(targets)]
                cmd = _send_command(opts, qid, body, batch)
                t0 = time.perf_counter_ns()
                try:
                    resp = await client.remoting.invoke(addr, cmd, opts.timeout_ms)
                except Exception:
                    meter.fail(batch)
                    await asyncio.sleep(0.005)
                    continue
                if resp.code == ResponseCode.SUCCESS:
                    meter.add(time.perf_counter_ns() - t0, batch)
                else:
                    meter.fail(batch)

        progress = asyncio.create_task(_Progress(meter, out, opts.quiet).run(stop))
        await asyncio.gather(*(worker() for _ in range(max(1, opts.inflight))))
        stop.set()
        await progress
        return _finish("produce", opts, meter, out)


async def _queue_offsets(client: Client, route: TopicRoute, start_from: str) -> list[tuple[str, int, int]]:
    out = []
    for b, q in route.read_queues():
        addr = route.master_of(b)
        off = await (client.min_offset if start_from == "first" else client.max_offset)(addr, route.topic, q)
        out.append((addr, q, off))
    return out


def _pull_command(opts: LoadOptions, qid: int, offset: int, suspend_ms: int) -> RemotingCommand:
    ext = {"consumerGroup": opts.group, "topic": opts.topic, "queueId": str(qid), "queueOffset": str(offset),
           "maxMsgNums": "32", "sysFlag": str(0x4 | (0x2 if suspend_ms else 0)), "commitOffset": "0",
           "suspendTimeoutMillis": str(suspend_ms), "subscription": "*",
           "subVersion": str(int(time.time() * 1000)), "expressionType": "TAG"}
    return RemotingCommand.request(RequestCode.PULL_MESSAGE, ext)


async def consume(opts: LoadOptions, out: Printer = print) -> dict:
    """Pull consumer over every read queue; returns the summary (see module doc rule 3)."""
    async with Client(opts.namesrv, timeout_ms=opts.timeout_ms) as client:
        route = await _route(client, opts.topic)
        queues = await _queue_offsets(client, route, opts.start_from)
        meter = Meter(time.perf_counter_ns())
        stop = asyncio.Event()
        got = [0]
        caught_up: dict[int, float] = {}
        deadline = time.monotonic() + opts.duration if opts.duration > 0 else float("inf")

        async def puller(idx: int, addr: str, qid: int, offset: int) -> None:
            while not stop.is_set() and time.monotonic() < deadline:
                t0 = time.perf_counter_ns()
                try:
                    resp = await client.remoting.invoke(addr, _pull_command(opts, qid, offset, 0), opts.timeout_ms)
                except Exception:
                    meter.fail()
                    await asyncio.sleep(0.05)
                    continue
                if resp.code not in _PULL_OK:
                    meter.fail()
                    await asyncio.sleep(0.05)
                    continue
                n = count_records(resp.body) if resp.code == ResponseCode.SUCCESS else 0
                meter.add(time.perf_counter_ns() - t0, n)
                got[0] += n
                offset = int(resp.ext_fields.get("nextBeginOffset", offset))
                if opts.count and got[0] >= opts.count:
                    stop.set()
                    return
                if n == 0:
                    caught_up.setdefault(idx, time.monotonic())
                    if len(caught_up) == len(queues) and time.monotonic() - min(caught_up.values()) > opts.idle:
                        stop.set()
                        return
                    await asyncio.sleep(0.05)
                else:
                    caught_up.pop(idx, None)

        progress = asyncio.create_task(_Progress(meter, out, opts.quiet).run(stop))
        await asyncio.gather(*(puller(i, a, q, o) for i, (a, q, o) in enumerate(queues)))
        stop.set()
        await progress
        return _finish("consume", opts, meter, out, {"received": got[0]})


async def e2e(opts: LoadOptions, out: Printer = print) -> dict:
    """Paced producer + long-polling consumer; latency = send -> receive (see module doc rule 4)."""
    async with Client(opts.namesrv, timeout_ms=opts.timeout_ms) as client:
        if opts.create_topic:
            await _ensure_topic(client, opts.topic, opts.create_topic)
        route = await _route(client, opts.topic)
        targets = [(route.master_of(b), q) for b, q in route.write_queues()]
        queues = await _queue_offsets(client, route, "last")
        meter = Meter(time.perf_counter_ns())
        stop = asyncio.Event()
        sent = [0, 0]                      # sent ok, failed
        received = [0]
        size = max(16, opts.size)
        pad = os.urandom(size - 8)

        async def puller(addr: str, qid: int, offset: int) -> None:
            while not stop.is_set():
                try:
                    resp = await client.remoting.invoke(addr, _pull_command(opts, qid, offset, 1000), 5000)
                except Exception:
                    await asyncio.sleep(0.05)
                    continue
                now = time.perf_counter_ns()
                if resp.code == ResponseCode.SUCCESS and resp.body:
                    for msg in m.iter_records(resp.body):
                        meter.add(now - int.from_bytes(msg.body[:8], "big"))
                        received[0] += 1
                offset = int(resp.ext_fields.get("nextBeginOffset", offset))

        async def send_one(addr: str, qid: int) -> None:
            body = time.perf_counter_ns().to_bytes(8, "big") + pad
            try:
                resp = await client.remoting.invoke(addr, _send_command(opts, qid, body, 1), opts.timeout_ms)
                ok = resp.code == ResponseCode.SUCCESS
            except Exception:
                ok = False
            sent[0 if ok else 1] += 1
            if not ok:
                meter.fail()

        pullers = [asyncio.create_task(puller(a, q, o)) for a, q, o in queues]
        await asyncio.sleep(0.3)           # let the first long polls reach the brokers
        progress = asyncio.create_task(_Progress(meter, out, opts.quiet, "e2e ").run(stop))
        sends: set[asyncio.Task[None]] = set()
        total = int(opts.rate * opts.duration)
        begin = time.monotonic()
        for i in range(total):
            delay = begin + i / opts.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            addr, qid = targets[i % len(targets)]
            task = asyncio.create_task(send_one(addr, qid))
            sends.add(task)
            task.add_done_callback(sends.discard)
        if sends:
            await asyncio.wait(sends, timeout=opts.timeout_ms / 1000)
        wait_until = time.monotonic() + 10
        while received[0] < sent[0] and time.monotonic() < wait_until:
            await asyncio.sleep(0.05)
        stop.set()
        await progress
        for p in pullers:
            p.cancel()
        await asyncio.gather(*pullers, return_exceptions=True)
        extra = {"rate": opts.rate, "sent": sent[0], "received": received[0],
                 "lost": max(0, sent[0] - received[0])}
        return _finish("e2e", opts, meter, out, extra)


def local_host() -> str:
    """This machine's name (for the report header)."""
    return socket.gethostname()
