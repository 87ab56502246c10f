"""The console's view of a cluster it may control (``python -m rmqlite cluster`` implements it).

How it works: the console takes an optional object following ``ClusterControl``. When given, the
cluster page lists its nodes (also the dead ones the nameserver forgot), shows Raft role and term,
and offers kill / restart buttons that call it. Without one, the console only reads what the
nameserver and brokers report, so it works against any RocketMQ 4.x cluster. This module has no
third-party imports: the cluster command can import it without aiohttp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["NodeInfo", "ClusterControl", "start_console"]


@dataclass(slots=True)
class NodeInfo:
    """One broker process of a controlled cluster."""

    group: str                 # brokerName (the Raft group in DLedger mode)
    node_id: str               # e.g. "n0"; the key for kill/restart
    role: str                  # "leader" / "follower" / "candidate" / "master" / "slave" / "stopped" ...
    addr: str                  # "ip:port" the broker listens on
    pid: int | None
    alive: bool
    raft_term: int | None = None


@runtime_checkable
class ClusterControl(Protocol):
    """What the console needs from a cluster it may kill and restart nodes of."""

    def nodes(self) -> list[NodeInfo]: ...

    async def kill(self, node_id: str) -> None: ...

    async def restart(self, node_id: str) -> None: ...


async def start_console(namesrv: str, host: str = "127.0.0.1", port: int = 0, control: Any = None) -> Any:
    """Start the web console (see ``rmqlite.console.start_console``)."""
    from rmqlite.console import start_console as start
    return await start(namesrv, host, port, control)
