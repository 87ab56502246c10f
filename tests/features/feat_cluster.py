"""Clusters for the feature tests: rmqlite (one broker, or a 3-node DLedger group) or the real RocketMQ 4.9.4.

How it works:
1. ``start_cluster(work, topology, conf, acl_yml)`` starts ``python -m rmqlite namesrv`` and the broker(s) as
   subprocesses (as a user would: a broker.conf file, ROCKETMQ_HOME in the environment when an ACL file is
   given) and waits until the nameserver lists a master (brokerId 0) for ``broker-a``.
   Topologies: ``single`` (one master) and ``dledger`` (brokers n0..n2 of DLedger group broker-a:
   enableDLegerCommitLog=true, dLegerGroup, dLegerPeers, dLegerSelfId, and the tolerant election timing of
   ``DLEDGER_CONF``; the leader registers as the master).
2. RMQLITE_FEATURES_TARGET=real starts the REAL Apache RocketMQ 4.9.4 instead (tests/interop/real_rocketmq.py;
   single topology only) with the same broker.conf keys and, for ACL, its own ROCKETMQ_HOME holding the
   plain_acl.yml: the differential baseline for every feature test.
3. ``Cluster.restart_brokers()`` stops every broker (SIGTERM: a clean shutdown) and starts them again on the
   same store; ``Cluster.stop()`` stops everything. Ports are free loopback ports.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmq_procs import free_port

TOPOLOGIES = ["single", "dledger"]
READY_TIMEOUT_S = 60
TARGET = os.environ.get("RMQLITE_FEATURES_TARGET", "rmqlite").lower()

#: broker.conf keys every feature cluster gets (the scenarios rely on these values)
FEATURE_CONF = {
    "brokerClusterName": "DefaultCluster",
    "brokerName": "broker-a",
    "brokerIP1": "127.0.0.1",
    "autoCreateTopicEnable": "true",
    "autoCreateSubscriptionGroup": "true",
    "flushDiskType": "ASYNC_FLUSH",
    "messageDelayLevel": "1s 2s 3s 1s 2s 3s 10s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s",
    "transactionCheckInterval": "2000",
    "transactionTimeOut": "1000",
    "transactionCheckMax": "15",
    "enablePropertyFilter": "true",
    "traceTopicEnable": "true",
}

#: broker.conf keys of the DLedger topology. The features are not failover tests: they need one stable leader
#: for a whole scenario, because a Java/Go/Node client with ONE group keeps the old master in its cached route
#: (refreshed every 30 s) and its immediate retries all hit the deposed leader (SERVICE_NOT_AVAILABLE, 14).
#: With the default 300-575 ms follower timeout, a leader process that gets no CPU for about half a second on
#: a loaded 2-core CI box is deposed by a pre-vote that its followers grant; docs/dledger.md advises raising
#: the election timeout for such hosts: 40 ticks of 25 ms = a 1.0-2.0 s follower timeout, heartbeat 100 ms.
DLEDGER_CONF = {
    "dLedgerTickMs": "25",
    "dLedgerHeartbeatTicks": "4",
    "dLedgerElectionTimeoutTicks": "12",
}

#: plain_acl.yml of the ACL clusters (the Java and Go ACL scenarios use these accounts)
ACL_YML = """\
globalWhiteRemoteAddresses:
accounts:
  - accessKey: rmqlite_admin
    secretKey: admin-secret-1
    admin: true
  - accessKey: rmqlite_user
    secretKey: user-secret-1
    admin: false
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: SUB
    topicPerms:
      - AclDeniedTopic=DENY
    groupPerms:
      - AclDeniedGroup=DENY
"""


class Proc:
    """One ``python -m rmqlite`` subprocess; waits for ``ready`` on stdout."""

    def __init__(self, args: list[str], ready: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "rmqlite", *args], stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, start_new_session=True,
                                     env=dict(os.environ, **(env or {})))
        self.ready = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._pump, args=(ready,), daemon=True).start()
        if not self.ready.wait(READY_TIMEOUT_S) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"{args} did not start: {self.lines[-5:]} {log_path.read_text()[-2000:]}")

    def _pump(self, ready: str) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if ready in line:
                self.ready.set()
        self.ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


async def _master_ready(namesrv: str) -> bool:
    from rmqlite.client.api import Client
    client = Client(namesrv, timeout_ms=2000)
    try:
        info = await client.cluster_info()
        data = (info.get("brokerAddrTable") or {}).get("broker-a") or {}
        addrs = data.get("brokerAddrs") or {}
        return 0 in addrs or "0" in addrs
    except Exception:
        return False
    finally:
        await client.close()


def wait_master(namesrv: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if asyncio.run(_master_ready(namesrv)):
            return
        time.sleep(0.2)
    raise RuntimeError(f"no master for broker-a registered at {namesrv} within {timeout_s} s")


@dataclass
class Cluster:
    target: str
    topology: str
    work: Path
    namesrv_addr: str = ""
    home: Path | None = None
    confs: list[dict[str, str]] = field(default_factory=list)
    procs: list[Any] = field(default_factory=list)
    namesrv: Any = None
    real: Any = None
    ready_at_ms: int = 0

    def _env(self) -> dict[str, str]:
        return {"ROCKETMQ_HOME": str(self.home)} if self.home else {}

    def _start_brokers(self) -> None:
        if self.target == "real":
            self._start_real()
            return
        for i, conf in enumerate(self.confs):
            path = self.work / f"broker-{i}.conf"
            path.write_text("".join(f"{k}={v}\n" for k, v in conf.items()))
            self.procs.append(Proc(["broker", "-c", str(path)], "boot success", self.work / f"broker-{i}.log",
                                   self._env()))
        wait_master(self.namesrv_addr)
        self.ready_at_ms = int(time.time() * 1000)

    def _start_real(self) -> None:
        rr = _real_module()
        home = rr.ensure_rocketmq_lib()
        if self.home is not None:
            for name in ("lib",):
                link = self.home / name
                if not link.exists():
                    link.symlink_to(home / name)
            conf_dir = self.home / "conf"
            for f in (home / "conf").glob("logback_*.xml"):
                (conf_dir / f.name).write_text(f.read_text())
            home = self.home
        ns_port, br_port = int(self.namesrv_addr.rsplit(":", 1)[1]), int(self.confs[0]["listenPort"])
        store = self.work / "store"
        conf = dict(rr.DEFAULT_BROKER_CONF, namesrvAddr=self.namesrv_addr, storePathRootDir=str(store),
                    storePathCommitLog=str(store / "commitlog"))
        conf.update(self.confs[0])
        self.real = rr.RealCluster(self.work, ns_port, br_port, conf)
        self.real.start(home)
        wait_master(self.namesrv_addr)
        self.ready_at_ms = int(time.time() * 1000)

    def restart_brokers(self) -> None:
        """Clean shutdown of every broker, then start them again on the same store."""
        if self.target == "real":
            self.real.stop()
            self._start_real()
            return
        for p in self.procs:
            p.stop()
        self.procs.clear()
        self._start_brokers()

    def stop(self) -> None:
        if self.real is not None:
            self.real.stop()
        for p in self.procs:
            p.stop()
        if self.namesrv is not None:
            self.namesrv.stop()


def _real_module() -> Any:
    path = Path(__file__).resolve().parents[1] / "interop" / "real_rocketmq.py"
    spec = importlib.util.spec_from_file_location("rmqlite_features_real_rocketmq", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _broker_confs(work: Path, topology: str, conf: dict[str, str], namesrv: str) -> list[dict[str, str]]:
    base = dict(FEATURE_CONF, **conf, namesrvAddr=namesrv)
    if topology == "single":
        return [dict(base, brokerId="0", listenPort=str(free_port(pair=True)), storePathRootDir=str(work / "store"))]
    peers = ";".join(f"n{i}-127.0.0.1:{free_port()}" for i in range(3))
    base = dict(DLEDGER_CONF, **base)
    return [dict(base, listenPort=str(free_port(pair=True)), storePathRootDir=str(work / f"store-n{i}"),
                 enableDLegerCommitLog="true", dLegerGroup="broker-a", dLegerPeers=peers, dLegerSelfId=f"n{i}")
            for i in range(3)]


def start_cluster(work: Path, topology: str = "single", conf: dict[str, str] | None = None,
                  acl_yml: str | None = None) -> Cluster:
    """A running cluster for the feature tests (see the module docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(TARGET, topology, work)
    if acl_yml is not None:
        cluster.home = work / "home"
        (cluster.home / "conf").mkdir(parents=True, exist_ok=True)
        (cluster.home / "conf" / "plain_acl.yml").write_text(acl_yml)
    try:
        if TARGET == "real":
            rr = _real_module()
            cluster.namesrv_addr = f"127.0.0.1:{rr.free_port()}"
            cluster.confs = [dict(FEATURE_CONF, **(conf or {}), listenPort=str(rr.free_broker_port()))]
            cluster._start_brokers()
            return cluster
        port = free_port()
        cluster.namesrv = Proc(["namesrv", "-p", str(port), "--kv-config", str(work / "kv.json")],
                               "boot success", work / "namesrv.log")
        cluster.namesrv_addr = f"127.0.0.1:{port}"
        cluster.confs = _broker_confs(work, topology, conf or {}, cluster.namesrv_addr)
        cluster._start_brokers()
    except BaseException:
        cluster.stop()
        raise
    return cluster
