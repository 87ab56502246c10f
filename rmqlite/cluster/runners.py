"""How nodes run: all in this event loop (``InProcessRunner``) or one OS process each (``ProcessRunner``).

How it works:
1. Both runners have the same shape: ``spawn(launch)`` prepares a node (a process starts and
   imports, then waits), ``go(name)`` starts it and returns once it listens (its ready line),
   ``stop(name)`` stops it cleanly, ``kill(name)`` stops it abruptly, ``pid``/``alive`` report.
2. In-process: a node is a ``NameServer`` or ``Broker`` object on the caller's loop; ``kill`` is
   a close (the controller cuts the node's links first when it has them, so peers see a crash).
3. Processes: ``python -S -m rmqlite.cluster.node`` in its own session (a terminal's Ctrl-C reaches
   only the supervisor, which then stops every node in order). stdout carries the ready line;
   stderr goes to the node's log file. ``stop`` is SIGTERM (SIGKILL after ``STOP_TIMEOUT_S``),
   ``kill`` is SIGKILL. A node that exits on its own is reported through ``on_exit``.
4. A node that fails to start raises ``StartError`` with the reason from its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmqlite.cluster.spec import NodeSpec

__all__ = ["InProcessRunner", "Launch", "ProcessRunner", "StartError"]

log = logging.getLogger("rmqlite.cluster")

STOP_TIMEOUT_S = 10.0


class StartError(RuntimeError):
    """A node did not start; the message says which and why."""


@dataclass(slots=True)
class Launch:
    """How to start one node."""

    node: NodeSpec
    bind_host: str
    port: int = 0                     # namesrv listen port
    conf_path: Path | None = None     # broker.conf
    kv_path: Path | None = None       # namesrv kvConfig.json


# ---------------------------------------------------------------------------- in-process
class InProcessRunner:
    """Every node is an object in the running event loop."""

    def __init__(self) -> None:
        self.launches: dict[str, Launch] = {}
        self.servers: dict[str, Any] = {}
        self.started_at: dict[str, float] = {}

    async def spawn(self, launch: Launch) -> None:
        self.launches[launch.node.name] = launch

    async def go(self, name: str, timeout_s: float = 30.0) -> None:
        launch = self.launches[name]
        try:
            server = _make_server(launch)
            await asyncio.wait_for(server.start(), timeout_s)
        except Exception as exc:
            raise StartError(f"{name} failed to start: {exc}") from None
        self.servers[name] = server
        self.started_at[name] = time.time()

    async def stop(self, name: str) -> None:
        """Close the node; one that does not finish closing in ``STOP_TIMEOUT_S`` is abandoned with
        a warning (the rest of the cluster still stops)."""
        server = self.servers.pop(name, None)
        if server is None:
            return
        try:
            await asyncio.wait_for(server.close(), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("%s did not close in %.0fs; abandoned", name, STOP_TIMEOUT_S)

    kill = stop

    def pid(self, name: str) -> int | None:
        return os.getpid() if name in self.servers else None

    def alive(self, name: str) -> bool:
        return name in self.servers

    def server(self, name: str) -> Any:
        return self.servers.get(name)

    async def close(self) -> None:
        for name in list(self.servers):
            try:
                await self.stop(name)
            except Exception:
                log.exception("stopping %s failed", name)


def _make_server(launch: Launch) -> Any:
    if launch.node.kind == "namesrv":
        from rmqlite.namesrv.server import NameServer
        return NameServer(host=launch.bind_host, port=launch.port,
                          kv_config_path=str(launch.kv_path) if launch.kv_path else None)
    from rmqlite.broker.config import load_broker_config
    from rmqlite.broker.server import Broker
    return Broker(load_broker_config(str(launch.conf_path)), host=launch.bind_host)


# ---------------------------------------------------------------------------- processes
def _child_env() -> dict[str, str]:
    """Environment for ``python -S`` nodes: no ``site`` (saves ~5 MB and ~30 ms a node), so
    PYTHONPATH carries this interpreter's search path (site-packages and .pth additions included)
    and the directory rmqlite is imported from (an editable install's import hook is in ``site``)."""
    import rmqlite
    root = str(Path(rmqlite.__file__).resolve().parents[1])
    paths = [root] + [p for p in sys.path if p and os.path.isdir(p)]
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths + ([old] if old else [])))}


@dataclass(slots=True)
class _Proc:
    launch: Launch
    proc: asyncio.subprocess.Process
    log_file: Any
    expected_exit: bool = False
    ready: bool = False
    started_at: float = 0.0
    watcher: asyncio.Task[None] | None = None


class ProcessRunner:
    """Every node is a ``python -m rmqlite.cluster.node`` child process."""

    def __init__(self, on_exit: Callable[[str, int], None] | None = None, log_level: str = "WARNING") -> None:
        self.procs: dict[str, _Proc] = {}
        self.on_exit = on_exit
        self.log_level = log_level

    async def spawn(self, launch: Launch) -> None:
        node = launch.node
        if node.kind == "namesrv":
            args = ["namesrv", "--port", str(launch.port), "--kv-config", str(launch.kv_path)]
        else:
            args = ["broker", "-c", str(launch.conf_path)]
        args += ["--bind-host", launch.bind_host, "--log-level", self.log_level]
        node.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = open(node.log_path, "ab")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-S", "-m", "rmqlite.cluster.node", *args, env=_child_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, start_new_session=True)
        entry = _Proc(launch, proc, log_file, started_at=time.time())
        entry.watcher = asyncio.ensure_future(self._watch(node.name, entry))
        self.procs[node.name] = entry

    async def go(self, name: str, timeout_s: float = 30.0) -> None:
        entry = self.procs[name]
        proc = entry.proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            await asyncio.wait_for(self._read_ready(proc.stdout), timeout_s)
        except TimeoutError:
            await self.kill(name)
            raise StartError(f"{name} not ready in {timeout_s:.0f}s; see {entry.launch.node.log_path}") from None
        except EOFError:
            await proc.wait()
            raise StartError(f"{name} failed to start: {self._last_error(entry)}") from None
        entry.ready = True
        entry.started_at = time.time()

    @staticmethod
    async def _read_ready(stdout: asyncio.StreamReader) -> None:
        while True:
            line = await stdout.readline()
            if not line:
                raise EOFError
            if b"boot success" in line:
                return

    @staticmethod
    def _last_error(entry: _Proc) -> str:
        with contextlib.suppress(OSError, ValueError):
            if not entry.log_file.closed:
                entry.log_file.flush()
            lines = entry.launch.node.log_path.read_text(errors="replace").strip().splitlines()
            for line in reversed(lines):
                if "cannot start" in line or "Error" in line:
                    return line.replace("rmqlite: cannot start: ", "")
            if lines:
                return lines[-1]
        return f"exit status {entry.proc.returncode}"

    async def _watch(self, name: str, entry: _Proc) -> None:
        code = await entry.proc.wait()
        entry.log_file.close()
        if self.procs.get(name) is entry and not entry.expected_exit and entry.ready and self.on_exit:
            self.on_exit(name, code)

    async def stop(self, name: str) -> None:
        await self._end(name, signal.SIGTERM)

    async def kill(self, name: str) -> None:
        await self._end(name, signal.SIGKILL)

    async def _end(self, name: str, sig: int) -> None:
        entry = self.procs.get(name)
        if entry is None:
            return
        entry.expected_exit = True
        proc = entry.proc
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("%s did not stop in %.0fs; killing it", name, STOP_TIMEOUT_S)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if entry.watcher is not None:
            await asyncio.gather(entry.watcher, return_exceptions=True)
        if proc.stdin is not None:
            proc.stdin.close()
        if self.procs.get(name) is entry:
            del self.procs[name]

    def signal(self, name: str, signame: str) -> None:
        """Send a signal (by name) to a running node; unknown or gone nodes are ignored."""
        entry = self.procs.get(name)
        if entry is not None and entry.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                entry.proc.send_signal(getattr(signal, signame))

    def pid(self, name: str) -> int | None:
        entry = self.procs.get(name)
        return entry.proc.pid if entry is not None and entry.proc.returncode is None else None

    def alive(self, name: str) -> bool:
        entry = self.procs.get(name)
        return entry is not None and entry.ready and entry.proc.returncode is None

    def server(self, name: str) -> Any:
        return None

    async def close(self) -> None:
        """Stop every node: brokers first, then nameservers (brokers unregister on the way out)."""
        names = sorted(self.procs, key=lambda n: self.procs[n].launch.node.kind == "namesrv")
        brokers = [n for n in names if self.procs[n].launch.node.kind == "broker"]
        await asyncio.gather(*(self.stop(n) for n in brokers), return_exceptions=True)
        await asyncio.gather(*(self.stop(n) for n in list(self.procs)), return_exceptions=True)
