"""A nameserver conversation replayed against any nameserver (ours or Java's) for comparison.

``run_scenario(addr, suffix)`` registers fake brokers (one RemotingClient = one connection
each, like real brokers), then asks every query code and returns one ``Step`` per response.
Names carry ``suffix`` so repeated runs against one long-lived server do not collide.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass

from rmqlite.namesrv.bodies import DataVersion, TopicConfig, encode_register_body
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient


@dataclass
class Step:
    label: str
    code: int
    remark: str | None
    ext: dict[str, str]
    body: bytes | None

    def show(self) -> str:
        body = self.body.decode("utf-8", "replace") if self.body is not None else None
        return f"{self.label}: code={self.code} remark={self.remark!r} ext={self.ext} body={body}"


def _register_ext(cluster: str, name: str, addr: str, bid: int, body: bytes,
                  compressed: bool = False, crc: int | None = None) -> dict[str, str]:
    return {"brokerName": name, "brokerAddr": addr, "clusterName": cluster,
            "haServerAddr": addr.rsplit(":", 1)[0] + ":" + str(int(addr.rsplit(":", 1)[1]) + 1),
            "brokerId": str(bid), "compressed": "true" if compressed else "false",
            "bodyCrc32": str(zlib.crc32(body) & 0x7FFFFFFF if crc is None else crc)}


async def run_scenario(addr: str, suffix: str = "") -> list[Step]:
    """Talk to the nameserver at ``addr``; return every response as a Step."""
    s = suffix
    ca, cb, cc = f"ClusterA{s}", f"ClusterB{s}", f"ClusterC{s}"
    ba, bb, bc = f"broker-a{s}", f"broker-b{s}", f"broker-c{s}"
    a0, a1, b0, c0 = "127.0.0.1:20911", "127.0.0.1:20921", "127.0.0.1:20931", "127.0.0.1:20941"
    topics_a = [TopicConfig(f"T{i}{s}", 8, 8, 6) for i in range(1, 14)] + [
        TopicConfig(f"TBW102{s}", 8, 8, 7), TopicConfig(f"Unit{s}", 4, 4, 6, topic_sys_flag=1),
        TopicConfig(f"UnitSub{s}", 4, 4, 6, topic_sys_flag=2)]
    clients = {k: RemotingClient(name=f"fake-{k}") for k in ("a0", "a1", "b0", "c0", "admin")}
    steps: list[Step] = []

    async def call(label: str, who: str, code: int, ext: dict[str, str] | None = None,
                   body: bytes | None = None, version: int = 401) -> Step:
        cmd = RemotingCommand.request(code, ext, body)
        cmd.version = version
        resp = await clients[who].invoke(addr, cmd, timeout_ms=5000)
        step = Step(label, resp.code, resp.remark, dict(resp.ext_fields), resp.body)
        steps.append(step)
        return step

    async def register(label: str, who: str, cluster: str, name: str, baddr: str, bid: int,
                       dv: DataVersion, topics: list[TopicConfig], compressed: bool = False,
                       crc: int | None = None) -> Step:
        body = encode_register_body(dv, topics, [], compressed=compressed)
        return await call(label, who, RequestCode.REGISTER_BROKER,
                          _register_ext(cluster, name, baddr, bid, body, compressed, crc), body)

    async def queries(tag: str) -> None:
        for topic in (f"T1{s}", f"T5{s}", f"X1{s}"):
            await call(f"{tag} route {topic} v401", "admin", RequestCode.GET_ROUTEINFO_BY_TOPIC,
                       {"topic": topic})
            await call(f"{tag} route {topic} v317", "admin", RequestCode.GET_ROUTEINFO_BY_TOPIC,
                       {"topic": topic}, version=317)
        await call(f"{tag} cluster", "admin", RequestCode.GET_BROKER_CLUSTER_INFO)
        await call(f"{tag} all topics", "admin", RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER)

    dv1 = DataVersion(1700000000000, 5)
    try:
        await register("reg a0", "a0", ca, ba, a0, 0, dv1, topics_a)
        await register("reg a1 (slave, compressed)", "a1", ca, ba, a1, 1, dv1, topics_a[:3],
                       compressed=True)
        await register("reg b0 (compressed)", "b0", ca, bb, b0, 0, DataVersion(1700000000001, 1),
                       [TopicConfig(f"T1{s}", 4, 4, 6), TopicConfig(f"T5{s}", 2, 2, 6),
                        TopicConfig(f"X1{s}", 1, 1, 6)], compressed=True)
        await register("reg c0", "c0", cb, bc, c0, 0, DataVersion(1700000000002, 1),
                       [TopicConfig(f"T1{s}", 2, 2, 6)])
        await register("reg bad crc", "c0", cb, bc, c0, 0, dv1, [], crc=12345)
        await queries("initial")
        await call("route T1 v317 std-only", "admin", RequestCode.GET_ROUTEINFO_BY_TOPIC,
                   {"topic": f"T1{s}", "acceptStandardJsonOnly": "true"}, version=317)
        await call("route missing", "admin", RequestCode.GET_ROUTEINFO_BY_TOPIC,
                   {"topic": f"Nope{s}"})
        await call("topics by cluster A", "admin", RequestCode.GET_TOPICS_BY_CLUSTER,
                   {"cluster": ca})
        await call("topics by unknown cluster", "admin", RequestCode.GET_TOPICS_BY_CLUSTER,
                   {"cluster": cc})
        await call("system topics", "admin", RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS)
        for code in (RequestCode.GET_UNIT_TOPIC_LIST, RequestCode.GET_HAS_UNIT_SUB_TOPIC_LIST,
                     RequestCode.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST):
            await call(f"unit list {int(code)}", "admin", code)
        # KV config
        ns = f"ORDER_TOPIC_CONFIG{s}"
        await call("kv put", "admin", RequestCode.PUT_KV_CONFIG,
                   {"namespace": ns, "key": f"T1{s}", "value": f"{ba}:8;{bb}:4"})
        await call("kv put 2", "admin", RequestCode.PUT_KV_CONFIG,
                   {"namespace": ns, "key": f"T5{s}", "value": f"{ba}:8"})
        await call("kv get", "admin", RequestCode.GET_KV_CONFIG, {"namespace": ns, "key": f"T1{s}"})
        await call("kv get missing", "admin", RequestCode.GET_KV_CONFIG,
                   {"namespace": ns, "key": "zz"})
        await call("kv list", "admin", RequestCode.GET_KVLIST_BY_NAMESPACE, {"namespace": ns})
        await call("kv delete", "admin", RequestCode.DELETE_KV_CONFIG,
                   {"namespace": ns, "key": f"T5{s}"})
        await call("kv list after delete", "admin", RequestCode.GET_KVLIST_BY_NAMESPACE,
                   {"namespace": ns})
        await call("kv list missing ns", "admin", RequestCode.GET_KVLIST_BY_NAMESPACE,
                   {"namespace": f"NoNs{s}"})
        # re-register: same DataVersion -> queues unchanged; new one -> updated
        changed = [TopicConfig(f"T1{s}", 16, 16, 6)] + topics_a[1:]
        await register("re-reg a0 same version", "a0", ca, ba, a0, 0, dv1, changed)
        await call("route T1 after same-version", "admin", RequestCode.GET_ROUTEINFO_BY_TOPIC,
                   {"topic": f"T1{s}"})
        dv2 = DataVersion(1700000000100, 6)
        await register("re-reg a0 new version", "a0", ca, ba, a0, 0, dv2, changed)
        await call("route T1 after new-version", "admin", RequestCode.GET_ROUTEINFO_BY_TOPIC,
                   {"topic": f"T1{s}"}, version=317)
        ver_ext = {"brokerName": ba, "brokerAddr": a0, "clusterName": ca, "brokerId": "0"}
        await call("query data version same", "a0", RequestCode.QUERY_DATA_VERSION, ver_ext,
                   b'{"counter":6,"timestamp":1700000000100}')
        await call("query data version other", "a0", RequestCode.QUERY_DATA_VERSION, ver_ext,
                   b'{"counter":7,"timestamp":1700000000200}')
        # write perm
        await call("wipe write perm a", "admin", RequestCode.WIPE_WRITE_PERM_OF_BROKER,
                   {"brokerName": ba})
        await call("route T1 after wipe", "admin", RequestCode.GET_ROUTEINFO_BY_TOPIC,
                   {"topic": f"T1{s}"})
        await call("add write perm a", "admin", RequestCode.ADD_WRITE_PERM_OF_BROKER,
                   {"brokerName": ba})
        await call("wipe write perm unknown", "admin", RequestCode.WIPE_WRITE_PERM_OF_BROKER,
                   {"brokerName": f"nobody{s}"})
        # delete topics
        await call("delete T5 in cluster A", "admin", RequestCode.DELETE_TOPIC_IN_NAMESRV,
                   {"topic": f"T5{s}", "clusterName": ca})
        await call("delete X1 everywhere", "admin", RequestCode.DELETE_TOPIC_IN_NAMESRV,
                   {"topic": f"X1{s}"})
        await queries("after delete")
        # slave -> master switch: a1's address registers as id 0
        await register("switch a1 to master", "a1", ca, ba, a1, 0, DataVersion(1700000000300, 1),
                       topics_a[:2])
        await queries("after switch")
        await register("reg a0 as slave", "a0", ca, ba, a0, 1, dv2, topics_a)
        await queries("after a0 slave")
        # order topic conf: register answers the ORDER_TOPIC_CONFIG KV list; the route carries
        # orderTopicConf only while orderMessageEnable=true
        await call("kv put order conf", "admin", RequestCode.PUT_KV_CONFIG,
                   {"namespace": "ORDER_TOPIC_CONFIG", "key": f"T1{s}", "value": f"{ba}:8"})
        await register("re-reg c0 (order conf body)", "c0", cb, bc, c0, 0,
                       DataVersion(1700000000002, 1), [TopicConfig(f"T1{s}", 2, 2, 6)])
        for enable in ("true", "false"):
            await call(f"orderMessageEnable={enable}", "admin", RequestCode.UPDATE_NAMESRV_CONFIG,
                       body=f"orderMessageEnable={enable}\n".encode())
            for version in (401, 317):
                await call(f"route T1 order={enable} v{version}", "admin",
                           RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": f"T1{s}"}, version=version)
        await call("kv delete order conf", "admin", RequestCode.DELETE_KV_CONFIG,
                   {"namespace": "ORDER_TOPIC_CONFIG", "key": f"T1{s}"})
        # unregister c0
        await call("unregister c0", "c0", RequestCode.UNREGISTER_BROKER,
                   {"brokerName": bc, "brokerAddr": c0, "clusterName": cb, "brokerId": "0"})
        await queries("after unregister c0")
        # b0's connection closes -> broker-b removed at once
        await clients["b0"].close()
        for _ in range(100):
            cmd = RemotingCommand.request(RequestCode.GET_BROKER_CLUSTER_INFO)
            resp = await clients["admin"].invoke(addr, cmd, timeout_ms=5000)
            if bb.encode() not in (resp.body or b""):
                break
            await asyncio.sleep(0.05)
        await queries("after b0 closed")
    finally:
        for client in clients.values():
            await client.close()
    return steps


async def cleanup(addr: str, suffix: str) -> None:
    """Unregister the scenario's remaining brokers (for long-lived servers)."""
    client = RemotingClient(name="cleanup")
    try:
        for cluster, name, baddr, bid in (
                (f"ClusterA{suffix}", f"broker-a{suffix}", "127.0.0.1:20921", 0),
                (f"ClusterA{suffix}", f"broker-a{suffix}", "127.0.0.1:20911", 1)):
            cmd = RemotingCommand.request(RequestCode.UNREGISTER_BROKER, {
                "brokerName": name, "brokerAddr": baddr, "clusterName": cluster,
                "brokerId": str(bid)})
            await client.invoke(addr, cmd, timeout_ms=5000)
    finally:
        await client.close()
