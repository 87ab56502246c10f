"""Control channel, run files, node argument parsing, and a node that will not close."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from rmqlite.cluster import runners
from rmqlite.cluster.control import (
    ControlError,
    ControlServer,
    RunInfo,
    call,
    find_running,
    remove_run_files,
    write_run_files,
)
from rmqlite.cluster.node import parse_args
from rmqlite.cluster.spec import ClusterSpec, NodeSpec


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RMQLITE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


async def test_control_server_checks_the_token_and_reports_errors(tmp_path: Path, home: Path) -> None:
    async def echo(req: dict) -> dict:
        return {"got": req.get("node")}

    async def boom(req: dict) -> dict:
        raise KeyError("no node 'x'")
    server = ControlServer({"echo": echo, "boom": boom})
    addr = await server.start()
    info = RunInfo(os.getpid(), addr, server.token, "127.0.0.1:1", str(tmp_path), "test")
    loop = asyncio.get_running_loop()
    try:
        assert (await loop.run_in_executor(None, lambda: call(info, "echo", node="b1")))["got"] == "b1"
        with pytest.raises(ControlError, match="no node 'x'"):
            await loop.run_in_executor(None, lambda: call(info, "boom"))
        with pytest.raises(ControlError, match="unknown op"):
            await loop.run_in_executor(None, lambda: call(info, "nope"))
        bad = RunInfo(info.pid, addr, "0" * 32, info.namesrv, info.data_dir, info.mode)
        with pytest.raises(ControlError, match="bad token"):
            await loop.run_in_executor(None, lambda: call(bad, "echo"))
    finally:
        await server.close()
    with pytest.raises(ControlError, match="cannot reach"):
        call(info, "echo", timeout_s=2)


def test_run_files_private_stale_and_ambiguous(tmp_path: Path, home: Path) -> None:
    with pytest.raises(ControlError, match="no cluster is running"):
        find_running(None)
    mine = RunInfo(os.getpid(), "127.0.0.1:1", "t", "ns", str(tmp_path / "a"), "m")
    (tmp_path / "a").mkdir()
    paths = write_run_files(mine)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in paths)
    assert find_running(None).data_dir == mine.data_dir
    assert find_running(tmp_path / "a").pid == os.getpid()
    (tmp_path / "b").mkdir()
    other = write_run_files(RunInfo(os.getppid(), "127.0.0.1:2", "t", "ns", str(tmp_path / "b"), "m"))
    with pytest.raises(ControlError, match="several clusters are running"):
        find_running(None)
    remove_run_files(other)
    stale = RunInfo(2 ** 22 + 12345, "127.0.0.1:3", "t", "ns", str(tmp_path / "c"), "m")   # no such pid
    (tmp_path / "c").mkdir()
    stale_paths = write_run_files(stale)
    assert find_running(None).pid == os.getpid()                 # the stale one is ignored ...
    assert not stale_paths[1].exists()                           # ... and removed
    with pytest.raises(ControlError, match="no cluster is running from"):
        find_running(tmp_path / "c")
    remove_run_files(paths)
    assert not any(p.exists() for p in paths)


def test_node_arguments() -> None:
    args = parse_args(["broker", "-c", "x.conf", "--bind-host", "127.0.0.2", "--go"])
    assert (args["kind"], args["config"], args["bind_host"], args["go"]) == ("broker", "x.conf", "127.0.0.2", True)
    assert parse_args(["namesrv", "--port", "9877"])["port"] == 9877
    for bad in ([], ["zookeeper"], ["broker"], ["namesrv", "--port"], ["namesrv", "--what", "1"]):
        with pytest.raises(ValueError):
            parse_args(bad)


async def test_a_node_that_never_closes_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stuck:
        async def close(self) -> None:
            await asyncio.Event().wait()
    monkeypatch.setattr(runners, "STOP_TIMEOUT_S", 0.1)
    runner = runners.InProcessRunner()
    runner.servers["broker-01"] = Stuck()
    await asyncio.wait_for(runner.close(), 5)
    assert not runner.alive("broker-01")


def test_spec_default_replicas_follow_the_broker() -> None:
    from rmqlite.cluster.spec import DEFAULT_REPLICAS, broker_runs_dledger
    assert ClusterSpec().replicas == DEFAULT_REPLICAS == (3 if broker_runs_dledger() else 1)
    assert NodeSpec("broker-01", "broker", 1, Path("/x"), group="G", member="n1").label == "G/n1"


async def test_free_ports_taken_meanwhile_are_chosen_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from rmqlite.cluster import controller
    from rmqlite.cluster.controller import LocalCluster
    from rmqlite.testing import spec_for
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    real = controller.free_port
    calls = []

    def first_one_is_taken(pair: bool = False, host: str = "127.0.0.1") -> int:
        calls.append(pair)
        return taken.getsockname()[1] if len(calls) == 1 else real(pair, host)
    monkeypatch.setattr(controller, "free_port", first_one_is_taken)
    try:
        async with LocalCluster(spec_for(faults=False)) as c:
            assert c.namesrv_addr != f"127.0.0.1:{taken.getsockname()[1]}"
    finally:
        taken.close()
    assert len(calls) > 3                         # planned twice
