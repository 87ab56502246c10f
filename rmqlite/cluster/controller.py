"""``LocalCluster``: starts, watches and breaks a local RocketMQ cluster (the asyncio shell).

How it works:
1. ``start()``: plan the nodes (``spec.plan``), refuse ports already in use (naming them), start the
   fault proxies (``spec.faults``), write each broker's broker.conf under the data dir, start
   every node (nameservers first; in process mode all processes import in parallel) and wait
   until every group has a master registered with every nameserver.
2. Addresses: clients get the public ones (``namesrv_addr``, brokerIP1:listenPort). The controller
   itself talks to nodes at their private addresses, so faults never blind it.
3. Faults (``spec.faults``): every node's public port is a proxy, and so is each DLedger peer
   entry and each broker's namesrvAddr entry (see ``faults``). ``isolate``/``partition``/``delay``/
   ``heal`` act on those proxies; after a heal, brokers re-register at once.
4. ``kill`` crashes a node: SIGKILL in process mode; in process mode nothing else. In-process a
   node cannot die alone, so its links are cut first (when there are proxies) and then it is
   closed: its peers and nameservers see a dead connection, not a goodbye. ``restart`` stops
   the node cleanly if it runs, then starts it again on the same ports and data.
5. Roles come from the nameservers: brokerId 0 = MASTER, other ids = SLAVE (what mqadmin
   clusterList shows), else STARTING / DOWN.
6. Also the console's control protocol: ``nodes()``, ``kill(node_id)``, ``restart(node_id)``
   (records in ``control``).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rmqlite.cluster.control import NodeStatus, raft_term, to_node_info
from rmqlite.cluster.faults import CLIENTS, FaultNet
from rmqlite.cluster.probe import ClusterView, Prober, missing, poll_until
from rmqlite.cluster.runners import InProcessRunner, Launch, ProcessRunner, StartError
from rmqlite.cluster.spec import (
    PRIVATE_HOST,
    ClusterSpec,
    NodeSpec,
    Plan,
    finish_broker_conf,
    is_loopback,
    plan,
    write_broker_conf,
)

__all__ = ["MARKER", "LocalCluster", "claim_data_dir", "free_port"]

log = logging.getLogger("rmqlite.cluster")

#: File that marks a directory as a cluster data dir (``clean`` deletes only such dirs).
MARKER = ".rmqlite-cluster"


MARKER_TEXT = "rmqlite cluster data dir (python -m rmqlite cluster clean deletes it)\n"


def claim_data_dir(path: Path) -> Path:
    """Create or reuse a cluster data dir; a non-empty folder without the marker is refused
    (``clean`` deletes data dirs, so it must never be pointed at anything else)."""
    path = path.expanduser().resolve()
    if path.is_dir() and any(path.iterdir()) and not (path / MARKER).exists():
        raise ValueError(f"--data-dir {path} is not empty and is not a cluster data dir; pick a new or empty folder")
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text(MARKER_TEXT)
    return path


def _port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (SO_REUSEADDR, like the servers themselves)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(pair: bool = False, host: str = "127.0.0.1") -> int:
    """A free port on ``host``; with ``pair``, ``port - 2`` (a broker's VIP port) is free too."""
    for _ in range(500):
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if not pair or (port > 1026 and _port_free(host, port - 2)):
            return port
    raise RuntimeError("no free port pair")


class LocalCluster:
    """A running local cluster (use ``async with LocalCluster(spec) as c``)."""

    def __init__(self, spec: ClusterSpec, log_level: str = "WARNING") -> None:
        self.spec = spec
        self.plan: Plan | None = None
        self.data_dir: Path | None = None
        self.ephemeral = spec.data_dir is None
        self.runner: InProcessRunner | ProcessRunner = (
            InProcessRunner() if spec.in_process else ProcessRunner(self._node_exited, log_level))
        self.net: FaultNet | None = FaultNet() if spec.faults else None
        self.prober: Prober | None = None
        self.ready_s = 0.0
        self.exits: list[tuple[str, int]] = []
        self._links: dict[tuple[str, str], str] = {}    # (from, to) -> proxy address
        self._started = False
        #: called with (node name, exit status) when a node process exits on its own
        self.on_node_exit: Callable[[str, int], None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> LocalCluster:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start every node and wait until the cluster is ready (see module doc). With free ports, a
        port taken by someone else between choosing and binding it means a retry on new ports."""
        attempts = 3 if self.spec.base_port is None else 1
        for attempt in range(attempts):
            try:
                await self._start_once()
                return
            except (StartError, OSError) as exc:
                if attempt + 1 == attempts or "in use" not in str(exc).lower():
                    raise
                log.info("a port was taken meanwhile (%s); starting again on other ports", exc)

    async def _start_once(self) -> None:
        t0 = time.perf_counter()
        self.net = FaultNet() if self.spec.faults else None
        self._links = {}
        try:
            self._plan()
            assert self.plan is not None
            self._preflight()
            if self.net is not None:
                await self._build_links()
            launches = [self._launch(n) for n in self.plan.nodes]
            self.prober = Prober([self.private_addr(n) for n in self.plan.namesrvs])
            for launch in launches:
                await self.runner.spawn(launch)
            await asyncio.gather(*(self.runner.go(n.name) for n in self.plan.namesrvs))
            await asyncio.gather(*(self.runner.go(n.name) for n in self.plan.brokers))
            self._started = True
            await self.wait_ready(self.spec.ready_timeout_s)
        except BaseException:
            await self.stop()
            raise
        self.ready_s = time.perf_counter() - t0

    def _plan(self) -> None:
        spec = self.spec
        if spec.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="rmqlite-cluster-"))
        else:
            self.data_dir = claim_data_dir(Path(spec.data_dir))
        (self.data_dir / MARKER).write_text(MARKER_TEXT)
        loaded = None
        if spec.conf_dir is not None:
            from rmqlite.cluster.confdir import load_conf_dir
            spec.cluster_name, loaded = load_conf_dir(Path(spec.conf_dir), self.data_dir)
        host = self.local_host
        self.plan = plan(spec, self.data_dir, lambda pair: free_port(pair, host), loaded)

    @property
    def local_host(self) -> str:
        """Where nodes are reached from this machine (the listen host, or 127.0.0.1)."""
        host = self.bind_host
        return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host

    @property
    def bind_host(self) -> str:
        if self.net is not None:
            return PRIVATE_HOST
        adv = self.spec.advertise_host
        if adv and not is_loopback(adv) and is_loopback(self.spec.host):
            return "0.0.0.0"           # clients elsewhere must reach the advertised address
        return self.spec.host

    def _preflight(self) -> None:
        assert self.plan is not None
        hosts = {self.bind_host} | ({"127.0.0.1"} if self.net is not None else set())
        for port, what in self.plan.ports_in_use_check():
            for host in hosts:
                if not _port_free(host, port):
                    raise OSError(f"port {port} ({what}) is already in use on {host}; stop what uses it "
                                  f"or pick other ports with --base-port")

    async def _build_links(self) -> None:
        assert self.plan is not None and self.net is not None
        p, net = self.plan, self.net
        public = "127.0.0.1" if is_loopback(p.spec.public_host) else "0.0.0.0"
        for node in p.nodes:
            net.add(CLIENTS, node.name, (public, node.public_port), (PRIVATE_HOST, node.public_port))
            if node.kind == "broker":
                net.add(CLIENTS, node.name, (public, node.public_port - 2), (PRIVATE_HOST, node.public_port - 2))
        pairs: list[tuple[NodeSpec, NodeSpec, tuple[str, int]]] = []
        for b in p.brokers:
            pairs += [(b, ns, (PRIVATE_HOST, ns.public_port)) for ns in p.namesrvs]
            if p.dledger(b.group):
                pairs += [(b, m, (PRIVATE_HOST, m.dledger_port)) for m in p.members(b.group) if m is not b]
        links = [(a, b, net.add(a.name, b.name, ("127.0.0.1", 0), target)) for a, b, target in pairs]
        await net.start()
        self._links = {(a.name, b.name): link.addr for a, b, link in links}

    def _launch(self, node: NodeSpec) -> Launch:
        assert self.plan is not None
        node.dir.mkdir(parents=True, exist_ok=True)
        if node.kind == "namesrv":
            return Launch(node, self.bind_host, port=node.public_port, kv_path=node.dir / "kvConfig.json")
        conf = finish_broker_conf(self.plan, node, self._namesrv_addr_for(node), self._peer_addr)
        return Launch(node, self.bind_host, conf_path=write_broker_conf(node, conf))

    def _namesrv_addr_for(self, node: NodeSpec) -> str:
        assert self.plan is not None
        if self.net is not None:
            return ";".join(self._links[(node.name, ns.name)] for ns in self.plan.namesrvs)
        return ";".join(self.private_addr(ns) for ns in self.plan.namesrvs)

    def _peer_addr(self, me: NodeSpec, other: NodeSpec) -> str:
        if me is other or self.net is None:
            return f"{self.local_host}:{other.dledger_port}"
        return self._links[(me.name, other.name)]

    async def stop(self) -> None:
        """Stop every node (brokers first), the proxies, and remove an ephemeral data dir."""
        try:
            brokers = [n.name for n in self.plan.brokers] if self.plan else []
            await asyncio.gather(*(self.runner.stop(n) for n in brokers), return_exceptions=True)
            await self.runner.close()
            if self.net is not None:
                await self.net.close()
            if self.prober is not None:
                await self.prober.close()
        finally:
            self._started = False
            if self.ephemeral and self.data_dir is not None and (self.data_dir / MARKER).exists():
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def _node_exited(self, name: str, code: int) -> None:
        self.exits.append((name, code))
        if self.on_node_exit is not None:
            self.on_node_exit(name, code)
        else:
            log.warning("node %s exited on its own with status %s", name, code)

    # ------------------------------------------------------------------ addresses
    @property
    def namesrv_addr(self) -> str:
        """What clients use: ``127.0.0.1:9876;127.0.0.1:9877``."""
        assert self.plan is not None, "cluster not started"
        return self.plan.namesrv_addr()

    def private_addr(self, node: NodeSpec) -> str:
        return f"{self.local_host}:{node.public_port}"

    def node(self, ref: Any) -> NodeSpec:
        """A node by name (``broker-01``), ``RaftNode00/n0``, address, or anything with ``.name``."""
        assert self.plan is not None, "cluster not started"
        return self.plan.find(getattr(ref, "name", ref))

    @property
    def groups(self) -> list[str]:
        assert self.plan is not None
        return self.plan.groups

    # ------------------------------------------------------------------ readiness and roles
    async def views(self) -> dict[str, ClusterView | None]:
        assert self.prober is not None
        return await self.prober.views()

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Until every group has a master registered with every nameserver."""
        assert self.plan is not None and self.prober is not None
        groups, prober = self.plan.groups, self.prober

        async def check() -> bool:
            return not missing(await self.views(), groups)
        await poll_until(check, timeout_s, lambda: "; ".join(missing(prober.last, groups)))

    async def wait_registered(self, timeout_s: float = 1.0) -> bool:
        """Until every live broker is registered with every nameserver (masters and slaves);
        False after ``timeout_s`` (a slower follower is not an error)."""
        assert self.plan is not None
        live = [self.plan.public_addr(b) for b in self.plan.brokers if self.runner.alive(b.name)]

        async def check() -> bool:
            views = await self.views()
            return all(v is not None and v.role_of(a) is not None for v in views.values() for a in live)
        try:
            await poll_until(check, timeout_s, lambda: "brokers not registered")
        except TimeoutError:
            return False
        return True

    def status_now(self) -> list[NodeStatus]:
        """Every node, with roles from the last nameserver answers."""
        assert self.plan is not None
        views = [v for v in (self.prober.last.values() if self.prober else []) if v is not None]
        out = []
        for node in self.plan.nodes:
            alive = self.runner.alive(node.name)
            addr = self.plan.public_addr(node)
            role = "NAMESRV" if node.kind == "namesrv" else self._role(addr, views, alive)
            net = self.net
            out.append(NodeStatus(node.name, node.kind, node.group, node.member, role if alive else "DOWN",
                                  addr, self.runner.pid(node.name), alive,
                                  isolated=bool(net and node.name in net.isolated),
                                  delay_ms=net.delays.get(node.name, 0.0) if net else 0.0,
                                  raft_term=raft_term(self.runner.server(node.name))))
        return out

    @staticmethod
    def _role(addr: str, views: list[ClusterView], alive: bool) -> str:
        for view in views:
            found = view.role_of(addr)
            if found is not None:
                return "MASTER" if found[1] == 0 else "SLAVE"
        return "STARTING" if alive else "DOWN"

    async def status(self) -> list[NodeStatus]:
        """Ask the nameservers, then report every node."""
        await self.views()
        return self.status_now()

    def nodes(self) -> list[Any]:
        """Console control protocol: a ``NodeInfo`` per broker (last known roles); ``node_id`` is the
        node name (``broker-01``), which ``kill``/``restart`` take."""
        return [to_node_info(s, self._raft_role(s.name)) for s in self.status_now() if s.kind == "broker"]

    def _raft_role(self, name: str) -> str | None:
        node = getattr(getattr(getattr(self.runner.server(name), "dledger", None), "driver", None), "node", None)
        role = getattr(getattr(node, "role", None), "value", None)
        return role.lower() if isinstance(role, str) else None

    async def wait_for_master(self, group: str, timeout_s: float = 15.0, exclude: Any = None) -> NodeStatus:
        """Until every nameserver names the same live, reachable master for ``group``; returns it.

        ``exclude``: a node (or list) that does not count, e.g. the master just killed."""
        assert self.plan is not None
        plan_ = self.plan
        excluded = {self.node(e).name for e in (exclude if isinstance(exclude, (list, tuple, set)) else [exclude])
                    if e is not None}
        found: list[NodeSpec] = []

        async def check() -> bool:
            views = await self.views()
            masters = {v.master(group) if v else None for v in views.values()}
            if len(masters) != 1 or None in masters:
                return False
            addr = masters.pop()
            node = next((b for b in plan_.members(group) if plan_.public_addr(b) == addr), None)
            if node is None or node.name in excluded or not self.runner.alive(node.name):
                return False
            if self.net is not None and node.name in self.net.isolated:
                return False
            found[:] = [node]
            return True
        await poll_until(check, timeout_s, lambda: f"no single master of {group} on every nameserver")
        return next(s for s in self.status_now() if s.name == found[0].name)

    async def wait_for_role(self, ref: Any, role: str, timeout_s: float = 15.0) -> NodeStatus:
        """Until the nameservers show ``ref`` with ``role`` (MASTER, SLAVE, DOWN, ...); returns it."""
        name = self.node(ref).name
        found: list[NodeStatus] = []

        async def check() -> bool:
            found[:] = [s for s in await self.status() if s.name == name]
            return found[0].role == role
        await poll_until(check, timeout_s, lambda: f"{name} is {found[0].role if found else '?'}, not {role}")
        return found[0]

    # ------------------------------------------------------------------ topics
    async def create_topic(self, topic: str, queues: int = 4, groups: list[str] | None = None, perm: int = 6,
                           order: bool = False, timeout_s: float = 10.0) -> None:
        """Create ``topic`` on every member of every group (or ``groups``) and wait until every
        nameserver routes it (no "No route info of this topic" after this returns)."""
        from rmqlite.client.api import Client
        assert self.plan is not None and self.prober is not None
        groups = groups or self.plan.groups
        async with Client(";".join(self.prober.namesrvs), timeout_ms=3000) as client:
            for group in groups:
                members = [m for m in self.plan.members(group) if self.runner.alive(m.name)]
                results = await asyncio.gather(*(client.create_topic(self.private_addr(m), topic, queues, perm, order)
                                                 for m in members), return_exceptions=True)
                if members and all(isinstance(r, BaseException) for r in results):
                    raise RuntimeError(f"creating topic {topic} on {group} failed: {results[0]}")
        await self.wait_for_route(topic, groups, timeout_s)

    async def wait_for_route(self, topic: str, groups: list[str] | None = None, timeout_s: float = 10.0) -> None:
        """Until every nameserver routes ``topic`` to a master of every group (or ``groups``)."""
        assert self.plan is not None and self.prober is not None
        wanted = groups or self.plan.groups

        async def check() -> bool:
            assert self.prober is not None
            return await self.prober.routable(topic, wanted)
        await poll_until(check, timeout_s, lambda: f"route of {topic} to {wanted} not on every nameserver")

    # ------------------------------------------------------------------ faults
    async def kill(self, ref: Any) -> None:
        """Crash a node (SIGKILL in process mode; see module doc for in-process)."""
        node = self.node(ref)
        if self.spec.in_process and self.net is not None:
            was_isolated = node.name in self.net.isolated
            self.net.isolate(node.name)
            await self.runner.kill(node.name)
            if not was_isolated:
                self.net.isolated.discard(node.name)
        else:
            await self.runner.kill(node.name)

    async def stop_node(self, ref: Any) -> None:
        """Stop a node cleanly (brokers unregister)."""
        await self.runner.stop(self.node(ref).name)

    async def restart(self, ref: Any, timeout_s: float = 30.0) -> None:
        """Stop the node if it runs, then start it again with the same ports and data."""
        node = self.node(ref)
        if self.runner.alive(node.name):
            await self.runner.stop(node.name)
        await self.runner.spawn(self._launch(node))
        await self.runner.go(node.name, timeout_s)
        if node.kind == "namesrv":      # a fresh nameserver knows no broker until they register
            assert self.plan is not None
            for b in self.plan.brokers:
                if self.runner.alive(b.name):
                    await self._register_now(b)

    def _need_faults(self) -> FaultNet:
        if self.net is None:
            raise RuntimeError("fault injection needs a cluster started with faults=True (--faults)")
        return self.net

    async def isolate(self, ref: Any) -> None:
        """Cut a node off from its peers, the nameservers and every client (connections reset)."""
        self._need_faults().isolate(self.node(ref).name)

    async def partition(self, *sides: list[Any]) -> None:
        """Cut every link between nodes on different sides; ``"clients"`` may name the clients."""
        names = [[CLIENTS if r == "clients" else self.node(r).name for r in side] for side in sides]
        self._need_faults().partition(names)

    async def delay(self, ref: Any, ms: float) -> None:
        """Delay every message to and from a node by ``ms`` (each direction); 0 removes it."""
        self._need_faults().delay(self.node(ref).name, ms)

    async def heal(self, ref: Any = None) -> None:
        """Lift every fault (or one node's); healed brokers re-register with the nameservers at once."""
        net = self._need_faults()
        before = set(net.isolated) | {n for s in net.sides for n in s}
        net.heal(None if ref is None else self.node(ref).name)
        assert self.plan is not None
        for b in self.plan.brokers:
            if b.name in before and self.runner.alive(b.name):
                await self._register_now(b)

    async def _register_now(self, node: NodeSpec) -> None:
        server = self.runner.server(node.name)
        if server is not None and hasattr(server, "register_now"):
            await server.register_now()
        elif isinstance(self.runner, ProcessRunner):
            self.runner.signal(node.name, "SIGUSR1")
