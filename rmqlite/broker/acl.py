"""ACL 1.0 (RocketMQ 4.9.4 ``PlainAccessValidator`` + ``PlainPermissionManager``) for ``aclEnable=true``.

How it works:
1. Config files are Java's: ``$ROCKETMQ_HOME/conf/plain_acl.yml`` plus every ``*.yml``/``*.yaml`` under
   ``$ROCKETMQ_HOME/conf/acl`` (recursively, ``conf/tools.yml`` excluded). Per file: globalWhiteRemoteAddresses
   and accounts (accessKey, secretKey - both longer than 6 chars -, whiteRemoteAddress, admin,
   defaultTopicPerm / defaultGroupPerm, topicPerms / groupPerms as ``name=PERM``; a group is kept as its
   ``%RETRY%group`` topic). The first file that names an access key owns it. ``AclState.reload_file`` is
   Java's single-file reload (accounts replaced; a key dropped from the file stays known and is then refused
   with "No PlainAccessResource ..."), ``AclState.load`` the full one (file count changed).
2. ``AclState.check(cmd, remote_addr)`` runs Java's hook on every request before its handler and returns
   None (allowed) or the remark of the SYSTEM_ERROR answer (``exceptionSimpleDesc`` of the AclException,
   with the Java stack element), in Java's order:
   a. parse: the resources the request needs by code (send -> topic PUB or %RETRY%group SUB; pull -> topic
      and %RETRY%group SUB; heartbeat -> every consumer group and subscribed topic SUB; ...) and the signed
      content: ext field VALUES sorted by key (``Signature`` and ``_UNIQUE_KEY_QUERY`` left out) then the body;
   b. a global white address matches -> allowed (nothing else checked);
   c. no AccessKey / unknown key / key without account -> refused;
   d. the account's white address matches -> allowed;
   e. HmacSHA1(content, secretKey), base64, must equal ``Signature`` (no nonce or timestamp: a replayed
      request is as valid as the original, as in Java);
   f. a needed RMQ_SYS_TRACE_TOPIC PUB -> allowed; admin-only codes need ``admin``; each resource needs its
      permission (explicit, else the default for topics / groups; DENY always refuses).
3. Address patterns (``RemoteAddressStrategyFactory``): blank (never), ``*`` / ``*.*.*.*`` (always),
   ``a.b.c.{x,y}``, comma lists, ranges with ``*`` or ``n-m`` in the 2nd..4th part, single addresses.
4. Pure: files are read by ``load``/``reload_file`` only; the shell decides when (Java polls every 5 s).
5. Per file, ``versions`` holds its ``dataVersion`` (timestamp, counter) - the first entry of the file's
   ``dataVersion`` list, else (load time, 0) - and ``version`` the deprecated one Java reports (the default
   file's, assigned on load; ``clock`` gives the load time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rmqlite.broker.acl_yaml import YamlError, java_text, parse_yaml
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand

__all__ = ["ANY", "DENY", "PUB", "SUB", "AclError", "AclState", "acl_home", "sign", "signed_content"]

DENY, ANY, PUB, SUB = 1, 2, 4, 8
RETRY_PREFIX = "%RETRY%"
TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC"
ADMIN_CODES = frozenset({RequestCode.UPDATE_AND_CREATE_TOPIC, RequestCode.UPDATE_BROKER_CONFIG,
                         RequestCode.DELETE_TOPIC_IN_BROKER, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
                         RequestCode.DELETE_SUBSCRIPTIONGROUP})     # Permission.ADMIN_CODE
_EXC = "org.apache.rocketmq.acl.common.AclException"
_AT_VALIDATE = "org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:{})"
_AT_CHECK = "org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:{})"
_AT_PARSE = "org.apache.rocketmq.acl.plain.PlainAccessValidator.parse(PlainAccessValidator.java:134)"


class AclError(ValueError):
    """An ACL file that cannot be used (Java throws AclException while loading it)."""


class _Denied(Exception):
    def __init__(self, message: str | None, where: str) -> None:
        super().__init__(message)
        self.remark = (f"{_EXC}: {message}" if message is not None else _EXC) + ", " + where


# ---------------------------------------------------------------------------------------------- signatures
def _java_sorted_keys(keys: Any) -> list[str]:
    return sorted(keys, key=lambda k: k.encode("utf-16-be", "surrogatepass"))


def signed_content(ext_fields: dict[str, Any], body: bytes | None) -> bytes:
    """What ACL 1.0 signs: ext values in key order (no Signature / _UNIQUE_KEY_QUERY), then the body."""
    values = ("null" if ext_fields[k] is None else str(ext_fields[k]) for k in _java_sorted_keys(ext_fields)
              if k not in ("Signature", "_UNIQUE_KEY_QUERY"))
    return "".join(values).encode("utf-8", "replace") + (body or b"")


def sign(content: bytes, secret_key: str) -> str:
    """``AclUtils.calSignature``: base64(HmacSHA1(secretKey, content))."""
    digest = hmac.new(secret_key.encode("utf-8"), content, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


# ---------------------------------------------------------------------------------------------- addresses
def _valid_v4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and p.isascii() and len(p) <= 3 and int(p) <= 255
                                   and (len(p) == 1 or not p.startswith("0")) for p in parts)


def _valid_v6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
        return True
    except ValueError:
        return False


def _expand_v6(text: str) -> str:
    return ipaddress.IPv6Address(text).exploded.upper()


Matcher = Callable[[str], bool]


def _fail(text: str) -> AclError:
    return AclError(text)


def _one(address: str) -> Matcher:
    if not (_valid_v4(address) or _valid_v6(address)):
        raise _fail(f"Netaddress examine Exception netaddress is {address}")
    want = _expand_v6(address) if _valid_v6(address) else address.upper()
    return lambda ip: (_expand_v6(ip) if _valid_v6(ip) else ip.upper()) == want


def _multiple(addresses: list[str]) -> Matcher:
    wanted = set()
    for a in addresses:
        if _valid_v4(a):
            wanted.add(a)
        elif _valid_v6(a):
            wanted.add(_expand_v6(a))
        else:
            raise _fail(f"Netaddress examine Exception netaddress is {a}")
    return lambda ip: (_expand_v6(ip) if _valid_v6(ip) else ip) in wanted


def _range_v4(pattern: str) -> Matcher:
    parts = [p for p in pattern.split(".") if p]
    head, lo, hi, index = None, 0, 0, 0
    for index in (1, 2, 3):
        value = parts[index].strip() if index < len(parts) else ""
        if value == "*":
            lo, hi = 0, 255
        elif "-" in value:
            if value.startswith("-"):
                raise _fail(f"RangeRemoteAddressStrategy netaddress examine scope Exception value {value} ")
            a, _, b = value.partition("-")
            lo, hi = int(a), int(b)
            if not (0 <= lo <= 255 and 0 <= hi <= 255 and lo <= hi):
                raise _fail(f"RangeRemoteAddressStrategy netaddress examine scope Exception start is {lo} , "
                            f"end is {hi}")
        if hi > 0:
            if len(parts) != 4 or not all(p.strip().isdigit() and int(p) <= 255 for p in parts[:index - 1]):
                raise _fail(f"Netaddress examine scope Exception netaddress is {pattern}")
            head = "".join(p.strip() + "." for p in parts[:index])
            break
    if head is None:
        return lambda ip: False
    start, end, idx, prefix = lo, hi, index, head

    def match(ip: str) -> bool:
        if not _valid_v4(ip) or not ip.startswith(prefix):
            return False
        rest = ip[len(prefix):]
        value = rest if idx == 3 else rest.split(".")[0]
        return value.isdigit() and start <= int(value) <= end
    return match


def address_matcher(pattern: str | None) -> Matcher:
    """``RemoteAddressStrategyFactory.getRemoteAddressStrategy`` as a predicate on the client IP."""
    if pattern is None or not pattern.strip():
        return lambda ip: False
    if pattern in ("*", "*.*.*.*", "*:*:*:*:*:*:*:*"):
        return lambda ip: True
    if pattern.endswith("}"):
        sep = ":" if ":" in pattern else "."
        last = [p for p in pattern.split(sep) if p][-1]
        if not last.startswith("{"):
            raise _fail("MultipleRemoteAddressStrategy netaddress examine scope Exception netaddress")
        prefix = pattern[: pattern.index("{")]
        return _multiple([prefix + x for x in last[1:-1].split(",") if x])
    if "," in pattern:
        return _multiple([p for p in pattern.split(",") if p])
    if "*" in pattern or "-" in pattern:
        if ":" in pattern:
            raise _fail(f"unsupported IPv6 range pattern {pattern}")
        return _range_v4(pattern)
    return _one(pattern)


# ---------------------------------------------------------------------------------------------- accounts
def parse_perm(text: str | None) -> int:
    """``Permission.parsePermFromString`` (unknown -> DENY)."""
    return {"PUB": PUB, "SUB": SUB, "PUB|SUB": PUB | SUB, "SUB|PUB": PUB | SUB}.get((text or "").strip(), DENY)


def check_perm(needed: int, owned: int) -> bool:
    if owned & DENY:
        return False
    if needed & ANY:
        return bool(owned & (PUB | SUB))
    return bool(needed & owned)


@dataclass(slots=True)
class Account:
    access_key: str
    secret_key: str
    admin: bool = False
    default_topic_perm: int = DENY
    default_group_perm: int = DENY
    perms: dict[str, int] = field(default_factory=dict)
    white: Matcher = field(default=lambda ip: False)


def _perm_list(account: Account, items: Any, topic: bool) -> None:
    for item in items or []:
        text = java_text(item) or ""
        parts = [p for p in text.split("=") if p]
        if len(parts) != 2:
            raise _fail(f"Parse resource permission failed for {'topic' if topic else 'group'}:{text}")
        name = parts[0].strip()
        account.perms[name if topic else RETRY_PREFIX + name] = parse_perm(parts[1])


def build_account(raw: Any) -> Account:
    """``buildPlainAccessResource`` from one YAML account mapping."""
    if not isinstance(raw, dict):
        raise _fail(f"bad account entry {raw!r}")
    ak, sk = java_text(raw.get("accessKey")), java_text(raw.get("secretKey"))
    if ak is None or sk is None or len(ak) <= 6 or len(sk) <= 6:
        raise _fail(f"The accessKey={ak} and secretKey={sk} cannot be null and length should longer than 6")
    admin = raw.get("admin")
    acct = Account(ak, sk, admin=admin is True or str(admin).lower() in ("true", "1"),
                   default_topic_perm=parse_perm(java_text(raw.get("defaultTopicPerm"))),
                   default_group_perm=parse_perm(java_text(raw.get("defaultGroupPerm"))),
                   white=address_matcher(java_text(raw.get("whiteRemoteAddress"))))
    _perm_list(acct, raw.get("groupPerms"), topic=False)
    _perm_list(acct, raw.get("topicPerms"), topic=True)
    return acct


def acl_home(config: Any = None) -> str | None:
    """Java's ``rocketmq.home.dir``: env ROCKETMQ_HOME, else the broker.conf key rocketmqHome."""
    home = os.environ.get("ROCKETMQ_HOME")
    if not home and config is not None:
        home = getattr(config, "extra", {}).get("rocketmqHome") or getattr(config, "rocketmqHome", None)
    return home or None


# ---------------------------------------------------------------------------------------------- files
def _norm(path: str) -> str:
    return os.path.normpath(path)


def acl_files(home: str) -> list[str]:
    """Java's file list: conf/acl/**.yml|yaml (sorted, conf/tools.yml excluded) then conf/plain_acl.yml."""
    out: list[str] = []
    acl_dir = os.path.join(home, "conf", "acl")
    tools = _norm(os.path.join(home, "conf", "tools.yml"))
    if os.path.isdir(acl_dir):
        for root, dirs, names in os.walk(acl_dir):
            dirs.sort()
            for name in sorted(names):
                path = _norm(os.path.join(root, name))
                if path != tools and name.endswith((".yml", ".yaml")):
                    out.append(path)
    default = default_file(home)
    if os.path.exists(default) and default not in out:
        out.append(default)
    return out


def default_file(home: str) -> str:
    return _norm(os.path.join(home, "conf", "plain_acl.yml"))


def _read(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AclError(str(exc)) from None
    try:
        return parse_yaml(text)
    except YamlError as exc:
        raise AclError(f"{path}: {exc}") from None


@dataclass(slots=True)
class _FileData:
    white: list[Matcher]
    accounts: dict[str, Account]
    version: tuple[int, int]


def data_version(data: Any, now_ms: int) -> tuple[int, int]:
    """(timestamp, counter) of a file's first ``dataVersion`` entry; (now_ms, 0) when it has none."""
    first = data.get("dataVersion") if isinstance(data, dict) else None
    first = first[0] if isinstance(first, list) and first and isinstance(first[0], dict) else {}
    try:
        return int(first.get("timestamp", now_ms)), int(first.get("counter", 0))
    except (TypeError, ValueError):
        raise AclError(f"bad dataVersion {first!r}") from None


def _file_data(path: str, taken: dict[str, str], now_ms: int) -> _FileData | None:
    data = _read(path)
    if not isinstance(data, dict) or not data:
        return None
    white = [address_matcher(java_text(a)) for a in (data.get("globalWhiteRemoteAddresses") or [])]
    accounts: dict[str, Account] = {}
    for raw in data.get("accounts") or []:
        acct = build_account(raw)
        if taken.get(acct.access_key) in (None, path):
            accounts[acct.access_key] = acct
    return _FileData(white, accounts, data_version(data, now_ms))


def _wall_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------------------------- state
class AclState:
    """Loaded ACL files and the request check."""

    def __init__(self, home: str | None, clock: Callable[[], int] = _wall_ms) -> None:
        self.home = home
        self.clock = clock
        self.versions: dict[str, tuple[int, int]] = {}          # file -> (timestamp, counter)
        self.version: tuple[int, int] = (clock(), 0)            # Java's deprecated dataVersion
        self.files: list[str] = []
        self.accounts: dict[str, dict[str, Account]] = {}     # file -> access key -> account
        self.key_file: dict[str, str] = {}                    # access key -> file
        self.white_by_file: dict[str, list[Matcher]] = {}
        self.global_white: list[Matcher] = []

    def load(self) -> None:
        """Read every file (``PlainPermissionManager.load``); raises AclError and then changes nothing."""
        if not self.home:
            return
        default = default_file(self.home)
        if not os.path.exists(default) and os.path.isdir(os.path.dirname(default)):
            open(default, "a").close()                        # assureAclConfigFilesExist
        files = acl_files(self.home)
        accounts: dict[str, dict[str, Account]] = {}
        key_file: dict[str, str] = {}
        white_by_file: dict[str, list[Matcher]] = {}
        versions: dict[str, tuple[int, int]] = {}
        for path in files:
            data = _file_data(path, {k: v for k, v in key_file.items()}, self.clock())
            if data is None:
                continue
            versions[path] = data.version
            if data.white:
                white_by_file[path] = data.white
            mine = {k: a for k, a in data.accounts.items() if k not in key_file}
            for k in mine:
                key_file[k] = path
            if mine:
                accounts[path] = mine
        self.files, self.accounts, self.key_file = files, accounts, key_file
        self.white_by_file, self.versions = white_by_file, versions
        self.global_white = [m for ms in white_by_file.values() for m in ms]
        self.version = versions.get(default, self.version)

    def reload_file(self, path: str) -> None:
        """One changed file (``PlainPermissionManager.load(String)``); raises AclError, then changes nothing."""
        path = _norm(path)
        data = _file_data(path, self.key_file, self.clock())
        if data is None:
            return
        self.versions[path] = data.version
        if self.home and path == default_file(self.home):
            self.version = data.version
        if path in self.white_by_file:
            old = self.white_by_file[path]
            self.global_white = [m for m in self.global_white if all(m is not o for o in old)] + data.white
            self.white_by_file[path] = data.white
        else:
            self.global_white += data.white
        for k in data.accounts:
            self.key_file[k] = path
        self.accounts[path] = data.accounts

    # ------------------------------------------------------------------ the request hook
    def check(self, cmd: RemotingCommand, remote_addr: str) -> str | None:
        """None if ``cmd`` may run, else the remark of Java's SYSTEM_ERROR answer."""
        try:
            self._validate(cmd, remote_addr)
        except _Denied as denied:
            return denied.remark
        return None

    def _validate(self, cmd: RemotingCommand, remote_addr: str) -> None:
        ip = remote_addr.rpartition(":")[0] if ":" in remote_addr else remote_addr
        ext = cmd.ext_fields or None        # Java: no ext fields at all -> extFields null, nothing parsed
        needed = _resources(cmd) if ext is not None else None
        if any(m(ip) for m in self.global_white):
            return
        ak = ext.get("AccessKey") if ext is not None else None
        if ak is None:
            raise _Denied("No accessKey is configured", _AT_VALIDATE.format(663))
        if ak not in self.key_file:
            raise _Denied(f"No acl config for {ak}", _AT_VALIDATE.format(667))
        owned = self.accounts.get(self.key_file[ak], {}).get(ak)
        if owned is None:
            raise _Denied(f"No PlainAccessResource for accessKey={ak}", _AT_VALIDATE.format(674))
        if owned.white(ip):
            return
        if sign(signed_content(ext, cmd.body), owned.secret_key) != ext.get("Signature"):
            raise _Denied(f"Check signature failed for accessKey={ak}", _AT_VALIDATE.format(683))
        if needed and needed.get(TRACE_TOPIC) == PUB:
            return
        _check_perm(cmd.code, needed, owned)


def _check_perm(code: int, needed: dict[str, int] | None, owned: Account) -> None:
    if code in ADMIN_CODES and not owned.admin:
        raise _Denied(f"Need admin permission for request code={code}, but accessKey={owned.access_key} is not",
                      _AT_CHECK.format(580))
    if not needed:
        return
    if not owned.perms and owned.admin:
        return
    for resource in java_hashmap_order(list(needed)):
        perm = needed[resource]
        is_group = resource.startswith(RETRY_PREFIX)
        shown = f"group:{resource[len(RETRY_PREFIX):]}" if is_group else f"topic:{resource}"
        if resource not in owned.perms:
            if not check_perm(perm, owned.default_group_perm if is_group else owned.default_topic_perm):
                raise _Denied(f"No default permission for {shown}", _AT_CHECK.format(605))
        elif not check_perm(perm, owned.perms[resource]):
            raise _Denied(f"No default permission for {shown}", _AT_CHECK.format(610))


def java_hashmap_order(keys: list[str]) -> list[str]:
    """Iteration order of a ``java.util.HashMap<String, ?>`` filled with ``keys`` in this order."""
    from rmqlite.common.message import java_string_hash
    unique = list(dict.fromkeys(keys))
    cap = 16
    while len(unique) > cap * 3 // 4:
        cap *= 2

    def slot(key: str) -> int:
        h = java_string_hash(key) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (cap - 1)
    return sorted(unique, key=slot)


def _retry(group: str | None) -> str | None:
    return None if group is None else RETRY_PREFIX + group


def _resources(cmd: RemotingCommand) -> dict[str, int]:
    """``PlainAccessValidator.parse``: the resources and permissions ``cmd`` needs."""
    ext, code, out = cmd.ext_fields, cmd.code, {}

    def need(resource: str | None, perm: int) -> None:
        if resource is not None:
            out[resource] = perm
    if code in (RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2):
        v1 = code == RequestCode.SEND_MESSAGE
        topic, group = (ext.get("topic"), ext.get("group")) if v1 else (ext.get("b"), ext.get("a"))
        if topic is not None and topic.startswith(RETRY_PREFIX):
            need(_retry(group), SUB)
        else:
            need(topic, PUB)
    elif code == RequestCode.CONSUMER_SEND_MSG_BACK:
        need(_retry(ext.get("group")), SUB)
    elif code == RequestCode.PULL_MESSAGE:
        need(ext.get("topic"), SUB)
        need(_retry(ext.get("consumerGroup")), SUB)
    elif code == RequestCode.QUERY_MESSAGE:
        need(ext.get("topic"), SUB)
    elif code == RequestCode.HEART_BEAT:
        for consumer in _heartbeat_consumers(cmd.body):
            need(_retry(consumer.get("groupName")), SUB)
            for sub in consumer.get("subscriptionDataSet") or []:
                need(sub.get("topic") if isinstance(sub, dict) else None, SUB)
    elif code == RequestCode.UNREGISTER_CLIENT or code == RequestCode.GET_CONSUMER_LIST_BY_GROUP:
        need(_retry(ext.get("consumerGroup")), SUB)
    elif code == RequestCode.UPDATE_CONSUMER_OFFSET:
        need(_retry(ext.get("consumerGroup")), SUB)
        need(ext.get("topic"), SUB)
    return out


def _heartbeat_consumers(body: bytes | None) -> list[dict[str, Any]]:
    if body is None:
        raise _Denied(None, _AT_PARSE)
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError as exc:
        raise _Denied(str(exc), _AT_PARSE) from None
    consumers = data.get("consumerDataSet") if isinstance(data, dict) else None
    return [c for c in consumers or [] if isinstance(c, dict)]
