"""--conf-dir: folders of broker.conf like the original's broker-01..06."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmqlite.cluster.confdir import ConfDirError, load_conf_dir
from rmqlite.cluster.spec import ClusterSpec, finish_broker_conf, plan

REPO_CONF = Path(__file__).resolve().parents[2] / "conf" / "cluster"

ORIGINAL = """brokerClusterName = RaftCluster
brokerName={group}
brokerIP1=192.168.1.4
listenPort=10911
namesrvAddr=nameserver-01:9876;nameserver-02:9876
autoCreateTopicEnable=false
storePathRootDir=/home/rocketmq/rocketmq-4.9.4/store/{group}
enableDLegerCommitLog=true
dLegerGroup={group}
dLegerPeers=n0-{a}:40911;n1-{b}:40911;n2-{c}:40911
dLegerSelfId={me}
sendMessageThreadPoolNums=4
"""


def _write(root: Path, name: str, text: str) -> None:
    (root / name / "conf").mkdir(parents=True)
    (root / name / "conf" / "broker.conf").write_text(text)


def _docker_dir(root: Path, groups: int = 2) -> Path:
    for g in range(groups):
        names = [f"broker-0{3 * g + i + 1}" for i in range(3)]
        for i, name in enumerate(names):
            _write(root, name, ORIGINAL.format(group=f"RaftNode0{g}", a=names[0], b=names[1], c=names[2], me=f"n{i}"))
    return root


def test_repo_example_is_the_default_cluster(tmp_path: Path) -> None:
    name, brokers = load_conf_dir(REPO_CONF, tmp_path)
    assert name == "RaftCluster"
    assert [b.name for b in brokers] == [f"broker-0{i}" for i in range(1, 7)]
    assert [(b.group, b.member) for b in brokers[:3]] == [("RaftNode00", "n0"), ("RaftNode00", "n1"),
                                                          ("RaftNode00", "n2")]
    assert [b.public_port for b in brokers] == [30911, 30921, 30931, 30941, 30951, 30961]
    assert [b.dledger_port for b in brokers] == [40911, 40912, 40913, 40914, 40915, 40916]
    assert "storePathRootDir" not in brokers[0].conf and "namesrvAddr" not in brokers[0].conf


def test_container_confs_get_the_local_layout_and_keep_other_keys(tmp_path: Path) -> None:
    src = _docker_dir(tmp_path / "src")
    name, brokers = load_conf_dir(src, tmp_path / "data")
    assert all(b.public_port == 0 for b in brokers)          # all 10911: they collide on one host
    p = plan(ClusterSpec(cluster_name=name, conf_dir=src), tmp_path / "data", loaded=brokers)
    assert [b.public_port for b in p.brokers] == [30911, 30921, 30931, 30941, 30951, 30961]
    conf = finish_broker_conf(p, p.brokers[4], p.namesrv_addr(), lambda me, o: f"127.0.0.1:{o.dledger_port}")
    assert conf["autoCreateTopicEnable"] == "false"           # kept
    assert conf["sendMessageThreadPoolNums"] == "4"           # kept
    assert conf["brokerIP1"] == "127.0.0.1"                   # replaced
    assert conf["namesrvAddr"] == "127.0.0.1:9876;127.0.0.1:9877"
    assert conf["dLegerPeers"] == "n0-127.0.0.1:40914;n1-127.0.0.1:40915;n2-127.0.0.1:40916"
    assert conf["dLegerSelfId"] == "n1" and conf["storePathRootDir"].startswith(str(tmp_path / "data"))


def test_scaling_out_is_adding_a_folder(tmp_path: Path) -> None:
    src = _docker_dir(tmp_path / "src", groups=1)
    _write(src, "broker-04", "brokerClusterName=RaftCluster\nbrokerName=Single\nbrokerId=0\n")
    _, brokers = load_conf_dir(src, tmp_path)
    assert [(b.name, b.group, b.member) for b in brokers][-1] == ("broker-04", "Single", "n0")


@pytest.mark.parametrize("text, error", [
    ("brokerName=G\nenableDLegerCommitLog=true\ndLegerPeers=n0-h:1;n1-h:2\ndLegerSelfId=n5\n", "dLegerPeers"),
    ("brokerName=G\nenableDLegerCommitLog=true\ndLegerPeers=n0-h;n1-h:2\ndLegerSelfId=n0\n", "dLegerPeers"),
    ("brokerName=G\nlistenPort=notanumber\n", "listenPort"),
    ("brokerName=G\nenableDLegerCommitLog=true\ndLegerPeers=n0-h:1;n1-h:2\ndLegerSelfId=n0\n", "provide"),
])
def test_bad_conf_dirs_name_the_file_and_the_problem(tmp_path: Path, text: str, error: str) -> None:
    _write(tmp_path, "broker-01", text)
    with pytest.raises(ConfDirError, match=error) as info:
        load_conf_dir(tmp_path, tmp_path / "data")
    assert "broker-01" in str(info.value)


def test_empty_or_missing_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfDirError, match="no <node>/conf/broker.conf"):
        load_conf_dir(tmp_path, tmp_path)
    with pytest.raises(ConfDirError, match="not a directory"):
        load_conf_dir(tmp_path / "nope", tmp_path)
