"""Admin operations over the remoting protocol (what ``DefaultMQAdminExt`` does), for the CLI and console.

How it works:
1. ``AdminClient`` extends ``rmqlite.client.api.Client``: every method sends the same request codes
   and headers as mqadmin 4.9.4 and returns plain Python data (dicts keyed like the Java beans,
   ``MQ`` tuples for MessageQueue keys). It talks to any RocketMQ 4.x nameserver/broker.
2. A failed request raises ``ClientError(code, remark)``; an unreachable address raises the
   transport's ``RemotingConnectError`` / ``RemotingTimeout``. Callers turn them into one line.
3. Multi-broker operations follow mqadmin: the nameserver route (or cluster table) gives the
   brokers, ``select_addr`` picks the master else any replica, results are merged.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from rmqlite.client.api import Client, ClientError, _ok
from rmqlite.common import message as m
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand

__all__ = ["AdminClient", "MQ", "ClientError", "select_addr", "TOOLS_CONSUMER_GROUP", "RETRY_PREFIX", "DLQ_PREFIX"]

TOOLS_CONSUMER_GROUP = "TOOLS_CONSUMER"
RETRY_PREFIX = "%RETRY%"
DLQ_PREFIX = "%DLQ%"


class MQ(NamedTuple):
    """A MessageQueue; sorts like Java's ``MessageQueue.compareTo`` (topic, broker, queue id)."""

    topic: str
    broker_name: str
    queue_id: int


def _mq(key: Any) -> MQ:
    d = key.as_dict() if isinstance(key, fastjson.ObjKey) else dict(key)
    return MQ(str(d.get("topic", "")), str(d.get("brokerName", "")), int(d.get("queueId", 0)))


def select_addr(broker_data: dict[str, Any]) -> str | None:
    """``BrokerData.selectBrokerAddr``: the master (id 0), else any replica."""
    addrs = {int(k): v for k, v in (broker_data.get("brokerAddrs") or {}).items()}
    return addrs.get(0) or next(iter(addrs.values()), None)


def _body(resp: RemotingCommand) -> Any:
    return fastjson.loads(resp.body or b"{}")


def parse_properties_text(text: str) -> dict[str, str]:
    """``MixAll.string2Properties``: ``key=value`` lines (order kept)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


class AdminClient(Client):
    """mqadmin's operations; ``namesrv`` is ``host:port[;host:port]``."""

    # ------------------------------------------------------------------ nameserver
    async def route_data(self, topic: str) -> dict[str, Any]:
        """Raw TopicRouteData (brokerDatas, queueDatas, filterServerTable)."""
        resp = _ok(await self.call_namesrv(RemotingCommand.request(
            RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": topic})))
        return _body(resp)

    async def topic_list(self) -> list[str]:
        resp = _ok(await self.call_namesrv(RemotingCommand.request(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER)))
        return list(_body(resp).get("topicList", []))

    async def topics_by_cluster(self, cluster: str) -> list[str]:
        resp = _ok(await self.call_namesrv(RemotingCommand.request(
            RequestCode.GET_TOPICS_BY_CLUSTER, {"cluster": cluster})))
        return list(_body(resp).get("topicList", []))

    async def masters_of_cluster(self, cluster: str) -> list[str]:
        """``CommandUtil.fetchMasterAddrByClusterName`` (raises when the cluster is unknown)."""
        info = await self.cluster_info()
        names = (info.get("clusterAddrTable") or {}).get(cluster)
        if names is None:
            raise ClientError(ResponseCode.SYSTEM_ERROR, f"Make sure the specified clusterName exists or the name server "
                                                         f"connected to is correct.")
        out = []
        for name in sorted(names):
            bd = (info.get("brokerAddrTable") or {}).get(name) or {}
            addr = {int(k): v for k, v in (bd.get("brokerAddrs") or {}).items()}.get(0)
            if addr:
                out.append(addr)
        return out

    async def all_addrs_of_cluster(self, cluster: str) -> list[str]:
        info = await self.cluster_info()
        names = (info.get("clusterAddrTable") or {}).get(cluster)
        if names is None:
            raise ClientError(ResponseCode.SYSTEM_ERROR, "Make sure the specified clusterName exists or the name server "
                                                         "connected to is correct.")
        out = []
        for name in sorted(names):
            bd = (info.get("brokerAddrTable") or {}).get(name) or {}
            out += [v for _, v in sorted((int(k), v) for k, v in (bd.get("brokerAddrs") or {}).items())]
        return out

    async def broker_name_of(self, addr: str) -> str | None:
        info = await self.cluster_info()
        for name, bd in (info.get("brokerAddrTable") or {}).items():
            if addr in (bd.get("brokerAddrs") or {}).values():
                return name
        return None

    async def topic_clusters(self, topic: str) -> list[str]:
        """``getTopicClusterList``: clusters holding the first broker of the route."""
        info = await self.cluster_info()
        route = await self.route_data(topic)
        datas = route.get("brokerDatas") or []
        if not datas:
            return []
        name = datas[0].get("brokerName")
        return [c for c, names in (info.get("clusterAddrTable") or {}).items() if name in names]

    async def delete_topic_in_namesrv(self, topic: str) -> None:
        for addr in self.namesrvs:
            _ok(await self.call(addr, RemotingCommand.request(RequestCode.DELETE_TOPIC_IN_NAMESRV, {"topic": topic})))

    async def put_kv(self, namespace: str, key: str, value: str) -> None:
        for addr in self.namesrvs:
            _ok(await self.call(addr, RemotingCommand.request(
                RequestCode.PUT_KV_CONFIG, {"namespace": namespace, "key": key, "value": value})))

    async def delete_kv(self, namespace: str, key: str) -> None:
        for addr in self.namesrvs:
            _ok(await self.call(addr, RemotingCommand.request(
                RequestCode.DELETE_KV_CONFIG, {"namespace": namespace, "key": key})))

    async def namesrv_config(self, addr: str) -> dict[str, str]:
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.GET_NAMESRV_CONFIG)))
        return parse_properties_text((resp.body or b"").decode("utf-8", "replace"))

    # ------------------------------------------------------------------ broker: config and stats
    async def runtime_info(self, addr: str) -> dict[str, str]:
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.GET_BROKER_RUNTIME_INFO)))
        return dict(_body(resp).get("table", {}))

    async def broker_config(self, addr: str) -> dict[str, str]:
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.GET_BROKER_CONFIG)))
        return parse_properties_text((resp.body or b"").decode("utf-8", "replace"))

    async def update_broker_config(self, addr: str, props: dict[str, str]) -> None:
        body = "".join(f"{k}={v}\n" for k, v in props.items()).encode("utf-8")
        _ok(await self.call(addr, RemotingCommand.request(RequestCode.UPDATE_BROKER_CONFIG, body=body)))

    async def stats_data(self, addr: str, name: str, key: str) -> dict[str, Any]:
        """BrokerStatsData {statsMinute, statsHour, statsDay: {sum, tps, avgpt}}."""
        resp = _ok(await self.call(addr, RemotingCommand.request(
            RequestCode.VIEW_BROKER_STATS_DATA, {"statsName": name, "statsKey": key})))
        return _body(resp)

    # ------------------------------------------------------------------ broker: topics and groups
    async def update_topic(self, addr: str, topic: str, read: int = 8, write: int = 8, perm: int = 6,
                           sys_flag: int = 0, order: bool = False) -> None:
        _ok(await self.call(addr, RemotingCommand.request(RequestCode.UPDATE_AND_CREATE_TOPIC, {
            "topic": topic, "defaultTopic": "TBW102", "readQueueNums": str(read), "writeQueueNums": str(write),
            "perm": str(perm), "topicFilterType": "SINGLE_TAG", "topicSysFlag": str(sys_flag),
            "order": "true" if order else "false"})))

    async def delete_topic_in_broker(self, addr: str, topic: str) -> None:
        _ok(await self.call(addr, RemotingCommand.request(RequestCode.DELETE_TOPIC_IN_BROKER, {"topic": topic})))

    async def topic_configs(self, addr: str) -> dict[str, Any]:
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.GET_ALL_TOPIC_CONFIG)))
        return dict(_body(resp).get("topicConfigTable", {}))

    async def sub_groups(self, addr: str) -> dict[str, Any]:
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG)))
        return dict(_body(resp).get("subscriptionGroupTable", {}))

    async def update_sub_group(self, addr: str, config: dict[str, Any]) -> None:
        body = fastjson.dumps(dict(sorted(config.items()))).encode("utf-8")
        _ok(await self.call(addr, RemotingCommand.request(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, body=body)))

    async def delete_sub_group(self, addr: str, group: str, remove_offset: bool = False) -> None:
        _ok(await self.call(addr, RemotingCommand.request(RequestCode.DELETE_SUBSCRIPTIONGROUP, {
            "groupName": group, "removeOffset": "true" if remove_offset else "false"})))

    async def topic_stats(self, addr: str, topic: str) -> dict[MQ, dict[str, int]]:
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.GET_TOPIC_STATS_INFO, {"topic": topic})))
        return {_mq(k): v for k, v in (_body(resp).get("offsetTable") or {}).items()}

    async def examine_topic_stats(self, topic: str) -> dict[MQ, dict[str, int]]:
        """Per-queue min/max offsets over every broker of the route."""
        route = await self.route_data(topic)
        out: dict[MQ, dict[str, int]] = {}
        for bd in route.get("brokerDatas") or []:
            addr = select_addr(bd)
            if addr:
                out.update(await self.topic_stats(addr, topic))
        if not out:
            raise ClientError(ResponseCode.SYSTEM_ERROR, "Not found the topic stats info")
        return dict(sorted(out.items()))

    async def consume_stats(self, addr: str, group: str, topic: str | None = None) -> tuple[dict[MQ, dict], float]:
        ext = {"consumerGroup": group}
        if topic:
            ext["topic"] = topic
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.GET_CONSUME_STATS, ext),
                                   self.timeout_ms * 3))
        body = _body(resp)
        return {_mq(k): v for k, v in (body.get("offsetTable") or {}).items()}, float(body.get("consumeTps", 0.0))

    async def examine_consume_stats(self, group: str, topic: str | None = None) -> tuple[dict[MQ, dict], float]:
        """Per-queue broker/consumer offsets of ``group`` (route of %RETRY%group), and its TPS."""
        route = await self.route_data(RETRY_PREFIX + group)
        table: dict[MQ, dict] = {}
        tps = 0.0
        for bd in route.get("brokerDatas") or []:
            addr = select_addr(bd)
            if addr:
                part, part_tps = await self.consume_stats(addr, group, topic)
                table.update(part)
                tps += part_tps
        if not table:
            raise ClientError(ResponseCode.CONSUMER_NOT_ONLINE,
                              "Not found the consumer group consume stats, because return offset table is empty, "
                              "maybe the consumer not consume any message")
        return dict(sorted(table.items())), tps

    async def consumer_connection(self, addr: str, group: str) -> dict[str, Any]:
        resp = _ok(await self.call(addr, RemotingCommand.request(
            RequestCode.GET_CONSUMER_CONNECTION_LIST, {"consumerGroup": group})))
        return _body(resp)

    async def examine_consumer_connection(self, group: str, addr: str | None = None) -> dict[str, Any]:
        if addr is None:
            route = await self.route_data(RETRY_PREFIX + group)
            datas = route.get("brokerDatas") or []
            addr = select_addr(datas[0]) if datas else None
        cc = await self.consumer_connection(addr, group) if addr else {}
        if not cc.get("connectionSet"):
            raise ClientError(ResponseCode.CONSUMER_NOT_ONLINE, "Not found the consumer group connection")
        return cc

    async def producer_connection(self, group: str, topic: str) -> dict[str, Any]:
        route = await self.route_data(topic)
        datas = route.get("brokerDatas") or []
        addr = select_addr(datas[0]) if datas else None
        pc: dict[str, Any] = {}
        if addr:
            resp = _ok(await self.call(addr, RemotingCommand.request(
                RequestCode.GET_PRODUCER_CONNECTION_LIST, {"producerGroup": group})))
            pc = _body(resp)
        if not pc.get("connectionSet"):
            raise ClientError(ResponseCode.SYSTEM_ERROR, "Not found the producer group connection")
        return pc

    async def consumed_by(self, topic: str) -> list[str]:
        """QUERY_TOPIC_CONSUME_BY_WHO over the route's brokers (union)."""
        route = await self.route_data(topic)
        groups: set[str] = set()
        for bd in route.get("brokerDatas") or []:
            addr = select_addr(bd)
            if addr:
                resp = _ok(await self.call(addr, RemotingCommand.request(
                    RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, {"topic": topic})))
                groups.update(_body(resp).get("groupList", []))
        return sorted(groups)

    # ------------------------------------------------------------------ offsets
    async def search_offset(self, addr: str, topic: str, queue_id: int, timestamp: int) -> int:
        resp = _ok(await self.call(addr, RemotingCommand.request(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, {
            "topic": topic, "queueId": str(queue_id), "timestamp": str(timestamp)})))
        return int(resp.ext_fields["offset"])

    async def update_consumer_offset(self, addr: str, group: str, mq: MQ, offset: int) -> None:
        _ok(await self.call(addr, RemotingCommand.request(RequestCode.UPDATE_CONSUMER_OFFSET, {
            "consumerGroup": group, "topic": mq.topic, "queueId": str(mq.queue_id), "commitOffset": str(offset)})))

    async def reset_offset_by_time(self, topic: str, group: str, timestamp: int, force: bool = True,
                                   cpp: bool = False) -> dict[MQ, int]:
        """INVOKE_BROKER_TO_RESET_OFFSET on every broker of the topic (consumers must be online)."""
        route = await self.route_data(topic)
        table: dict[MQ, int] = {}
        for bd in route.get("brokerDatas") or []:
            addr = select_addr(bd)
            if not addr:
                continue
            cmd = RemotingCommand.request(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
                "topic": topic, "group": group, "timestamp": str(timestamp), "isForce": "true" if force else "false"})
            if cpp:
                cmd.language = "CPP"
            resp = await self.call(addr, cmd)
            if resp.code != ResponseCode.SUCCESS:
                raise ClientError(resp.code, resp.remark)
            if resp.body:
                body = _body(resp)
                offsets = body.get("offsetTable") or {}
                if isinstance(offsets, dict):
                    table.update({_mq(k): int(v) for k, v in offsets.items()})
        return table

    async def reset_offset_old(self, topic: str, group: str, timestamp: int, force: bool) -> list[dict[str, Any]]:
        """``resetOffsetByTimestampOld``: write the offsets directly (consumer offline)."""
        route = await self.route_data(topic)
        read_nums = {q["brokerName"]: int(q["readQueueNums"]) for q in route.get("queueDatas") or []}
        out: list[dict[str, Any]] = []
        for bd in route.get("brokerDatas") or []:
            addr = select_addr(bd)
            if not addr:
                continue
            try:
                table, _ = await self.consume_stats(addr, group)
            except ClientError:
                table = {}
            wrappers = {mq: w for mq, w in table.items() if mq.topic == topic}
            if not wrappers:
                stats = await self.topic_stats(addr, topic)
                for qid in range(read_nums.get(bd["brokerName"], 0)):
                    mq = MQ(topic, bd["brokerName"], qid)
                    st = stats.get(mq, {})
                    wrappers[mq] = {"brokerOffset": st.get("maxOffset", 0), "consumerOffset": st.get("minOffset", 0)}
            for mq, w in sorted(wrappers.items()):
                if timestamp == -1:
                    target = await self.max_offset(addr, topic, mq.queue_id)
                else:
                    target = await self.search_offset(addr, topic, mq.queue_id, timestamp)
                rollback = int(w.get("consumerOffset", 0))
                if force or target <= rollback:
                    rollback = target
                    await self.update_consumer_offset(addr, group, mq, target)
                out.append({"brokerName": mq.broker_name, "queueId": mq.queue_id,
                            "brokerOffset": int(w.get("brokerOffset", 0)),
                            "consumerOffset": int(w.get("consumerOffset", 0)),
                            "timestampOffset": target, "rollbackOffset": rollback})
        return out

    # ------------------------------------------------------------------ messages
    async def view_message_by_id(self, msg_id: str) -> m.MessageExt:
        """VIEW_MESSAGE_BY_ID at the broker encoded in an offset msg id."""
        host, port, offset = m.decode_offset_msg_id(msg_id)
        if not 0 < port < 65536 or offset < 0:
            raise m.RecordError(f"{msg_id} is not an offset message id (port {port}, offset {offset})")
        return await self.view_message(f"{host}:{port}", offset)

    async def query_message(self, topic: str, key: str, max_num: int = 64, begin: int = 0,
                            end: int = 2 ** 63 - 1, unique: bool = False) -> list[m.MessageExt]:
        """QUERY_MESSAGE on every broker of the route (index by key, or by UNIQ_KEY with ``unique``)."""
        route = await self.route_data(topic)
        found: list[m.MessageExt] = []
        for bd in route.get("brokerDatas") or []:
            addr = select_addr(bd)
            if not addr:
                continue
            ext = {"topic": topic, "key": key, "maxNum": str(max_num), "beginTimestamp": str(begin),
                   "endTimestamp": str(end)}
            if unique:
                ext["_UNIQUE_KEY_QUERY"] = "true"
            resp = await self.call(addr, RemotingCommand.request(RequestCode.QUERY_MESSAGE, ext), 15_000)
            if resp.code == ResponseCode.QUERY_NOT_FOUND:
                continue
            _ok(resp)
            for msg in m.decode_records(resp.body or b""):
                if unique and msg.uniq_key != key:
                    continue
                if not unique and key not in msg.keys:
                    continue
                found.append(msg)
        if not found:
            raise ClientError(ResponseCode.QUERY_NOT_FOUND, "query message by key finished, but no message.")
        return found

    async def search_messages_by_time(self, topic: str, begin: int, end: int, limit: int = 64,
                                      group: str = TOOLS_CONSUMER_GROUP) -> list[tuple[str, m.MessageExt]]:
        """Messages of ``topic`` stored in [begin, end] (ms), every queue, newest first, at most ``limit``."""
        route = await self.route(topic)
        out: list[tuple[str, m.MessageExt]] = []
        for broker, qid in route.read_queues():
            addr = route.master_of(broker)
            lo = await self.search_offset(addr, topic, qid, begin)
            hi = await self.max_offset(addr, topic, qid)
            lo = max(lo, hi - limit)
            while lo < hi:
                res = await self.pull(addr, group, topic, qid, lo, min(32, hi - lo))
                if not res.messages:
                    break
                out += [(broker, msg) for msg in res.messages if begin <= msg.store_timestamp <= end]
                lo = res.next_begin_offset
        out.sort(key=lambda bm: bm[1].store_timestamp, reverse=True)
        return out[:limit]

    async def send_message(self, topic: str, body: bytes, tags: str | None = None, keys: str | None = None,
                           broker: str | None = None, queue_id: int | None = None,
                           properties: dict[str, str] | None = None) -> Any:
        """Send one message: to (broker, queue) when given, else round-robin from a random start."""
        route = await self.route(topic)
        queues = route.write_queues()
        if broker is not None and queue_id is not None:
            target = (broker, queue_id)
        else:
            if broker is not None:
                queues = [q for q in queues if q[0] == broker]
            if not queues:
                raise ClientError(ResponseCode.TOPIC_NOT_EXIST, f"No route info of this topic: {topic}")
            target = queues[int(time.time() * 1000) % len(queues)]
        return await self.send(route, target[0], target[1], body, tags=tags, keys=keys, properties=properties)

    async def resend_to_group(self, msg: m.MessageExt, group: str, client_id: str | None = None) -> dict[str, Any]:
        """CONSUME_MESSAGE_DIRECTLY: ask one online consumer of ``group`` to consume ``msg`` now."""
        cc = await self.examine_consumer_connection(group)
        conns = cc.get("connectionSet") or []
        if client_id:
            conns = [c for c in conns if c.get("clientId") == client_id]
        if not conns:
            raise ClientError(ResponseCode.CONSUMER_NOT_ONLINE, f"the consumer group[{group}] not online")
        broker = f"{msg.store_host[0]}:{msg.store_host[1]}"
        resp = _ok(await self.call(broker, RemotingCommand.request(RequestCode.CONSUME_MESSAGE_DIRECTLY, {
            "consumerGroup": group, "clientId": conns[0]["clientId"], "msgId": msg.offset_msg_id}),
            15_000))
        return _body(resp) if resp.body else {}
