"""``python -m rmqlite bench produce|consume|e2e|floor ...``: the protocol-level load tool and the floor server.

How it works: ``register(subparsers)`` adds ``bench`` with four sub-subcommands. The load modes run one
asyncio loop (uvloop when installed, set by rmqlite.cli), print a progress line per second and a summary
(to stderr with ``--json``, whose single JSON object goes to stdout for scripts). ``floor`` serves the
no-storage floor server (see ``rmqlite.bench.floor``) until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namesrv", required=True, help="namesrv address(es), host:port[;host:port]")
    p.add_argument("-t", "--topic", default="BenchTopic", help="topic (default BenchTopic)")
    p.add_argument("-g", "--group", default="rmqlite_bench", help="producer/consumer group (default rmqlite_bench)")
    p.add_argument("-d", "--duration", type=float, default=10.0, help="seconds to run (default 10; 0 = no limit)")
    p.add_argument("--timeout-ms", type=int, default=5000, help="per-request timeout (default 5000)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-second progress lines")


def register(subparsers: Any) -> None:
    """Add the ``bench`` subcommand to rmqlite's CLI."""
    bench = subparsers.add_parser("bench", help="load tool (produce/consume/e2e) and the floor server")
    sub = bench.add_subparsers(dest="bench_command", required=True)

    p = sub.add_parser("produce", help="closed-loop sends: N in flight, TPS and RT")
    _common(p)
    p.add_argument("-s", "--size", type=int, default=1024, help="body bytes (default 1024)")
    p.add_argument("-c", "--inflight", type=int, default=8, help="sends in flight (default 8)")
    p.add_argument("-b", "--batch", type=int, default=1, help="messages per SEND_BATCH_MESSAGE (default 1 = single)")
    p.add_argument("-m", "--count", type=int, default=0, help="stop after this many messages (default: duration)")
    p.add_argument("--create-topic", type=int, default=0, metavar="QUEUES",
                   help="create the topic with QUEUES queues on every master first")
    p.set_defaults(func=_cmd_load, mode="produce")

    c = sub.add_parser("consume", help="pull every queue: TPS and pull RT")
    _common(c)
    c.add_argument("-m", "--count", type=int, default=0, help="stop after this many messages")
    c.add_argument("--from", dest="start_from", choices=("first", "last"), default="first",
                   help="start at each queue's min (first) or max (last) offset")
    c.add_argument("--idle", type=float, default=3.0, help="stop once all queues were empty this long (default 3)")
    c.set_defaults(func=_cmd_load, mode="consume")

    e = sub.add_parser("e2e", help="paced sends + long-polling consumer: produce-to-consume latency")
    _common(e)
    e.add_argument("-s", "--size", type=int, default=1024, help="body bytes (default 1024, min 16)")
    e.add_argument("-r", "--rate", type=float, default=1000.0, help="messages per second (default 1000)")
    e.add_argument("--create-topic", type=int, default=0, metavar="QUEUES",
                   help="create the topic with QUEUES queues on every master first")
    e.set_defaults(func=_cmd_load, mode="e2e")

    f = sub.add_parser("floor", help="serve the no-storage floor (namesrv + broker on one port)")
    f.add_argument("-p", "--port", type=int, default=9876, help="listen port (default 9876)")
    f.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    f.set_defaults(func=_cmd_floor)


def _cmd_load(args: argparse.Namespace) -> int:
    from rmqlite.bench import load

    opts = load.LoadOptions(
        namesrv=args.namesrv, topic=args.topic, group=args.group, duration=args.duration,
        timeout_ms=args.timeout_ms, quiet=args.quiet,
        size=getattr(args, "size", 1024), inflight=getattr(args, "inflight", 8), batch=getattr(args, "batch", 1),
        count=getattr(args, "count", 0), create_topic=getattr(args, "create_topic", 0),
        start_from=getattr(args, "start_from", "first"), idle=getattr(args, "idle", 3.0),
        rate=getattr(args, "rate", 1000.0),
    )
    out = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else (lambda s: print(s, flush=True))
    run = {"produce": load.produce, "consume": load.consume, "e2e": load.e2e}[args.mode]
    try:
        summary = asyncio.run(run(opts, out))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, not a traceback
        print(f"rmqlite bench {args.mode}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary), flush=True)
    return 0 if summary.get("count", 0) or args.mode == "consume" else 1


def _cmd_floor(args: argparse.Namespace) -> int:
    from rmqlite.bench.floor import serve_floor

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        started: asyncio.Future[int] = loop.create_future()
        task = asyncio.create_task(serve_floor(args.host, args.port, started, stop))
        port = await started
        print(f"floor ready on {args.host}:{port} (namesrv + broker, no storage)", flush=True)
        await task

    asyncio.run(main())
    return 0
