"""``--conf-dir``: a folder of broker.conf files laid out like the original docker-compose cluster.

How it works:
1. Every ``<dir>/<node>/conf/broker.conf`` (or ``<dir>/<node>/broker.conf``) is one broker; folders
   are taken in name order (``broker-01 .. broker-06``), so scaling out is adding a folder. The
   folder name is the node's name.
2. Each file is parsed and checked by the broker's own loader (a bad value is an error naming the
   file and the key). The group is ``brokerName``; the member is ``dLegerSelfId`` (DLedger) or
   ``n<brokerId>``.
3. Keys that only make sense inside the original's containers are replaced by the cluster:
   ``brokerIP1``, ``namesrvAddr``, ``storePathRootDir``, ``storePathCommitLog`` and the addresses in
   ``dLegerPeers`` (rebuilt from the group's members). Every other key is kept as written.
4. Ports: the files' ``listenPort`` and DLedger ports are kept when they are distinct on one host
   (a broker also uses listenPort-2); when they collide (containers all listen on 10911) every
   broker gets the ``--base-port`` layout instead.
5. A DLedger group must be consistent: every member lists the same member ids in ``dLegerPeers``,
   and its own ``dLegerSelfId`` is one of them.
"""

from __future__ import annotations

from pathlib import Path

from rmqlite.cluster.spec import NodeSpec

__all__ = ["ConfDirError", "load_conf_dir"]

_REPLACED = ("brokerIP1", "brokerIP2", "namesrvAddr", "storePathRootDir", "storePathCommitLog",
             "storePathDLedgerCommitLog", "listenPort", "dLegerPeers")


class ConfDirError(ValueError):
    """A conf-dir problem; the message names the file."""


def _conf_files(root: Path) -> list[tuple[str, Path]]:
    if not root.is_dir():
        raise ConfDirError(f"--conf-dir {root}: not a directory")
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for candidate in (folder / "conf" / "broker.conf", folder / "broker.conf"):
            if candidate.is_file():
                out.append((folder.name, candidate))
                break
    if not out:
        raise ConfDirError(f"--conf-dir {root}: no <node>/conf/broker.conf inside")
    return out


def _parse(path: Path) -> dict[str, str]:
    from rmqlite.broker.config import ConfigError, load_broker_config, parse_properties
    try:
        text = path.read_text(encoding="utf-8")
        pairs = dict(parse_properties(text))
        load_broker_config(str(path))          # type-checks every value
    except (ConfigError, OSError, ValueError) as exc:
        raise ConfDirError(f"{path}: {exc}") from None
    return pairs


def _peers(text: str, path: Path) -> dict[str, int]:
    """``n0-host:port;n1-host:port`` -> {member: port}."""
    out: dict[str, int] = {}
    for item in (x.strip() for x in text.split(";")):
        if not item:
            continue
        member, sep, addr = item.partition("-")
        _, colon, port = addr.rpartition(":")
        if not sep or not colon or not port.isdigit():
            raise ConfDirError(f"{path}: dLegerPeers entry {item!r} is not id-host:port")
        out[member] = int(port)
    return out


def load_conf_dir(root: Path, data_dir: Path) -> tuple[str, list[NodeSpec]]:
    """(cluster name, brokers) read from ``root``; node folders go under ``data_dir``."""
    nodes: list[NodeSpec] = []
    peer_sets: dict[str, tuple[frozenset[str], Path]] = {}
    clusters: set[str] = set()
    for name, path in _conf_files(root):
        conf = _parse(path)
        group = conf.get("brokerName", "broker-a")
        clusters.add(conf.get("brokerClusterName", "DefaultCluster"))
        dledger = conf.get("enableDLegerCommitLog", "false").strip().lower() == "true"
        listen = int(conf.get("listenPort", "0") or 0)
        dport = 0
        if dledger:
            member = conf.get("dLegerSelfId", "").strip()
            peers = _peers(conf.get("dLegerPeers", ""), path)
            if not member or member not in peers:
                raise ConfDirError(f"{path}: dLegerSelfId {member!r} is not in dLegerPeers")
            _check_group(peer_sets, group, frozenset(peers), path)
            dport = peers[member]
        else:
            member = f"n{conf.get('brokerId', '0').strip() or '0'}"
        kept = {k: v for k, v in conf.items() if k not in _REPLACED}
        nodes.append(NodeSpec(name, "broker", listen, data_dir / name, group=group, member=member,
                              dledger_port=dport, conf=kept))
    _check_members(nodes, peer_sets)
    if len(clusters) > 1:
        raise ConfDirError(f"--conf-dir {root}: brokers name several clusters {sorted(clusters)}")
    if not _ports_fit(nodes):
        for n in nodes:
            n.public_port = n.dledger_port = 0
    return clusters.pop(), nodes


def _check_group(peer_sets: dict[str, tuple[frozenset[str], Path]], group: str,
                 ids: frozenset[str], path: Path) -> None:
    seen = peer_sets.setdefault(group, (ids, path))
    if seen[0] != ids:
        raise ConfDirError(f"{path}: dLegerPeers ids {sorted(ids)} differ from {seen[1]}'s {sorted(seen[0])}")


def _check_members(nodes: list[NodeSpec], peer_sets: dict[str, tuple[frozenset[str], Path]]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for n in nodes:
        key = (n.group, n.member)
        if key in seen:
            raise ConfDirError(f"{n.name} and {seen[key]} are both {n.group}/{n.member}")
        seen[key] = n.name
    for group, (ids, path) in peer_sets.items():
        have = {n.member for n in nodes if n.group == group}
        if have != set(ids):
            raise ConfDirError(f"{path}: group {group} lists members {sorted(ids)} but the folders "
                               f"provide {sorted(have)}")


def _ports_fit(nodes: list[NodeSpec]) -> bool:
    """True when the files' ports can all be used side by side on one host."""
    used: set[int] = set()
    for n in nodes:
        block = {n.public_port, n.public_port - 2} | ({n.dledger_port} if n.dledger_port else set())
        if n.public_port <= 2 or len(block) < (3 if n.dledger_port else 2) or block & used:
            return False
        used |= block
    return True
