"""``python -m rmqlite admin``: same commands, options and output as mqadmin, against rmqlite and against
the real Apache RocketMQ 4.9.4 (tests/interop/real_rocketmq.py); errors are one line with exit 1."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fake_clients import OnlineClient
from mqadmin import run_mqadmin, skip_reason

from rmqlite.admin.cli import run_command
from rmqlite.cli import build_parser

TOPIC, GROUP = "CliT", "CliG"


async def py_admin(*argv: str) -> tuple[int, str, str]:
    """Run ``python -m rmqlite admin <argv>`` in-process; (exit code, stdout, stderr)."""
    args = build_parser().parse_args(["admin", *argv])
    out, err = io.StringIO(), io.StringIO()
    rc = await run_command(args.admin_command, args, args.namesrvAddr, out, err)
    return rc, out.getvalue(), err.getvalue()


async def _prepare(ns: str, br: str, topic: str = "CliT", group: str = "CliG") -> OnlineClient:
    """A topic with 3 messages, a group with an online consumer that consumed one of them."""
    for argv in (["updateTopic", "-n", ns, "-b", br, "-t", topic, "-r", "2", "-w", "2"],
                 ["sendMessage", "-n", ns, "-t", topic, "-p", "one", "-k", "k1", "-c", "A", "-b", "broker-a", "-i", "0"],
                 ["sendMessage", "-n", ns, "-t", topic, "-p", "two", "-k", "k2", "-c", "B", "-b", "broker-a", "-i", "0"],
                 ["sendMessage", "-n", ns, "-t", topic, "-p", "three", "-k", "k1", "-b", "broker-a", "-i", "1"]):
        rc, out, err = await py_admin(*argv)
        assert rc == 0, err
    client = OnlineClient(ns, group, "CliPG", [topic])
    await client.heartbeat()
    await client.commit(topic, 0, 1)
    await client.commit(topic, 1, 0)
    return client


def _normalize(cmd: str, text: str, ns: str, br: str) -> str:
    text = text.replace(ns, "NS").replace(br, "BR")
    text = re.sub(r"\b[0-9A-F]{32}\b", "ID", text)                       # message ids
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(,\d{3})?", "TIME", text)
    text = re.sub(r"(Born Host:\s+)\S+", r"\1HOST", text)
    if cmd == "clusterList":                                              # #Hour and #SPACE vary by machine/run
        text = re.sub(r" +\S+ +\S+$", " H S", text, flags=re.M)
        text = re.sub(r" *\d+\.\d\d\(", " TPS(", text)                      # live TPS figures
    return "\n".join(line.rstrip() for line in text.splitlines())


#: Commands whose output must be identical (after normalizing ids, times, addresses) to mqadmin's.
SAME_OUTPUT = [
    ["clusterList"], ["clusterList", "-m"], ["topicRoute", "-t", TOPIC], ["topicStatus", "-t", TOPIC],
    ["topicClusterList", "-t", TOPIC], ["queryMsgByKey", "-t", TOPIC, "-k", "k2"],
    ["queryMsgByOffset", "-t", TOPIC, "-b", "broker-a", "-i", "0", "-o", "1"],
    ["consumerProgress", "-g", GROUP], ["updateKvConfig", "-s", "NS1", "-k", "a", "-v", "b"],
    ["deleteKvConfig", "-s", "NS1", "-k", "a"], ["updateSubGroup", "-b", "BR", "-g", "CliG2"],
    ["deleteSubGroup", "-b", "BR", "-g", "CliG2"],
]


async def _compare_with_mqadmin(ns: str, br: str, work: Path) -> None:
    cmds = [[c[0], "-n", ns, *[br if a == "BR" else a for a in c[1:]]] for c in SAME_OUTPUT]
    java = await run_mqadmin(cmds, work)
    for cmd, jout in zip(cmds, java):
        rc, pout, err = await py_admin(*cmd)
        assert rc == 0, (cmd, err)
        assert _normalize(cmd[0], pout, ns, br) == _normalize(cmd[0], jout, ns, br), cmd


@pytest.mark.interop
@pytest.mark.timeout(300)
async def test_same_output_as_mqadmin_on_rmqlite(servers, tmp_path) -> None:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    client = await _prepare(servers.namesrv, servers.broker)
    try:
        await _compare_with_mqadmin(servers.namesrv, servers.broker, tmp_path)
    finally:
        await client.close()


@pytest.mark.interop
@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_same_output_as_mqadmin_on_real_rocketmq(tmp_path) -> None:
    """The Python admin against a REAL RocketMQ 4.9.4 prints what mqadmin prints there."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    sys.path.insert(0, str(Path(__file__).parents[1] / "interop"))
    import real_rocketmq
    try:
        cluster = real_rocketmq.start_real_cluster(tmp_path / "real", real_rocketmq.free_port(),
                                                   real_rocketmq.free_broker_port())
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"real RocketMQ 4.9.4 did not start: {exc}")
    with cluster:
        client = await _prepare(cluster.namesrv_addr, cluster.broker_addr)
        try:
            await _compare_with_mqadmin(cluster.namesrv_addr, cluster.broker_addr, tmp_path / "w")
        finally:
            await client.close()


async def test_python_admin_commands(servers) -> None:
    """The other listed commands run and print mqadmin's shapes (no JVM needed)."""
    ns, br = servers.namesrv, servers.broker
    TOPIC, GROUP = "CliPy", "CliPyG"  # noqa: N806 (own topic: the module's servers are shared)
    client = await _prepare(ns, br, TOPIC, GROUP)
    try:
        rc, out, _ = await py_admin("brokerStatus", "-n", ns, "-b", br)
        assert rc == 0 and re.search(r"^brokerVersionDesc\s+: V4_9_4$", out, re.M)
        rc, out, _ = await py_admin("topicList", "-n", ns, "-c")
        assert any(ln.split() == ["DefaultCluster", TOPIC, GROUP] for ln in out.splitlines())
        rc, out, _ = await py_admin("consumerConnection", "-n", ns, "-g", GROUP)
        assert rc == 0 and client.client_id in out and "ConsumeType: CONSUME_PASSIVELY" in out
        rc, out, _ = await py_admin("producerConnection", "-n", ns, "-g", "CliPG", "-t", TOPIC)
        assert rc == 0 and out.startswith("0001  " + client.client_id)
        rc, out, _ = await py_admin("queryMsgByKey", "-n", ns, "-t", TOPIC, "-k", "k1")
        uniq = out.splitlines()[1].split()[0]
        rc, out, _ = await py_admin("queryMsgByUniqueKey", "-n", ns, "-t", TOPIC, "-i", uniq)
        assert rc == 0 and out.startswith(f"Topic:               {TOPIC}\n")
        assert f"MessageTrack [consumerGroup={GROUP}, trackType=" in out
        rc, out, _ = await py_admin("queryMsgByOffset", "-n", ns, "-t", TOPIC, "-b", "broker-a", "-i", "0", "-o", "0")
        offset_id = out.splitlines()[0].split()[1]
        rc, out, _ = await py_admin("queryMsgById", "-n", ns, "-i", offset_id)
        assert rc == 0 and f"Topic:               {TOPIC}" in out and "trackType=CONSUMED," in out
        rc, out, _ = await py_admin("printMsg", "-n", ns, "-t", TOPIC)
        assert out.count("MSGID: ") == 3 and "BODY: three" in out
        rc, out, _ = await py_admin("consumeMessage", "-n", ns, "-t", TOPIC, "-c", "2")
        assert out.count("Consume ok") >= 1 and "BODY: one" in out
        rc, out, _ = await py_admin("statsAll", "-n", ns, "-t", TOPIC)
        row = out.splitlines()[1].split()
        assert row[0] == TOPIC and row[1] == GROUP and row[2] == "2" and row[5] == "3" and row[6] == "1"
        rc, out, _ = await py_admin("getBrokerConfig", "-n", ns, "-b", br)
        assert re.search(r"^brokerName\s+=  broker-a$", out, re.M)
        rc, out, _ = await py_admin("updateBrokerConfig", "-n", ns, "-b", br, "-k", "fileReservedTime", "-v", "40")
        assert out == f"update broker config success, {br}\n"
        rc, out, _ = await py_admin("getNamesrvConfig", "-n", ns)
        assert out.startswith(f"============{ns}============")
        rc, out, _ = await py_admin("updateTopicPerm", "-n", ns, "-t", TOPIC, "-b", br, "-p", "6")
        assert out == "new perm equals to the old one!\n"
        rc, out, _ = await py_admin("resetOffsetByTime", "-n", ns, "-g", GROUP, "-t", TOPIC, "-s", "0")
        assert rc == 0 and out.startswith(f"rollback consumer offset by specified group[{GROUP}]")
        assert [ln.split() for ln in out.splitlines()[2:]] == [["broker-a", "0", "0"], ["broker-a", "1", "0"]]
        rc, out, _ = await py_admin("deleteTopic", "-n", ns, "-c", "DefaultCluster", "-t", TOPIC)
        assert rc == 0 and f"delete topic [{TOPIC}] from NameServer success." in out
    finally:
        await client.close()


async def test_errors_are_one_line(servers) -> None:
    rc, out, err = await py_admin("topicRoute", "-n", servers.namesrv, "-t", "NoSuchTopic")
    assert rc == 1 and out == ""
    assert err == ("rmqlite admin topicRoute: CODE: 17 DESC: No topic route info in name server for the topic: "
                   "NoSuchTopic\n")
    rc, out, err = await py_admin("clusterList", "-n", "127.0.0.1:1")
    assert rc == 1 and err.count("\n") == 1 and "cannot reach nameserver 127.0.0.1:1" in err
    rc, out, err = await py_admin("updateTopic", "-n", servers.namesrv, "-t", "X")
    assert rc == 2 and err == "rmqlite admin updateTopic: updateTopic needs -b brokerAddr or -c clusterName\n"


def test_cli_entry_point_and_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "rmqlite", "admin", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    for name in ("clusterList", "topicList", "updateTopic", "resetOffsetByTime", "statsAll", "consumeMessage"):
        assert name in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "rmqlite", "admin", "clusterList", "-n", "127.0.0.1:1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
