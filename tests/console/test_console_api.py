"""The console's JSON API (aiohttp, no browser) against an rmqlite nameserver + broker subprocess pair,
with a fake cluster control for kill/restart. Skipped when aiohttp is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rmq_procs import free_port, start_broker, start_namesrv

aiohttp = pytest.importorskip("aiohttp", reason="the console needs aiohttp: pip install 'rmqlite[console]'")

from rmqlite.console import start_console  # noqa: E402
from rmqlite.console.control import ClusterControl, NodeInfo  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def namesrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("console")
    ns, addr = start_namesrv(work)
    port = free_port(pair=True)
    broker = None
    try:
        broker = start_broker(work, {"brokerClusterName": "DefaultCluster", "brokerName": "broker-a", "brokerId": "0",
                                     "brokerIP1": "127.0.0.1", "listenPort": str(port), "namesrvAddr": addr,
                                     "storePathRootDir": str(work / "store"), "autoCreateTopicEnable": "true"})
        yield addr
    finally:
        if broker is not None:
            broker.stop()
        ns.stop()


class FakeControl:
    """Records kill/restart; reports one node per the cluster's broker plus a dead one."""

    def __init__(self, broker_addr: str) -> None:
        self.calls: list[tuple[str, str]] = []
        self.broker_addr = broker_addr

    def nodes(self) -> list[NodeInfo]:
        return [NodeInfo("broker-a", "n0", "leader", self.broker_addr, 1234, True, 3),
                NodeInfo("broker-a", "n1", "follower", "127.0.0.1:1", None, False, 3)]

    async def kill(self, node_id: str) -> None:
        self.calls.append(("kill", node_id))

    async def restart(self, node_id: str) -> None:
        self.calls.append(("restart", node_id))


async def test_api_end_to_end(namesrv: str) -> None:
    from rmqlite.admin.ops import AdminClient
    async with AdminClient(namesrv) as admin:
        info = await admin.cluster_info()
    broker_addr = info["brokerAddrTable"]["broker-a"]["brokerAddrs"][0]
    control = FakeControl(broker_addr)
    assert isinstance(control, ClusterControl)
    console = await start_console(namesrv, "127.0.0.1", 0, control)
    try:
        assert console.url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession(console.url) as http:
            async def get(path: str, status: int = 200) -> object:
                async with http.get(path) as r:
                    assert r.status == status, await r.text()
                    return await r.json()

            async def post(path: str, body: object, status: int = 200) -> object:
                async with http.post(path, json=body) as r:
                    assert r.status == status, await r.text()
                    return await r.json()

            async with http.get("/") as r:
                assert r.status == 200 and "rmqlite console" in await r.text()
            c = await get("/api/cluster")
            nodes = {n["nodeId"]: n for g in c["groups"] for n in g["nodes"]}
            assert c["controlled"] and nodes["n0"]["role"] == "leader" and nodes["n0"]["raftTerm"] == 3
            assert nodes["n0"]["bid"] == 0 and nodes["n0"]["version"] == "V4_9_4" and not nodes["n1"]["alive"]
            assert await post("/api/nodes/n1/restart", {}) == {"ok": True}
            assert await post("/api/nodes/n0/kill", {}) == {"ok": True}
            assert control.calls == [("restart", "n1"), ("kill", "n0")]

            saved = await post("/api/topics", {"topic": "ApiT", "readQueues": 2, "writeQueues": 2})
            assert saved["brokers"] == [broker_addr]
            bad = await post("/api/topics", {"topic": "bad topic!"}, 400)
            assert "error" in bad
            kinds = {t["topic"]: t["kind"] for t in await get("/api/topics?kind=all")}
            assert kinds["ApiT"] == "normal" and kinds["TBW102"] == "system"
            assert [t["topic"] for t in await get("/api/topics?kind=normal")] == ["ApiT"]
            sent = await post("/api/topics/ApiT/send", {"body": "hello console", "keys": "K1", "tags": "TG"})
            assert sent["status"] == "SEND_OK"
            t = await get("/api/topics/ApiT")
            assert sum(q["maxOffset"] for q in t["queues"]) == 1 and len(t["queues"]) == 2
            assert (await get("/api/topics/NoSuch", 404))["error"].startswith("CODE 17")
            found = await get("/api/messages?topic=ApiT&key=K1")
            assert [m["msgId"] for m in found] == [sent["msgId"]]
            by_time = await get("/api/messages?topic=ApiT")
            assert [m["preview"] for m in by_time] == ["hello console"]
            by_id = await get(f"/api/messages?id={sent['offsetMsgId']}")
            assert by_id[0]["msgId"] == sent["msgId"]
            by_uniq = await get(f"/api/messages?id={sent['msgId']}&topic=ApiT")
            assert by_uniq[0]["offsetMsgId"] == sent["offsetMsgId"]
            detail = await get(f"/api/message?id={sent['offsetMsgId']}")
            assert detail["body"]["text"] == "hello console" and detail["properties"]["KEYS"] == "K1"
            assert detail["tags"] == "TG" and detail["tracks"] == []
            assert await get("/api/groups") == []
            g = await get("/api/groups/NoGroup")
            assert g["online"] is False and g["queues"] == []
            tps = await get("/api/tps")
            assert tps["interval"] > 0 and isinstance(tps["series"], dict)
            deleted = await http.delete("/api/topics/ApiT")
            assert deleted.status == 200
            assert "ApiT" not in {t["topic"] for t in await get("/api/topics?kind=all")}
    finally:
        await console.close()


async def test_console_on_unreachable_nameserver_answers_json_errors() -> None:
    console = await start_console("127.0.0.1:1", "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(console.url) as http:
            async with http.get("/api/cluster") as r:
                assert r.status == 502 and "unreachable" in (await r.json())["error"]
            async with http.post("/api/nodes/n0/kill") as r:
                assert r.status == 400 and "does not control" in (await r.json())["error"]
    finally:
        await console.close()
