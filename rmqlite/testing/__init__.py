"""rmqlite.testing: a real RocketMQ cluster inside your tests, with fault injection.

How it works:
1. ``cluster(...)`` describes a cluster (defaults: 1 nameserver, 1 group of 1 broker, every node
   in-process, free ports, proxies for fault injection) and is both a context manager and an
   async context manager:

       with cluster() as c:                 # SyncCluster: blocking methods
           c.create_topic("T")
       async with cluster() as c:           # LocalCluster: awaitable methods, on your loop
           await c.create_topic("T")

2. ``with`` runs the cluster on a private event loop in a daemon thread, so the test's own code
   (sync or async, any client) never has to drive it. ``async with`` runs it on the caller's
   loop: the fastest, and in-process nodes then share the test's loop.
3. ``process=True`` runs each node as its own OS process (a kill is a real SIGKILL).
4. Both handles offer: ``namesrv_addr``, ``create_topic`` (waits until every nameserver routes it),
   ``wait_for_route``, ``wait_for_master``, ``wait_for_role``, ``kill``, ``restart``, ``isolate``, ``partition``,
   ``delay``, ``heal``, ``status``. Nodes are named ``namesrv-01``, ``broker-01`` ...; also
   ``RaftNode00/n0`` or anything with a ``.name``.
5. The pytest plugin (``rmqlite.testing.plugin``, registered as entry point ``pytest11``) gives
   the fixtures ``rmq_cluster``, ``rmq_namesrv_addr`` and ``rmq_cluster_factory``; see docs/testing.md.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from rmqlite.cluster.control import NodeStatus
from rmqlite.cluster.controller import LocalCluster
from rmqlite.cluster.spec import ClusterSpec

__all__ = ["ClusterContext", "LocalCluster", "NodeStatus", "SyncCluster", "cluster", "spec_for"]

T = TypeVar("T")

#: Store sizes for test brokers: small files start faster and use less disk.
TEST_BROKER_CONF = {
    "mappedFileSizeCommitLog": str(16 * 1024 * 1024),
    "mappedFileSizeConsumeQueue": str(30000 * 20),
    "maxHashSlotNum": "50000",
    "maxIndexNum": "200000",
    "registerNameServerPeriod": "10000",
}


def spec_for(groups: int = 1, replicas: int = 1, namesrvs: int = 1, *, process: bool = False,
             faults: bool = True, data_dir: str | Path | None = None, cluster_name: str = "RaftCluster",
             broker_conf: dict[str, Any] | None = None, conf_dir: str | Path | None = None,
             ready_timeout_s: float = 30.0) -> ClusterSpec:
    """The ``ClusterSpec`` of a test cluster (free ports, test store sizes)."""
    conf = {**TEST_BROKER_CONF, **{k: str(v) for k, v in (broker_conf or {}).items()}}
    return ClusterSpec(groups=groups, replicas=replicas, namesrvs=namesrvs, cluster_name=cluster_name,
                       base_port=None, data_dir=Path(data_dir) if data_dir else None, in_process=not process,
                       faults=faults, broker_conf=conf, conf_dir=Path(conf_dir) if conf_dir else None,
                       ready_timeout_s=ready_timeout_s)


class SyncCluster:
    """A ``LocalCluster`` running on its own loop in a daemon thread, with blocking methods."""

    def __init__(self, spec: ClusterSpec, log_level: str = "WARNING") -> None:
        self.cluster = LocalCluster(spec, log_level)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rmqlite-cluster", daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def start(self) -> SyncCluster:
        try:
            self._run(self.cluster.start())
        except BaseException:
            self._shutdown()
            raise
        return self

    def stop(self) -> None:
        """Stop every node and the loop thread."""
        try:
            if self._loop.is_running():
                self._run(self.cluster.stop(), 120)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()

    def __enter__(self) -> SyncCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- facts
    @property
    def namesrv_addr(self) -> str:
        """``127.0.0.1:P[;127.0.0.1:Q]``: give this to any RocketMQ client."""
        return self.cluster.namesrv_addr

    @property
    def data_dir(self) -> Path | None:
        return self.cluster.data_dir

    @property
    def groups(self) -> list[str]:
        return self.cluster.groups

    @property
    def ready_s(self) -> float:
        return self.cluster.ready_s

    def status(self) -> list[NodeStatus]:
        """Every node, roles as the nameservers see them now."""
        return self._run(self.cluster.status())

    def node(self, ref: Any) -> NodeStatus:
        """One node's status by name (``broker-01``), ``RaftNode00/n0`` or address."""
        name = self.cluster.node(ref).name
        return next(s for s in self.status() if s.name == name)

    def broker_addr(self, ref: Any) -> str:
        """The address clients use for a broker (brokerIP1:listenPort)."""
        return self.node(ref).addr

    # ---------------------------------------------------------------- topics and roles
    def create_topic(self, topic: str, queues: int = 4, groups: list[str] | None = None, perm: int = 6,
                     order: bool = False, timeout_s: float = 10.0) -> None:
        """Create ``topic`` on every group and wait until every nameserver routes it."""
        self._run(self.cluster.create_topic(topic, queues, groups, perm, order, timeout_s))

    def wait_for_route(self, topic: str, groups: list[str] | None = None, timeout_s: float = 10.0) -> None:
        self._run(self.cluster.wait_for_route(topic, groups, timeout_s))

    def wait_for_master(self, group: str | None = None, timeout_s: float = 15.0, exclude: Any = None) -> NodeStatus:
        """The master of ``group`` (default: the first group) once every nameserver agrees on it."""
        return self._run(self.cluster.wait_for_master(group or self.groups[0], timeout_s, exclude))

    def wait_for_role(self, ref: Any, role: str, timeout_s: float = 15.0) -> NodeStatus:
        """Until the nameservers show the node with ``role`` (MASTER, SLAVE, DOWN, ...)."""
        return self._run(self.cluster.wait_for_role(ref, role, timeout_s))

    # ---------------------------------------------------------------- faults
    def kill(self, ref: Any) -> None:
        """Crash a node (process mode: SIGKILL)."""
        self._run(self.cluster.kill(ref))

    def restart(self, ref: Any, timeout_s: float = 30.0) -> None:
        """Start a node again (stopping it first if it runs); same ports, same data."""
        self._run(self.cluster.restart(ref, timeout_s))

    def stop_node(self, ref: Any) -> None:
        self._run(self.cluster.stop_node(ref))

    def isolate(self, ref: Any) -> None:
        """Cut a node off from its peers, the nameservers and all clients."""
        self._run(self.cluster.isolate(ref))

    def partition(self, *sides: list[Any]) -> None:
        """Cut every link between sides, e.g. ``partition(["broker-01"], ["broker-02", "broker-03"])``."""
        self._run(self.cluster.partition(*sides))

    def delay(self, ref: Any, ms: float) -> None:
        """Delay every message to and from a node by ``ms`` each way (0 removes)."""
        self._run(self.cluster.delay(ref, ms))

    def heal(self, ref: Any = None) -> None:
        """Lift every fault (or one node's)."""
        self._run(self.cluster.heal(ref))


class ClusterContext:
    """``with`` -> ``SyncCluster``; ``async with`` -> ``LocalCluster`` (see module doc)."""

    def __init__(self, spec: ClusterSpec, log_level: str = "WARNING") -> None:
        self.spec = spec
        self.log_level = log_level
        self._sync: SyncCluster | None = None
        self._async: LocalCluster | None = None

    def __enter__(self) -> SyncCluster:
        self._sync = SyncCluster(self.spec, self.log_level).start()
        return self._sync

    def __exit__(self, *exc: object) -> None:
        if self._sync is not None:
            self._sync.stop()
            self._sync = None

    async def __aenter__(self) -> LocalCluster:
        self._async = LocalCluster(self.spec, self.log_level)
        await self._async.start()
        return self._async

    async def __aexit__(self, *exc: object) -> None:
        if self._async is not None:
            await self._async.stop()
            self._async = None


def cluster(groups: int = 1, replicas: int = 1, namesrvs: int = 1, *, process: bool = False, faults: bool = True,
            data_dir: str | Path | None = None, cluster_name: str = "RaftCluster",
            broker_conf: dict[str, Any] | None = None, conf_dir: str | Path | None = None,
            ready_timeout_s: float = 30.0, log_level: str = "WARNING") -> ClusterContext:
    """A test cluster (see module doc). ``data_dir=None``: a temp dir deleted at exit."""
    return ClusterContext(spec_for(groups, replicas, namesrvs, process=process, faults=faults, data_dir=data_dir,
                                   cluster_name=cluster_name, broker_conf=broker_conf, conf_dir=conf_dir,
                                   ready_timeout_s=ready_timeout_s), log_level)
