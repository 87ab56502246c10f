"""The foreground process of ``python -m rmqlite cluster``: start, report, serve control requests, stop.

How it works:
1. Refuse to start when the data dir already has a live cluster. Start ``LocalCluster``; a
   SIGINT/SIGTERM during start-up cancels it and stops whatever had started.
2. Once ready: listen for control requests (``control``), write the run files, start the web
   console when ``rmqlite.console`` is installed, and print the namesrv address and the node
   table, ending with the line ``READY_LINE`` (``--detach`` waits for it).
3. Nodes that exit on their own are reported on stderr; they are not restarted behind the
   user's back (``restart NODE`` does that).
4. SIGINT/SIGTERM or a ``stop`` request: console, then brokers, then nameservers are stopped,
   the run files removed and an ephemeral data dir deleted. No node survives its supervisor
   (each node also exits when its stdin pipe closes).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from rmqlite.cluster.control import (
    ControlError,
    ControlServer,
    NodeStatus,
    RunInfo,
    find_running,
    remove_run_files,
    write_run_files,
)
from rmqlite.cluster.controller import LocalCluster

__all__ = ["READY_LINE", "format_table", "run_cluster"]

log = logging.getLogger("rmqlite.cluster")

READY_LINE = "Cluster ready."


def format_table(rows: list[NodeStatus] | list[dict[str, Any]]) -> str:
    """The node table: NODE GROUP ID ROLE ADDRESS PID (+ FAULTS when any)."""
    items = [r if isinstance(r, dict) else asdict(r) for r in rows]
    head = ["NODE", "GROUP", "ID", "ROLE", "ADDRESS", "PID"]
    faulty = any(i.get("isolated") or i.get("delay_ms") for i in items)
    if faulty:
        head.append("FAULTS")
    table = [head]
    for i in items:
        row = [i["name"], i["group"] or "-", i["member"] or "-", i["role"], i["addr"],
               str(i["pid"]) if i["pid"] else "-"]
        if faulty:
            row.append(", ".join(filter(None, ["isolated" if i.get("isolated") else "",
                                               f"+{i['delay_ms']:g}ms" if i.get("delay_ms") else ""])) or "-")
        table.append(row)
    widths = [max(len(r[c]) for r in table) for c in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in table)


def _console_starter() -> Callable[..., Any] | None:
    for module in ("rmqlite.console.control", "rmqlite.console"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        start = getattr(mod, "start_console", None)
        if start is not None:
            return start
    return None


class _Supervisor:
    def __init__(self, cluster: LocalCluster, out: TextIO, console_port: int | None) -> None:
        self.cluster = cluster
        self.out = out
        self.console_port = console_port
        self.stop = asyncio.Event()
        self.console: Any = None
        self.control = ControlServer({
            "status": self._op_status, "stop": self._op_stop, "kill": self._op_kill,
            "restart": self._op_restart, "wait_master": self._op_wait_master,
            "isolate": self._op_isolate, "heal": self._op_heal, "delay": self._op_delay,
        })

    async def _op_status(self, req: dict[str, Any]) -> dict[str, Any]:
        rows = await self.cluster.status()
        return {"nodes": [asdict(r) for r in rows], "namesrv": self.cluster.namesrv_addr,
                "data_dir": str(self.cluster.data_dir), "mode": _mode(self.cluster),
                "console": getattr(self.console, "url", None)}

    async def _op_stop(self, req: dict[str, Any]) -> dict[str, Any]:
        asyncio.get_running_loop().call_soon(self.stop.set)
        return {}

    async def _op_kill(self, req: dict[str, Any]) -> dict[str, Any]:
        node = self.cluster.node(req.get("node"))
        before = {s.name: s for s in await self.cluster.status()}[node.name]
        await self.cluster.kill(node)
        return {"node": node.name, "pid": before.pid, "role": before.role, "group": node.group}

    async def _op_restart(self, req: dict[str, Any]) -> dict[str, Any]:
        node = self.cluster.node(req.get("node"))
        await self.cluster.restart(node)
        return {"node": node.name, "pid": self.cluster.runner.pid(node.name)}

    async def _op_wait_master(self, req: dict[str, Any]) -> dict[str, Any]:
        master = await self.cluster.wait_for_master(str(req.get("group")), float(req.get("timeout", 15)),
                                                    exclude=req.get("exclude"))
        return {"master": asdict(master)}

    async def _op_isolate(self, req: dict[str, Any]) -> dict[str, Any]:
        await self.cluster.isolate(req.get("node"))
        return {}

    async def _op_heal(self, req: dict[str, Any]) -> dict[str, Any]:
        await self.cluster.heal(req.get("node"))
        return {}

    async def _op_delay(self, req: dict[str, Any]) -> dict[str, Any]:
        await self.cluster.delay(req.get("node"), float(req.get("ms", 0)))
        return {}

    async def start_console(self, host: str) -> None:
        start = _console_starter() if self.console_port is not None else None
        if start is None:
            return
        try:
            self.console = await start(self.cluster.namesrv_addr, host, self.console_port, self.cluster)
        except Exception as exc:     # the console is optional: say why, keep the cluster
            print(f"rmqlite cluster: web console not started: {exc}", file=sys.stderr, flush=True)

    def report(self) -> None:
        c = self.cluster
        p = c.plan
        assert p is not None
        out = self.out
        print(f"rmqlite cluster {p.spec.cluster_name}: {len(p.namesrvs)} nameserver(s), {len(p.groups)} "
              f"group(s) x {len(p.members(p.groups[0]))} node(s), {_mode(c)}, ready in {c.ready_s:.2f}s", file=out)
        print(f"namesrvAddr: {c.namesrv_addr}", file=out)
        print(f"data dir: {c.data_dir}{' (deleted at exit)' if c.ephemeral else ''}", file=out)
        if self.console is not None:
            print(f"console: {self.console.url}", file=out)
        print(file=out)
        print(format_table(c.status_now()), file=out)
        print(file=out)
        print(f"{READY_LINE} Stop it with Ctrl-C or: python -m rmqlite cluster stop"
              + ("" if c.ephemeral else f" --data-dir {c.data_dir}"), file=out, flush=True)


def _mode(c: LocalCluster) -> str:
    return ("in-process" if c.spec.in_process else "one process per node") + (", faults" if c.net else "")


async def run_cluster(cluster: LocalCluster, out: TextIO = sys.stdout, console_port: int | None = 8080,
                      console_host: str = "127.0.0.1") -> int:
    """Run until SIGINT/SIGTERM or a ``stop`` request; returns the exit status."""
    if cluster.spec.data_dir is not None:
        try:
            info = find_running(Path(cluster.spec.data_dir))
            print(f"rmqlite cluster: a cluster is already running from {info.data_dir} (pid {info.pid}); "
                  f"stop it with: python -m rmqlite cluster stop --data-dir {info.data_dir}", file=sys.stderr)
            return 1
        except ControlError:
            pass
    sup = _Supervisor(cluster, out, console_port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, sup.stop.set)
    starting = asyncio.ensure_future(cluster.start())
    stopper = asyncio.ensure_future(sup.stop.wait())
    await asyncio.wait([starting, stopper], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        print("rmqlite cluster: interrupted while starting; every node stopped", file=sys.stderr)
        return 130
    stopper.cancel()
    exc = starting.exception()
    if exc is not None:
        print(f"rmqlite cluster: {exc}", file=sys.stderr)
        return 1
    addr = await sup.control.start()
    run_files = write_run_files(RunInfo(os.getpid(), addr, sup.control.token, cluster.namesrv_addr,
                                        str(cluster.data_dir), _mode(cluster), cluster.net is not None))
    try:
        await cluster.wait_registered(1.0)        # followers too, for a complete table
        await sup.start_console(console_host)
        cluster.on_node_exit = lambda name, code: print(
            f"rmqlite cluster: node {name} exited with status {code}", file=sys.stderr, flush=True)
        sup.report()
        await sup.stop.wait()
        print("rmqlite cluster: stopping every node...", file=out, flush=True)
    finally:
        if sup.console is not None:
            try:
                await sup.console.close()
            except Exception:
                log.exception("closing the console failed")
        await sup.control.close()
        await cluster.stop()
        remove_run_files(run_files)
    print("rmqlite cluster: stopped", file=out, flush=True)
    return 0
