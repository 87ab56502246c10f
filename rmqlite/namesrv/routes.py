"""RouteTable: the nameserver's state (Java ``RouteInfoManager``), pure and single-threaded.

How it works:
1. Five tables as in Java: topic -> brokerName -> QueueData; brokerName -> BrokerData
   (cluster, brokerId -> addr); cluster -> brokerNames; brokerAddr -> BrokerLiveInfo
   (last register time, DataVersion, registration connection id, haServerAddr);
   brokerAddr -> filter servers. All are ``JavaHashMap`` so output order matches Java.
2. REGISTER_BROKER: an address already present under another id is removed first
   (slave -> master switch); only brokerId 0 creates/updates QueueData, and only when the
   DataVersion differs from the live entry's or the broker/id is new. Stale topics are NOT
   removed by a register (Java 4.9.4 neither); DELETE_TOPIC_IN_NAMESRV does that.
3. A slave's register returns the master's addr and haServerAddr when the master is live.
4. A broker is removed (addr, then its broker name when no addr is left, then its cluster
   entry and its QueueData) by UNREGISTER_BROKER, by ``expire`` (not re-registered for
   ``BROKER_CHANNEL_EXPIRED_TIME`` ms) or by ``on_connection_closed`` (found by connection
   id, else by the remote address string).
5. No clock, no I/O: callers pass ``now_ms`` and connection ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from rmqlite.namesrv.bodies import DataVersion, TopicConfig
from rmqlite.namesrv.javamap import JavaHashMap, java_set_order

__all__ = ["RouteTable", "QueueData", "BrokerData", "BrokerLiveInfo", "RegisterResult",
           "TopicRouteData", "BROKER_CHANNEL_EXPIRED_TIME", "MASTER_ID"]

BROKER_CHANNEL_EXPIRED_TIME = 120_000
MASTER_ID = 0
PERM_WRITE = 0x2
PERM_READ = 0x4
FLAG_UNIT = 0x1
FLAG_UNIT_SUB = 0x2


@dataclass(slots=True)
class QueueData:
    """One broker's queues of one topic."""

    broker_name: str
    read_queue_nums: int
    write_queue_nums: int
    perm: int
    topic_sys_flag: int = 0

    def to_json_obj(self) -> dict[str, object]:
        return {"brokerName": self.broker_name, "perm": self.perm,
                "readQueueNums": self.read_queue_nums, "topicSysFlag": self.topic_sys_flag,
                "writeQueueNums": self.write_queue_nums}


@dataclass(slots=True)
class BrokerData:
    """A broker group: cluster, name and brokerId -> address."""

    cluster: str
    broker_name: str
    broker_addrs: JavaHashMap = field(default_factory=JavaHashMap)

    def to_json_obj(self) -> dict[str, object]:
        """Bean form (ids in Java order)."""
        return {"brokerAddrs": dict(self.broker_addrs.java_items()),
                "brokerName": self.broker_name, "cluster": self.cluster}


@dataclass(slots=True)
class BrokerLiveInfo:
    """Liveness of one broker address."""

    last_update_ms: int
    data_version: DataVersion
    conn_id: int | None
    ha_server_addr: str


@dataclass(slots=True)
class RegisterResult:
    """What REGISTER_BROKER answers in its ext fields (slaves only)."""

    ha_server_addr: str | None = None
    master_addr: str | None = None


@dataclass(slots=True)
class TopicRouteData:
    """A topic's route, lists already in Java order."""

    queue_datas: list[QueueData]
    broker_datas: list[BrokerData]
    filter_server_table: dict[str, list[str]]
    order_topic_conf: str | None = None

    def to_json_obj(self) -> dict[str, object]:
        obj: dict[str, object] = {
            "brokerDatas": [b.to_json_obj() for b in self.broker_datas],
            "filterServerTable": self.filter_server_table}
        if self.order_topic_conf is not None:
            obj["orderTopicConf"] = self.order_topic_conf
        obj["queueDatas"] = [q.to_json_obj() for q in self.queue_datas]
        return obj


class RouteTable:
    """Route state of one nameserver. Every method is synchronous and takes time as data."""

    def __init__(self) -> None:
        self.topic_queue_table: JavaHashMap = JavaHashMap(1024)
        self.broker_addr_table: JavaHashMap = JavaHashMap(128)
        self.cluster_addr_table: JavaHashMap = JavaHashMap(32)
        self.broker_live_table: JavaHashMap = JavaHashMap(256)
        self.filter_server_table: JavaHashMap = JavaHashMap(256)

    # ------------------------------------------------------------ registration

    def register_broker(self, cluster: str, broker_addr: str, broker_name: str, broker_id: int,
                        ha_server_addr: str, data_version: DataVersion,
                        topic_configs: Iterable[TopicConfig] | None,
                        filter_servers: list[str] | None, conn_id: int | None,
                        now_ms: int) -> RegisterResult:
        """REGISTER_BROKER (``RouteInfoManager.registerBroker``)."""
        self.cluster_addr_table.setdefault(cluster, JavaHashMap())[broker_name] = True
        register_first = False
        broker = self.broker_addr_table.get(broker_name)
        if broker is None:
            register_first = True
            broker = BrokerData(cluster, broker_name)
            self.broker_addr_table[broker_name] = broker
        addrs = broker.broker_addrs
        for bid in [k for k, v in addrs.items() if v == broker_addr and k != broker_id]:
            del addrs[bid]  # slave -> master switch: one record per address
        old_addr = addrs.get(broker_id)
        addrs[broker_id] = broker_addr
        register_first = register_first or old_addr is None
        if topic_configs is not None and broker_id == MASTER_ID:
            if self.is_topic_config_changed(broker_addr, data_version) or register_first:
                for tc in topic_configs:
                    self._create_and_update_queue_data(broker_name, tc)
        self.broker_live_table[broker_addr] = BrokerLiveInfo(now_ms, data_version, conn_id,
                                                             ha_server_addr)
        if filter_servers is not None:
            if filter_servers:
                self.filter_server_table[broker_addr] = list(filter_servers)
            else:
                self.filter_server_table.pop(broker_addr, None)
        result = RegisterResult()
        if broker_id != MASTER_ID:
            master_addr = addrs.get(MASTER_ID)
            live = self.broker_live_table.get(master_addr) if master_addr else None
            if live is not None:
                result.ha_server_addr, result.master_addr = live.ha_server_addr, master_addr
        return result

    def _create_and_update_queue_data(self, broker_name: str, tc: TopicConfig) -> None:
        qd = QueueData(broker_name, tc.read_queue_nums, tc.write_queue_nums, tc.perm,
                       tc.topic_sys_flag)
        self.topic_queue_table.setdefault(tc.topic_name, JavaHashMap())[broker_name] = qd

    def is_topic_config_changed(self, broker_addr: str, data_version: DataVersion) -> bool:
        """True when the live entry's DataVersion differs (or there is none)."""
        prev = self.query_data_version(broker_addr)
        return prev is None or prev != data_version

    def query_data_version(self, broker_addr: str) -> DataVersion | None:
        """The DataVersion of the broker's last registration."""
        live = self.broker_live_table.get(broker_addr)
        return live.data_version if live is not None else None

    def touch(self, broker_addr: str, now_ms: int) -> None:
        """Refresh a live broker's timestamp (QUERY_DATA_VERSION with no change)."""
        live = self.broker_live_table.get(broker_addr)
        if live is not None:
            live.last_update_ms = now_ms

    def unregister_broker(self, cluster: str, broker_addr: str, broker_name: str,
                          broker_id: int) -> None:
        """UNREGISTER_BROKER (``RouteInfoManager.unregisterBroker``)."""
        self.broker_live_table.pop(broker_addr, None)
        self.filter_server_table.pop(broker_addr, None)
        broker = self.broker_addr_table.get(broker_name)
        if broker is None:
            return
        broker.broker_addrs.pop(broker_id, None)
        if broker.broker_addrs:
            return
        del self.broker_addr_table[broker_name]
        names = self.cluster_addr_table.get(cluster)
        if names is not None:
            names.pop(broker_name, None)
            if not names:
                del self.cluster_addr_table[cluster]
        self._remove_topics_of(broker_name)

    def _remove_topics_of(self, broker_name: str) -> None:
        for topic in list(self.topic_queue_table):
            queues = self.topic_queue_table[topic]
            queues.pop(broker_name, None)
            if not queues:
                del self.topic_queue_table[topic]

    # ------------------------------------------------------------ liveness

    def expire(self, now_ms: int,
               expire_ms: int = BROKER_CHANNEL_EXPIRED_TIME) -> list[tuple[str, BrokerLiveInfo]]:
        """Remove brokers not re-registered for ``expire_ms``; returns (addr, info) removed."""
        removed = [(addr, live) for addr, live in self.broker_live_table.java_items()
                   if live.last_update_ms + expire_ms < now_ms]
        for addr, _live in removed:
            del self.broker_live_table[addr]
            self._destroy(addr)
        return removed

    def on_connection_closed(self, remote_addr: str | None, conn_id: int | None) -> str | None:
        """A connection closed: drop the broker registered over it (else at ``remote_addr``).

        Returns the broker address that was looked up (Java ``onChannelDestroy``).
        """
        found = None
        if conn_id is not None:
            found = next((addr for addr, live in self.broker_live_table.java_items()
                          if live.conn_id == conn_id), None)
        found = found or remote_addr
        if not found:
            return None
        self.broker_live_table.pop(found, None)
        self._destroy(found)
        return found

    def _destroy(self, broker_addr: str) -> None:
        self.filter_server_table.pop(broker_addr, None)
        name_found, remove_name = None, False
        for name, broker in self.broker_addr_table.java_items():
            for bid, addr in broker.broker_addrs.java_items():
                if addr == broker_addr:
                    name_found = name
                    del broker.broker_addrs[bid]
                    break
            if name_found is not None:
                remove_name = not broker.broker_addrs
                break
        if name_found is None or not remove_name:
            return
        del self.broker_addr_table[name_found]
        for cluster, names in self.cluster_addr_table.java_items():
            if name_found in names:
                del names[name_found]
                if not names:
                    del self.cluster_addr_table[cluster]
                break
        self._remove_topics_of(name_found)

    # ------------------------------------------------------------ queries

    def pickup_topic_route(self, topic: str) -> TopicRouteData | None:
        """The topic's route, or None (Java: no QueueData or no BrokerData found)."""
        queues = self.topic_queue_table.get(topic)
        if queues is None:
            return None
        brokers: list[BrokerData] = []
        filter_map: dict[str, list[str]] = {}
        for name in java_set_order(queues.java_keys()):
            broker = self.broker_addr_table.get(name)
            if broker is None:
                continue
            addrs = broker.broker_addrs.java_clone()
            brokers.append(BrokerData(broker.cluster, broker.broker_name, addrs))
            for addr in addrs.values():
                if addr in self.filter_server_table:
                    filter_map[addr] = list(self.filter_server_table[addr])
        if not brokers:
            return None
        filter_order = java_set_order(filter_map)
        return TopicRouteData(queue_datas=[replace(q) for q in queues.java_values()],
                              broker_datas=brokers,
                              filter_server_table={a: filter_map[a] for a in filter_order})

    def cluster_info_json(self) -> dict[str, object]:
        """ClusterInfo bean (``{"brokerAddrTable":..., "clusterAddrTable":...}``)."""
        return {
            "brokerAddrTable": {name: b.to_json_obj()
                                for name, b in self.broker_addr_table.java_items()},
            "clusterAddrTable": {c: names.java_keys()
                                 for c, names in self.cluster_addr_table.java_items()},
        }

    def all_topics(self) -> list[str]:
        """GET_ALL_TOPIC_LIST_FROM_NAMESERVER: every topic (HashSet order)."""
        return java_set_order(self.topic_queue_table.java_keys())

    def topics_by_cluster(self, cluster: str) -> list[str]:
        """GET_TOPICS_BY_CLUSTER: topics with a QueueData on a broker of ``cluster``."""
        names = self.cluster_addr_table.get(cluster)
        if names is None:
            return []
        picked = [topic for name in names.java_keys()
                  for topic, queues in self.topic_queue_table.java_items() if name in queues]
        return java_set_order(picked)

    def system_topics(self) -> tuple[list[str], str | None]:
        """GET_SYSTEM_TOPIC_LIST_FROM_NS: cluster and broker names, plus one broker address."""
        items: list[str] = []
        for cluster, names in self.cluster_addr_table.java_items():
            items.append(cluster)
            items.extend(names.java_keys())
        broker_addr = None
        for broker in self.broker_addr_table.java_values():
            if broker.broker_addrs:
                broker_addr = broker.broker_addrs[broker.broker_addrs.java_keys()[0]]
                break
        return java_set_order(items), broker_addr

    def topics_by_sys_flag(self, unit: bool | None, unit_sub: bool | None) -> list[str]:
        """Unit topic lists (311/312/313): test the first QueueData's topicSysFlag."""
        picked = []
        for topic, queues in self.topic_queue_table.java_items():
            first = next(iter(queues.java_values()), None)
            if first is None:
                continue
            flag = first.topic_sys_flag
            if unit is not None and bool(flag & FLAG_UNIT) != unit:
                continue
            if unit_sub is not None and bool(flag & FLAG_UNIT_SUB) != unit_sub:
                continue
            picked.append(topic)
        return java_set_order(picked)

    # ------------------------------------------------------------ admin edits

    def delete_topic(self, topic: str, cluster: str | None = None) -> None:
        """DELETE_TOPIC_IN_NAMESRV: everywhere, or only on ``cluster``'s brokers."""
        if not cluster:
            self.topic_queue_table.pop(topic, None)
            return
        names = self.cluster_addr_table.get(cluster)
        queues = self.topic_queue_table.get(topic)
        if not names or queues is None:
            return
        for name in names:
            queues.pop(name, None)
        if not queues:
            del self.topic_queue_table[topic]

    def wipe_write_perm(self, broker_name: str) -> int:
        """WIPE_WRITE_PERM_OF_BROKER: clear the write bit; returns topics touched."""
        return self._edit_perm(broker_name, lambda perm: perm & ~PERM_WRITE)

    def add_write_perm(self, broker_name: str) -> int:
        """ADD_WRITE_PERM_OF_BROKER: perm := read|write; returns topics touched."""
        return self._edit_perm(broker_name, lambda perm: PERM_READ | PERM_WRITE)

    def _edit_perm(self, broker_name: str, change: Callable[[int], int]) -> int:
        count = 0
        for queues in self.topic_queue_table.values():
            qd = queues.get(broker_name)
            if qd is not None:
                qd.perm = change(qd.perm)
                count += 1
        return count
