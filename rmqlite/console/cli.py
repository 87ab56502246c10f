"""``python -m rmqlite console -n NAMESRV [--host H] [--port P]``: the web console for any cluster."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("console", help="web console for an rmqlite or Apache RocketMQ cluster")
    p.add_argument("-n", "--namesrv", default=None,
                   help="nameserver address(es) 'host:port;host:port' (default $NAMESRV_ADDR or 127.0.0.1:9876)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="listen port (default 8080, 0 = any free port)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    namesrv = (args.namesrv or os.environ.get("NAMESRV_ADDR") or "127.0.0.1:9876").strip()
    return asyncio.run(_serve(namesrv, args.host, args.port))


async def _serve(namesrv: str, host: str, port: int) -> int:
    from rmqlite.console import start_console
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        console = await start_console(namesrv, host, port)
    except OSError as exc:
        print(f"rmqlite console: cannot start: {exc}", file=sys.stderr)
        return 1
    print(f"rmqlite console for nameserver {namesrv}: {console.url}", flush=True)
    await stop.wait()
    await console.close()
    return 0
