"""Fixtures for the benchmark tooling smoke tests: an rmqlite namesrv + broker (subprocesses), bench/ on sys.path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rmq_procs import free_port, start_broker, start_namesrv

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


@pytest.fixture(scope="module")
def rmqlite_namesrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Address of a fresh rmqlite nameserver with one master broker registered."""
    work = tmp_path_factory.mktemp("bench")
    namesrv, addr = start_namesrv(work)
    broker = None
    try:
        conf = {"brokerClusterName": "DefaultCluster", "brokerName": "broker-bench", "brokerId": "0",
                "brokerIP1": "127.0.0.1", "listenPort": str(free_port(pair=True)), "namesrvAddr": addr,
                "storePathRootDir": str(work / "store"), "mappedFileSizeCommitLog": str(4 * 1024 * 1024)}
        broker = start_broker(work, conf)
        yield addr
    finally:
        if broker is not None:
            broker.stop()
        namesrv.stop()
