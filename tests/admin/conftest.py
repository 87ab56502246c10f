"""Admin test fixtures: an rmqlite nameserver + broker started as subprocesses, as a user would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rmq_procs import free_port, start_broker, start_namesrv


@dataclass(frozen=True)
class Servers:
    namesrv: str
    broker: str
    work: Path


def broker_conf(work: Path, namesrv: str, port: int, name: str = "broker-a") -> dict[str, str]:
    return {"brokerClusterName": "DefaultCluster", "brokerName": name, "brokerId": "0", "brokerIP1": "127.0.0.1",
            "listenPort": str(port), "storePathRootDir": str(work / f"store-{name}"), "namesrvAddr": namesrv,
            "autoCreateTopicEnable": "true", "autoCreateSubscriptionGroup": "true", "flushDiskType": "ASYNC_FLUSH"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """A fresh rmqlite nameserver and one master broker (module scope)."""
    work = tmp_path_factory.mktemp("admin")
    namesrv, addr = start_namesrv(work)
    broker = None
    try:
        port = free_port(pair=True)
        broker = start_broker(work, broker_conf(work, addr, port))
        yield Servers(addr, f"127.0.0.1:{port}", work)
    finally:
        if broker is not None:
            broker.stop()
        namesrv.stop()
