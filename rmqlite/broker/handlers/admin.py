"""Admin requests (``AdminBrokerProcessor``) used by mqadmin and clients.

Codes: UPDATE_AND_CREATE_TOPIC 17, DELETE_TOPIC_IN_BROKER 215, GET_ALL_TOPIC_CONFIG 21,
UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200, GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201,
DELETE_SUBSCRIPTIONGROUP 207, GET_BROKER_RUNTIME_INFO 28, GET_BROKER_CONFIG 26,
GET_TOPIC_STATS_INFO 202, GET_CONSUME_STATS 208, GET_CONSUMER_CONNECTION_LIST 203,
GET_PRODUCER_CONNECTION_LIST 204, QUERY_TOPIC_CONSUME_BY_WHO 300, GET_ALL_CONSUMER_OFFSET 43,
GET_ALL_DELAY_OFFSET 45, GET_SYSTEM_TOPIC_LIST_FROM_BROKER 305, INVOKE_BROKER_TO_RESET_OFFSET 222,
UPDATE_BROKER_CONFIG 25, VIEW_BROKER_STATS_DATA 315, QUERY_CONSUME_QUEUE 321.
(GET_CONSUMER_RUNNING_INFO 307 / CONSUME_MESSAGE_DIRECTLY 309 are relayed to the consumer by the shell.)

How it works:
1. Changes are refused on a slave ("Can't modify topic or subscription group from slave broker...").
   Topic changes bump the topic table's dataVersion; the shell sees that and re-registers.
2. Object-keyed maps (TopicStatsTable, ConsumeStats) use ``fastjson.ObjKey`` MessageQueue keys.
3. Runtime info is a KVTable ``{"table":{...}}`` with the keys clusterList/brokerStatus read.
4. UPDATE_BROKER_CONFIG applies a properties body to the in-memory config (a bad value is refused
   with SYSTEM_ERROR naming the key; Java ignores it silently); ``brokerPermission`` re-registers; the
   whole config is then written back to the broker's ``-c`` file, as Java's Configuration.persist does.
5. VIEW_BROKER_STATS_DATA (mqadmin statsAll) answers TOPIC_PUT_NUMS ``topic`` and GROUP_GET_NUMS
   ``topic@group`` from the store itself: messages stored (resp. stored and consumed by the group)
   within the last minute / hour / day, tps = sum / window.
"""

from __future__ import annotations

from typing import Any

from rmqlite.broker.handlers.base import handler, json_body, parse_json_body
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.broker.subscriptions import SubscriptionGroupConfig
from rmqlite.broker.topics import TopicConfig, validate_topic
from rmqlite.common.message import record_store_timestamp
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import CURRENT_VERSION, RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_int, ext_opt_int, ext_opt_str, ext_str
from rmqlite.store.config_files import save_text_config

__all__ = ["broker_config_text", "runtime_info"]

_SLAVE_REMARK = "Can't modify topic or subscription group from slave broker, please execute it from master broker."
VERSION_DESC = "V4_9_4"


def _mq_key(state: BrokerState, topic: str, queue_id: int) -> fastjson.ObjKey:
    return fastjson.ObjKey.of({"brokerName": state.config.brokerName, "queueId": queue_id, "topic": topic})


@handler(RequestCode.UPDATE_AND_CREATE_TOPIC)
def update_and_create_topic(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    if not state.is_master:
        return cmd.response(ResponseCode.SYSTEM_ERROR, _SLAVE_REMARK)
    topic = ext_str(cmd, "topic")
    bad = validate_topic(topic)
    if bad:
        return cmd.response(ResponseCode.SYSTEM_ERROR, bad)
    if state.topics.is_system(topic):
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"The topic[{topic}] is conflict with system topic.")
    cfg = TopicConfig(
        topicName=topic, readQueueNums=ext_int(cmd, "readQueueNums"), writeQueueNums=ext_int(cmd, "writeQueueNums"),
        perm=ext_int(cmd, "perm"), topicFilterType=ext_opt_str(cmd, "topicFilterType", "SINGLE_TAG") or "SINGLE_TAG",
        topicSysFlag=ext_opt_int(cmd, "topicSysFlag", 0),
    )
    state.topics.update(cfg, ctx.now_ms)
    return cmd.response(ResponseCode.SUCCESS)


@handler(RequestCode.DELETE_TOPIC_IN_BROKER)
def delete_topic_in_broker(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    if not state.is_master:
        return cmd.response(ResponseCode.SYSTEM_ERROR, _SLAVE_REMARK)
    topic = ext_str(cmd, "topic")
    bad = validate_topic(topic)
    if bad:
        return cmd.response(ResponseCode.SYSTEM_ERROR, bad)
    if state.topics.is_system(topic):
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"The topic[{topic}] is conflict with system topic.")
    state.topics.delete(topic, ctx.now_ms)
    state.store.delete_topic(topic)
    return cmd.response(ResponseCode.SUCCESS)


@handler(RequestCode.GET_ALL_TOPIC_CONFIG)
def get_all_topic_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    return cmd.response(ResponseCode.SUCCESS, body=json_body(state.topics.to_json()))


@handler(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
def update_and_create_subscription_group(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    if not state.is_master:
        return cmd.response(ResponseCode.SYSTEM_ERROR, _SLAVE_REMARK)
    body = parse_json_body(cmd, "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP")
    if not isinstance(body, dict) or not body.get("groupName"):
        return cmd.response(ResponseCode.SYSTEM_ERROR, "SubscriptionGroupConfig body without groupName")
    state.subscriptions.update(SubscriptionGroupConfig.from_json(body), ctx.now_ms)
    return cmd.response(ResponseCode.SUCCESS)


@handler(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG)
def get_all_subscription_group_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    return cmd.response(ResponseCode.SUCCESS, body=json_body(state.subscriptions.to_json()))


@handler(RequestCode.DELETE_SUBSCRIPTIONGROUP)
def delete_subscription_group(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    if not state.is_master:
        return cmd.response(ResponseCode.SYSTEM_ERROR, _SLAVE_REMARK)
    group = ext_str(cmd, "groupName")
    state.subscriptions.delete(group, ctx.now_ms)
    if (ext_opt_str(cmd, "removeOffset", "") or "").lower() == "true":
        state.offsets.remove_group(group)
    return cmd.response(ResponseCode.SUCCESS)


def runtime_info(state: BrokerState, now_ms: int) -> dict[str, str]:
    """GET_BROKER_RUNTIME_INFO table."""
    store = state.store
    info = state.stats.runtime_info(now_ms)
    first = store.read_record(store.commitlog_min_offset) if store.commitlog_max_offset > 0 else None
    info.update({
        "brokerVersionDesc": VERSION_DESC,
        "brokerVersion": str(CURRENT_VERSION),
        "sendThreadPoolQueueSize": "0", "sendThreadPoolQueueCapacity": str(state.config.extra.get("sendThreadPoolQueueCapacity", 10000)),
        "pullThreadPoolQueueSize": "0", "pullThreadPoolQueueCapacity": str(state.config.extra.get("pullThreadPoolQueueCapacity", 100000)),
        "queryThreadPoolQueueSize": "0", "queryThreadPoolQueueCapacity": str(state.config.extra.get("queryThreadPoolQueueCapacity", 20000)),
        "EndTransactionQueueSize": "0", "EndTransactionThreadPoolQueueCapacity": "100000",
        "dispatchBehindBytes": "0", "pageCacheLockTimeMills": "0",
        "sendThreadPoolQueueHeadWaitTimeMills": "0", "pullThreadPoolQueueHeadWaitTimeMills": "0",
        "queryThreadPoolQueueHeadWaitTimeMills": "0",
        "earliestMessageTimeStamp": str(record_store_timestamp(first) if first else 0),
        "startAcceptSendRequestTimeStamp": str(state.config.startAcceptSendRequestTimeStamp),
        "commitLogMinOffset": str(getattr(store, "commitlog_min_offset", 0)),
        "commitLogMaxOffset": str(getattr(store, "commitlog_max_offset", 0)),
        "commitLogDiskRatio": str(_disk_ratio(state.config.commitlog_dir)),
        f"commitLogDiskRatio_{state.config.commitlog_dir}": str(_disk_ratio(state.config.commitlog_dir)),
        "commitLogDirCapacity": _dir_capacity(state.config.commitlog_dir),
        "consumeQueueDiskRatio": str(_disk_ratio(state.config.storePathRootDir)),
        "remainTransientStoreBufferNumbs": "0", "remainHowManyDataToFlush": "0 B",
    })
    if state.raft_status is not None:  # rmqlite extra keys (ignored by mqadmin): the Raft view of this node
        info.update(state.raft_status())
    return info


def _disk_usage(path: str) -> Any:
    """shutil.disk_usage of ``path`` or of its nearest existing parent (the dir may not exist yet)."""
    import os
    import shutil
    path = os.path.abspath(path)
    while True:
        try:
            return shutil.disk_usage(path)
        except OSError:
            parent = os.path.dirname(path)
            if parent == path:
                return None
            path = parent


def _disk_ratio(path: str) -> float:
    usage = _disk_usage(path)
    if usage is None:
        return -1.0
    return (usage.used / usage.total) if usage.total else 0.0


def _dir_capacity(path: str) -> str:
    usage = _disk_usage(path)
    if usage is None:
        return "Total : 0.0 GiB, Free : 0.0 GiB."
    gib = 1024 ** 3
    return f"Total : {usage.total / gib:.1f} GiB, Free : {usage.free / gib:.1f} GiB."


@handler(RequestCode.GET_BROKER_RUNTIME_INFO)
def get_broker_runtime_info(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"table": runtime_info(state, ctx.now_ms)}))


@handler(RequestCode.GET_BROKER_CONFIG)
def get_broker_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    version = fastjson.dumps({"counter": 0, "timestamp": state.stats.boot_ms})
    return cmd.response(ResponseCode.SUCCESS, ext_fields={"version": version},
                        body=broker_config_text(state).encode("utf-8"))


def broker_config_text(state: BrokerState) -> str:
    """Every config key as ``key=value`` lines, nulls left out (Java's ``getAllConfigsInternal`` text: the
    GET_BROKER_CONFIG body and what ``Configuration.persist`` writes to the -c file)."""
    return "".join(f"{_JAVA_KEY_NAMES.get(k, k)}={v}\n" for k, v in state.config.to_properties().items()
                   if not (v == "" and _is_null(state, k)))


#: Keys whose Java field name differs from the broker.conf spelling rmqlite uses.
_JAVA_KEY_NAMES = {"enableBatchPush": "isEnableBatchPush"}


def _is_null(state: BrokerState, key: str) -> bool:
    """Java's properties dump omits null fields (dLegerPeers, haMasterAddress ...)."""
    try:
        value = state.config.get(key)
    except KeyError:
        return True
    return value is None or key in _NULL_BY_DEFAULT


_NULL_BY_DEFAULT = frozenset({"haMasterAddress", "readOnlyCommitLogStorePaths"})


@handler(RequestCode.UPDATE_BROKER_CONFIG)
def update_broker_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    """mqadmin updateBrokerConfig: body = properties text; applied to the running config and persisted."""
    from rmqlite.broker.config import ConfigError, parse_properties
    if not cmd.body:
        return cmd.response(ResponseCode.SUCCESS)
    try:
        pairs = parse_properties(cmd.body.decode("utf-8"))
    except UnicodeDecodeError:
        return cmd.response(ResponseCode.SYSTEM_ERROR, "string2Properties error")
    try:
        for key, value in pairs:
            state.config.set(key, value)
    except ConfigError as exc:
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"updateBrokerConfig: {exc}")
    if any(key == "brokerPermission" for key, _ in pairs):
        state.topics.data_version.next_version(ctx.now_ms)   # the shell sees it and re-registers
    try:
        if state.config.config_file:
            save_text_config(state.config.config_file, broker_config_text(state))
    except OSError as exc:
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"updateBrokerConfig: applied, but not persisted: {exc}")
    return cmd.response(ResponseCode.SUCCESS)


@handler(RequestCode.GET_TOPIC_STATS_INFO)
def get_topic_stats_info(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    topic = ext_str(cmd, "topic")
    cfg = state.topics.get(topic)
    if cfg is None:
        return cmd.response(ResponseCode.TOPIC_NOT_EXIST, f"topic[{topic}] not exist")
    table: dict[Any, Any] = {}
    for qid in range(cfg.writeQueueNums):
        lo = max(0, state.store.min_offset(topic, qid))
        hi = max(0, state.store.max_offset(topic, qid))
        ts = state.store.store_time_at(topic, qid, hi - 1) if hi > 0 else 0
        table[_mq_key(state, topic, qid)] = {"lastUpdateTimestamp": max(0, ts), "maxOffset": hi, "minOffset": lo}
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"offsetTable": table}))


@handler(RequestCode.GET_CONSUME_STATS)
def get_consume_stats(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    group = ext_str(cmd, "consumerGroup")
    topic = ext_opt_str(cmd, "topic", "") or ""
    topics = sorted(state.offsets.topics_of_group(group)) if not topic.strip() else [topic]
    online = state.clients.consumer_group(group)
    table: dict[Any, Any] = {}
    for t in topics:
        cfg = state.topics.get(t)
        if cfg is None:
            continue
        if online is not None and online.subscriptions and t not in online.subscriptions:
            continue
        for qid in range(cfg.readQueueNums):
            broker_offset = max(0, state.store.max_offset(t, qid))
            consumer_offset = max(0, state.offsets.query(group, t, qid))
            last = state.store.store_time_at(t, qid, consumer_offset - 1) if consumer_offset > 0 else 0
            table[_mq_key(state, t, qid)] = {"brokerOffset": broker_offset, "consumerOffset": consumer_offset,
                                             "lastTimestamp": max(0, last)}
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"consumeTps": 0.0, "offsetTable": table}))


@handler(RequestCode.GET_CONSUMER_CONNECTION_LIST)
def get_consumer_connection_list(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    group = ext_str(cmd, "consumerGroup")
    info = state.clients.consumer_group(group)
    if info is None:
        return cmd.response(ResponseCode.CONSUMER_NOT_ONLINE, f"the consumer group[{group}] not online")
    body = {
        "connectionSet": [_connection(c) for c in info.channels.values()],
        "consumeFromWhere": info.consume_from_where, "consumeType": info.consume_type,
        "messageModel": info.message_model,
        "subscriptionTable": {t: s.to_json() for t, s in info.subscriptions.items()},
    }
    return cmd.response(ResponseCode.SUCCESS, body=json_body(body))


def _connection(c: Any) -> dict[str, Any]:
    return {"clientAddr": c.remote_addr, "clientId": c.client_id, "language": c.language, "version": c.version}


@handler(RequestCode.GET_PRODUCER_CONNECTION_LIST)
def get_producer_connection_list(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    group = ext_str(cmd, "producerGroup")
    chans = state.clients.producer_channels(group)
    if not chans:
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"the producer group[{group}] not exist")
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"connectionSet": [_connection(c) for c in chans]}))


@handler(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO)
def query_topic_consume_by_who(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    topic = ext_str(cmd, "topic")
    groups = state.clients.groups_consuming(topic) | state.offsets.groups_of_topic(topic)
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"groupList": sorted(groups)}))


@handler(RequestCode.GET_ALL_CONSUMER_OFFSET)
def get_all_consumer_offset(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    return cmd.response(ResponseCode.SUCCESS, body=json_body(state.offsets.to_json()))


@handler(RequestCode.GET_ALL_DELAY_OFFSET)
def get_all_delay_offset(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    return cmd.response(ResponseCode.SUCCESS, body=json_body(state.schedule.to_json()))


@handler(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_BROKER)
def get_system_topic_list(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    topics = sorted(t for t in state.topics.names() if state.topics.is_system(t))
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"topicList": topics}))


@handler(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET)
def invoke_broker_to_reset_offset(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    """mqadmin resetOffsetByTime: compute offsets, tell every consumer (RESET_CONSUMER_CLIENT_OFFSET)."""
    topic, group = ext_str(cmd, "topic"), ext_str(cmd, "group")
    timestamp = ext_int(cmd, "timestamp")
    force = (ext_opt_str(cmd, "isForce", "") or "").lower() == "true"
    cfg = state.topics.get(topic)
    if cfg is None:
        return cmd.response(ResponseCode.SYSTEM_ERROR,
                            f"[reset-offset] reset offset failed, no topic in this broker. topic={topic}")
    table: dict[Any, int] = {}
    cpp_list: list[dict[str, Any]] = []
    for qid in range(cfg.writeQueueNums):
        current = state.offsets.query(group, topic, qid)
        if current == -1:
            return cmd.response(ResponseCode.SYSTEM_ERROR, f"THe consumer group <{group}> not exist")
        target = state.store.max_offset(topic, qid) if timestamp == -1 else state.store.offset_by_time(topic, qid, timestamp)
        target = max(0, target)
        offset = target if force or target < current else current
        table[_mq_key(state, topic, qid)] = offset
        cpp_list.append({"brokerName": state.config.brokerName, "offset": offset, "queueId": qid, "topic": topic})
    info = state.clients.consumer_group(group)
    if info is None or not info.channels:
        return cmd.response(ResponseCode.CONSUMER_NOT_ONLINE,
                            f"Consumer not online, resetOffset request header[topic={topic}, group={group}, "
                            f"timestamp={timestamp}, isForce={str(force).lower()}]")
    ext = {"topic": topic, "group": group, "timestamp": str(timestamp), "isForce": str(force).lower()}
    body = json_body({"offsetTable": cpp_list}) if cmd.language == "CPP" else json_body({"offsetTable": table})
    for chan in info.channels:
        ctx.outbox.append((chan, RemotingCommand.request(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, ext, body,
                                                         oneway=True)))
    return cmd.response(ResponseCode.SUCCESS, body=json_body({"offsetTable": table}))


_STATS_WINDOWS_MS = {"statsMinute": 60_000, "statsHour": 3_600_000, "statsDay": 86_400_000}


def _first_offset_since(store: Any, topic: str, queue_id: int, since_ms: int) -> int:
    """The first queue offset whose message was stored at or after ``since_ms`` (max offset if none)."""
    lo, hi = max(0, store.min_offset(topic, queue_id)), max(0, store.max_offset(topic, queue_id))
    while lo < hi:
        mid = (lo + hi) // 2
        if store.store_time_at(topic, queue_id, mid) < since_ms:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _window_counts(state: BrokerState, topic: str, group: str | None, now_ms: int) -> dict[str, int]:
    """Messages of ``topic`` stored in each window (consumed by ``group`` when given)."""
    cfg = state.topics.get(topic)
    out = {name: 0 for name in _STATS_WINDOWS_MS}
    if cfg is None:
        return out
    for qid in range(max(cfg.readQueueNums, cfg.writeQueueNums)):
        end = max(0, state.store.max_offset(topic, qid))
        if group is not None:
            end = min(end, max(0, state.offsets.query(group, topic, qid)))
        for name, window in _STATS_WINDOWS_MS.items():
            out[name] += max(0, end - _first_offset_since(state.store, topic, qid, now_ms - window))
    return out


@handler(RequestCode.VIEW_BROKER_STATS_DATA)
def view_broker_stats_data(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    """BrokerStatsData for TOPIC_PUT_NUMS <topic> and GROUP_GET_NUMS <topic@group>."""
    name, key = ext_str(cmd, "statsName"), ext_str(cmd, "statsKey")
    group: str | None = None
    topic = key
    if name == "GROUP_GET_NUMS":
        topic, _, group = key.partition("@")
        known = state.topics.get(topic) is not None and (
            group in state.offsets.groups_of_topic(topic) or state.clients.consumer_group(group) is not None)
    else:
        known = name == "TOPIC_PUT_NUMS" and state.topics.get(topic) is not None
    if not known:
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"The stats <{name}> <{key}> not exist")
    counts = _window_counts(state, topic, group, ctx.now_ms)
    body = {period: {"avgpt": 0.0, "sum": counts[period], "tps": counts[period] * 1000.0 / window}
            for period, window in _STATS_WINDOWS_MS.items()}
    return cmd.response(ResponseCode.SUCCESS, body=json_body(body))


@handler(RequestCode.QUERY_CONSUME_QUEUE)
def query_consume_queue(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    """mqadmin queryCq: consume-queue units from ``index`` (at most ``count``)."""
    topic, queue_id = ext_str(cmd, "topic"), ext_int(cmd, "queueId")
    index, count = ext_int(cmd, "index"), ext_int(cmd, "count")
    cfg = state.topics.get(topic)
    if cfg is None or not 0 <= queue_id < max(cfg.readQueueNums, cfg.writeQueueNums):
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"{queue_id}@{topic} is not exist!")
    lo, hi = max(0, state.store.min_offset(topic, queue_id)), max(0, state.store.max_offset(topic, queue_id))
    body: dict[str, Any] = {"maxQueueIndex": hi, "minQueueIndex": lo}
    group = ext_opt_str(cmd, "consumerGroup", None)
    if group:
        info = state.clients.consumer_group(group)
        sub = info.subscriptions.get(topic) if info is not None else None
        if sub is None:
            body["filterData"] = f"{group}@{topic} is not online!"
        else:
            body["subscriptionData"] = sub.to_json()
    if not lo <= index < hi:
        return cmd.response(ResponseCode.SUCCESS, f"Index {index} of {queue_id}@{topic} is not exist!",
                            body=json_body(body))
    units = []
    for offset in range(index, min(hi, index + max(0, count))):
        unit = _cq_unit(state.store, topic, queue_id, offset)
        if unit is not None:
            units.append({"eval": False, "physicOffset": unit[0], "physicSize": unit[1], "tagsCode": unit[2]})
    body["queueData"] = units
    return cmd.response(ResponseCode.SUCCESS, body=json_body(body))


def _cq_unit(store: Any, topic: str, queue_id: int, offset: int) -> tuple[int, int, int] | None:
    cq = getattr(store, "cqs", {}).get((topic, queue_id))
    unit = cq.unit(offset) if cq is not None else None
    return (int(unit[0]), int(unit[1]), int(unit[2])) if unit else None
