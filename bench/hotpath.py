"""In-process micro-benchmark of the broker's SEND path (no network): CPU microseconds per message.

    python bench/hotpath.py [--messages 20000] [--rounds 5] [--chunk 64] [--size 1024] [--tags] [--profile]

How it works:
 1. A real ``Broker`` (rmqlite/broker/server.py) is started on a temp store (ASYNC_FLUSH, no nameserver; it
    listens on loopback port 0 but nothing connects) and topic ``BenchSend`` is created with 8 queues, like the
    bench's ``topic:name=BenchSend,queues=8`` step.
 2. ``N`` SEND_MESSAGE_V2 frames are pre-encoded the way the Java client 4.9.4 sends them: JSON header with
    language JAVA, version 401, extFields a..m in HashMap order (l left out: null), properties
    ``UNIQ_KEY<1>32-hex<2>WAIT<1>true`` (+ ``TAGS`` with ``--tags``; Java HashMap order), a ``size``-byte body,
    queues round-robin, opaques counting up.
 3. The frames go through the real path: a ``Connection`` of the broker's own dispatcher over a fake transport
    that only counts the bytes written; ``data_received`` gets ``chunk`` frames at a time (64 in-flight sends
    arrive in a few reads), then the loop runs one turn so ``call_soon`` work (wake-ups, flush) is done too.
 4. CPU time (``time.process_time``) over all N messages -> us/msg and msg/s; the median of ``rounds`` rounds
    (each on a fresh broker) is reported, and the minimum (steadier on a shared machine). Every reply is checked
    to be a SUCCESS frame (the count must match). The broker's periodic flush runs as in the real process.
 5. ``--profile`` runs one round under cProfile and prints the top functions by self time (tottime); for a
    sampling view use ``py-spy record -f raw -o out.txt -- python bench/hotpath.py`` and
    ``python bench/profile.py summarize out.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))       # this checkout's rmqlite, also when run from a copy

from rmqlite.broker.config import load_broker_config
from rmqlite.broker.server import Broker
from rmqlite.broker.topics import TopicConfig
from rmqlite.remoting.codec import encode_frame
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand

TOPIC = "BenchSend"
QUEUES = 8


def java_send_frames(n: int, size: int = 1024, tags: bool = False, queues: int = QUEUES) -> list[bytes]:
    """``n`` SEND_MESSAGE_V2 frames as a Java 4.9.4 producer writes them (see rule 2)."""
    body = bytes((i * 7) & 0xFF for i in range(size))
    born = 1_700_000_000_000
    frames = []
    for i in range(n):
        props = f"UNIQ_KEY\x017F0000010F3A18B4AAC2{i:012X}\x02WAIT\x01true"
        if tags:
            props += "\x02TAGS\x01TagA"
        ext = {"a": "BenchProducer", "b": TOPIC, "c": "TBW102", "d": "4", "e": str(i % queues), "f": "0",
               "g": str(born + i), "h": "0", "i": props, "j": "0", "k": "false", "m": "false"}
        cmd = RemotingCommand(RequestCode.SEND_MESSAGE_V2, opaque=i + 1, ext_fields=ext, body=body,
                              language="JAVA", version=401)
        frames.append(encode_frame(cmd))
    return frames


class _Transport:
    """Just enough of an ``asyncio.Transport`` for ``Connection``: counts written bytes and frames."""

    def __init__(self) -> None:
        self.bytes = 0
        self.frames = 0
        self.success = 0
        self.closed = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 50123), "sockname": ("127.0.0.1", 10911)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes) -> None:
        self._count(data)

    def writelines(self, lines: list[bytes]) -> None:
        for data in lines:
            self._count(data)

    def _count(self, data: bytes) -> None:
        self.bytes += len(data)
        self.frames += 1
        if data[8:17] == b'{"code":0':    # SUCCESS response (header starts right after the 8-byte prefix)
            self.success += 1

    def close(self) -> None:
        self.closed = True


async def _start_broker(root: str) -> Broker:
    cfg = load_broker_config(None, {
        "brokerClusterName": "BenchCluster", "brokerName": "broker-a", "brokerIP1": "127.0.0.1",
        "listenPort": 0, "storePathRootDir": root, "storePathCommitLog": os.path.join(root, "commitlog"),
        "flushDiskType": "ASYNC_FLUSH", "autoCreateTopicEnable": "true",
        "mappedFileSizeCommitLog": 256 * 1024 * 1024})
    broker = Broker(cfg)
    await broker.start()
    assert broker.state is not None
    now = int(time.time() * 1000)
    broker.state.topics.update(TopicConfig(TOPIC, readQueueNums=QUEUES, writeQueueNums=QUEUES), now)
    broker.state.store.flush()
    return broker


async def _round(frames: list[bytes], chunk: int, profiler: Any = None) -> float:
    """CPU seconds to push ``frames`` through one fresh broker."""
    root = tempfile.mkdtemp(prefix="rmq-hotpath-")
    broker = await _start_broker(root)
    try:
        assert broker.server is not None
        conn = broker.server._make_connection()
        transport = _Transport()
        conn.connection_made(transport)  # type: ignore[arg-type]
        chunks = [b"".join(frames[i:i + chunk]) for i in range(0, len(frames), chunk)]
        await asyncio.sleep(0)
        if profiler is not None:
            profiler.enable()
        t0 = time.process_time()
        for data in chunks:
            conn.data_received(data)
            await asyncio.sleep(0)
        cpu = time.process_time() - t0
        if profiler is not None:
            profiler.disable()
        if transport.success != len(frames):
            raise SystemExit(f"expected {len(frames)} SUCCESS replies, got {transport.success} "
                             f"of {transport.frames} frames")
        conn.connection_lost(None)
        return cpu
    finally:
        await broker.close()
        shutil.rmtree(root, ignore_errors=True)


async def main_async(args: argparse.Namespace) -> None:
    frames = java_send_frames(args.messages, args.size, args.tags)
    n = len(frames)
    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        await _round(frames, args.chunk)               # warm-up
        cpu = await _round(frames, args.chunk, prof)
        print(f"profiled round: {cpu / n * 1e6:.1f} us/msg (cProfile overhead included)")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        return
    results = []
    await _round(frames[: min(n, 2000)], args.chunk)  # warm-up (imports, caches)
    for _ in range(args.rounds):
        results.append(await _round(frames, args.chunk))
    per = [r / n * 1e6 for r in results]
    med = statistics.median(per)
    print(f"send hot path: {n} x {args.size} B, chunk {args.chunk}: median {med:.1f} us/msg "
          f"({1e6 / med:,.0f} msg/s CPU-bound), min {min(per):.1f}; rounds: {' '.join(f'{p:.1f}' for p in per)}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=64, help="frames per data_received call")
    ap.add_argument("--size", type=int, default=1024, help="body bytes")
    ap.add_argument("--tags", action="store_true", help="messages carry TAGS too")
    ap.add_argument("--profile", action="store_true", help="one round under cProfile, top functions by tottime")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop (as the real broker does)")
    args = ap.parse_args(argv)
    # run as a script, bench/ comes first on sys.path and bench/profile.py would shadow the stdlib's
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found]
        uvloop.install()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
