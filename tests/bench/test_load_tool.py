"""Smoke tests of `python -m rmqlite bench produce|consume|e2e` and the floor server (counts only, no timing)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from rmqlite.bench import load
from rmqlite.bench.floor import serve_floor


async def test_produce_then_consume_counts(rmqlite_namesrv: str) -> None:
    lines: list[str] = []
    opts = load.LoadOptions(rmqlite_namesrv, topic="SmokeProduce", size=128, inflight=4, count=200,
                            duration=30, create_topic=4)
    summary = await load.produce(opts, lines.append)
    assert summary["count"] == 200 and summary["failed"] == 0
    assert summary["rt_p99_ms"] >= summary["rt_p50_ms"] > 0
    assert any(line.startswith("produce total:") for line in lines)

    opts = load.LoadOptions(rmqlite_namesrv, topic="SmokeProduce", count=200, duration=30, idle=1, quiet=True)
    summary = await load.consume(opts, lines.append)
    assert summary["received"] == 200 and summary["failed"] == 0


async def test_batch_produce(rmqlite_namesrv: str) -> None:
    opts = load.LoadOptions(rmqlite_namesrv, topic="SmokeBatch", size=64, inflight=2, batch=8, count=64,
                            duration=30, create_topic=2, quiet=True)
    summary = await load.produce(opts)
    assert summary["count"] == 64 and summary["requests"] == 8 and summary["failed"] == 0


async def test_e2e_receives_everything(rmqlite_namesrv: str) -> None:
    opts = load.LoadOptions(rmqlite_namesrv, topic="SmokeE2E", size=64, rate=100, duration=1, create_topic=2,
                            quiet=True)
    summary = await load.e2e(opts)
    assert summary["sent"] == 100 and summary["received"] == 100 and summary["lost"] == 0


def test_cli_json_output(rmqlite_namesrv: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rmqlite", "bench", "produce", "-n", rmqlite_namesrv, "-t", "SmokeCli",
         "--create-topic", "2", "-s", "32", "-c", "2", "-m", "50", "-d", "30", "--json"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["mode"] == "produce" and summary["count"] == 50
    assert "produce total:" in proc.stderr


async def test_floor_answers_route_and_sends() -> None:
    stop = asyncio.Event()
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve_floor("127.0.0.1", 0, started, stop))
    port = await asyncio.wait_for(started, 10)
    try:
        opts = load.LoadOptions(f"127.0.0.1:{port}", topic="AnyTopic", size=256, inflight=4, count=100,
                                duration=30, quiet=True)
        summary = await load.produce(opts)
        assert summary["count"] == 100 and summary["failed"] == 0
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


def test_count_records_reads_total_sizes() -> None:
    from rmqlite.common import message as m

    recs = b"".join(m.encode_record(m.MessageExt(topic="T", body=b"x" * n, born_host=("127.0.0.1", 1),
                                                 store_host=("127.0.0.1", 2))) for n in (0, 5, 300))
    assert load.count_records(recs) == 3
    assert load.count_records(b"") == 0 and load.count_records(None) == 0
