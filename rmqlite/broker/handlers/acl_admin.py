"""ACL admin requests of RocketMQ 4.9.4 (``AdminBrokerProcessor`` over ``PlainPermissionManager``).

Codes: UPDATE_AND_CREATE_ACL_CONFIG 50, DELETE_ACL_CONFIG 51, GET_BROKER_CLUSTER_ACL_INFO 52,
UPDATE_GLOBAL_WHITE_ADDRS_CONFIG 53, GET_BROKER_CLUSTER_ACL_CONFIG 54 (mqadmin updateAclConfig,
deleteAclConfig, clusterAclConfigVersion, updateGlobalWhiteAddr, getAclConfig).

How it works:
1. The broker's ``AclState`` is ``state.acl`` (set by the broker shell when aclEnable=true); with aclEnable=false
   there is none and Java hits a null validator: 50/51/53 answer 209/210/211 with the NullPointerException's
   message, 52/54 answer nothing at all (the client times out), as Java does.
2. Header fields are all optional: 4.9.4's ``decodeCommandCustomHeader`` throws "the custom field <x> is null"
   for a missing @CFNotNull field inside its own catch-all, so it is only logged. A missing accessKey or
   globalWhiteAddrs is a null that the checks below refuse; no aclFileFullPath (mqadmin updateGlobalWhiteAddr
   without -p) means the default file.
3. Changes edit the YAML file as Java does: read it (``acl_yaml.parse_yaml``), change the account / list,
   set ``dataVersion: [{counter: old+1, timestamp: now}]`` and write it back in SnakeYAML ``dumpAsMap``
   style (``acl_yaml.dump_yaml``) - atomically (temp file + rename, written through a symlink). An updated
   account keeps its key order and moves to the end of ``accounts``; a new one goes to the default file.
4. Running rules change as in Java: a new account (and the first one of a file) is usable at once, a deleted
   key is refused at once ("No acl config for ..."); an updated existing account and new global white
   addresses apply when the file watcher re-reads the file (``feature_tasks``, every 5 s, idempotent: the
   watcher rebuilds the file's rules from what was written). Account changes are not admin-only in 4.9.4:
   any signed account (Permission.ADMIN_CODE lists topic / group / broker-config codes only).
5. A failure answers Java's remark: the AclException text, "The accesskey[k] corresponding to accessConfig
   has been deleted failed.", "The globalWhiteAddresses[..] has been updated failed.".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rmqlite.broker.acl import AclError, AclState, build_account, default_file, java_hashmap_order
from rmqlite.broker.acl_yaml import YamlError, dump_yaml, java_text, parse_yaml
from rmqlite.broker.handlers.base import handler, json_body
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand

__all__ = ["AccessConfig", "update_access_config", "delete_access_config", "update_global_white_addrs",
           "all_acl_config"]

_NPE_VALIDATOR = ('Cannot invoke "org.apache.rocketmq.acl.AccessValidator.{}" because "accessValidator" is null')
_NPE_RESULT = 'Cannot invoke "{}" because the return value of "java.util.Map.get(Object)" is null'
_NPE_GET = _NPE_RESULT.format("Object.equals(Object)")
_KEY_LEN = 6


class JavaError(Exception):
    """An exception Java throws inside the processor's try: ``remark`` is its getMessage() (may be None)."""

    def __init__(self, remark: str | None) -> None:
        super().__init__(remark)
        self.remark = remark


@dataclass(slots=True)
class AccessConfig:
    """``PlainAccessConfig`` as the broker builds it from CreateAccessConfigRequestHeader."""

    access_key: str | None
    secret_key: str | None = None
    white_remote_address: str | None = None
    admin: bool = False
    default_topic_perm: str | None = None
    default_group_perm: str | None = None
    topic_perms: list[str] | None = None
    group_perms: list[str] | None = None


def _j(value: str | None) -> str:
    """Java's string conversion of a maybe-null String."""
    return "null" if value is None else value


def java_split(text: str | None) -> list[str] | None:
    """``UtilAll.split(text, ",")`` = Java ``String.split(",")``: trailing empty parts dropped."""
    if text is None:
        return None
    if text == "":
        return [""]
    parts = text.split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


# ---------------------------------------------------------------------------------------------- files
def _load_map(path: str) -> dict[Any, Any] | None:
    """``AclUtils.getYamlDataObject(path, Map.class)``: None for a missing file or an empty document."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JavaError(f"{path} ({exc.strerror})") from None
    try:
        data = parse_yaml(text)
    except YamlError as exc:
        raise JavaError(str(exc)) from None
    if data is not None and not isinstance(data, dict):
        raise JavaError(f"No single argument constructor found for interface java.util.Map in {path}")
    return data


def write_yaml(path: str, data: dict[Any, Any]) -> None:
    """``AclUtils.writeDataObject``: the whole file, atomically (temp file in the same directory + rename)."""
    target = os.path.realpath(path)
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(dump_yaml(data))
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(target):
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        os.replace(tmp, target)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise JavaError(f"{path} ({exc.strerror})") from None


def _bump_version(acl: AclState, path: str, data: dict[Any, Any], now_ms: int) -> dict[Any, Any]:
    """``updateAclConfigFileVersion``: dataVersion := [{counter: old + 1, timestamp: now}]."""
    counter = 0
    entries = data.get("dataVersion")
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        first = entries[0]
        stamp = first.get("timestamp")
        if stamp is None:
            raise JavaError(_NPE_RESULT.format("java.lang.Long.longValue()"))
        if not isinstance(stamp, int) or isinstance(stamp, bool) or -2**31 <= stamp < 2**31:
            raise JavaError(_cast_error(stamp, "java.lang.Long"))       # snakeyaml reads small numbers as Integer
        if first.get("counter") is None:
            raise JavaError(_NPE_RESULT.format("Object.toString()"))
        try:
            counter = int(java_text(first["counter"]) or "")
        except ValueError:
            raise JavaError(f'For input string: "{java_text(first["counter"])}"') from None
    counter += 1
    data["dataVersion"] = [{"counter": counter, "timestamp": now_ms}]
    acl.versions[path] = (now_ms, counter)
    return data


def _cast_error(value: Any, wanted: str) -> str:
    """Java 17's ClassCastException message for a value snakeyaml read from the file."""
    have = {bool: "java.lang.Boolean", int: "java.lang.Integer", float: "java.lang.Double", str: "java.lang.String",
            list: "java.util.ArrayList", dict: "java.util.LinkedHashMap"}.get(type(value), "java.lang.Object")
    return (f"class {have} cannot be cast to class {wanted} ({have} and {wanted} are in module java.base of "
            "loader 'bootstrap')")


def _hashmap(data: dict[Any, Any]) -> dict[Any, Any]:
    """A java.util.HashMap's iteration order (a map Java created itself, not read from the file)."""
    return {k: data[k] for k in java_hashmap_order(list(data))}


# ---------------------------------------------------------------------------------------------- changes
def _account_map(existing: dict[Any, Any] | None, c: AccessConfig) -> dict[Any, Any]:
    """``createAclAccessConfigMap``: the given fields over ``existing`` (its key order kept)."""
    out = existing if existing is not None else {}
    if not c.access_key or len(c.access_key) <= _KEY_LEN:
        raise JavaError(f"The accessKey={_j(c.access_key)} cannot be null and length should longer than 6")
    out["accessKey"] = c.access_key
    if c.secret_key:
        if len(c.secret_key) <= _KEY_LEN:
            raise JavaError(f"The secretKey={c.secret_key} value length should longer than 6")
        out["secretKey"] = c.secret_key
    if c.white_remote_address is not None:
        out["whiteRemoteAddress"] = c.white_remote_address
    out["admin"] = c.admin
    for key, value in (("defaultTopicPerm", c.default_topic_perm), ("defaultGroupPerm", c.default_group_perm)):
        if value:
            out[key] = value
    for key, items in (("topicPerms", c.topic_perms), ("groupPerms", c.group_perms)):
        if items is not None:
            out[key] = list(items)
    return out


def _check_config(c: AccessConfig) -> None:
    """``checkPlainAccessConfig`` + ``Permission.checkResourcePerms`` of topic and group perms."""
    if c.access_key is None or c.secret_key is None or len(c.access_key) <= _KEY_LEN \
            or len(c.secret_key) <= _KEY_LEN:
        raise JavaError(f"The accessKey={_j(c.access_key)} and secretKey={_j(c.secret_key)} cannot be null and length "
                        "should longer than 6")
    for resource in (c.topic_perms or []) + (c.group_perms or []):
        items = [p for p in resource.split("=") if p]
        if len(items) != 2:
            raise JavaError(f"Parse Resource format error for {resource}.\n"
                            "The expected resource format is 'Res=Perm'. For example: topicA=SUB")
        if items[1].strip() not in ("DENY", "PUB", "SUB", "PUB|SUB", "SUB|PUB"):
            raise JavaError(f"Parse resource permission error for {resource}.\n"
                            "The expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'.")


def _resource(c: AccessConfig) -> Any:
    raw = {"accessKey": c.access_key, "secretKey": c.secret_key, "whiteRemoteAddress": c.white_remote_address,
           "admin": c.admin, "defaultTopicPerm": c.default_topic_perm, "defaultGroupPerm": c.default_group_perm,
           "topicPerms": c.topic_perms, "groupPerms": c.group_perms}
    try:
        return build_account(raw)
    except AclError as exc:
        raise JavaError(str(exc)) from None


def _accounts_of(data: dict[Any, Any]) -> list[Any] | None:
    accounts = data.get("accounts")
    if accounts is not None and not isinstance(accounts, list):
        raise JavaError(_cast_error(accounts, "java.util.List"))
    return accounts


def _key_of(account: Any) -> Any:
    if not isinstance(account, dict):
        raise JavaError(_cast_error(account, "java.util.Map"))
    key = account.get("accessKey")
    if key is None:
        raise JavaError(_NPE_GET)
    return key


def update_access_config(acl: AclState, c: AccessConfig, now_ms: int) -> bool:
    """``PlainPermissionManager.updateAccessConfig``; raises JavaError."""
    _check_config(c)
    ak = c.access_key
    assert ak is not None
    if ak in acl.key_file:
        path = acl.key_file[ak]
        data = _load_map(path)
        if data is None:
            raise JavaError('Cannot invoke "java.util.Map.get(Object)" because "aclAccessConfigMap" is null')
        accounts = _accounts_of(data)
        if accounts is None:
            data["accounts"] = [_account_map(None, c)]       # deleted from the file by hand: add it back
        else:
            for i, account in enumerate(accounts):
                if _key_of(account) == ak:
                    del accounts[i]
                    accounts.append(_account_map(account, c))
                    break
        if not acl.accounts.get(path):       # Java compares a resource with a String: others change on reload
            acl.accounts.setdefault(path, {})[ak] = _resource(c)
        write_yaml(path, _bump_version(acl, path, data, now_ms))
        return True
    assert acl.home is not None
    path = default_file(acl.home)
    if not acl.accounts.get(path) and not os.path.exists(path):
        open(path, "a").close()
    data = _load_map(path)
    fresh = data is None
    data = {"accounts": []} if data is None else data
    accounts = _accounts_of(data)
    accounts = [] if accounts is None else accounts
    accounts.append(_account_map(None, c))
    data["accounts"] = accounts
    acl.key_file[ak] = path
    acl.accounts.setdefault(path, {})[ak] = _resource(c)
    data = _bump_version(acl, path, data, now_ms)
    write_yaml(path, _hashmap(data) if fresh else data)
    return True


def delete_access_config(acl: AclState, access_key: str | None, now_ms: int) -> bool:
    """``PlainPermissionManager.deleteAccessConfig``; raises JavaError."""
    if not access_key or access_key not in acl.key_file:
        return False
    path = acl.key_file[access_key]
    data = _load_map(path)
    if not data:
        return True
    accounts = _accounts_of(data)
    if accounts is None:
        raise JavaError('Cannot invoke "java.util.List.iterator()" because "accounts" is null')
    for i, account in enumerate(accounts):
        if _key_of(account) == access_key:
            del accounts[i]
            del acl.key_file[access_key]
            write_yaml(path, _bump_version(acl, path, data, now_ms))
            return True
    return False


def update_global_white_addrs(acl: AclState, addrs: list[str] | None, file_name: str | None, now_ms: int) -> bool:
    """``PlainPermissionManager.updateGlobalWhiteAddrsConfig(list, file)``; raises JavaError."""
    if not file_name:
        assert acl.home is not None
        file_name = default_file(acl.home)
    if addrs is None or not os.path.isfile(file_name):
        return False
    if acl.home is None or not file_name.startswith(acl.home) or file_name.endswith(".yaml"):
        return False                 # Java's check rejects only ".yaml" names (its ".yml" test is inverted)
    data = _load_map(file_name)
    fresh = data is None
    data = {} if data is None else data
    data["globalWhiteRemoteAddresses"] = list(addrs)
    data = _bump_version(acl, file_name, data, now_ms)
    write_yaml(file_name, _hashmap(data) if fresh else data)
    return True


def _plain_access_config(raw: dict[Any, Any]) -> dict[str, Any]:
    """A YAML account as fastjson writes the ``PlainAccessConfig`` bean (alphabetical, nulls left out)."""
    def texts(v: Any) -> list[str | None] | None:
        return None if v is None else [java_text(x) for x in (v if isinstance(v, list) else [v])]
    admin = raw.get("admin")
    out = {"accessKey": java_text(raw.get("accessKey")),
           "admin": admin is True or str(admin).lower() in ("true", "1"),
           "defaultGroupPerm": java_text(raw.get("defaultGroupPerm")),
           "defaultTopicPerm": java_text(raw.get("defaultTopicPerm")),
           "groupPerms": texts(raw.get("groupPerms")), "secretKey": java_text(raw.get("secretKey")),
           "topicPerms": texts(raw.get("topicPerms")),
           "whiteRemoteAddress": java_text(raw.get("whiteRemoteAddress"))}
    return {k: v for k, v in out.items() if v is not None}


def all_acl_config(acl: AclState) -> dict[str, Any]:
    """``getAllAclConfig``: every loaded file's global white addresses and accounts (first key wins)."""
    whites: list[str | None] = []
    configs: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for path in acl.files:
        data = _load_map(path)
        if not data:
            continue
        whites += [java_text(a) for a in data.get("globalWhiteRemoteAddresses") or []]
        for raw in _accounts_of(data) or []:
            cfg = _plain_access_config(raw if isinstance(raw, dict) else {})
            if cfg.get("accessKey") not in seen:
                seen.add(cfg.get("accessKey"))
                configs.append(cfg)
    return {"globalWhiteAddrs": whites, "plainAccessConfigs": configs}


# ---------------------------------------------------------------------------------------------- handlers
def _change(state: BrokerState, cmd: RemotingCommand, failed: int, method: str, run: Any,
            fail_remark: str) -> RemotingCommand:
    acl = state.acl
    try:
        if acl is None:
            raise JavaError(_NPE_VALIDATOR.format(method))
        ok = run(acl)
    except JavaError as exc:
        return cmd.response(failed, exc.remark)
    return cmd.response(ResponseCode.SUCCESS) if ok else cmd.response(failed, fail_remark)


@handler(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG)
def update_and_create_acl_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    ext = cmd.ext_fields
    config = AccessConfig(ext.get("accessKey"), ext.get("secretKey"), ext.get("whiteRemoteAddress"),
                          (ext.get("admin") or "").strip().lower() == "true", ext.get("defaultTopicPerm"),
                          ext.get("defaultGroupPerm"), java_split(ext.get("topicPerms")),
                          java_split(ext.get("groupPerms")))
    return _change(state, cmd, ResponseCode.UPDATE_AND_CREATE_ACL_CONFIG_FAILED,
                   "updateAccessConfig(org.apache.rocketmq.common.PlainAccessConfig)",
                   lambda acl: update_access_config(acl, config, ctx.now_ms),
                   f"The accesskey[{_j(config.access_key)}] corresponding to accessConfig has been updated failed.")


@handler(RequestCode.DELETE_ACL_CONFIG)
def delete_acl_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    key = cmd.ext_fields.get("accessKey")
    return _change(state, cmd, ResponseCode.DELETE_ACL_CONFIG_FAILED, "deleteAccessConfig(String)",
                   lambda acl: delete_access_config(acl, key, ctx.now_ms),
                   f"The accesskey[{_j(key)}] corresponding to accessConfig has been deleted failed.")


@handler(RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG)
def update_global_white_addrs_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand:
    addrs = cmd.ext_fields.get("globalWhiteAddrs")
    return _change(state, cmd, ResponseCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED,
                   "updateGlobalWhiteAddrsConfig(java.util.List, String)",
                   lambda acl: update_global_white_addrs(acl, java_split(addrs), cmd.ext_fields.get("aclFileFullPath"),
                                                         ctx.now_ms),
                   f"The globalWhiteAddresses[{_j(addrs)}] has been updated failed.")


def _version_json(version: tuple[int, int]) -> str:
    return fastjson.dumps({"counter": version[1], "timestamp": version[0]})


@handler(RequestCode.GET_BROKER_CLUSTER_ACL_INFO)
def get_broker_cluster_acl_info(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand | None:
    acl = state.acl
    if acl is None:
        return None                  # Java: NullPointerException caught and logged, no response
    versions = {p: {"counter": acl.versions[p][1], "timestamp": acl.versions[p][0]}
                for p in java_hashmap_order(list(acl.versions))}
    cfg = state.config
    return cmd.response(ResponseCode.SUCCESS, ext_fields={
        "version": _version_json(acl.version), "allAclFileVersion": fastjson.dumps(versions),
        "brokerName": cfg.brokerName, "brokerAddr": f"{cfg.brokerIP1}:{cfg.listenPort}",
        "clusterName": cfg.brokerClusterName})


@handler(RequestCode.GET_BROKER_CLUSTER_ACL_CONFIG)
def get_broker_cluster_acl_config(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand | None:
    acl = state.acl
    if acl is None:
        return None                  # Java: NullPointerException caught and logged, no response
    try:
        body = all_acl_config(acl)
    except JavaError:
        return None                  # Java: the AclException is caught and logged, no response
    return cmd.response(ResponseCode.SUCCESS, body=json_body(body))
