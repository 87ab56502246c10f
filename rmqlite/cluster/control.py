"""Reaching a running ``python -m rmqlite cluster`` from another command (status, stop, kill, ...).

How it works:
1. The supervisor listens on a loopback port for JSON lines: ``{"token", "op", ...}`` in,
   ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}`` out, one request per connection.
   The random token is in files only the user can read, so other local users cannot drive it.
2. Run files: ``<data-dir>/cluster.json`` and ``$RMQLITE_HOME/run/<pid>.json`` (same content:
   pid, control address, token, namesrv address, data dir). They are removed at a clean exit;
   a stale one (its pid is gone) is ignored and removed.
3. ``find_running(data_dir)`` reads the data dir's file, or else the only live run file; several
   live clusters without ``--data-dir`` is an error listing them.
4. Node records: ``NodeStatus`` (what ``status`` shows) and ``NodeInfo`` (the console's record,
   defined here too so that the cluster works without the console; ``to_node_info`` converts).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmqlite.cluster.spec import default_home

__all__ = [
    "ControlError",
    "ControlServer",
    "NodeInfo",
    "RunInfo",
    "call",
    "find_running",
    "pid_alive",
    "remove_run_files",
    "write_run_files",
]

RUN_FILE = "cluster.json"


@dataclass(slots=True)
class NodeInfo:
    """One node as the console shows it (same fields as ``rmqlite.console.control.NodeInfo``)."""

    group: str
    node_id: str
    role: str
    addr: str
    pid: int | None
    alive: bool
    raft_term: int | None = None


class ControlError(RuntimeError):
    """No running cluster, or it refused a request; the message says which."""


@dataclass(slots=True)
class RunInfo:
    pid: int
    control: str
    token: str
    namesrv: str
    data_dir: str
    mode: str
    faults: bool = False

    @classmethod
    def load(cls, path: Path) -> RunInfo:
        data = json.loads(path.read_text())
        return cls(**{k: data[k] for k in cls.__slots__ if k in data})  # type: ignore[attr-defined]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _run_dir() -> Path:
    return default_home() / "run"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_run_files(info: RunInfo) -> list[Path]:
    text = json.dumps({k: getattr(info, k) for k in RunInfo.__slots__}, indent=1)  # type: ignore[attr-defined]
    paths = [Path(info.data_dir) / RUN_FILE, _run_dir() / f"{info.pid}.json"]
    for path in paths:
        _write_private(path, text)
    return paths


def remove_run_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def _live(path: Path) -> RunInfo | None:
    try:
        info = RunInfo.load(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid_alive(info.pid):
        return info
    try:
        path.unlink()          # stale: its supervisor is gone
    except OSError:
        pass
    return None


def find_running(data_dir: Path | None) -> RunInfo:
    """The running cluster of ``data_dir``, or the only one running (see module doc)."""
    if data_dir is not None:
        info = _live(Path(data_dir).expanduser() / RUN_FILE)
        if info is None:
            raise ControlError(f"no cluster is running from {data_dir}")
        return info
    found = [i for i in (_live(p) for p in sorted(_run_dir().glob("*.json"))) if i is not None]
    if not found:
        raise ControlError("no cluster is running (start one with: python -m rmqlite cluster)")
    if len(found) > 1:
        listing = "; ".join(f"pid {i.pid} data {i.data_dir}" for i in found)
        raise ControlError(f"several clusters are running, pick one with --data-dir: {listing}")
    return found[0]


def call(info: RunInfo, op: str, timeout_s: float = 60.0, **args: Any) -> dict[str, Any]:
    """One request to the supervisor (blocking)."""
    host, _, port = info.control.rpartition(":")
    request = json.dumps({"token": info.token, "op": op, **args}).encode() + b"\n"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
            sock.sendall(request)
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        raise ControlError(f"cannot reach the cluster supervisor (pid {info.pid}) at {info.control}: {exc}") from None
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControlError(f"bad answer from the cluster supervisor: {data[:200]!r}") from None
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error", "request failed")))
    return reply


Op = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlServer:
    """The supervisor's side: one handler per op."""

    def __init__(self, ops: dict[str, Op]) -> None:
        self.ops = ops
        self.token = secrets.token_hex(16)
        self._server: asyncio.base_events.Server | None = None

    async def start(self, host: str = "127.0.0.1") -> str:
        self._server = await asyncio.start_server(self._serve, host, 0)
        return f"{host}:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            reply = await self._handle(line)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            req = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "bad request"}
        if not isinstance(req, dict) or not secrets.compare_digest(str(req.get("token", "")), self.token):
            return {"ok": False, "error": "bad token"}
        op = self.ops.get(str(req.get("op")))
        if op is None:
            return {"ok": False, "error": f"unknown op {req.get('op')!r}"}
        try:
            return {"ok": True, **await op(req)}
        except Exception as exc:   # report, keep serving
            return {"ok": False, "error": str(exc) or type(exc).__name__}


@dataclass(slots=True)
class NodeStatus:
    """One node as ``status`` shows it."""

    name: str
    kind: str
    group: str
    member: str
    role: str              # NAMESRV, MASTER, SLAVE, STARTING, DOWN
    addr: str              # public address
    pid: int | None
    alive: bool
    isolated: bool = False
    delay_ms: float = 0.0
    raft_term: int | None = None

    @property
    def node_id(self) -> str:
        return self.name


def raft_term(server: Any) -> int | None:
    """The Raft term of an in-process DLedger broker (``Broker.dledger.driver.node.term``)."""
    node = getattr(getattr(getattr(server, "dledger", None), "driver", None), "node", None)
    term = getattr(node, "term", None)
    return term if isinstance(term, int) else None


_CONSOLE_ROLES = {"MASTER": "master", "SLAVE": "slave", "DOWN": "stopped", "STARTING": "starting"}


def to_node_info(s: NodeStatus, raft_role: str | None = None) -> Any:
    """The console's ``NodeInfo`` (rmqlite.console.control) when installed, else our own. Role:
    the Raft role (leader/follower/candidate) when known, else master/slave/stopped/starting."""
    info_type: Any
    try:
        from rmqlite.console.control import NodeInfo as info_type
    except ImportError:
        from rmqlite.cluster.control import NodeInfo as info_type
    role = raft_role if raft_role and s.alive else _CONSOLE_ROLES.get(s.role, s.role.lower())
    return info_type(group=s.group, node_id=s.name, role=role, addr=s.addr, pid=s.pid, alive=s.alive,
                    raft_term=s.raft_term)
