"""Nameserver request handlers (Java ``DefaultRequestProcessor``), one pure function per code.

How it works:
1. Every handler is ``(state, cmd, now_ms, conn) -> RemotingCommand | None``: it reads the
   request's ext fields / body, changes ``state`` in memory and returns the response. No
   clock, no sockets, no files: the shell persists ``state.kv`` / ``state.config`` when
   their ``dirty`` flag is set, before sending the reply.
2. Responses carry Java's codes and remarks (e.g. TOPIC_NOT_EXIST "No topic route info in
   name server for the topic: T" + FAQ tip, "crc32 not match", "No config item, ...").
3. A missing required header field raises ``HeaderError`` (-> SYSTEM_ERROR naming the
   field); a bad body answers SYSTEM_ERROR with the reason. Nothing is changed then.
4. GET_ROUTEINFO_BY_TOPIC writes standard JSON (quoted, sorted keys) for request
   version >= 401 or ``acceptStandardJsonOnly=true``, else fastjson compact with unquoted
   integer ``brokerAddrs`` keys; ``orderTopicConf`` only when ``orderMessageEnable``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from rmqlite.namesrv.bodies import (BodyError, DataVersion, decode_data_version,
                                    decode_register_body, dumps_compact, dumps_standard,
                                    encode_data_version, encode_topic_list)
from rmqlite.namesrv.config import NamesrvConfig, parse_properties
from rmqlite.namesrv.kvconfig import NAMESPACE_ORDER_TOPIC_CONFIG, KVConfigStore
from rmqlite.namesrv.routes import RouteTable
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_int, ext_opt_bool, ext_opt_int, ext_opt_str, ext_str

__all__ = ["ConnInfo", "NamesrvState", "HANDLERS", "NamesrvHandler", "FAQ_APPLY_TOPIC_TIP"]

V3_0_11 = 37
V4_9_4 = 401
FAQ_APPLY_TOPIC_TIP = "\nSee http://rocketmq.apache.org/docs/faq/ for further details."
CONFIG_PATH_KEYS = ("kvConfigPath", "configStorePath", "rocketmqHome")


@dataclass(frozen=True, slots=True)
class ConnInfo:
    """The connection a request came in on (id, and remote "ip:port")."""

    conn_id: int | None = None
    remote_addr: str | None = None


@dataclass(slots=True)
class NamesrvState:
    """Everything the handlers read and change."""

    config: NamesrvConfig
    kv: KVConfigStore
    routes: RouteTable = field(default_factory=RouteTable)


NamesrvHandler = Callable[[NamesrvState, RemotingCommand, int, ConnInfo], "RemotingCommand | None"]


def _ok(cmd: RemotingCommand, body: bytes | None = None,
        ext: dict[str, str] | None = None) -> RemotingCommand:
    return cmd.response(ResponseCode.SUCCESS, None, ext, body)


# ------------------------------------------------------------------ KV config


def put_kv_config(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                  conn: ConnInfo) -> RemotingCommand:
    """PUT_KV_CONFIG (100)."""
    namespace, key = ext_opt_str(cmd, "namespace"), ext_opt_str(cmd, "key")
    if namespace is None or key is None:
        return cmd.response(ResponseCode.SYSTEM_ERROR, "namespace or key is null")
    state.kv.put(namespace, key, ext_str(cmd, "value"))
    return _ok(cmd)


def get_kv_config(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                  conn: ConnInfo) -> RemotingCommand:
    """GET_KV_CONFIG (101): ext ``value`` or QUERY_NOT_FOUND."""
    namespace, key = ext_str(cmd, "namespace"), ext_str(cmd, "key")
    value = state.kv.get(namespace, key)
    if value is not None:
        return _ok(cmd, ext={"value": value})
    return cmd.response(ResponseCode.QUERY_NOT_FOUND,
                        f"No config item, Namespace: {namespace} Key: {key}")


def delete_kv_config(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                     conn: ConnInfo) -> RemotingCommand:
    """DELETE_KV_CONFIG (102)."""
    state.kv.delete(ext_str(cmd, "namespace"), ext_str(cmd, "key"))
    return _ok(cmd)


def get_kvlist_by_namespace(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                            conn: ConnInfo) -> RemotingCommand:
    """GET_KVLIST_BY_NAMESPACE (219): KVTable body or QUERY_NOT_FOUND."""
    namespace = ext_str(cmd, "namespace")
    body = state.kv.list_namespace(namespace)
    if body is not None:
        return _ok(cmd, body)
    return cmd.response(ResponseCode.QUERY_NOT_FOUND, f"No config item, Namespace: {namespace}")


# ------------------------------------------------------------------ brokers


def register_broker(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                    conn: ConnInfo) -> RemotingCommand:
    """REGISTER_BROKER (103)."""
    broker_name, broker_addr = ext_str(cmd, "brokerName"), ext_str(cmd, "brokerAddr")
    cluster, ha_addr = ext_str(cmd, "clusterName"), ext_str(cmd, "haServerAddr")
    broker_id = ext_int(cmd, "brokerId")
    crc = ext_opt_int(cmd, "bodyCrc32", 0)
    if crc != 0 and (zlib.crc32(cmd.body or b"") & 0x7FFFFFFF) != crc:
        return cmd.response(ResponseCode.SYSTEM_ERROR, "crc32 not match")
    filter_servers: list[str] | None = []
    if cmd.body is None:
        data_version, topics = DataVersion(0, 0), []
    else:
        try:
            if cmd.version >= V3_0_11:
                body = decode_register_body(cmd.body, ext_opt_bool(cmd, "compressed"))
                filter_servers = body.filter_server_list
            else:  # pre-3.0.11 brokers send a bare TopicConfigSerializeWrapper
                body = decode_register_body(
                    b'{"topicConfigSerializeWrapper":' + cmd.body + b"}", False)
                filter_servers = None
        except BodyError as e:
            return cmd.response(ResponseCode.SYSTEM_ERROR,
                                f"Failed to decode RegisterBrokerBody: {e}")
        data_version = body.data_version or DataVersion(now_ms, 0)
        topics = body.topic_configs
    result = state.routes.register_broker(cluster, broker_addr, broker_name, broker_id, ha_addr,
                                          data_version, topics, filter_servers, conn.conn_id,
                                          now_ms)
    ext = {}
    if result.ha_server_addr is not None:
        ext["haServerAddr"] = result.ha_server_addr
    if result.master_addr is not None:
        ext["masterAddr"] = result.master_addr
    return _ok(cmd, state.kv.list_namespace(NAMESPACE_ORDER_TOPIC_CONFIG), ext)


def unregister_broker(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                      conn: ConnInfo) -> RemotingCommand:
    """UNREGISTER_BROKER (104)."""
    state.routes.unregister_broker(ext_str(cmd, "clusterName"), ext_str(cmd, "brokerAddr"),
                                   ext_str(cmd, "brokerName"), ext_int(cmd, "brokerId"))
    return _ok(cmd)


def query_data_version(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                       conn: ConnInfo) -> RemotingCommand:
    """QUERY_DATA_VERSION (322): ext ``changed``; body = the nameserver's DataVersion."""
    broker_addr = ext_str(cmd, "brokerAddr")
    try:
        version = decode_data_version(cmd.body or b"null")
    except BodyError as e:
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"bad DataVersion body: {e}")
    changed = state.routes.is_topic_config_changed(broker_addr, version)
    if not changed:
        state.routes.touch(broker_addr, now_ms)
    known = state.routes.query_data_version(broker_addr)
    body = encode_data_version(known) if known is not None else None
    return _ok(cmd, body, {"changed": "true" if changed else "false"})


def wipe_write_perm_of_broker(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                              conn: ConnInfo) -> RemotingCommand:
    """WIPE_WRITE_PERM_OF_BROKER (205): ext ``wipeTopicCount``."""
    count = state.routes.wipe_write_perm(ext_str(cmd, "brokerName"))
    return _ok(cmd, ext={"wipeTopicCount": str(count)})


def add_write_perm_of_broker(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                             conn: ConnInfo) -> RemotingCommand:
    """ADD_WRITE_PERM_OF_BROKER (327): ext ``addTopicCount``."""
    count = state.routes.add_write_perm(ext_str(cmd, "brokerName"))
    return _ok(cmd, ext={"addTopicCount": str(count)})


# ------------------------------------------------------------------ routes and topics


def get_routeinfo_by_topic(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                           conn: ConnInfo) -> RemotingCommand:
    """GET_ROUTEINFO_BY_TOPIC (105): TopicRouteData or TOPIC_NOT_EXIST."""
    topic = ext_str(cmd, "topic")
    route = state.routes.pickup_topic_route(topic)
    if route is None:
        return cmd.response(ResponseCode.TOPIC_NOT_EXIST,
                            f"No topic route info in name server for the topic: {topic}"
                            + FAQ_APPLY_TOPIC_TIP)
    if state.config.order_message_enable:
        route.order_topic_conf = state.kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, topic)
    if cmd.version >= V4_9_4 or ext_opt_bool(cmd, "acceptStandardJsonOnly"):
        return _ok(cmd, dumps_standard(route.to_json_obj()))
    return _ok(cmd, dumps_compact(route.to_json_obj()))


def get_broker_cluster_info(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                            conn: ConnInfo) -> RemotingCommand:
    """GET_BROKER_CLUSTER_INFO (106): ClusterInfo, always fastjson compact."""
    return _ok(cmd, dumps_compact(state.routes.cluster_info_json()))


def get_all_topic_list(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                       conn: ConnInfo) -> RemotingCommand:
    """GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206)."""
    return _ok(cmd, encode_topic_list(state.routes.all_topics()))


def delete_topic_in_namesrv(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                            conn: ConnInfo) -> RemotingCommand:
    """DELETE_TOPIC_IN_NAMESRV (216): optional ``clusterName`` limits it to that cluster."""
    state.routes.delete_topic(ext_str(cmd, "topic"), ext_opt_str(cmd, "clusterName"))
    return _ok(cmd)


def get_topics_by_cluster(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                          conn: ConnInfo) -> RemotingCommand:
    """GET_TOPICS_BY_CLUSTER (224)."""
    return _ok(cmd, encode_topic_list(state.routes.topics_by_cluster(ext_str(cmd, "cluster"))))


def get_system_topic_list(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                          conn: ConnInfo) -> RemotingCommand:
    """GET_SYSTEM_TOPIC_LIST_FROM_NS (304): cluster/broker names + one broker address."""
    topics, broker_addr = state.routes.system_topics()
    return _ok(cmd, encode_topic_list(topics, broker_addr))


def _unit_lister(unit: bool | None, unit_sub: bool | None) -> NamesrvHandler:
    def handler(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                conn: ConnInfo) -> RemotingCommand:
        return _ok(cmd, encode_topic_list(state.routes.topics_by_sys_flag(unit, unit_sub)))
    return handler


# ------------------------------------------------------------------ namesrv config


def update_namesrv_config(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                          conn: ConnInfo) -> RemotingCommand:
    """UPDATE_NAMESRV_CONFIG (318): body = properties text; path keys refused (4.9.7 rule)."""
    if cmd.body is None:
        return _ok(cmd)
    try:
        props = parse_properties(cmd.body.decode("utf-8"))
    except UnicodeDecodeError:
        return cmd.response(ResponseCode.SYSTEM_ERROR, "string2Properties error")
    if any(key in props for key in CONFIG_PATH_KEYS):
        return cmd.response(ResponseCode.NO_PERMISSION, "Can not update config path")
    state.config.update_from_properties(props)
    return _ok(cmd)


def get_namesrv_config(state: NamesrvState, cmd: RemotingCommand, now_ms: int,
                       conn: ConnInfo) -> RemotingCommand:
    """GET_NAMESRV_CONFIG (319): ``key=value`` lines."""
    text = state.config.format_properties()
    return _ok(cmd, text.encode("utf-8") if text else None)


HANDLERS: dict[int, NamesrvHandler] = {
    RequestCode.PUT_KV_CONFIG: put_kv_config,
    RequestCode.GET_KV_CONFIG: get_kv_config,
    RequestCode.DELETE_KV_CONFIG: delete_kv_config,
    RequestCode.QUERY_DATA_VERSION: query_data_version,
    RequestCode.REGISTER_BROKER: register_broker,
    RequestCode.UNREGISTER_BROKER: unregister_broker,
    RequestCode.GET_ROUTEINFO_BY_TOPIC: get_routeinfo_by_topic,
    RequestCode.GET_BROKER_CLUSTER_INFO: get_broker_cluster_info,
    RequestCode.WIPE_WRITE_PERM_OF_BROKER: wipe_write_perm_of_broker,
    RequestCode.ADD_WRITE_PERM_OF_BROKER: add_write_perm_of_broker,
    RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER: get_all_topic_list,
    RequestCode.DELETE_TOPIC_IN_NAMESRV: delete_topic_in_namesrv,
    RequestCode.GET_KVLIST_BY_NAMESPACE: get_kvlist_by_namespace,
    RequestCode.GET_TOPICS_BY_CLUSTER: get_topics_by_cluster,
    RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS: get_system_topic_list,
    RequestCode.GET_UNIT_TOPIC_LIST: _unit_lister(True, None),
    RequestCode.GET_HAS_UNIT_SUB_TOPIC_LIST: _unit_lister(None, True),
    RequestCode.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: _unit_lister(False, True),
    RequestCode.UPDATE_NAMESRV_CONFIG: update_namesrv_config,
    RequestCode.GET_NAMESRV_CONFIG: get_namesrv_config,
}
