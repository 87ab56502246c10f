"""pytest plugin (entry point ``pytest11``): fixtures that give a test a running RocketMQ cluster.

How it works:
1. ``rmq_cluster``: a ``SyncCluster`` started for the test and stopped after it; its shape comes
   from the test's ``@pytest.mark.rmqlite_cluster(groups=..., replicas=..., namesrvs=...,
   process=..., faults=..., broker_conf=...)`` marker (defaults: 1 nameserver, 1 broker,
   in-process, fault injection on). Data goes under the test's ``tmp_path``.
2. ``rmq_namesrv_addr``: that cluster's namesrv address string.
3. ``rmq_cluster_factory``: call it with the same keywords to start more clusters; all of them
   stop after the test.
4. ``--rmqlite-process`` runs every fixture cluster as one OS process per node.
5. Nothing is imported from rmqlite until a fixture is used, so the plugin costs nothing to
   test suites that do not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

MARKER = "rmqlite_cluster"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rmqlite", "rmqlite local RocketMQ cluster")
    group.addoption("--rmqlite-process", action="store_true", default=False,
                    help="run rmq_cluster nodes as one OS process each (default: in-process)")
    group.addoption("--rmqlite-log-level", default="WARNING", help="log level of cluster nodes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(groups=1, replicas=1, namesrvs=1, process=False, faults=True, broker_conf=None): "
                   "shape of the rmq_cluster fixture's RocketMQ cluster")


def _start(request: pytest.FixtureRequest, tmp_path: Any, index: int, **options: Any) -> Any:
    from rmqlite.testing import SyncCluster, spec_for
    if request.config.getoption("--rmqlite-process"):
        options.setdefault("process", True)
    options.setdefault("data_dir", tmp_path / f"rmqlite-{index}")
    return SyncCluster(spec_for(**options), request.config.getoption("--rmqlite-log-level")).start()


@pytest.fixture
def rmq_cluster_factory(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[..., Any]]:
    """``factory(groups=2, replicas=3, ...)`` -> a started ``SyncCluster``; all stop after the test."""
    started: list[Any] = []

    def factory(**options: Any) -> Any:
        cluster = _start(request, tmp_path, len(started), **options)
        started.append(cluster)
        return cluster
    yield factory
    for cluster in reversed(started):
        cluster.stop()


@pytest.fixture
def rmq_cluster(rmq_cluster_factory: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    """A running cluster shaped by ``@pytest.mark.rmqlite_cluster(...)`` (default: 1 namesrv + 1 broker)."""
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    return rmq_cluster_factory(**options)


@pytest.fixture
def rmq_namesrv_addr(rmq_cluster: Any) -> str:
    """The namesrv address string of ``rmq_cluster`` (``127.0.0.1:P``)."""
    return str(rmq_cluster.namesrv_addr)
