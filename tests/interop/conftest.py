"""Interop fixtures: the cluster that the real clients' programs run against.

``namesrv_addr`` (session scope) runs ``python -m rmqlite namesrv`` and
``python -m rmqlite broker -c broker.conf`` as subprocesses on free loopback ports,
waits for their ready lines, and stops them (SIGTERM, then SIGKILL) at the end.

``interop_namesrv`` is what the client tests use. It picks the target:
  * env ``RMQLITE_INTEROP_NAMESRV=host:port``: any running cluster;
  * env ``RMQLITE_INTEROP_TARGET=real``: the REAL Apache RocketMQ 4.9.4 (``real_rocketmq.py``),
    with the same fast ``messageDelayLevel`` as rmqlite's test broker (differential run);
  * otherwise ``namesrv_addr`` (rmqlite).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from rmq_procs import free_port, start_broker, start_namesrv

#: broker.conf keys the interop scenarios rely on (fast retries; see the test modules).
INTEROP_BROKER_CONF = {
    "brokerClusterName": "DefaultCluster",
    "brokerName": "broker-a",
    "brokerId": "0",
    "brokerIP1": "127.0.0.1",
    "autoCreateTopicEnable": "true",
    "autoCreateSubscriptionGroup": "true",
    "flushDiskType": "ASYNC_FLUSH",
    "messageDelayLevel": "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s",
}


@pytest.fixture(scope="session")
def namesrv_addr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Address of a fresh rmqlite nameserver with one broker registered."""
    work = tmp_path_factory.mktemp("rmqlite")
    namesrv, addr = start_namesrv(work)
    broker = None
    try:
        conf = dict(INTEROP_BROKER_CONF, listenPort=str(free_port(pair=True)),
                    storePathRootDir=str(work / "store"), namesrvAddr=addr)
        broker = start_broker(work, conf)
        yield addr
    finally:
        if broker is not None:
            broker.stop()
        namesrv.stop()


@pytest.fixture(scope="session")
def real_namesrv_addr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The REAL Apache RocketMQ 4.9.4 namesrv + broker (jars from Maven Central, cached)."""
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("real RocketMQ 4.9.4 needs java and mvn")
    from real_rocketmq import free_broker_port, free_port, start_real_cluster

    work = tmp_path_factory.mktemp("real-rocketmq")
    extra = {"messageDelayLevel": INTEROP_BROKER_CONF["messageDelayLevel"]}
    with start_real_cluster(work, free_port(), free_broker_port(), extra) as cluster:
        yield cluster.namesrv_addr


@pytest.fixture(scope="session")
def interop_namesrv(request: pytest.FixtureRequest) -> str:
    """Namesrv address of the cluster under test (see the module docstring)."""
    explicit = os.environ.get("RMQLITE_INTEROP_NAMESRV")
    if explicit:
        return explicit
    if os.environ.get("RMQLITE_INTEROP_TARGET", "").lower() == "real":
        return str(request.getfixturevalue("real_namesrv_addr"))
    return str(request.getfixturevalue("namesrv_addr"))
