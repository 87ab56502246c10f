"""mqadmin commands for ``python -m rmqlite admin``: cluster, broker, topic, group and namesrv commands.

How it works:
1. ``@command(name, help, *options)`` registers ``async fn(admin, args, out)`` in ``COMMANDS`` with
   mqadmin's option letters and long names (``Opt``); ``cli.py`` builds the argparse tree from it.
2. Each command sends what mqadmin 4.9.4 sends and prints with mqadmin's own printf formats, so
   the output has the same columns, headers and line shapes (Java ``%-16s`` == Python ``%-16s``).
3. A command raises ``ClientError``/``AdminUsage`` on failure; ``cli.py`` prints one line and exits 1.
   Message and consumer commands live in ``msgcmds.py`` (imported at the end to register them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TextIO

from rmqlite.admin.javafmt import human_time, pretty_json
from rmqlite.admin.ops import DLQ_PREFIX, RETRY_PREFIX, AdminClient, ClientError

__all__ = ["COMMANDS", "Command", "Opt", "AdminUsage", "command", "perm_str", "topic_config_str"]


class AdminUsage(Exception):
    """A command line that cannot be carried out (missing option combination, bad value)."""


@dataclass(frozen=True, slots=True)
class Opt:
    short: str
    long: str
    help: str
    required: bool = False
    flag: bool = False            # no argument (e.g. clusterList -m)


CommandFn = Callable[[AdminClient, Any, TextIO], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    options: tuple[Opt, ...]
    fn: CommandFn


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, *options: Opt) -> Callable[[CommandFn], CommandFn]:
    """Register an admin command."""
    def deco(fn: CommandFn) -> CommandFn:
        COMMANDS[name] = Command(name, help, options, fn)
        return fn
    return deco


def perm_str(perm: int) -> str:
    """``PermName.perm2String``."""
    return ("R" if perm & 4 else "-") + ("W" if perm & 2 else "-") + ("X" if perm & 1 else "-")


def topic_config_str(topic: str, read: int, write: int, perm: int, sys_flag: int, order: bool) -> str:
    return (f"TopicConfig [topicName={topic}, readQueueNums={read}, writeQueueNums={write}, perm={perm_str(perm)}, "
            f"topicFilterType=SINGLE_TAG, topicSysFlag={sys_flag}, order={str(order).lower()}]")


def _bool(text: str | None, default: bool = False) -> bool:
    return default if text is None else text.strip().lower() == "true"


def _int(text: str | None, what: str, default: int | None = None) -> int:
    if text is None:
        if default is None:
            raise AdminUsage(f"missing {what}")
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise AdminUsage(f"{what} must be a number, got {text!r}") from None


def _cluster_rows(info: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """(cluster, brokerName, id, addr) in mqadmin's order: clusters as given, names sorted, ids ascending."""
    rows = []
    for cluster, names in (info.get("clusterAddrTable") or {}).items():
        for name in sorted(names):
            bd = (info.get("brokerAddrTable") or {}).get(name)
            if bd is None:
                continue
            for bid, addr in sorted((int(k), v) for k, v in (bd.get("brokerAddrs") or {}).items()):
                rows.append((cluster, name, bid, addr))
    return rows


def _first_tps(text: str | None) -> float:
    try:
        return float((text or "").split(" ")[0])
    except ValueError:
        return 0.0


# ---------------------------------------------------------------------------------------------- cluster
@command("clusterList", "List all of clusters",
         Opt("m", "moreStats", "Print more stats", flag=True),
         Opt("i", "interval", "specify intervals numbers, it is in seconds"))
async def cluster_list(admin: AdminClient, args: Any, out: TextIO) -> None:
    rounds = 1
    interval = _int(args.interval, "interval", 0)
    while True:
        info = await admin.cluster_info()
        if args.moreStats:
            await _print_cluster_more(admin, info, out)
        else:
            await _print_cluster_base(admin, info, out)
        if interval <= 0 or rounds >= 1_000_000:
            return
        rounds += 1
        out.flush()
        import asyncio
        await asyncio.sleep(interval)


async def _runtime_or_none(admin: AdminClient, addr: str) -> dict[str, str] | None:
    try:
        return await admin.runtime_info(addr)
    except Exception:
        return None


async def _print_cluster_base(admin: AdminClient, info: dict[str, Any], out: TextIO) -> None:
    fmt = "%-16s  %-22s  %-4s  %-22s %-16s %19s %19s %10s %5s %6s\n"
    out.write(fmt % ("#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Version", "#InTPS(LOAD)",
                     "#OutTPS(LOAD)", "#PCWait(ms)", "#Hour", "#SPACE"))
    now = int(time.time() * 1000)
    for cluster, name, bid, addr in _cluster_rows(info):
        kv = await _runtime_or_none(admin, addr) or {}
        earliest = kv.get("earliestMessageTimeStamp", "")
        hour = (now - int(earliest)) / 1000.0 / 60.0 / 60.0 if earliest.lstrip("-").isdigit() else 0.0
        try:
            space = float(kv.get("commitLogDiskRatio") or 0.0)
        except ValueError:
            space = 0.0
        in_tps = "%9.2f(%s,%sms)" % (_first_tps(kv.get("putTps")), kv.get("sendThreadPoolQueueSize"),
                                     kv.get("sendThreadPoolQueueHeadWaitTimeMills"))
        out_tps = "%9.2f(%s,%sms)" % (_first_tps(kv.get("getTransferedTps")), kv.get("pullThreadPoolQueueSize"),
                                      kv.get("pullThreadPoolQueueHeadWaitTimeMills"))
        out.write(fmt % (cluster, name, bid, addr, kv.get("brokerVersionDesc", ""), in_tps, out_tps,
                         kv.get("pageCacheLockTimeMills"), "%2.2f" % hour, "%.4f" % space))


async def _print_cluster_more(admin: AdminClient, info: dict[str, Any], out: TextIO) -> None:
    fmt = "%-16s  %-32s %14s %14s %14s %14s\n"
    out.write(fmt % ("#Cluster Name", "#Broker Name", "#InTotalYest", "#OutTotalYest", "#InTotalToday",
                     "#OutTotalToday"))
    for cluster, name, _bid, addr in _cluster_rows(info):
        kv = await _runtime_or_none(admin, addr) or {}
        try:
            g = {k: int(kv[k]) for k in ("msgPutTotalYesterdayMorning", "msgPutTotalTodayMorning",
                                         "msgPutTotalTodayNow", "msgGetTotalYesterdayMorning",
                                         "msgGetTotalTodayMorning", "msgGetTotalTodayNow")}
            vals = (g["msgPutTotalTodayMorning"] - g["msgPutTotalYesterdayMorning"],
                    g["msgGetTotalTodayMorning"] - g["msgGetTotalYesterdayMorning"],
                    g["msgPutTotalTodayNow"] - g["msgPutTotalTodayMorning"],
                    g["msgGetTotalTodayNow"] - g["msgGetTotalTodayMorning"])
        except (KeyError, ValueError):
            vals = (0, 0, 0, 0)
        out.write("%-16s  %-32s %14d %14d %14d %14d\n" % (cluster, name, *vals))


@command("brokerStatus", "Fetch broker runtime status data",
         Opt("b", "brokerAddr", "Broker address"), Opt("c", "clusterName", "which cluster"))
async def broker_status(admin: AdminClient, args: Any, out: TextIO) -> None:
    if args.brokerAddr:
        targets, with_addr = [args.brokerAddr.strip()], False
    elif args.clusterName:
        targets, with_addr = await admin.all_addrs_of_cluster(args.clusterName.strip()), True
    else:
        raise AdminUsage("brokerStatus needs -b brokerAddr or -c clusterName")
    for addr in targets:
        kv = await admin.runtime_info(addr)
        for key in sorted(kv):
            out.write(("%-24s %-32s: %s\n" % (addr, key, kv[key])) if with_addr else ("%-32s: %s\n" % (key, kv[key])))


# ---------------------------------------------------------------------------------------------- topics
@command("topicList", "Fetch all topic list from name server",
         Opt("c", "clusterModel", "clusterModel", flag=True))
async def topic_list(admin: AdminClient, args: Any, out: TextIO) -> None:
    topics = await admin.topic_list()
    if not args.clusterModel:
        for t in topics:
            out.write(f"{t}\n")
        return
    info = await admin.cluster_info()
    out.write("%-20s  %-48s  %-48s\n" % ("#Cluster Name", "#Topic", "#Consumer Group"))
    for topic in topics:
        if topic.startswith(RETRY_PREFIX) or topic.startswith(DLQ_PREFIX):
            continue
        cluster, groups = "", [""]
        try:
            route = await admin.route_data(topic)
            name = (route.get("brokerDatas") or [{}])[0].get("brokerName")
            cluster = next((c for c, names in (info.get("clusterAddrTable") or {}).items() if name in names), "")
            groups = await admin.consumed_by(topic) or [""]
        except Exception:
            pass
        for group in groups:
            out.write("%-20s  %-64s  %-64s\n" % (cluster, topic, group))


@command("topicRoute", "Examine topic route info", Opt("t", "topic", "topic name", required=True),
         Opt("l", "list", "Use list format to print data", flag=True))
async def topic_route(admin: AdminClient, args: Any, out: TextIO) -> None:
    route = await admin.route_data(args.topic.strip())
    data = {"brokerDatas": [{"brokerAddrs": {int(k): v for k, v in sorted(
                ((int(k), v) for k, v in (bd.get("brokerAddrs") or {}).items()))},
             "brokerName": bd.get("brokerName"), "cluster": bd.get("cluster")}
            for bd in route.get("brokerDatas") or []],
            "filterServerTable": route.get("filterServerTable") or {},
            "queueDatas": [{k: q[k] for k in ("brokerName", "perm", "readQueueNums", "topicSysFlag", "writeQueueNums")
                            if k in q} for q in route.get("queueDatas") or []]}
    if not args.list:
        out.write(pretty_json(data) + "\n")
        return
    out.write("%-45s %-32s %-50s %-10s %-11s %-5s\n" % ("#ClusterName", "#BrokerName", "#BrokerAddrs",
                                                      "#ReadQueue", "#WriteQueue", "#Perm"))
    queues = {q["brokerName"]: q for q in data["queueDatas"]}
    for bd in data["brokerDatas"]:
        q = queues.get(bd["brokerName"], {})
        out.write("%-45s %-32s %-50s %-10s %-11s %-5s\n" % (bd["cluster"], bd["brokerName"], bd["brokerAddrs"],
                                                          q.get("readQueueNums"), q.get("writeQueueNums"), q.get("perm")))


@command("topicStatus", "Examine topic Status info", Opt("t", "topic", "topic name", required=True))
async def topic_status(admin: AdminClient, args: Any, out: TextIO) -> None:
    stats = await admin.examine_topic_stats(args.topic.strip())
    out.write("%-32s  %-4s  %-20s  %-20s    %s\n" % ("#Broker Name", "#QID", "#Min Offset", "#Max Offset",
                                                   "#Last Updated"))
    for mq, st in stats.items():
        last = st.get("lastUpdateTimestamp", 0)
        out.write("%-32s  %-4d  %-20d  %-20d    %s\n" % (mq.broker_name, mq.queue_id, st.get("minOffset", 0),
                                                       st.get("maxOffset", 0), human_time(last) if last > 0 else ""))


@command("topicClusterList", "get cluster info for topic", Opt("t", "topic", "topic name", required=True))
async def topic_cluster_list(admin: AdminClient, args: Any, out: TextIO) -> None:
    for cluster in await admin.topic_clusters(args.topic.strip()):
        out.write(f"{cluster}\n")


_TOPIC_OPTS = (Opt("b", "brokerAddr", "create topic to which broker"),
               Opt("c", "clusterName", "create topic to which cluster"),
               Opt("t", "topic", "topic name", required=True),
               Opt("r", "readQueueNums", "set read queue nums"),
               Opt("w", "writeQueueNums", "set write queue nums"),
               Opt("p", "perm", "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]"),
               Opt("o", "order", "set topic's order(true|false)"),
               Opt("u", "unit", "is unit topic (true|false)"),
               Opt("s", "hasUnitSub", "has unit sub (true|false)"))


@command("updateTopic", "Update or create topic", *_TOPIC_OPTS)
async def update_topic(admin: AdminClient, args: Any, out: TextIO) -> None:
    topic = args.topic.strip()
    read, write = _int(args.readQueueNums, "readQueueNums", 8), _int(args.writeQueueNums, "writeQueueNums", 8)
    perm = _int(args.perm, "perm", 6)
    sys_flag = (1 if _bool(args.unit) else 0) | (2 if _bool(args.hasUnitSub) else 0)
    order = _bool(args.order)
    if args.brokerAddr:
        addrs = [args.brokerAddr.strip()]
    elif args.clusterName:
        addrs = await admin.masters_of_cluster(args.clusterName.strip())
    else:
        raise AdminUsage("updateTopic needs -b brokerAddr or -c clusterName")
    for addr in addrs:
        await admin.update_topic(addr, topic, read, write, perm, sys_flag, order)
        out.write(f"create topic to {addr} success.\n")
    if order:
        names = [await admin.broker_name_of(a) for a in addrs]
        conf = ";".join(f"{n}:{write}" for n in names if n)
        await admin.put_kv("ORDER_TOPIC_CONFIG", topic, conf)
        out.write(f"set {'broker' if args.brokerAddr else 'cluster'} orderConf. isOrder=true, orderConf=[{conf}]")
    out.write(topic_config_str(topic, read, write, perm, sys_flag, order))
    out.write("\n")


@command("deleteTopic", "Delete topic from broker and NameServer.",
         Opt("t", "topic", "topic name", required=True), Opt("c", "clusterName", "delete topic from which cluster",
                                                             required=True))
async def delete_topic(admin: AdminClient, args: Any, out: TextIO) -> None:
    await delete_topic_in_cluster(admin, args.clusterName.strip(), args.topic.strip(), out)


async def delete_topic_in_cluster(admin: AdminClient, cluster: str, topic: str, out: TextIO) -> None:
    """``DeleteTopicSubCommand.deleteTopic``."""
    for addr in await admin.masters_of_cluster(cluster):
        await admin.delete_topic_in_broker(addr, topic)
    out.write(f"delete topic [{topic}] from cluster [{cluster}] success.\n")
    await admin.delete_topic_in_namesrv(topic)
    out.write(f"delete topic [{topic}] from NameServer success.\n")


@command("updateTopicPerm", "Update topic perm",
         Opt("b", "brokerAddr", "create topic to which broker"), Opt("c", "clusterName", "create topic to which cluster"),
         Opt("t", "topic", "topic name", required=True),
         Opt("p", "perm", "set topic's permission(2|4|6), intro[2:W; 4:R; 6:RW]", required=True))
async def update_topic_perm(admin: AdminClient, args: Any, out: TextIO) -> None:
    topic, perm = args.topic.strip(), _int(args.perm, "perm")
    route = await admin.route_data(topic)
    queues = route.get("queueDatas") or []
    if not queues:
        raise ClientError(17, f"No topic route info in name server for the topic: {topic}")
    q0 = queues[0]
    read, write, flag = int(q0["readQueueNums"]), int(q0["writeQueueNums"]), int(q0.get("topicSysFlag", 0))
    if args.brokerAddr:
        addr = args.brokerAddr.strip()
        name = next((bd["brokerName"] for bd in route.get("brokerDatas") or []
                     if {int(k): v for k, v in bd.get("brokerAddrs", {}).items()}.get(0) == addr), None)
        if name is None:
            out.write("updateTopicPerm error broker not exit or broker is not master!.\n")
            return
        old = next((int(q["perm"]) for q in queues if q["brokerName"] == name), 0)
        if old == perm:
            out.write("new perm equals to the old one!\n")
            return
        await admin.update_topic(addr, topic, read, write, perm, flag)
        out.write(f"update topic perm from {old} to {perm} in {addr} success.\n")
        out.write(topic_config_str(topic, read, write, perm, flag, False) + ".\n")
    elif args.clusterName:
        for addr in await admin.masters_of_cluster(args.clusterName.strip()):
            await admin.update_topic(addr, topic, read, write, perm, flag)
            out.write(f"update topic perm from {q0['perm']} to {perm} in {addr} success.\n")
    else:
        raise AdminUsage("updateTopicPerm needs -b brokerAddr or -c clusterName")


# ---------------------------------------------------------------------------------------------- groups
@command("updateSubGroup", "Update or create subscription group",
         Opt("b", "brokerAddr", "create subscription group to which broker"),
         Opt("c", "clusterName", "create subscription group to which cluster"),
         Opt("g", "groupName", "consumer group name", required=True),
         Opt("s", "consumeEnable", "consume enable"), Opt("m", "consumeFromMinEnable", "from min offset"),
         Opt("d", "consumeBroadcastEnable", "broadcast"), Opt("q", "retryQueueNums", "retry queue nums"),
         Opt("r", "retryMaxTimes", "retry max times"), Opt("i", "brokerId", "consumer from which broker id"),
         Opt("w", "whichBrokerWhenConsumeSlowly", "which broker id when consume slowly"),
         Opt("a", "notifyConsumerIdsChanged", "notify consumerId changed"))
async def update_sub_group(admin: AdminClient, args: Any, out: TextIO) -> None:
    cfg = {"groupName": args.groupName.strip(), "consumeEnable": _bool(args.consumeEnable, True),
           "consumeFromMinEnable": _bool(args.consumeFromMinEnable), "consumeBroadcastEnable":
           _bool(args.consumeBroadcastEnable), "retryQueueNums": _int(args.retryQueueNums, "retryQueueNums", 1),
           "retryMaxTimes": _int(args.retryMaxTimes, "retryMaxTimes", 16),
           "brokerId": _int(args.brokerId, "brokerId", 0),
           "whichBrokerWhenConsumeSlowly": _int(args.whichBrokerWhenConsumeSlowly, "whichBrokerWhenConsumeSlowly", 1),
           "notifyConsumerIdsChangedEnable": _bool(args.notifyConsumerIdsChanged, True)}
    if args.brokerAddr:
        addrs = [args.brokerAddr.strip()]
    elif args.clusterName:
        addrs = await admin.masters_of_cluster(args.clusterName.strip())
    else:
        raise AdminUsage("updateSubGroup needs -b brokerAddr or -c clusterName")
    for addr in addrs:
        await admin.update_sub_group(addr, cfg)
        out.write(f"create subscription group to {addr} success.\n")
    b = {k: str(v).lower() if isinstance(v, bool) else v for k, v in cfg.items()}
    out.write(f"SubscriptionGroupConfig [groupName={b['groupName']}, consumeEnable={b['consumeEnable']}, "
              f"consumeFromMinEnable={b['consumeFromMinEnable']}, consumeBroadcastEnable={b['consumeBroadcastEnable']}, "
              f"retryQueueNums={b['retryQueueNums']}, retryMaxTimes={b['retryMaxTimes']}, brokerId={b['brokerId']}, "
              f"whichBrokerWhenConsumeSlowly={b['whichBrokerWhenConsumeSlowly']}, "
              f"notifyConsumerIdsChangedEnable={b['notifyConsumerIdsChangedEnable']}]\n")


@command("deleteSubGroup", "Delete subscription group from broker.",
         Opt("b", "brokerAddr", "delete subscription group from which broker"),
         Opt("c", "clusterName", "delete subscription group from which cluster"),
         Opt("g", "groupName", "subscription group name", required=True),
         Opt("r", "removeOffset", "remove offset"))
async def delete_sub_group(admin: AdminClient, args: Any, out: TextIO) -> None:
    group, remove = args.groupName.strip(), _bool(args.removeOffset)
    if args.brokerAddr:
        addr = args.brokerAddr.strip()
        await admin.delete_sub_group(addr, group, remove)
        out.write(f"delete subscription group [{group}] from broker [{addr}] success.\n")
        return
    if not args.clusterName:
        raise AdminUsage("deleteSubGroup needs -b brokerAddr or -c clusterName")
    cluster = args.clusterName.strip()
    for addr in await admin.masters_of_cluster(cluster):
        await admin.delete_sub_group(addr, group, remove)
        out.write(f"delete subscription group [{group}] from broker [{addr}] in cluster [{cluster}] success.\n")
    await delete_topic_in_cluster(admin, cluster, RETRY_PREFIX + group, out)
    await delete_topic_in_cluster(admin, cluster, DLQ_PREFIX + group, out)


# ---------------------------------------------------------------------------------------------- configs
@command("getBrokerConfig", "Get broker config by cluster or special broker!",
         Opt("b", "brokerAddr", "get which broker"), Opt("c", "clusterName", "get which cluster"))
async def get_broker_config(admin: AdminClient, args: Any, out: TextIO) -> None:
    if args.brokerAddr:
        targets = [(f"============{args.brokerAddr.strip()}============\n", args.brokerAddr.strip())]
    elif args.clusterName:
        info = await admin.cluster_info()
        targets = []
        for cluster, name, bid, addr in _cluster_rows(info):
            if cluster != args.clusterName.strip():
                continue
            if bid == 0:
                targets.append((f"============Master: {addr}============\n", addr))
            else:
                master = {int(k): v for k, v in info["brokerAddrTable"][name]["brokerAddrs"].items()}.get(0, "")
                targets.append((f"============My Master: {master}=====Slave: {addr}============\n", addr))
    else:
        raise AdminUsage("getBrokerConfig needs -b brokerAddr or -c clusterName")
    for header, addr in targets:
        out.write(header)
        props = await admin.broker_config(addr)
        if not props:
            out.write(f"Broker[{addr}] has no config property!\n")
            continue
        for k, v in props.items():
            out.write("%-50s=  %s\n" % (k, v))
        out.write("\n")


@command("updateBrokerConfig", "Update broker's config",
         Opt("b", "brokerAddr", "update which broker"), Opt("c", "clusterName", "update which cluster"),
         Opt("k", "key", "config key", required=True), Opt("v", "value", "config value", required=True))
async def update_broker_config(admin: AdminClient, args: Any, out: TextIO) -> None:
    props = {args.key.strip(): args.value.strip()}
    if args.brokerAddr:
        await admin.update_broker_config(args.brokerAddr.strip(), props)
        out.write(f"update broker config success, {args.brokerAddr.strip()}\n")
    elif args.clusterName:
        for addr in await admin.masters_of_cluster(args.clusterName.strip()):
            await admin.update_broker_config(addr, props)
            out.write(f"update broker config success, {addr}\n")
    else:
        raise AdminUsage("updateBrokerConfig needs -b brokerAddr or -c clusterName")


@command("getNamesrvConfig", "Get configs of name server.")
async def get_namesrv_config(admin: AdminClient, args: Any, out: TextIO) -> None:
    for addr in admin.namesrvs:
        props = await admin.namesrv_config(addr)
        out.write(f"============{addr}============\n")
        for k, v in props.items():
            out.write("%-50s=  %s\n" % (k, v))


@command("updateKvConfig", "Create or update KV config.",
         Opt("s", "namespace", "set the namespace", required=True), Opt("k", "key", "set the key name", required=True),
         Opt("v", "value", "set the key value", required=True))
async def update_kv_config(admin: AdminClient, args: Any, out: TextIO) -> None:
    await admin.put_kv(args.namespace.strip(), args.key.strip(), args.value.strip())
    out.write("create or update kv config to namespace success.\n")


@command("deleteKvConfig", "Delete KV config.",
         Opt("s", "namespace", "set the namespace", required=True), Opt("k", "key", "set the key name", required=True))
async def delete_kv_config(admin: AdminClient, args: Any, out: TextIO) -> None:
    await admin.delete_kv(args.namespace.strip(), args.key.strip())
    out.write("delete kv config from namespace success.\n")


@command("statsAll", "Topic and Consumer tps stats",
         Opt("a", "activeTopic", "print active topic only", flag=True), Opt("t", "topic", "print select topic only"))
async def stats_all(admin: AdminClient, args: Any, out: TextIO) -> None:
    out.write("%-64s  %-64s %12s %11s %11s %14s %14s\n" % ("#Topic", "#Consumer Group", "#Accumulation", "#InTPS",
                                                          "#OutTPS", "#InMsg24Hour", "#OutMsg24Hour"))
    for topic in await admin.topic_list():
        if topic.startswith(RETRY_PREFIX) or topic.startswith(DLQ_PREFIX):
            continue
        if args.topic and topic != args.topic:
            continue
        try:
            await _stats_topic(admin, topic, bool(args.activeTopic), out)
        except Exception:
            pass


def _sum24(bsd: dict[str, Any]) -> int:
    for period in ("statsDay", "statsHour", "statsMinute"):
        value = int((bsd.get(period) or {}).get("sum", 0))
        if value:
            return value
    return 0


async def _stats_topic(admin: AdminClient, topic: str, active: bool, out: TextIO) -> None:
    route = await admin.route_data(topic)
    masters = [a for a in ({int(k): v for k, v in bd.get("brokerAddrs", {}).items()}.get(0)
                           for bd in route.get("brokerDatas") or []) if a]
    groups = await admin.consumed_by(topic)
    in_tps, in_today = 0.0, 0
    for addr in masters:
        try:
            bsd = await admin.stats_data(addr, "TOPIC_PUT_NUMS", topic)
            in_tps += float(bsd["statsMinute"]["tps"])
            in_today += _sum24(bsd)
        except Exception:
            pass
    if not groups:
        if not active or in_today > 0:
            out.write("%-64s  %-64s %12d %11.2f %11s %14d %14s\n" % (topic, "", 0, in_tps, "", in_today, "NO_CONSUMER"))
        return
    for group in groups:
        out_tps, out_today = 0.0, 0
        for addr in masters:
            try:
                bsd = await admin.stats_data(addr, "GROUP_GET_NUMS", f"{topic}@{group}")
                out_tps += float(bsd["statsMinute"]["tps"])
                out_today += _sum24(bsd)
            except Exception:
                pass
        accumulate = 0
        try:
            table, _ = await admin.examine_consume_stats(group, topic)
            accumulate = max(0, sum(w["brokerOffset"] - w["consumerOffset"] for w in table.values()))
        except Exception:
            pass
        if not active or in_today > 0 or out_today > 0:
            out.write("%-64s  %-64s %12d %11.2f %11.2f %14d %14d\n" % (topic, group, accumulate, in_tps, out_tps,
                                                                       in_today, out_today))


from rmqlite.admin import msgcmds as _msgcmds  # noqa: E402,F401  (registers the message/consumer commands)
