"""What a local cluster is made of: nameservers, broker groups, ports, directories and broker.conf.

How it works:
1. ``ClusterSpec`` is what the user asks for (``--groups``, ``--replicas``, ...). ``plan()`` turns it
   into a ``Plan``: one ``NodeSpec`` per nameserver and per broker, each with its ports, its own
   directory and (brokers) the ``broker.conf`` keys it runs with. ``plan()`` is pure: ports come
   from the fixed layout or from an injected allocator.
2. Node names mirror the original docker-compose folders: ``namesrv-01..``, ``broker-01..``;
   broker ``n`` (0-based) is member ``n % replicas`` of group ``n // replicas``; groups are
   ``RaftNode00, RaftNode01, ...`` and members ``n0, n1, ...`` (``dLegerSelfId``).
3. Fixed layout from ``base_port`` P (default 9876): namesrv k at P+k; broker n listens on
   P+21035+10n (30911, 30921, ...; VIP port = listenPort-2); DLedger port of broker n is
   P+31035+n (40911, 40912, ...). With ``base_port=None`` every port is allocated free.
4. ``replicas == 1`` writes a plain master (brokerId=0, ASYNC_MASTER); ``replicas > 1`` writes the
   DLedger keys (enableDLegerCommitLog, dLegerGroup, dLegerPeers, dLegerSelfId).
5. A node's ``public_port`` is what clients are told (brokerIP1:listenPort, the namesrv address);
   with fault injection it belongs to a proxy and the node itself listens on ``PRIVATE_HOST``
   (another loopback address) with the same port number.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = [
    "DEFAULT_BASE_PORT",
    "DEFAULT_REPLICAS",
    "PRIVATE_HOST",
    "ClusterSpec",
    "NodeSpec",
    "Plan",
    "broker_runs_dledger",
    "default_home",
    "is_loopback",
    "node_dirs",
    "plan",
    "render_conf",
    "write_broker_conf",
]

DEFAULT_BASE_PORT = 9876
def broker_runs_dledger() -> bool:
    """Whether this rmqlite's broker has the DLedger mode (enableDLegerCommitLog)."""
    import importlib.util
    return importlib.util.find_spec("rmqlite.broker.dledger_mode") is not None


#: Replicas per group by default: 3 (a DLedger group, as in the original); 1 (plain masters)
#: only with a broker that has no DLedger mode.
DEFAULT_REPLICAS = 3 if broker_runs_dledger() else 1
#: Where nodes listen when their public port belongs to a fault-injection proxy (Linux: all of
#: 127.0.0.0/8 is loopback).
PRIVATE_HOST = "127.0.0.2"
BROKER_PORT_OFFSET = 21035      # 9876 + 21035 = 30911, the original compose file's listenPort
DLEDGER_PORT_OFFSET = 31035     # 9876 + 31035 = 40911, the original's dLegerPeers port
BROKER_PORT_STEP = 10           # listenPort-2 (VIP) .. listenPort+1 (HA) fit in a block of 10

Allocator = Callable[[bool], int]   # pair=True: port-2 must be free too (the VIP port)


def default_home() -> Path:
    """``$RMQLITE_HOME`` or ``~/.rmqlite``: default data dir parent and run files."""
    return Path(os.environ.get("RMQLITE_HOME") or Path.home() / ".rmqlite")


def is_loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("localhost", "::1")


@dataclass(slots=True)
class ClusterSpec:
    """A local cluster as asked for; see ``plan()`` for what it becomes."""

    groups: int = 2
    replicas: int = DEFAULT_REPLICAS
    namesrvs: int = 2
    cluster_name: str = "RaftCluster"
    group_prefix: str = "RaftNode"
    base_port: int | None = DEFAULT_BASE_PORT   # None: free ports
    host: str = "127.0.0.1"                     # where nodes listen (loopback by default)
    advertise_host: str | None = None           # brokerIP1 / namesrv host clients are told
    data_dir: Path | None = None                # None: temp dir, deleted at stop
    in_process: bool = False
    faults: bool = False                        # proxies for isolate/delay/partition
    broker_conf: dict[str, str] = field(default_factory=dict)  # extra keys for every broker
    conf_dir: Path | None = None                # broker-NN/conf/broker.conf folders
    ready_timeout_s: float = 30.0

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad option."""
        if self.conf_dir is None and self.groups < 1:
            raise ValueError("--groups must be >= 1")
        if self.replicas < 1:
            raise ValueError("--replicas must be >= 1")
        if self.namesrvs < 1:
            raise ValueError("--namesrvs must be >= 1")
        if self.faults and self.advertise_host and not is_loopback(self.advertise_host):
            raise ValueError("--faults works on loopback addresses only (not with --advertise-host "
                             f"{self.advertise_host})")
        if self.base_port is not None:
            top = self.base_port + DLEDGER_PORT_OFFSET + self.groups * self.replicas
            if self.base_port < 1024 or top > 65535:
                raise ValueError(f"--base-port {self.base_port}: ports would run from {self.base_port} "
                                 f"to {top}; choose 1024..{65535 - DLEDGER_PORT_OFFSET - self.groups * self.replicas}")
            if self.namesrvs > 1000:
                raise ValueError("--namesrvs too large")

    @property
    def public_host(self) -> str:
        return self.advertise_host or ("127.0.0.1" if self.host in ("0.0.0.0", "") else self.host)


@dataclass(slots=True)
class NodeSpec:
    """One node: a nameserver or a broker, with everything needed to start it."""

    name: str                       # namesrv-01 / broker-01 (folder name with --conf-dir)
    kind: str                       # "namesrv" | "broker"
    public_port: int                # what clients are told
    dir: Path                       # the node's own folder (conf/, store/, logs)
    group: str = ""                 # brokerName (= dLegerGroup)
    member: str = ""                # dLegerSelfId, e.g. "n0"
    dledger_port: int = 0
    conf: dict[str, str] = field(default_factory=dict)   # broker.conf, network keys filled in later

    @property
    def label(self) -> str:
        return f"{self.group}/{self.member}" if self.group else self.name

    @property
    def conf_path(self) -> Path:
        return self.dir / "conf" / "broker.conf"

    @property
    def log_path(self) -> Path:
        return self.dir / "logs" / f"{self.kind}.log"


@dataclass(slots=True)
class Plan:
    """A resolved cluster: every node with its ports."""

    spec: ClusterSpec
    data_dir: Path
    namesrvs: list[NodeSpec]
    brokers: list[NodeSpec]

    @property
    def nodes(self) -> list[NodeSpec]:
        return self.namesrvs + self.brokers

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(b.group for b in self.brokers))

    def members(self, group: str) -> list[NodeSpec]:
        return [b for b in self.brokers if b.group == group]

    def namesrv_addr(self) -> str:
        """The address string clients use: ``host:port;host:port``."""
        return ";".join(f"{self.spec.public_host}:{n.public_port}" for n in self.namesrvs)

    def public_addr(self, node: NodeSpec) -> str:
        return f"{self.spec.public_host}:{node.public_port}"

    def dledger(self, group: str) -> bool:
        return any(_is_dledger(b.conf) for b in self.members(group))

    def find(self, ref: str) -> NodeSpec:
        """A node by name (broker-01), ``group/member`` or ``group-member`` (RaftNode00/n0), or address."""
        for node in self.nodes:
            if ref in (node.name, node.label, f"{node.group}-{node.member}", self.public_addr(node),
                       f"127.0.0.1:{node.public_port}"):
                return node
        names = ", ".join(n.name for n in self.nodes)
        raise KeyError(f"no node {ref!r} (nodes: {names})")

    def ports_in_use_check(self) -> list[tuple[int, str]]:
        """(port, what) for every port the nodes themselves will listen on."""
        out: list[tuple[int, str]] = []
        for n in self.namesrvs:
            out.append((n.public_port, f"{n.name} port"))
        for b in self.brokers:
            out += [(b.public_port, f"{b.name} listenPort"), (b.public_port - 2, f"{b.name} VIP port")]
            if b.dledger_port:
                out.append((b.dledger_port, f"{b.name} DLedger port"))
        return out


def _fixed_ports(spec: ClusterSpec, count: int) -> tuple[list[int], list[int], list[int]]:
    p = spec.base_port
    assert p is not None
    ns = [p + k for k in range(spec.namesrvs)]
    br = [p + BROKER_PORT_OFFSET + BROKER_PORT_STEP * n for n in range(count)]
    dl = [p + DLEDGER_PORT_OFFSET + n for n in range(count)]
    return ns, br, dl


def _free_ports(alloc: Allocator, spec: ClusterSpec, count: int) -> tuple[list[int], list[int], list[int]]:
    used: set[int] = set()

    def take(pair: bool) -> int:
        for _ in range(100):
            port = alloc(pair)
            block = {port, port - 2} if pair else {port}
            if not block & used:
                used.update(block)
                return port
        raise RuntimeError("could not allocate distinct free ports")
    ns = [take(False) for _ in range(spec.namesrvs)]
    br = [take(True) for _ in range(count)]
    dl = [take(False) for _ in range(count)]
    return ns, br, dl


def plan(spec: ClusterSpec, data_dir: Path, alloc: Allocator | None = None,
         loaded: list[NodeSpec] | None = None) -> Plan:
    """Resolve ``spec`` into nodes. ``loaded``: brokers read from ``--conf-dir`` (conf already set)."""
    spec.validate()
    brokers = loaded if loaded is not None else _generated_brokers(spec, data_dir)
    if spec.base_port is None:
        if alloc is None:
            raise ValueError("free ports need an allocator")
        ns_ports, br_ports, dl_ports = _free_ports(alloc, spec, len(brokers))
    else:
        ns_ports, br_ports, dl_ports = _fixed_ports(spec, len(brokers))
    namesrvs = [NodeSpec(f"namesrv-{k + 1:02d}", "namesrv", port, data_dir / f"namesrv-{k + 1:02d}")
                for k, port in enumerate(ns_ports)]
    brokers = [replace(b, public_port=b.public_port or br_ports[n], conf=dict(b.conf),
                       dledger_port=(b.dledger_port or dl_ports[n]) if _is_dledger(b.conf) else 0)
               for n, b in enumerate(brokers)]
    result = Plan(spec, data_dir, namesrvs, brokers)
    _check_unique_ports(result)
    return result


def _is_dledger(conf: dict[str, str]) -> bool:
    return conf.get("enableDLegerCommitLog", "false").strip().lower() == "true"


def _generated_brokers(spec: ClusterSpec, data_dir: Path) -> list[NodeSpec]:
    out = []
    for g in range(spec.groups):
        group = f"{spec.group_prefix}{g:02d}"
        for r in range(spec.replicas):
            n = g * spec.replicas + r
            name = f"broker-{n + 1:02d}"
            conf = {"brokerClusterName": spec.cluster_name, "brokerName": group}
            if spec.replicas == 1:
                conf.update(brokerId="0", brokerRole="ASYNC_MASTER")
            else:
                conf.update(enableDLegerCommitLog="true", dLegerGroup=group, dLegerSelfId=f"n{r}",
                            sendMessageThreadPoolNums="16")
            conf.update(spec.broker_conf)
            out.append(NodeSpec(name, "broker", 0, data_dir / name, group=group,
                                member=f"n{r}" if spec.replicas > 1 else "n0", conf=conf))
    return out


def _check_unique_ports(p: Plan) -> None:
    seen: dict[int, str] = {}
    for port, what in p.ports_in_use_check():
        if port in seen:
            raise ValueError(f"port {port} is used twice: {seen[port]} and {what}")
        seen[port] = what


def node_dirs(node: NodeSpec) -> dict[str, Path]:
    """Folders of one node: conf/, store/, logs/ (the original's volume layout)."""
    return {"conf": node.dir / "conf", "store": node.dir / "store", "logs": node.dir / "logs"}


def finish_broker_conf(p: Plan, node: NodeSpec, namesrv_addr: str,
                       peer_addr: Callable[[NodeSpec, NodeSpec], str]) -> dict[str, str]:
    """The node's broker.conf with the network and path keys set for this plan.

    ``namesrv_addr``: the namesrvAddr this node uses; ``peer_addr(self, other)``: how ``self``
    reaches ``other``'s DLedger port (its own entry is its real address)."""
    conf = dict(node.conf)
    store = node.dir / "store"
    conf.update(brokerIP1=p.spec.public_host, listenPort=str(node.public_port), namesrvAddr=namesrv_addr,
                storePathRootDir=str(store), storePathCommitLog=str(store / "commitlog"))
    if p.dledger(node.group):
        peers = ";".join(f"{m.member}-{peer_addr(node, m)}" for m in p.members(node.group))
        conf.update(enableDLegerCommitLog="true", dLegerGroup=conf.get("dLegerGroup") or node.group,
                    dLegerPeers=peers, dLegerSelfId=node.member)
    return conf


def render_conf(conf: dict[str, str], title: str = "") -> str:
    """broker.conf text (key=value lines)."""
    head = f"# {title}\n" if title else ""
    return head + "".join(f"{k}={v}\n" for k, v in conf.items())


def write_broker_conf(node: NodeSpec, conf: dict[str, str]) -> Path:
    path = node.conf_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_conf(conf, f"{node.name}: written by `python -m rmqlite cluster` at each start"))
    os.replace(tmp, path)
    return path


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
