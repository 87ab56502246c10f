"""Interop fixtures: a real rmqlite nameserver + broker, started as the README says.

``namesrv_addr`` (session scope) runs ``python -m rmqlite namesrv`` and
``python -m rmqlite broker -c broker.conf`` as subprocesses on free loopback ports,
waits for their ready lines, and stops them (SIGTERM, then SIGKILL) at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
