"""``python -m rmqlite cluster`` as a user runs it: start, status, kill, restart, stop, clean, errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


pytestmark = pytest.mark.timeout(180)

READY = "Cluster ready."


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "RMQLITE_HOME": str(tmp_path / "home")}


def _cli(tmp_path: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rmqlite", "cluster", *args], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)


class Supervisor:
    """A foreground ``python -m rmqlite cluster`` whose output we read until it is ready."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "rmqlite", "cluster", "--no-console", *args],
                                     env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY):
                self.ready.set()
        self.ready.set()

    def wait_ready(self) -> str:
        assert self.ready.wait(60), self.lines
        assert any(line.startswith(READY) for line in self.lines), (self.lines, self.stderr())
        return "\n".join(self.lines)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def pids(self) -> list[int]:
        return [int(line.split()[-1]) for line in self.lines if line.startswith(("namesrv-", "broker-"))]

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(60)


def _gone(pid: int, within_s: float = 15) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def running(tmp_path: Path):
    sup = Supervisor(tmp_path, "--data-dir", str(tmp_path / "data"), "--base-port", "0", "--replicas", "1")
    yield sup
    sup.stop(signal.SIGKILL if sup.proc.poll() is None else signal.SIGINT)
    for pid in sup.pids():
        _gone(pid, 10)


def test_start_prints_namesrv_and_node_table_then_ctrl_c_stops_everything(tmp_path: Path, running: Supervisor) -> None:
    out = running.wait_ready()
    ns = next(line for line in out.splitlines() if line.startswith("namesrvAddr: ")).split(": ")[1]
    assert ns.count(";") == 1 and all(a.startswith("127.0.0.1:") for a in ns.split(";"))
    table = [line.split() for line in out.splitlines() if line.startswith(("NODE", "namesrv-", "broker-"))]
    assert table[0] == ["NODE", "GROUP", "ID", "ROLE", "ADDRESS", "PID"]
    assert [(r[0], r[1], r[3]) for r in table[1:]] == [
        ("namesrv-01", "-", "NAMESRV"), ("namesrv-02", "-", "NAMESRV"),
        ("broker-01", "RaftNode00", "MASTER"), ("broker-02", "RaftNode01", "MASTER")]
    pids = running.pids()
    assert len(set(pids)) == 4 and running.proc.pid not in pids          # one OS process per node
    assert (tmp_path / "data" / "broker-02" / "conf" / "broker.conf").read_text().count("brokerName=RaftNode01")
    assert running.stop(signal.SIGINT) == 0
    assert all(_gone(pid) for pid in pids)
    assert not (tmp_path / "data" / "cluster.json").exists()


def test_status_kill_restart_stop_subcommands(tmp_path: Path, running: Supervisor) -> None:
    running.wait_ready()
    status = _cli(tmp_path, "status")
    assert status.returncode == 0 and "broker-01" in status.stdout, status.stderr
    ns = _cli(tmp_path, "status", "--namesrv").stdout.strip()
    assert ns.count(";") == 1
    old_pid = next(n["pid"] for n in json.loads(_cli(tmp_path, "status", "--json").stdout)["nodes"]
                   if n["name"] == "broker-01")
    killed = _cli(tmp_path, "kill", "broker-01")
    assert killed.returncode == 0 and f"killed broker-01 (pid {old_pid}, was MASTER)" in killed.stdout
    assert _gone(old_pid, 5)
    rows = {n["name"]: n for n in json.loads(_cli(tmp_path, "status", "--json").stdout)["nodes"]}
    assert rows["broker-01"]["role"] == "DOWN" and rows["broker-02"]["role"] == "MASTER"
    restarted = _cli(tmp_path, "restart", "RaftNode00/n0")
    assert restarted.returncode == 0 and "restarted broker-01" in restarted.stdout, restarted.stderr
    rows = {n["name"]: n for n in json.loads(_cli(tmp_path, "status", "--json").stdout)["nodes"]}
    assert rows["broker-01"]["role"] == "MASTER" and rows["broker-01"]["pid"] != old_pid
    assert "no node 'broker-09'" in _cli(tmp_path, "kill", "broker-09").stderr
    pids = [n["pid"] for n in rows.values()]
    stopped = _cli(tmp_path, "stop", "--data-dir", str(tmp_path / "data"))
    assert stopped.returncode == 0, stopped.stderr
    assert running.proc.wait(30) == 0
    assert all(_gone(pid) for pid in pids)
    assert "no cluster is running" in _cli(tmp_path, "status").stderr


def test_supervisor_killed_hard_leaves_no_orphans(tmp_path: Path, running: Supervisor) -> None:
    running.wait_ready()
    pids = running.pids()
    running.stop(signal.SIGKILL)
    assert all(_gone(pid) for pid in pids)            # each node saw its stdin pipe close
    assert "no cluster is running" in _cli(tmp_path, "status").stderr   # the stale run file is ignored


def test_a_port_in_use_is_named_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as s:
        for base in range(20001, 30000, 37):            # a base port whose namesrv-02 port we can take
            try:
                s.bind(("127.0.0.1", base + 1))
                break
            except OSError:
                continue
        s.listen()
        res = _cli(tmp_path, "--ephemeral", "--base-port", str(base), "--no-console", timeout=60)
    assert res.returncode == 1
    assert f"port {base + 1} (namesrv-02 port) is already in use" in res.stderr


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    res = _cli(tmp_path, "--replicas", "0", "--ephemeral")
    assert res.returncode == 2 and res.stderr.strip() == "rmqlite cluster: --replicas must be >= 1"
    res = _cli(tmp_path, "--conf-dir", str(tmp_path / "missing"), "--ephemeral", "--base-port", "0", "--no-console")
    assert res.returncode == 1 and "not a directory" in res.stderr and "Traceback" not in res.stderr


def test_clean_deletes_only_cluster_data_dirs(tmp_path: Path) -> None:
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.txt").write_text("years of work")
    res = _cli(tmp_path, "clean", "--data-dir", str(other))
    assert res.returncode == 1 and "not a cluster data dir" in res.stderr and other.exists()
    res = _cli(tmp_path, "--data-dir", str(other), "--base-port", "0", "--no-console")   # nor adopted as one
    assert res.returncode == 1 and "is not empty and is not a cluster data dir" in res.stderr
    assert sorted(p.name for p in other.iterdir()) == ["thesis.txt"]
    sup = Supervisor(tmp_path, "--data-dir", str(tmp_path / "data"), "--base-port", "0", "--groups", "1",
                     "--namesrvs", "1", "--replicas", "1")
    sup.wait_ready()
    pids = sup.pids()
    res = _cli(tmp_path, "clean", "--data-dir", str(tmp_path / "data"))
    assert res.returncode == 0 and "deleted" in res.stdout, res.stderr
    assert sup.proc.wait(30) == 0 and all(_gone(pid) for pid in pids)
    assert not (tmp_path / "data").exists()


def test_detach_in_process_with_faults_isolate_heal_delay(tmp_path: Path) -> None:
    res = _cli(tmp_path, "-d", "--in-process", "--faults", "--ephemeral", "--base-port", "0", "--no-console",
               "--replicas", "1")
    assert res.returncode == 0 and READY in res.stdout, res.stdout + res.stderr
    try:
        nodes = json.loads(_cli(tmp_path, "status", "--json").stdout)["nodes"]
        assert len({n["pid"] for n in nodes}) == 1                       # all in one process
        assert _cli(tmp_path, "isolate", "broker-02").returncode == 0
        out = _cli(tmp_path, "status").stdout
        assert "FAULTS" in out and "isolated" in out
        assert _cli(tmp_path, "delay", "broker-01", "20").returncode == 0
        assert "+20ms" in _cli(tmp_path, "status").stdout
        assert _cli(tmp_path, "heal").returncode == 0
        rows = {n["name"]: n for n in json.loads(_cli(tmp_path, "status", "--json").stdout)["nodes"]}
        assert not rows["broker-02"]["isolated"] and rows["broker-01"]["delay_ms"] == 0
    finally:
        stopped = _cli(tmp_path, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert _gone(nodes[0]["pid"])


def test_conf_dir_of_plain_masters(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    for i, name in enumerate(["broker-a", "broker-b"]):
        (conf / f"broker-0{i + 1}" / "conf").mkdir(parents=True)
        (conf / f"broker-0{i + 1}" / "conf" / "broker.conf").write_text(
            f"brokerClusterName=MyCluster\nbrokerName={name}\nbrokerId=0\nlistenPort=10911\n"
            "autoCreateTopicEnable=false\n")
    sup = Supervisor(tmp_path, "--conf-dir", str(conf), "--ephemeral", "--base-port", "0", "--namesrvs", "1",
                     "--in-process")
    out = sup.wait_ready()
    assert "rmqlite cluster MyCluster" in out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("broker-")] == ["broker-a", "broker-b"]
    assert sup.stop() == 0


def test_default_cluster_is_2_dledger_groups_of_3_and_survives_killing_a_master(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, "--ephemeral", "--base-port", "0")
    try:
        out = sup.wait_ready()
        rows = [line.split() for line in out.splitlines() if line.startswith("broker-")]
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (f"broker-0{i + 1}", f"RaftNode0{i // 3}", f"n{i % 3}") for i in range(6)]
        for group in ("RaftNode00", "RaftNode01"):
            assert sorted(r[3] for r in rows if r[1] == group)[0] == "MASTER"
        master = next(r[0] for r in rows if r[1] == "RaftNode00" and r[3] == "MASTER")
        killed = _cli(tmp_path, "kill", master)
        assert killed.returncode == 0, killed.stderr
        assert "new master of RaftNode00: broker-0" in killed.stdout, killed.stdout
        status = {n["name"]: n for n in json.loads(_cli(tmp_path, "status", "--json").stdout)["nodes"]}
        assert status[master]["role"] == "DOWN"
        assert [n["role"] for n in status.values() if n["group"] == "RaftNode00"].count("MASTER") == 1
        assert _cli(tmp_path, "restart", master).returncode == 0
    finally:
        assert sup.stop() == 0
