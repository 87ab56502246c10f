"""Cluster planning (pure): port layout, node names, broker.conf keys, validation."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rmqlite.cluster.spec import ClusterSpec, finish_broker_conf, plan

DATA = Path("/data")


def _peer(me, other) -> str:
    return f"127.0.0.1:{other.dledger_port}"


def test_default_layout_is_the_original_cluster() -> None:
    p = plan(ClusterSpec(replicas=3), DATA)
    assert p.namesrv_addr() == "127.0.0.1:9876;127.0.0.1:9877"
    assert [n.name for n in p.namesrvs] == ["namesrv-01", "namesrv-02"]
    assert [b.name for b in p.brokers] == [f"broker-0{i}" for i in range(1, 7)]
    assert p.groups == ["RaftNode00", "RaftNode01"]
    assert [b.member for b in p.members("RaftNode01")] == ["n0", "n1", "n2"]
    assert [b.public_port for b in p.brokers] == [30911, 30921, 30931, 30941, 30951, 30961]
    assert [b.dledger_port for b in p.brokers] == [40911, 40912, 40913, 40914, 40915, 40916]
    assert p.brokers[0].dir == DATA / "broker-01"


def test_dledger_conf_has_exactly_the_dledger_keys() -> None:
    p = plan(ClusterSpec(replicas=3), DATA)
    conf = finish_broker_conf(p, p.brokers[1], p.namesrv_addr(), _peer)
    assert conf["brokerClusterName"] == "RaftCluster"
    assert conf["brokerName"] == conf["dLegerGroup"] == "RaftNode00"
    assert conf["enableDLegerCommitLog"] == "true"
    assert conf["dLegerPeers"] == "n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913"
    assert conf["dLegerSelfId"] == "n1"
    assert conf["listenPort"] == "30921"
    assert conf["namesrvAddr"] == "127.0.0.1:9876;127.0.0.1:9877"
    assert conf["storePathRootDir"] == str(DATA / "broker-02" / "store")
    assert "brokerId" not in conf


def test_one_replica_is_a_plain_master() -> None:
    p = plan(ClusterSpec(replicas=1, groups=3), DATA)
    conf = finish_broker_conf(p, p.brokers[2], p.namesrv_addr(), _peer)
    assert conf["brokerName"] == "RaftNode02"
    assert conf["brokerId"] == "0" and conf["brokerRole"] == "ASYNC_MASTER"
    assert "enableDLegerCommitLog" not in conf and "dLegerPeers" not in conf
    assert all(b.dledger_port == 0 for b in p.brokers)


def test_base_port_shifts_everything_and_advertise_host_is_told() -> None:
    p = plan(ClusterSpec(base_port=20000, advertise_host="10.1.2.3", namesrvs=1), DATA)
    assert p.namesrv_addr() == "10.1.2.3:20000"
    assert p.brokers[0].public_port == 41035
    conf = finish_broker_conf(p, p.brokers[0], "127.0.0.1:20000", _peer)
    assert conf["brokerIP1"] == "10.1.2.3"


def test_free_ports_come_from_the_allocator_and_never_overlap() -> None:
    ports = itertools.count(50000, 1)
    p = plan(ClusterSpec(base_port=None, replicas=3), DATA, alloc=lambda pair: next(ports))
    used = [port for port, _ in p.ports_in_use_check()]
    assert len(used) == len(set(used))


@pytest.mark.parametrize("kwargs, text", [
    (dict(groups=0), "--groups"), (dict(replicas=0), "--replicas"), (dict(namesrvs=0), "--namesrvs"),
    (dict(base_port=80), "--base-port"), (dict(base_port=40000), "--base-port"),
])
def test_bad_options_are_named(kwargs, text) -> None:
    with pytest.raises(ValueError, match=text):
        plan(ClusterSpec(**kwargs), DATA)


def test_find_accepts_names_labels_and_addresses() -> None:
    p = plan(ClusterSpec(replicas=3), DATA)
    assert p.find("broker-05").member == "n1"
    assert p.find("RaftNode01/n1").name == "broker-05"
    assert p.find("RaftNode01-n1").name == "broker-05"
    assert p.find("127.0.0.1:30951").name == "broker-05"
    assert p.find("namesrv-02").public_port == 9877
    with pytest.raises(KeyError, match="broker-09"):
        p.find("broker-09")


def test_faults_need_loopback() -> None:
    with pytest.raises(ValueError, match="--faults"):
        plan(ClusterSpec(faults=True, advertise_host="10.0.0.5"), DATA)
