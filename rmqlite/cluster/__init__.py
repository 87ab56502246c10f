"""rmqlite.cluster: a local RocketMQ cluster (nameservers + broker groups) from one command or one call.

``python -m rmqlite cluster`` (see ``cli``) and ``rmqlite.testing`` both drive ``LocalCluster``::

    from rmqlite.cluster import ClusterSpec, LocalCluster
    async with LocalCluster(ClusterSpec(groups=1, replicas=1, namesrvs=1, base_port=None, in_process=True)) as c:
        print(c.namesrv_addr)

The names below are imported on first use, so that a node process (``rmqlite.cluster.node``)
loads none of the supervisor's code.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClusterSpec", "LocalCluster", "NodeSpec", "NodeStatus"]

_WHERE = {"ClusterSpec": "rmqlite.cluster.spec", "NodeSpec": "rmqlite.cluster.spec",
          "LocalCluster": "rmqlite.cluster.controller", "NodeStatus": "rmqlite.cluster.control"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rmqlite.cluster' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(_WHERE[name]), name)
