"""Helpers to run rmqlite servers as subprocesses, as a user would start them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

READY_TIMEOUT_S = 30

def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(pair: bool = False) -> int:
    """A free loopback port; with ``pair``, ``port - 2`` (the VIP port) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not pair or (port > 1026 and _port_free(port - 2)):
            return port
    raise RuntimeError("no free port pair")


class ServerProcess:
    """A ``python -m rmqlite ...`` subprocess whose ready line we wait for."""

    def __init__(self, args: list[str], ready_text: str, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rmqlite", *args],
            stdout=subprocess.PIPE, stderr=self._log, text=True, start_new_session=True,
        )
        self._ready = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._pump, args=(ready_text,), daemon=True).start()
        if not self._ready.wait(READY_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"{args} not ready in {READY_TIMEOUT_S}s; stdout={self.lines} "
                               f"stderr={log_path.read_text()[-2000:]}")

    def _pump(self, ready_text: str) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if ready_text in line:
                self._ready.set()
        self._ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


def write_broker_conf(path: Path, conf: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in conf.items()))
    return path




def start_namesrv(work: Path, port: int | None = None) -> tuple[ServerProcess, str]:
    """A nameserver subprocess and its address."""
    port = port or free_port()
    proc = ServerProcess(["namesrv", "-p", str(port), "--kv-config", str(work / "kv.json")],
                         "boot success", work / f"namesrv-{port}.log")
    return proc, f"127.0.0.1:{port}"


def start_broker(work: Path, conf: dict[str, str], name: str = "broker") -> ServerProcess:
    """A broker subprocess started from a broker.conf written from ``conf``."""
    path = write_broker_conf(work / f"{name}.conf", conf)
    return ServerProcess(["broker", "-c", str(path)], "boot success", work / f"{name}.log")
