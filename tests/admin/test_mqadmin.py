"""The REAL Apache RocketMQ mqadmin (rocketmq-tools 4.9.4) against rmqlite: every listed command succeeds
and prints what it prints against a Java broker. Skipped with a reason when java/javac/mvn are missing."""

from __future__ import annotations

import re

import pytest
from fake_clients import OnlineClient
from mqadmin import run_mqadmin, skip_reason

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

_REASON = skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

TOPIC, TOPIC2, GROUP, PGROUP = "AdmT", "AdmT2", "AdmG", "AdmPG"


def no_error(cmd: list[str], out: str) -> None:
    assert "Exception" not in out and "command failed" not in out, f"mqadmin {' '.join(cmd)}:\n{out}"


async def test_mqadmin_commands(servers, tmp_path) -> None:  # noqa: PLR0915 (one scenario, many commands)
    ns, br = servers.namesrv, servers.broker
    n = ["-n", ns]
    phase_a = [
        ["clusterList", *n], ["clusterList", *n, "-m"],
        ["updateTopic", *n, "-c", "DefaultCluster", "-t", TOPIC, "-r", "4", "-w", "4"],
        ["updateTopic", *n, "-b", br, "-t", TOPIC2],
        ["topicList", *n], ["topicRoute", *n, "-t", TOPIC],
        ["sendMessage", *n, "-t", TOPIC, "-p", "hello-body", "-k", "key1", "-c", "tagA", "-b", "broker-a", "-i", "1"],
        ["sendMessage", *n, "-t", TOPIC, "-p", "second", "-k", "key2", "-c", "tagB", "-b", "broker-a", "-i", "1"],
        ["topicStatus", *n, "-t", TOPIC], ["topicClusterList", *n, "-t", TOPIC],
        ["brokerStatus", *n, "-b", br],
        ["updateSubGroup", *n, "-c", "DefaultCluster", "-g", GROUP],
        ["getBrokerConfig", *n, "-b", br],
        ["updateBrokerConfig", *n, "-b", br, "-k", "fileReservedTime", "-v", "47"],
        ["getBrokerConfig", *n, "-b", br],
        ["getNamesrvConfig", *n],
        ["updateKvConfig", *n, "-s", "NS1", "-k", "k1", "-v", "v1"],
        ["deleteKvConfig", *n, "-s", "NS1", "-k", "k1"],
        ["updateTopicPerm", *n, "-t", TOPIC2, "-c", "DefaultCluster", "-p", "4"],
        ["queryMsgByKey", *n, "-t", TOPIC, "-k", "key1"],
        ["queryMsgByOffset", *n, "-t", TOPIC, "-b", "broker-a", "-i", "1", "-o", "0"],
        ["printMsg", *n, "-t", TOPIC, "-d", "true"],
        ["consumeMessage", *n, "-t", TOPIC, "-g", GROUP, "-c", "5"],
    ]
    a = dict(zip(range(len(phase_a)), await run_mqadmin(phase_a, tmp_path / "a")))
    for i, out in a.items():
        no_error(phase_a[i], out)
    lines = a[0].splitlines()
    assert lines[0].split() == ["#Cluster", "Name", "#Broker", "Name", "#BID", "#Addr", "#Version", "#InTPS(LOAD)",
                                "#OutTPS(LOAD)", "#PCWait(ms)", "#Hour", "#SPACE"]
    row = lines[1].split()
    assert row[:5] == ["DefaultCluster", "broker-a", "0", br, "V4_9_4"] and float(row[-1]) >= 0
    assert a[1].splitlines()[1].split()[:2] == ["DefaultCluster", "broker-a"]
    assert a[2].splitlines()[0] == f"create topic to {br} success."
    assert "TopicConfig [topicName=AdmT, readQueueNums=4, writeQueueNums=4, perm=RW-" in a[2]
    assert "readQueueNums=8, writeQueueNums=8" in a[3]
    assert {TOPIC, TOPIC2, "TBW102", "SCHEDULE_TOPIC_XXXX"} <= set(a[4].split())
    assert '"brokerAddrs":{0:"%s"\n\t\t\t},' % br in a[5] and '"readQueueNums":4' in a[5]
    send = a[6].splitlines()
    assert send[0].split() == ["#Broker", "Name", "#QID", "#Send", "Result", "#MsgId"]
    uniq1 = send[1].split()[3]
    assert send[1].split()[:3] == ["broker-a", "1", "SEND_OK"] and re.fullmatch(r"[0-9A-F]{32}", uniq1)
    status = [ln.split() for ln in a[8].splitlines()[1:]]
    assert [r[:4] for r in status] == [["broker-a", str(q), "0", "2" if q == 1 else "0"] for q in range(4)]
    assert a[9].strip() == "DefaultCluster"
    kv = dict(re.match(r"(\S+)\s*: (.*)", ln).groups() for ln in a[10].splitlines() if ": " in ln)
    assert kv["brokerVersionDesc"] == "V4_9_4" and kv["msgPutTotalTodayNow"] == "2"
    assert len(kv["putTps"].split()) == 3 and "commitLogDiskRatio" in kv
    assert f"create subscription group to {br} success." in a[11]
    assert a[12].startswith(f"============{br}============") and re.search(r"brokerName\s+=  broker-a", a[12])
    assert a[13].strip() == f"update broker config success, {br}"
    assert re.search(r"fileReservedTime\s+=  47\n", a[14])
    assert a[15].startswith(f"============{ns}============")
    assert a[16].strip() == "create or update kv config to namespace success."
    assert a[17].strip() == "delete kv config from namespace success."
    assert a[18].strip() == f"update topic perm from 6 to 4 in {br} success."
    assert a[19].splitlines()[0].split() == ["#Message", "ID", "#QID", "#Offset"]
    assert a[19].splitlines()[1].split() == [uniq1, "1", "0"]
    detail = dict(re.match(r"(.+?):\s+(.*)", ln).groups() for ln in a[20].splitlines() if re.match(r"\w.*?:\s", ln))
    assert detail["Topic"] == TOPIC and detail["Tags"] == "[tagA]" and detail["Keys"] == "[key1]"
    assert detail["Queue ID"] == "1" and detail["Queue Offset"] == "0" and detail["Store Host"] == br
    assert f"UNIQ_KEY={uniq1}" in detail["Properties"] and "MIN_OFFSET=0, MAX_OFFSET=2" in detail["Properties"]
    assert a[20].rstrip().endswith("WARN: No Consumer")
    offset_id = detail["OffsetID"]
    assert f"MSGID: {uniq1} MessageExt [brokerName=broker-a, queueId=1" in a[21] and "BODY: hello-body" in a[21]
    assert "minOffset=0, maxOffset=2, MessageQueue [topic=AdmT, brokerName=broker-a, queueId=1]" in a[21]
    assert a[22].count("Consume ok") == 1 and "BODY: second" in a[22]

    # ----- an online consumer (heartbeat) and producer, then the consumer-side commands
    client = OnlineClient(ns, GROUP, PGROUP, [TOPIC])
    try:
        await client.heartbeat()
        for qid in range(4):      # a live consumer commits every queue it owns (reset needs them all)
            await client.commit(TOPIC, qid, 1 if qid == 1 else 0)
        phase_b = [
            ["topicList", *n, "-c"], ["consumerProgress", *n], ["consumerProgress", *n, "-g", GROUP],
            ["consumerConnection", *n, "-g", GROUP], ["producerConnection", *n, "-g", PGROUP, "-t", TOPIC],
            ["queryMsgById", *n, "-i", offset_id], ["queryMsgByUniqueKey", *n, "-i", uniq1, "-t", TOPIC],
            ["statsAll", *n, "-t", TOPIC], ["resetOffsetByTime", *n, "-g", GROUP, "-t", TOPIC, "-s", "now"],
            ["deleteSubGroup", *n, "-c", "DefaultCluster", "-g", GROUP],
            ["deleteTopic", *n, "-c", "DefaultCluster", "-t", TOPIC2], ["topicList", *n],
        ]
        b = await run_mqadmin(phase_b, tmp_path / "b")
    finally:
        await client.close()
    for cmd, out in zip(phase_b, b):
        no_error(cmd, out)
    assert any(ln.split() == ["DefaultCluster", TOPIC, GROUP] for ln in b[0].splitlines())
    prog = [ln.split() for ln in b[1].splitlines()]
    assert prog[0][0] == "#Group" and [GROUP, "1", "V4_9_4", "PUSH", "CLUSTERING", "0", "1"] in prog
    per_q = [ln.split() for ln in b[2].splitlines() if ln.startswith(TOPIC)]
    assert [r[:6] for r in per_q if r[2] == "1"] == [[TOPIC, "broker-a", "1", "2", "1", "1"]]
    assert "Diff Total: 1" in b[2]
    conn = b[3].splitlines()
    assert conn[0].split() == ["#ClientId", "#ClientAddr", "#Language", "#Version"]
    assert conn[1].split()[0] == client.client_id and conn[1].split()[2:] == ["JAVA", "V4_9_4"]
    assert f"{TOPIC}                 *" in b[3] and "ConsumeType: CONSUME_PASSIVELY" in b[3]
    assert "MessageModel: CLUSTERING" in b[3] and "ConsumeFromWhere: CONSUME_FROM_LAST_OFFSET" in b[3]
    assert re.match(rf"0001  {re.escape(client.client_id)}\s+127\.0\.0\.1:\d+\s+JAVA\s+V4_9_4", b[4])
    assert b[5].startswith(f"OffsetID:            {offset_id}\nTopic:               {TOPIC}")
    assert f"MessageTrack [consumerGroup={GROUP}, trackType=CONSUMED, exceptionDesc=null]" in b[5]
    assert b[6].startswith(f"Topic:               {TOPIC}\nTags:                [tagA]")
    stats = [ln.split() for ln in b[7].splitlines()[1:]]
    assert stats == [[TOPIC, GROUP, "1", stats[0][3], stats[0][4], "2", "1"]]
    assert b[8].startswith(f"rollback consumer offset by specified group[{GROUP}], topic[{TOPIC}], force[true]")
    assert [ln.split() for ln in b[8].splitlines() if ln.startswith("broker-a")] and client.reset_requests
    assert f"delete subscription group [{GROUP}] from broker [{br}] in cluster [DefaultCluster] success." in b[9]
    assert f"delete topic [%RETRY%{GROUP}] from NameServer success." in b[9]
    assert b[10].splitlines() == [f"delete topic [{TOPIC2}] from cluster [DefaultCluster] success.",
                                  f"delete topic [{TOPIC2}] from NameServer success."]
    assert TOPIC2 not in b[11].split() and TOPIC in b[11].split()


async def test_mqadmin_errors_are_javas(servers, tmp_path) -> None:
    """Unknown topic / unsupported request: the Java error text mqadmin prints."""
    outs = await run_mqadmin([["topicRoute", "-n", servers.namesrv, "-t", "NoSuchTopic"],
                              ["producerConnection", "-n", servers.namesrv, "-g", "nope", "-t", "TBW102"]],
                             tmp_path)
    assert "CODE: 17  DESC: No topic route info in name server for the topic: NoSuchTopic" in outs[0]
    assert "CODE: 1  DESC: the producer group[nope] not exist" in outs[1]
