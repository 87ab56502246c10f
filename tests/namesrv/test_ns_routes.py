"""RouteTable: registration rules, liveness, admin edits (pure, time passed in)."""

from __future__ import annotations

from rmqlite.namesrv.bodies import DataVersion, TopicConfig
from rmqlite.namesrv.routes import RouteTable

A0, A1, B0 = "127.0.0.1:10911", "127.0.0.1:10921", "127.0.0.1:10931"
DV = DataVersion(1000, 1)


def reg(t: RouteTable, name: str, addr: str, bid: int, topics: list[TopicConfig],
        dv: DataVersion = DV, conn: int | None = None, now: int = 0, cluster: str = "C"):
    return t.register_broker(cluster, addr, name, bid, addr[:-1] + "2", dv, topics, [], conn, now)


def addrs(t: RouteTable, name: str) -> dict[int, str]:
    return dict(t.broker_addr_table[name].broker_addrs)


def test_master_creates_queues_slave_gets_master_addr() -> None:
    t = RouteTable()
    assert reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6)]).master_addr is None
    result = reg(t, "a", A1, 1, [TopicConfig("OnlySlave", 1, 1, 6)])
    assert (result.master_addr, result.ha_server_addr) == (A0, "127.0.0.1:10912")
    assert "OnlySlave" not in t.topic_queue_table  # slaves never shape routes
    route = t.pickup_topic_route("T")
    assert route is not None
    assert [q.read_queue_nums for q in route.queue_datas] == [4]
    assert dict(route.broker_datas[0].broker_addrs) == {0: A0, 1: A1}


def test_queue_data_only_updated_when_data_version_changes() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6)])
    reg(t, "a", A0, 0, [TopicConfig("T", 8, 8, 6), TopicConfig("New", 1, 1, 6)])
    assert t.topic_queue_table["T"]["a"].read_queue_nums == 4
    assert "New" not in t.topic_queue_table
    reg(t, "a", A0, 0, [TopicConfig("T", 8, 8, 6)], dv=DataVersion(1000, 2))
    assert t.topic_queue_table["T"]["a"].read_queue_nums == 8


def test_slave_to_master_switch_removes_old_id() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6)])
    reg(t, "a", A1, 1, [])
    reg(t, "a", A1, 0, [TopicConfig("T", 2, 2, 6)], dv=DataVersion(5, 5))
    assert addrs(t, "a") == {0: A1}
    assert t.topic_queue_table["T"]["a"].read_queue_nums == 2


def test_expire_removes_silent_brokers_and_their_topics() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6)], conn=1, now=0)
    reg(t, "b", B0, 0, [TopicConfig("T", 2, 2, 6), TopicConfig("OnlyB", 1, 1, 6)], conn=2,
        now=100_000)
    assert t.expire(120_000) == []
    removed = t.expire(120_001)
    assert [(addr, live.conn_id) for addr, live in removed] == [(A0, 1)]
    assert "a" not in t.broker_addr_table and list(t.topic_queue_table["T"]) == ["b"]
    assert [addr for addr, _ in t.expire(500_000)] == [B0]
    assert t.topic_queue_table == {} and t.cluster_addr_table == {}
    assert t.pickup_topic_route("T") is None


def test_connection_close_removes_broker_by_conn_then_by_address() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6)], conn=7)
    reg(t, "a", A1, 1, [], conn=8)
    assert t.on_connection_closed("127.0.0.1:55555", 99) == "127.0.0.1:55555"  # nobody
    assert addrs(t, "a") == {0: A0, 1: A1}
    assert t.on_connection_closed("127.0.0.1:40000", 7) == A0
    assert addrs(t, "a") == {1: A1}
    assert "T" in t.topic_queue_table  # broker name still has a slave
    t.on_connection_closed(A1, None)  # fallback: remote address equals a broker address
    assert t.broker_addr_table == {} and t.topic_queue_table == {} and t.broker_live_table == {}


def test_reregistering_on_new_connection_moves_ownership() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6)], conn=1)
    reg(t, "a", A0, 0, [], conn=2)
    t.on_connection_closed("127.0.0.1:1", 1)  # the old connection: nothing happens
    assert addrs(t, "a") == {0: A0}
    t.on_connection_closed("127.0.0.1:2", 2)
    assert t.broker_addr_table == {}


def test_unregister() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6)])
    reg(t, "a", A1, 1, [])
    t.unregister_broker("C", A1, "a", 1)
    assert addrs(t, "a") == {0: A0} and A1 not in t.broker_live_table
    t.unregister_broker("C", A0, "a", 0)
    assert t.broker_addr_table == {} and t.cluster_addr_table == {} and t.topic_queue_table == {}
    t.unregister_broker("C", A0, "a", 0)  # twice: harmless


def test_delete_topic_whole_or_per_cluster() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6), TopicConfig("U", 1, 1, 6)], cluster="C1")
    reg(t, "b", B0, 0, [TopicConfig("T", 2, 2, 6)], cluster="C2")
    t.delete_topic("T", "C1")
    assert list(t.topic_queue_table["T"]) == ["b"]
    t.delete_topic("T", "nope")
    t.delete_topic("T", "C2")
    assert "T" not in t.topic_queue_table
    t.delete_topic("U")
    assert t.topic_queue_table == {}


def test_write_perm_wipe_and_add() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6), TopicConfig("R", 1, 1, 7)])
    assert t.wipe_write_perm("a") == 2
    assert {k: v["a"].perm for k, v in t.topic_queue_table.items()} == {"T": 4, "R": 5}
    assert t.add_write_perm("a") == 2
    assert {k: v["a"].perm for k, v in t.topic_queue_table.items()} == {"T": 6, "R": 6}
    assert t.wipe_write_perm("nobody") == 0


def test_topic_lists() -> None:
    t = RouteTable()
    reg(t, "a", A0, 0, [TopicConfig("T", 4, 4, 6), TopicConfig("Unit", 1, 1, 6, topic_sys_flag=1),
                        TopicConfig("Sub", 1, 1, 6, topic_sys_flag=2)], cluster="C1")
    reg(t, "b", B0, 0, [TopicConfig("X", 2, 2, 6)], cluster="C2")
    assert sorted(t.all_topics()) == ["Sub", "T", "Unit", "X"]
    assert sorted(t.topics_by_cluster("C1")) == ["Sub", "T", "Unit"]
    assert t.topics_by_cluster("none") == []
    topics, addr = t.system_topics()
    assert sorted(topics) == ["C1", "C2", "a", "b"] and addr in (A0, B0)
    assert t.topics_by_sys_flag(True, None) == ["Unit"]
    assert t.topics_by_sys_flag(None, True) == ["Sub"]
    assert t.topics_by_sys_flag(False, True) == ["Sub"]


def test_filter_servers_in_route() -> None:
    t = RouteTable()
    t.register_broker("C", A0, "a", 0, "h", DV, [TopicConfig("T", 1, 1, 6)], ["fs:1"], None, 0)
    route = t.pickup_topic_route("T")
    assert route is not None and route.filter_server_table == {A0: ["fs:1"]}
    t.register_broker("C", A0, "a", 0, "h", DV, [], [], None, 0)
    assert t.pickup_topic_route("T").filter_server_table == {}  # type: ignore[union-attr]
