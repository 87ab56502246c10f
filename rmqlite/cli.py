"""Command line: ``python -m rmqlite namesrv|broker|cluster|admin|console|bench ...``.

How it works: argparse picks a subcommand; each server runs in one asyncio event loop
(uvloop when installed) until SIGINT/SIGTERM, then closes cleanly. When a server is
ready it prints one line, the same text the Java server prints, and flushes stdout so
that scripts can wait for it. Subcommands other than namesrv/broker live in their own
packages: each ``<package>.cli`` module in ``EXTRA_COMMANDS`` has
``register(subparsers)`` adding its parser with ``set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("rmqlite")

#: Modules that add their own subcommands (``register(subparsers)``).
EXTRA_COMMANDS = ["rmqlite.cluster.cli", "rmqlite.admin.cli", "rmqlite.console.cli", "rmqlite.bench.cli"]


def _event_loop_policy() -> None:
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _serve(make: Callable[[], Any], start: Callable[[Any], Awaitable[None]]) -> int:
    """Start a server, print its ready line, and wait for a signal to stop it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = make()
    try:
        await start(server)
    except Exception as exc:  # a failed start is one clear line, not a traceback
        print(f"rmqlite: cannot start: {exc}", file=sys.stderr)
        await server.close()
        return 1
    print(server.ready_line(), flush=True)
    await stop.wait()
    await server.close()
    return 0


def _cmd_namesrv(args: argparse.Namespace) -> int:
    from rmqlite.namesrv.server import NameServer

    def make() -> Any:
        return NameServer(host=args.host, port=args.port, kv_config_path=args.kv_config)

    return asyncio.run(_serve(make, lambda s: s.start()))


def _cmd_broker(args: argparse.Namespace) -> int:
    from rmqlite.broker.config import ConfigError, load_broker_config
    from rmqlite.broker.server import Broker

    overrides = {}
    if args.namesrv:
        overrides["namesrvAddr"] = args.namesrv
    try:
        config = load_broker_config(args.config, overrides)
    except (ConfigError, OSError) as exc:
        print(f"rmqlite broker: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(lambda: Broker(config), lambda b: b.start()))


def build_parser(extras: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rmqlite", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    sub = parser.add_subparsers(dest="command", required=True)

    ns = sub.add_parser("namesrv", help="run a nameserver")
    ns.add_argument("-p", "--port", type=int, default=9876, help="listen port (default 9876)")
    ns.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    ns.add_argument("--kv-config", default=None, help="kvConfig.json path (default ~/namesrv/kvConfig.json)")
    ns.set_defaults(func=_cmd_namesrv)

    br = sub.add_parser("broker", help="run a broker from a RocketMQ broker.conf")
    br.add_argument("-c", "--config", required=True, help="broker.conf (RocketMQ key=value format)")
    br.add_argument("-n", "--namesrv", default=None, help="namesrv address(es), overrides namesrvAddr")
    br.set_defaults(func=_cmd_broker)
    for module in EXTRA_COMMANDS if extras else ():
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # servers start lean: the other subcommands (and their imports) are loaded only when asked for
    lean = bool({"namesrv", "broker"} & set(argv[:3])) and not {"-h", "--help"} & set(argv)
    args = build_parser(extras=not lean).parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _event_loop_policy()
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
