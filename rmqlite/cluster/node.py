"""One cluster node as its own OS process: ``python -m rmqlite.cluster.node namesrv|broker ...``.

How it works:
1. The supervisor starts the process with stdin and stdout as pipes. The node imports
   everything it needs, then waits for one line on stdin (``go``): the supervisor can start
   every process at once (imports overlap) and let brokers go once the nameservers listen.
2. Once listening, the node prints the Java ready line (``... boot success ...``) to stdout;
   logs go to stderr (a file chosen by the supervisor).
3. SIGTERM/SIGINT stop it cleanly; so does end-of-file on stdin, which is how a node notices that
   its supervisor died, so no node outlives its cluster. SIGUSR1 makes a broker register with
   its nameservers at once (sent after a network fault is healed).
4. A failed start prints ``rmqlite: cannot start: <why>`` to stderr and exits with status 1.
5. Lean on purpose (the cluster's footprint is nodes x this): arguments are parsed by hand, and a
   nameserver (control traffic only) runs on the stdlib event loop without importing ``ssl``
   (about 5 MB less per nameserver); brokers use uvloop when it is installed.

Arguments: ``namesrv --port P --kv-config F`` or ``broker -c broker.conf``, plus ``--bind-host H``,
``--log-level L`` and ``--go`` (start at once, without waiting for ``go`` on stdin).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main", "parse_args"]

_OPTIONS = {"--bind-host": "bind_host", "--port": "port", "--kv-config": "kv_config", "-c": "config",
            "--config": "config", "--log-level": "log_level"}


def parse_args(argv: list[str]) -> dict[str, Any]:
    """``kind`` and options as a dict; ``ValueError`` naming the bad argument."""
    if not argv or argv[0] not in ("namesrv", "broker"):
        raise ValueError("usage: python -m rmqlite.cluster.node namesrv|broker [options]")
    args: dict[str, Any] = {"kind": argv[0], "bind_host": "127.0.0.1", "port": 9876, "kv_config": None,
                            "config": None, "log_level": "WARNING", "go": False}
    rest = argv[1:]
    while rest:
        flag = rest.pop(0)
        if flag == "--go":
            args["go"] = True
        elif flag in _OPTIONS and rest:
            args[_OPTIONS[flag]] = rest.pop(0)
        else:
            raise ValueError(f"bad argument {flag!r}")
    args["port"] = int(args["port"])
    if args["kind"] == "broker" and not args["config"]:
        raise ValueError("broker needs -c broker.conf")
    return args


def _make(args: dict[str, Any]) -> Any:
    if args["kind"] == "namesrv":
        from rmqlite.namesrv.server import NameServer
        return NameServer(host=args["bind_host"], port=args["port"], kv_config_path=args["kv_config"])
    from rmqlite.broker.config import load_broker_config
    from rmqlite.broker.server import Broker
    return Broker(load_broker_config(args["config"]), host=args["bind_host"])


async def _stdin_reader() -> Any:
    import asyncio
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (ValueError, OSError):   # stdin closed or not a pipe/tty
        return None
    return reader


async def _watch_eof(reader: Any, stop: Any) -> None:
    while await reader.read(4096):
        pass
    stop.set()


async def _run(args: dict[str, Any]) -> int:
    import asyncio
    import signal
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reader = await _stdin_reader()
    if reader is not None and not args["go"]:
        line = await reader.readline()
        if not line:
            return 0                 # supervisor gone before we were told to start
    server = None
    try:
        server = _make(args)
        await server.start()
    except Exception as exc:
        print(f"rmqlite: cannot start: {exc}", file=sys.stderr, flush=True)
        if server is not None:
            await server.close()
        return 1
    if hasattr(server, "register_now") and hasattr(signal, "SIGUSR1"):
        loop.add_signal_handler(signal.SIGUSR1, lambda: asyncio.ensure_future(server.register_now()))
    print(server.ready_line(), flush=True)
    watcher = asyncio.ensure_future(_watch_eof(reader, stop)) if reader is not None else None
    await stop.wait()
    if watcher is not None:
        watcher.cancel()
    await server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        print(f"rmqlite.cluster.node: {exc}", file=sys.stderr)
        return 2
    if args["kind"] == "namesrv":
        sys.modules.setdefault("ssl", None)   # type: ignore[arg-type]   # no TLS here: see rule 5
    import asyncio
    import logging
    logging.basicConfig(level=str(args["log_level"]).upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args["kind"] == "broker":
        try:
            import uvloop  # type: ignore[import-not-found]
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
        import rmqlite.broker.server
        import rmqlite.store.message_store
    else:
        import rmqlite.namesrv.server  # noqa: F401
    return asyncio.run(_run(args))


if __name__ == "__main__":
    raise SystemExit(main())
