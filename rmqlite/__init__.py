"""rmqlite: Apache RocketMQ's nameserver and broker in pure Python (asyncio).

Unmodified RocketMQ 4.x clients talk to rmqlite as they would to the real thing.
``LocalCluster`` and ``ClusterSpec`` (from ``rmqlite.cluster``) are imported lazily, so
``import rmqlite`` stays cheap for the servers.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ClusterSpec", "LocalCluster", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("LocalCluster", "ClusterSpec"):
        from rmqlite import cluster

        return getattr(cluster, name)
    raise AttributeError(f"module 'rmqlite' has no attribute {name!r}")
