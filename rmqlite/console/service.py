"""What the console's JSON API returns: cluster, topics, consumer groups, messages (no HTTP here).

How it works:
1. ``ConsoleService`` wraps one ``AdminClient`` (short timeouts, so a dead broker costs one timeout
   and shows as down instead of stalling a page) and an optional ``ClusterControl``.
2. Every public coroutine returns JSON-ready dicts/lists; failures raise ``ClientError`` /
   transport errors / ``ValueError`` that the HTTP layer turns into ``{"error": ...}``.
3. ``TpsSampler`` polls GET_BROKER_RUNTIME_INFO of every broker every ``interval_s`` and keeps the
   last ``keep`` samples (putTps / getTransferedTps, 10 s windows) for the charts.
4. Topic kinds: ``retry`` (%RETRY%), ``dlq`` (%DLQ%), ``system`` (broker built-ins and the
   cluster/broker-name topics), else ``normal``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import deque
from typing import Any

from rmqlite.admin.javafmt import version_desc
from rmqlite.admin.ops import DLQ_PREFIX, RETRY_PREFIX, AdminClient, ClientError
from rmqlite.common import message as m
from rmqlite.remoting.codes import ResponseCode
from rmqlite.remoting.transport import RemotingError

__all__ = ["ConsoleService", "TpsSampler", "topic_kind"]

_SYSTEM_TOPICS = {"TBW102", "SCHEDULE_TOPIC_XXXX", "BenchmarkTest", "OFFSET_MOVED_EVENT", "SELF_TEST_TOPIC",
                  "RMQ_SYS_TRANS_HALF_TOPIC", "RMQ_SYS_TRANS_OP_HALF_TOPIC", "RMQ_SYS_TRACE_TOPIC",
                  "TRANS_CHECK_MAX_TIME_TOPIC"}


def topic_kind(topic: str, cluster_names: set[str], broker_names: set[str]) -> str:
    if topic.startswith(RETRY_PREFIX):
        return "retry"
    if topic.startswith(DLQ_PREFIX):
        return "dlq"
    if topic in _SYSTEM_TOPICS or topic in cluster_names or topic in broker_names or topic.endswith("_REPLY_TOPIC"):
        return "system"
    return "normal"


def _first(text: str | None) -> float:
    try:
        return float((text or "0").split()[0])
    except (ValueError, IndexError):
        return 0.0


class TpsSampler:
    """Samples every broker's TPS every ``interval_s``; ``series()`` gives the history."""

    def __init__(self, admin: AdminClient, interval_s: float = 2.0, keep: int = 300) -> None:
        self.admin = admin
        self.interval_s = interval_s
        self.samples: dict[str, deque[tuple[int, float, float]]] = {}
        self._keep = keep
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.sample_once()
            except Exception:
                pass
            await asyncio.sleep(self.interval_s)

    async def sample_once(self) -> None:
        info = await self.admin.cluster_info()
        now = int(time.time() * 1000)
        targets = [(name, addr) for name, bd in (info.get("brokerAddrTable") or {}).items()
                   for addr in (bd.get("brokerAddrs") or {}).values()]
        results = await asyncio.gather(*(self.admin.runtime_info(a) for _, a in targets), return_exceptions=True)
        for (name, addr), kv in zip(targets, results):
            if isinstance(kv, BaseException):
                continue
            key = f"{name}@{addr}"
            series = self.samples.setdefault(key, deque(maxlen=self._keep))
            series.append((now, _first(kv.get("putTps")), _first(kv.get("getTransferedTps"))))

    def series(self) -> dict[str, list[list[float]]]:
        return {k: [list(s) for s in v] for k, v in sorted(self.samples.items())}


class ConsoleService:
    """The console's operations over one nameserver address list."""

    def __init__(self, namesrv: str, control: Any = None, timeout_ms: int = 3000) -> None:
        self.namesrv = namesrv
        self.admin = AdminClient(namesrv, timeout_ms=timeout_ms)
        self.control = control
        self.sampler = TpsSampler(self.admin)

    async def close(self) -> None:
        await self.sampler.stop()
        await self.admin.close()

    # ------------------------------------------------------------------ cluster
    async def cluster(self) -> dict[str, Any]:
        info = await self.admin.cluster_info()
        rows: list[tuple[str, str, int, str]] = []
        for cluster, names in (info.get("clusterAddrTable") or {}).items():
            for name in sorted(names):
                bd = (info.get("brokerAddrTable") or {}).get(name) or {}
                for bid, addr in sorted((int(k), v) for k, v in (bd.get("brokerAddrs") or {}).items()):
                    rows.append((cluster, name, bid, addr))
        kvs = await asyncio.gather(*(self.admin.runtime_info(r[3]) for r in rows), return_exceptions=True)
        nodes: dict[str, dict[str, Any]] = {}
        cluster_of: dict[str, str] = {}
        for (cluster, name, bid, addr), kv in zip(rows, kvs):
            cluster_of[name] = cluster
            nodes[addr] = self._node_row(cluster, name, bid, addr, None if isinstance(kv, BaseException) else kv)
        if self.control is not None:
            for n in self.control.nodes():
                row = nodes.get(n.addr) or self._node_row(cluster_of.get(n.group, ""), n.group, None, n.addr, None)
                role = n.role
                if row.get("bid") is not None and str(role).upper() in ("MASTER", "SLAVE", ""):
                    role = "MASTER" if row["bid"] == 0 else "SLAVE"     # the nameserver's view is the fresher
                elif not n.alive:
                    role = "DOWN"
                row.update({"nodeId": n.node_id, "role": role, "pid": n.pid, "alive": bool(n.alive),
                            "raftTerm": n.raft_term if n.raft_term is not None else row.get("raftTerm")})
                nodes[n.addr] = row
        groups: dict[str, dict[str, Any]] = {}
        namesrvs = [r for r in nodes.values() if str(r.get("role", "")).upper() == "NAMESRV"]
        for row in nodes.values():
            if row in namesrvs:
                continue
            g = groups.setdefault(row["group"], {"name": row["group"], "cluster": row["cluster"], "nodes": []})
            g["nodes"].append(row)
        for g in groups.values():
            g["nodes"].sort(key=lambda r: (r.get("nodeId") or "", r["addr"]))
            g["masters"] = sum(1 for r in g["nodes"] if r.get("bid") == 0)
        return {"namesrv": self.namesrv, "controlled": self.control is not None, "namesrvNodes": namesrvs,
                "groups": sorted(groups.values(), key=lambda g: g["name"]), "now": int(time.time() * 1000)}

    @staticmethod
    def _node_row(cluster: str, group: str, bid: int | None, addr: str, kv: dict[str, str] | None) -> dict[str, Any]:
        row: dict[str, Any] = {"cluster": cluster, "group": group, "bid": bid, "addr": addr, "nodeId": None,
                               "role": "master" if bid == 0 else ("slave" if bid is not None else "unknown"),
                               "pid": None, "alive": kv is not None, "raftTerm": None, "registered": bid is not None}
        if kv:
            row.update({"version": kv.get("brokerVersionDesc", ""), "inTps": _first(kv.get("putTps")),
                        "outTps": _first(kv.get("getTransferedTps")),
                        "diskRatio": float(kv.get("commitLogDiskRatio") or 0.0),
                        "diskCapacity": kv.get("commitLogDirCapacity", ""),
                        "putToday": int(kv.get("msgPutTotalTodayNow") or 0),
                        "getToday": int(kv.get("msgGetTotalTodayNow") or 0),
                        "commitLogMaxOffset": int(kv.get("commitLogMaxOffset") or 0),
                        "runtime": kv.get("runtime", ""),
                        "raftTerm": int(kv["dLedgerTerm"]) if kv.get("dLedgerTerm") else None,
                        "raftRole": kv.get("dLedgerRole")})
        return row

    async def kill(self, node_id: str) -> None:
        if self.control is None:
            raise ValueError("this console does not control the cluster (start it with python -m rmqlite cluster)")
        await self.control.kill(node_id)

    async def restart(self, node_id: str) -> None:
        if self.control is None:
            raise ValueError("this console does not control the cluster (start it with python -m rmqlite cluster)")
        await self.control.restart(node_id)

    # ------------------------------------------------------------------ topics
    async def topics(self, kind: str = "all") -> list[dict[str, Any]]:
        info = await self.admin.cluster_info()
        clusters = set((info.get("clusterAddrTable") or {}))
        brokers = set((info.get("brokerAddrTable") or {}))
        names = await self.admin.topic_list()
        configs: dict[str, dict[str, Any]] = {}
        masters = [(n, {int(k): v for k, v in (bd.get("brokerAddrs") or {}).items()}.get(0))
                   for n, bd in (info.get("brokerAddrTable") or {}).items()]
        results = await asyncio.gather(*(self.admin.topic_configs(a) for _, a in masters if a), return_exceptions=True)
        for (bname, _), table in zip([x for x in masters if x[1]], results):
            if isinstance(table, BaseException):
                continue
            for topic, cfg in table.items():
                c = configs.setdefault(topic, {"brokers": [], "readQueues": 0, "writeQueues": 0, "perm": cfg.get("perm", 6),
                                               "order": bool(cfg.get("order", False))})
                c["brokers"].append(bname)
                c["readQueues"] += int(cfg.get("readQueueNums", 0))
                c["writeQueues"] += int(cfg.get("writeQueueNums", 0))
        out = []
        for topic in sorted(set(names), key=str.lower):
            k = topic_kind(topic, clusters, brokers)
            if kind not in ("all", "", None) and k != kind:
                continue
            c = configs.get(topic, {"brokers": [], "readQueues": 0, "writeQueues": 0, "perm": None, "order": False})
            out.append({"topic": topic, "kind": k, **c})
        return out

    async def topic(self, topic: str) -> dict[str, Any]:
        route = await self.admin.route_data(topic)
        stats = await self.admin.examine_topic_stats(topic)
        groups: list[str] = []
        try:
            groups = await self.admin.consumed_by(topic)
        except ClientError:
            pass
        queues = [{"broker": mq.broker_name, "queueId": mq.queue_id, "minOffset": s.get("minOffset", 0),
                   "maxOffset": s.get("maxOffset", 0), "lastUpdate": s.get("lastUpdateTimestamp", 0)}
                  for mq, s in stats.items()]
        return {"topic": topic, "route": {
            "brokerDatas": [{"brokerName": b.get("brokerName"), "cluster": b.get("cluster"),
                             "brokerAddrs": {str(k): v for k, v in (b.get("brokerAddrs") or {}).items()}}
                            for b in route.get("brokerDatas") or []],
            "queueDatas": route.get("queueDatas") or []},
            "queues": queues, "groups": groups,
            "totalMessages": sum(q["maxOffset"] - q["minOffset"] for q in queues)}

    async def save_topic(self, topic: str, read: int, write: int, perm: int = 6, order: bool = False,
                         cluster: str | None = None, broker: str | None = None) -> list[str]:
        """Create or update ``topic`` on one broker address or on every master of ``cluster``."""
        from rmqlite.broker.topics import validate_topic
        bad = validate_topic(topic)
        if bad:
            raise ValueError(bad)
        if not (1 <= read <= 1024 and 1 <= write <= 1024) or perm not in (2, 4, 6):
            raise ValueError("queue numbers must be 1..1024 and perm 2, 4 or 6")
        addrs = [broker] if broker else await self._masters(cluster)
        for addr in addrs:
            await self.admin.update_topic(addr, topic, read, write, perm, 0, order)
        return addrs

    async def delete_topic(self, topic: str, cluster: str | None = None) -> list[str]:
        addrs = await self._masters(cluster)
        for addr in addrs:
            await self.admin.delete_topic_in_broker(addr, topic)
        await self.admin.delete_topic_in_namesrv(topic)
        return addrs

    async def _masters(self, cluster: str | None) -> list[str]:
        info = await self.admin.cluster_info()
        clusters = list((info.get("clusterAddrTable") or {}))
        if not clusters:
            raise ValueError("no broker is registered with the nameserver")
        return await self.admin.masters_of_cluster(cluster or clusters[0])

    async def send(self, topic: str, body: str, tags: str | None, keys: str | None) -> dict[str, Any]:
        res = await self.admin.send_message(topic, body.encode("utf-8"), tags=tags or None, keys=keys or None)
        return {"msgId": res.msg_id, "offsetMsgId": res.offset_msg_id, "broker": res.broker_name,
                "queueId": res.queue_id, "queueOffset": res.queue_offset,
                "status": {0: "SEND_OK", 10: "FLUSH_DISK_TIMEOUT", 11: "SLAVE_NOT_AVAILABLE",
                           12: "FLUSH_SLAVE_TIMEOUT"}.get(res.status_code, "SEND_OK")}

    # ------------------------------------------------------------------ consumer groups
    async def groups(self) -> list[dict[str, Any]]:
        topics = await self.admin.topic_list()
        names = sorted({t[len(RETRY_PREFIX):] for t in topics if t.startswith(RETRY_PREFIX)}, key=str.lower)
        rows = await asyncio.gather(*(self._group_row(g) for g in names))
        return list(rows)

    async def _group_row(self, group: str) -> dict[str, Any]:
        row: dict[str, Any] = {"group": group, "count": 0, "version": "OFFLINE", "type": "", "model": "",
                               "tps": 0.0, "lag": 0}
        try:
            table, tps = await self.admin.examine_consume_stats(group)
            row["tps"], row["lag"] = tps, sum(max(0, w["brokerOffset"] - w["consumerOffset"]) for w in table.values())
        except Exception:
            pass
        try:
            cc = await self.admin.examine_consumer_connection(group)
            conns = cc.get("connectionSet") or []
            row.update({"count": len(conns), "version": version_desc(min(int(c.get("version", 0)) for c in conns)),
                        "type": "PULL" if cc.get("consumeType") == "CONSUME_ACTIVELY" else "PUSH",
                        "model": cc.get("messageModel", "")})
        except Exception:
            pass
        return row

    async def group(self, group: str) -> dict[str, Any]:
        out: dict[str, Any] = {"group": group, "connections": [], "subscriptions": [], "queues": [], "online": False}
        try:
            cc = await self.admin.examine_consumer_connection(group)
            out.update({"online": True, "consumeType": cc.get("consumeType"), "messageModel": cc.get("messageModel"),
                        "consumeFromWhere": cc.get("consumeFromWhere"),
                        "connections": [{"clientId": c.get("clientId"), "clientAddr": c.get("clientAddr"),
                                         "language": c.get("language"),
                                         "version": version_desc(int(c.get("version", 0)))}
                                        for c in cc.get("connectionSet") or []],
                        "subscriptions": [{"topic": t, "expression": s.get("subString"),
                                           "type": s.get("expressionType", "TAG")}
                                          for t, s in sorted((cc.get("subscriptionTable") or {}).items())]})
        except ClientError:
            pass
        try:
            table, tps = await self.admin.examine_consume_stats(group)
        except ClientError as exc:
            if exc.code not in (ResponseCode.CONSUMER_NOT_ONLINE, ResponseCode.TOPIC_NOT_EXIST):
                raise
            table, tps = {}, 0.0
        out["tps"] = tps
        out["queues"] = [{"topic": mq.topic, "broker": mq.broker_name, "queueId": mq.queue_id,
                          "brokerOffset": w["brokerOffset"], "consumerOffset": w["consumerOffset"],
                          "lag": max(0, w["brokerOffset"] - w["consumerOffset"]),
                          "lastTimestamp": w.get("lastTimestamp", 0)} for mq, w in table.items()]
        out["lag"] = sum(q["lag"] for q in out["queues"])
        return out

    async def reset_offset(self, group: str, topic: str, timestamp: int, force: bool = True) -> dict[str, Any]:
        """resetOffsetByTime: through the online consumers, else written directly (mqadmin's fallback)."""
        try:
            table = await self.admin.reset_offset_by_time(topic, group, timestamp, force)
            return {"mode": "online", "offsets": [{"broker": mq.broker_name, "queueId": mq.queue_id, "offset": o}
                                                  for mq, o in sorted(table.items())]}
        except ClientError as exc:
            if exc.code != ResponseCode.CONSUMER_NOT_ONLINE:
                raise
        rows = await self.admin.reset_offset_old(topic, group, timestamp, force)
        return {"mode": "offline", "offsets": [{"broker": r["brokerName"], "queueId": r["queueId"],
                                                "offset": r["rollbackOffset"]} for r in rows]}

    # ------------------------------------------------------------------ messages
    @staticmethod
    def _summary(msg: m.MessageExt, broker: str | None = None) -> dict[str, Any]:
        return {"msgId": msg.msg_id, "offsetMsgId": msg.offset_msg_id, "topic": msg.topic, "tags": msg.tags,
                "keys": msg.properties.get("KEYS"), "queueId": msg.queue_id, "queueOffset": msg.queue_offset,
                "broker": broker, "storeTimestamp": msg.store_timestamp, "bornTimestamp": msg.born_timestamp,
                "size": msg.store_size, "preview": _preview(msg.body, 80)["text"]}

    async def search(self, topic: str, key: str | None = None, msg_id: str | None = None,
                     begin: int | None = None, end: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        if msg_id:
            return [self._summary(x) for x in await self._by_id(topic, msg_id.strip())]
        if not topic:
            raise ValueError("a topic is needed to search by key or time")
        if key:
            try:
                found = await self.admin.query_message(topic, key.strip(), limit)
            except ClientError as exc:
                if exc.code == ResponseCode.QUERY_NOT_FOUND:
                    return []
                raise
            return [self._summary(x) for x in sorted(found, key=lambda x: x.store_timestamp, reverse=True)]
        now = int(time.time() * 1000)
        found_bm = await self.admin.search_messages_by_time(topic, begin if begin is not None else now - 3_600_000,
                                                            end if end is not None else now, limit)
        return [self._summary(x, b) for b, x in found_bm]

    async def _by_id(self, topic: str | None, msg_id: str) -> list[m.MessageExt]:
        """An offset msg id (ip+port+offset) is read directly; a client id (UNIQ_KEY) is looked up by topic."""
        try:
            return [await self.admin.view_message_by_id(msg_id)]
        except (m.RecordError, ClientError, ValueError, OSError, RemotingError):
            pass
        if not topic:
            raise ValueError("not an offset message id; give the topic to look a unique key up")
        try:
            return await self.admin.query_message(topic, msg_id, 32, unique=True)
        except ClientError as exc:
            if exc.code == ResponseCode.QUERY_NOT_FOUND:
                return []
            raise

    async def message(self, msg_id: str, topic: str | None = None) -> dict[str, Any]:
        found = await self._by_id(topic, msg_id)
        if not found:
            raise ClientError(ResponseCode.QUERY_NOT_FOUND, f"no message {msg_id}")
        msg = found[0]
        from rmqlite.admin.msgcmds import message_tracks
        try:
            tracks = await message_tracks(self.admin, msg)
        except Exception:
            tracks = []
        d = self._summary(msg)
        d.update({"bornHost": f"{msg.born_host[0]}:{msg.born_host[1]}",
                  "storeHost": f"{msg.store_host[0]}:{msg.store_host[1]}", "commitLogOffset": msg.commit_log_offset,
                  "sysFlag": msg.sys_flag, "flag": msg.flag, "reconsumeTimes": msg.reconsume_times,
                  "bodyCrc": msg.body_crc, "bodyLength": len(msg.body), "properties": dict(msg.properties),
                  "body": _preview(msg.body, 4096), "tracks": tracks})
        return d

    async def resend(self, msg_id: str, group: str, topic: str | None = None,
                     client_id: str | None = None) -> dict[str, Any]:
        found = await self._by_id(topic, msg_id)
        if not found:
            raise ClientError(ResponseCode.QUERY_NOT_FOUND, f"no message {msg_id}")
        return await self.admin.resend_to_group(found[0], group, client_id)


def _preview(body: bytes, limit: int) -> dict[str, Any]:
    """Body as text when it is UTF-8, else hex; cut at ``limit`` bytes."""
    part = body[:limit]
    try:
        text = part.decode("utf-8")
        kind = "text"
    except UnicodeDecodeError:
        text = part.hex(" ")
        kind = "hex"
    return {"kind": kind, "text": text, "truncated": len(body) > limit,
            "base64": base64.b64encode(body[:65536]).decode() if limit > 80 else None}



