"""ACL on a running broker (``python -m rmqlite broker`` with aclEnable=true, ROCKETMQ_HOME/conf/plain_acl.yml):
raw protocol requests signed like AclClientRPCHook, in every topology.

Proves: refused requests have no side effect (nothing stored, a oneway offset commit ignored, no reply to it);
a replayed signed request is accepted (ACL 1.0 signs no nonce - Java accepts it too) while a tampered one is not;
the file is re-read when it changes (Java polls every 5 s) and the new rules apply without a restart.
RMQLITE_FEATURES_TARGET=real runs it against the real RocketMQ 4.9.4.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from feat_cluster import ACL_YML, TARGET, TOPOLOGIES, Cluster, start_cluster

from rmqlite.broker.acl import sign, signed_content
from rmqlite.client.api import Client
from rmqlite.common.message import encode_properties
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient

pytestmark = [pytest.mark.timeout(300)]
TOPOS = ["single"] if TARGET == "real" else TOPOLOGIES
ADMIN = ("rmqlite_admin", "admin-secret-1")
USER = ("rmqlite_user", "user-secret-1")
EXC = "org.apache.rocketmq.acl.common.AclException: "


@pytest.fixture(params=TOPOS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path):
    c = start_cluster(tmp_path / "c", request.param, {"aclEnable": "true"}, acl_yml=ACL_YML)
    yield c
    c.stop()


def signed(code: int, ext: dict[str, str], body: bytes | None, who: tuple[str, str] | None,
           oneway: bool = False) -> RemotingCommand:
    fields = dict(ext)
    if who is not None:
        fields["AccessKey"] = who[0]
        fields["Signature"] = sign(signed_content(fields, body), who[1])
    return RemotingCommand.request(code, fields, body, oneway=oneway)


def send_ext(topic: str) -> dict[str, str]:
    props = encode_properties({"UNIQ_KEY": f"U{random.randrange(10**12)}", "WAIT": "true"})
    return {"a": "PG_acl", "b": topic, "c": "TBW102", "d": "4", "e": "0", "f": "0",
            "g": str(int(time.time() * 1000)), "h": "0", "i": props, "j": "0", "k": "false", "m": "false"}


async def _scenario(cluster: Cluster) -> None:
    info = await Client(cluster.namesrv_addr).cluster_info()
    addr = info["brokerAddrTable"]["broker-a"]["brokerAddrs"]
    broker = addr.get(0) or addr.get("0")
    rc = RemotingClient()
    call = rc.invoke
    topic = f"AclRaw{random.randrange(10**6)}"
    try:
        create = {"topic": topic, "defaultTopic": "TBW102", "readQueueNums": "1", "writeQueueNums": "1",
                  "perm": "6", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false"}
        r = await call(broker, signed(RequestCode.UPDATE_AND_CREATE_TOPIC, create, None, USER))
        assert (r.code, r.remark.split(",")[0]) == (1, EXC + "Need admin permission for request code=17")
        r = await call(broker, signed(RequestCode.UPDATE_AND_CREATE_TOPIC, create, None, ADMIN))
        assert r.code == ResponseCode.SUCCESS, r.remark

        async def max_offset() -> int:
            resp = await call(broker, signed(RequestCode.GET_MAX_OFFSET, {"topic": topic, "queueId": "0"}, None, USER))
            assert resp.code == ResponseCode.SUCCESS, resp.remark
            return int(resp.ext_fields["offset"])

        good = signed(RequestCode.SEND_MESSAGE_V2, send_ext(topic), b"body-1", USER)
        assert (await call(broker, good)).code == ResponseCode.SUCCESS
        replay = RemotingCommand.request(good.code, dict(good.ext_fields), good.body)
        assert (await call(broker, replay)).code == ResponseCode.SUCCESS          # replayed: accepted, as in Java
        tampered = RemotingCommand.request(good.code, dict(good.ext_fields), b"body-2")
        r = await call(broker, tampered)
        assert (r.code, r.remark.split(",")[0]) == (1, EXC + "Check signature failed for accessKey=rmqlite_user")
        r = await call(broker, signed(RequestCode.SEND_MESSAGE_V2, send_ext(topic), b"x", None))
        assert (r.code, r.remark.split(",")[0]) == (1, EXC + "No accessKey is configured")
        assert await max_offset() == 2
        # a refused oneway request: no answer, no effect
        commit = {"consumerGroup": "GAcl", "topic": topic, "queueId": "0", "commitOffset": "2"}
        await rc.invoke_oneway(broker, signed(RequestCode.UPDATE_CONSUMER_OFFSET, commit, None, ("rmqlite_user", "bad-secret"),
                                              oneway=True))
        q = {"consumerGroup": "GAcl", "topic": topic, "queueId": "0"}
        r = await call(broker, signed(RequestCode.QUERY_CONSUMER_OFFSET, q, None, USER))
        assert not (r.code == ResponseCode.SUCCESS and r.ext_fields.get("offset") == "2")
        # reload: the user loses PUB on every topic
        assert cluster.home is not None
        (cluster.home / "conf" / "plain_acl.yml").write_text(
            ACL_YML.replace("defaultTopicPerm: PUB|SUB", "defaultTopicPerm: SUB"))
        deadline = time.monotonic() + 20
        while True:
            r = await call(broker, signed(RequestCode.SEND_MESSAGE_V2, send_ext(topic), b"y", USER))
            if r.code != ResponseCode.SUCCESS or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert (r.code, r.remark.split(",")[0]) == (1, EXC + f"No default permission for topic:{topic}")
        stored = await max_offset()
        r = await call(broker, signed(RequestCode.SEND_MESSAGE_V2, send_ext(topic), b"z", USER))
        assert r.code == 1 and await max_offset() == stored
    finally:
        await rc.close()


def test_refusals_replay_and_reload(cluster: Cluster) -> None:
    asyncio.run(_scenario(cluster))
