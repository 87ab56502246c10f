"""Broker configuration: RocketMQ 4.9.4's ``broker.conf`` keys, defaults and parsing.

How it works:
1. ``broker.conf`` is a Java properties file: ``key=value`` (also ``key:value`` / ``key value``),
   ``#``/``!`` comments, blank lines, whitespace trimmed, ``\\`` line continuation.
2. Keys are the Java bean property names of BrokerConfig, MessageStoreConfig, NettyServerConfig
   and NettyClientConfig (4.9.4). The keys rmqlite acts on are typed dataclass fields of
   ``BrokerConfig`` named exactly like the Java keys; every other known key is accepted, type
   checked and kept in ``BrokerConfig.extra``.
3. An UNKNOWN key logs a warning naming it (Java silently ignores it; a typo deserves a hint).
   A value that does not parse for its key's type raises ``ConfigError`` naming key and value.
4. Like ``BrokerStartup``: a master role forces ``brokerId`` 0 and ``haListenPort`` is
   ``listenPort + 1``. ``overrides`` (the CLI's ``-n`` etc.) win over the file.
5. ``to_properties()`` renders every key (used and extra) as text, for GET_BROKER_CONFIG.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

log = logging.getLogger("rmqlite.broker.config")

__all__ = ["BrokerConfig", "ConfigError", "load_broker_config", "parse_properties", "parse_delay_levels"]

BROKER_ROLES = ("ASYNC_MASTER", "SYNC_MASTER", "SLAVE")
FLUSH_DISK_TYPES = ("ASYNC_FLUSH", "SYNC_FLUSH")


class ConfigError(ValueError):
    """A broker.conf value is invalid; the message names the key and the value."""

    def __init__(self, key: str, value: object, why: str = "") -> None:
        text = f"invalid value for broker config key '{key}': {value!r}"
        super().__init__(text + (f" ({why})" if why else ""))
        self.key = key
        self.value = value


@dataclass(slots=True)
class BrokerConfig:
    """The broker settings rmqlite uses; attribute names are RocketMQ's config keys."""

    # --- BrokerConfig.java
    brokerClusterName: str = "DefaultCluster"
    brokerName: str = "broker-a"
    brokerId: int = 0
    brokerIP1: str = "127.0.0.1"
    brokerIP2: str = "127.0.0.1"
    namesrvAddr: str | None = None
    brokerPermission: int = 6
    defaultTopicQueueNums: int = 8
    autoCreateTopicEnable: bool = True
    clusterTopicEnable: bool = True
    brokerTopicEnable: bool = True
    autoCreateSubscriptionGroup: bool = True
    msgTraceTopicName: str = "RMQ_SYS_TRACE_TOPIC"
    traceTopicEnable: bool = False
    sendMessageThreadPoolNums: int = 4
    flushConsumerOffsetInterval: int = 5000
    rejectTransactionMessage: bool = False
    longPollingEnable: bool = True
    shortPollingTimeMills: int = 1000
    notifyConsumerIdsChangedEnable: bool = True
    regionId: str = "DefaultRegion"
    traceOn: bool = True
    slaveReadEnable: bool = False
    registerBrokerTimeoutMills: int = 6000
    registerNameServerPeriod: int = 30000
    forceRegister: bool = True
    compressedRegister: bool = False
    enablePropertyFilter: bool = False
    filterSupportRetry: bool = False
    transactionTimeOut: int = 6000
    transactionCheckMax: int = 15
    transactionCheckInterval: int = 60000
    aclEnable: bool = False
    startAcceptSendRequestTimeStamp: int = 0
    # --- MessageStoreConfig.java
    storePathRootDir: str = field(default_factory=lambda: os.path.join(os.path.expanduser("~"), "store"))
    storePathCommitLog: str | None = None
    storePathDLedgerCommitLog: str | None = None
    # laptop defaults (Java: 1 GiB commitlog files, 5M slots / 20M index entries); see docs/store.md
    mappedFileSizeCommitLog: int = 64 * 1024 * 1024
    mappedFileSizeConsumeQueue: int = 300000 * 20
    flushIntervalCommitLog: int = 500
    flushIntervalConsumeQueue: int = 1000
    deleteWhen: str = "04"
    diskMaxUsedSpaceRatio: int = 75
    fileReservedTime: int = 72
    maxMessageSize: int = 1024 * 1024 * 4
    checkCRCOnRecover: bool = True
    maxTransferBytesOnMessageInMemory: int = 1024 * 256
    maxTransferCountOnMessageInMemory: int = 32
    maxTransferBytesOnMessageInDisk: int = 1024 * 64
    maxTransferCountOnMessageInDisk: int = 8
    accessMessageInMemoryMaxRatio: int = 40
    messageIndexEnable: bool = True
    maxHashSlotNum: int = 500000
    maxIndexNum: int = 2000000
    maxMsgsNumBatch: int = 64
    messageIndexSafe: bool = False
    haListenPort: int = 10912
    brokerRole: str = "ASYNC_MASTER"
    flushDiskType: str = "ASYNC_FLUSH"
    syncFlushTimeout: int = 5000
    messageDelayLevel: str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
    flushDelayOffsetInterval: int = 10000
    offsetCheckInSlave: bool = False
    defaultQueryMaxNum: int = 32
    enableDLegerCommitLog: bool = False
    dLegerGroup: str | None = None
    dLegerPeers: str | None = None
    dLegerSelfId: str | None = None
    preferredLeaderId: str | None = None
    enableBatchPush: bool = False
    # --- rmqlite DLedger timings (docs/dledger.md); not in RocketMQ's broker.conf
    dLedgerTickMs: int = 25                   # Raft tick length
    dLedgerHeartbeatTicks: int = 4            # leader heartbeat every 4 ticks (100 ms)
    dLedgerElectionTimeoutTicks: int = 12     # follower timeout: random in [12, 24) ticks (300-575 ms)
    dLedgerMaxWaitAckTimeMs: int = 2500       # send waits this long for the quorum (DLedger maxWaitAckTimeMs)
    dLedgerMaxPendingRequestsNum: int = 10000  # uncommitted entries beyond -> broker busy (LEADER_PENDING_FULL)
    dLedgerMetaSyncIntervalMs: int = 1000     # followers copy topics/groups/offsets from the leader
    # --- NettyServerConfig.java (BrokerStartup sets 10911)
    listenPort: int = 10911
    serverChannelMaxIdleTimeSeconds: int = 120
    # --- known keys rmqlite accepts but does not act on: key -> typed value
    extra: dict[str, Any] = field(default_factory=dict)
    # --- not a key: the broker.conf this config was read from (``-c``); UPDATE_BROKER_CONFIG rewrites it
    config_file: str | None = None

    # ------------------------------------------------------------------ helpers
    @property
    def broker_addr(self) -> str:
        """``brokerIP1:listenPort``: the address registered with the nameservers."""
        return f"{self.brokerIP1}:{self.listenPort}"

    @property
    def namesrv_addrs(self) -> list[str]:
        """``namesrvAddr`` split on ``;`` (blank entries dropped)."""
        return [a.strip() for a in (self.namesrvAddr or "").split(";") if a.strip()]

    @property
    def is_sync_flush(self) -> bool:
        return self.flushDiskType == "SYNC_FLUSH"

    @property
    def is_slave(self) -> bool:
        return self.brokerRole == "SLAVE"

    @property
    def commitlog_dir(self) -> str:
        return self.storePathCommitLog or os.path.join(self.storePathRootDir, "commitlog")

    @property
    def config_dir(self) -> str:
        """``<root>/config``: topics.json, consumerOffset.json, subscriptionGroup.json, delayOffset.json."""
        return os.path.join(self.storePathRootDir, "config")

    def delay_levels_ms(self) -> list[int]:
        """Delay per level (index 0 = level 1) in ms."""
        return parse_delay_levels(self.messageDelayLevel)

    def set(self, key: str, value: object) -> None:
        """Set one key from text (or an already typed value); unknown keys log a warning."""
        kind = _kind_of(key)
        if kind is None and key in _WRITTEN_NOT_READ:
            return
        if kind is None:
            log.warning("unknown broker config key '%s' ignored", key)
            return
        typed = _convert(key, kind, value)
        _validate(key, typed)
        if key in _FIELD_NAMES:
            setattr(self, key, typed)
        else:
            self.extra[key] = typed

    def get(self, key: str) -> Any:
        """The value of any known key (used or extra)."""
        if key in _FIELD_NAMES:
            return getattr(self, key)
        if key in self.extra:
            return self.extra[key]
        if key in _EXTRA_KEYS:
            return _EXTRA_KEYS[key][1]
        raise KeyError(key)

    def to_properties(self) -> dict[str, str]:
        """All known keys rendered as Java would print them (``true``/``false``, ``""`` for null)."""
        out: dict[str, str] = {}
        for key in sorted(set(_FIELD_NAMES) | set(_EXTRA_KEYS)):
            value = self.get(key)
            out[key] = _render(value)
        return out

    def to_properties_text(self) -> str:
        """``key=value`` lines, as GET_BROKER_CONFIG's body (MixAll.properties2String)."""
        return "".join(f"{k}={v}\n" for k, v in self.to_properties().items())


# Known keys rmqlite does not act on: "key:kind=default" (kinds: str, int, bool, float).
_EXTRA_SPEC = """
rocketmqHome:str= messageStorePlugIn:str= putMessageFutureThreadPoolNums:int=4
pullMessageThreadPoolNums:int=20 processReplyMessageThreadPoolNums:int=20 queryMessageThreadPoolNums:int=10
adminBrokerThreadPoolNums:int=16 clientManageThreadPoolNums:int=32 consumerManageThreadPoolNums:int=32
heartbeatThreadPoolNums:int=2 endTransactionThreadPoolNums:int=12 flushConsumerOffsetHistoryInterval:int=60000
fetchNamesrvAddrByAddressServer:bool=false sendThreadPoolQueueCapacity:int=10000
putThreadPoolQueueCapacity:int=10000 pullThreadPoolQueueCapacity:int=100000
replyThreadPoolQueueCapacity:int=10000 queryThreadPoolQueueCapacity:int=20000
clientManagerThreadPoolQueueCapacity:int=1000000 consumerManagerThreadPoolQueueCapacity:int=1000000
heartbeatThreadPoolQueueCapacity:int=50000 endTransactionPoolQueueCapacity:int=100000 filterServerNums:int=0
highSpeedMode:bool=false commercialEnable:bool=true commercialTimerCount:int=1 commercialTransCount:int=1
commercialBigCount:int=1 commercialBaseCount:int=1 transferMsgByHeap:bool=true maxDelayTime:int=40
disableConsumeIfConsumerReadSlowly:bool=false consumerFallbehindThreshold:int=17179869184
brokerFastFailureEnable:bool=true waitTimeMillsInSendQueue:int=200 waitTimeMillsInPullQueue:int=5000
waitTimeMillsInHeartbeatQueue:int=31000 waitTimeMillsInTransactionQueue:int=3000
enableCalcFilterBitMap:bool=false expectConsumerNumUseFilter:int=32 maxErrorRateOfBloomFilter:int=20
filterDataCleanTimeSpan:int=86400000 storeReplyMessageEnable:bool=true enableDetailStat:bool=true
autoDeleteUnusedStats:bool=false isolateLogEnable:bool=false
readOnlyCommitLogStorePaths:str= enableConsumeQueueExt:bool=false mappedFileSizeConsumeQueueExt:int=50331648
bitMapLengthConsumeQueueExt:int=64 commitIntervalCommitLog:int=200 useReentrantLockWhenPutMessage:bool=true
flushCommitLogTimed:bool=true cleanResourceInterval:int=10000 deleteCommitLogFilesInterval:int=100
deleteConsumeQueueFilesInterval:int=100 destroyMapedFileIntervalForcibly:int=120000
redeleteHangedFileInterval:int=120000 putMsgIndexHightWater:int=600000 flushCommitLogLeastPages:int=4
commitCommitLogLeastPages:int=4 flushLeastPagesWhenWarmMapedFile:int=4096 flushConsumeQueueLeastPages:int=2
flushCommitLogThoroughInterval:int=10000 commitCommitLogThoroughInterval:int=200
flushConsumeQueueThoroughInterval:int=60000 haSendHeartbeatInterval:int=5000 haHousekeepingInterval:int=20000
haTransferBatchSize:int=32768 haMasterAddress:str= haSlaveFallbehindMax:int=268435456 slaveTimeout:int=3000
cleanFileForciblyEnable:bool=true warmMapedFileEnable:bool=false debugLockEnable:bool=false
duplicationEnable:bool=false diskFallRecorded:bool=true osPageCacheBusyTimeOutMills:int=1000
transientStorePoolEnable:bool=false transientStorePoolSize:int=5 fastFailIfNoBufferInStorePool:bool=false
enableScheduleMessageStats:bool=true enableLmq:bool=false enableMultiDispatch:bool=false
maxLmqConsumeQueueNum:int=20000 enableScheduleAsyncDeliver:bool=false
scheduleAsyncDeliverMaxPendingLimit:int=2000 scheduleAsyncDeliverMaxResendNum2Blocked:int=3
serverWorkerThreads:int=8 serverCallbackExecutorThreads:int=0 serverSelectorThreads:int=3
serverOnewaySemaphoreValue:int=256 serverAsyncSemaphoreValue:int=64 serverSocketSndBufSize:int=0
serverSocketRcvBufSize:int=0 writeBufferHighWaterMark:int=0 writeBufferLowWaterMark:int=0
serverSocketBacklog:int=1024 serverPooledByteBufAllocatorEnable:bool=true useEpollNativeSelector:bool=false
clientWorkerThreads:int=4 clientCallbackExecutorThreads:int=2 clientOnewaySemaphoreValue:int=65535
clientAsyncSemaphoreValue:int=65535 connectTimeoutMillis:int=3000 channelNotActiveInterval:int=60000
clientChannelMaxIdleTimeSeconds:int=120 clientSocketSndBufSize:int=0 clientSocketRcvBufSize:int=0
clientPooledByteBufAllocatorEnable:bool=false clientCloseSocketIfTimeout:bool=true useTLS:bool=false
"""


def _parse_extra_spec(spec: str) -> dict[str, tuple[str, Any]]:
    table: dict[str, tuple[str, Any]] = {}
    for item in spec.split():
        name_kind, _, default = item.partition("=")
        name, _, kind = name_kind.partition(":")
        table[name] = (kind, _convert(name, kind, default) if default != "" or kind != "str" else None)
    return table


def _field_kinds() -> dict[str, str]:
    kinds: dict[str, str] = {}
    for f in fields(BrokerConfig):
        if f.name in ("extra", "config_file"):
            continue
        text = str(f.type)
        kinds[f.name] = "bool" if "bool" in text else "int" if "int" in text else "float" if "float" in text else "str"
    return kinds




def _kind_of(key: str) -> str | None:
    if key in _FIELD_KINDS:
        return _FIELD_KINDS[key]
    if key in _EXTRA_KEYS:
        return _EXTRA_KEYS[key][0]
    return None


def _convert(key: str, kind: str, value: object) -> Any:
    if kind == "str":
        return None if value is None else str(value).strip()
    if isinstance(value, bool) and kind == "bool":
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and kind in ("int", "float"):
        return int(value) if kind == "int" else float(value)
    text = str(value).strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ConfigError(key, value, f"expected {'an integer' if kind == 'int' else 'a number'}") from None
    if kind == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ConfigError(key, value, "expected true or false")
    raise ConfigError(key, value, f"unsupported kind {kind}")


def _validate(key: str, value: Any) -> None:
    if key == "brokerRole" and value not in BROKER_ROLES:
        raise ConfigError(key, value, "expected one of " + ", ".join(BROKER_ROLES))
    if key == "flushDiskType" and value not in FLUSH_DISK_TYPES:
        raise ConfigError(key, value, "expected one of " + ", ".join(FLUSH_DISK_TYPES))
    if key == "messageDelayLevel":
        parse_delay_levels(value)
    if key == "namesrvAddr" and value:
        for addr in value.split(";"):
            host, sep, port = addr.strip().rpartition(":")
            if addr.strip() and (not sep or not host or not port.isdigit()):
                raise ConfigError(key, value, 'expected "127.0.0.1:9876;192.168.0.1:9876"')
    if key in ("listenPort", "haListenPort") and not 0 <= value <= 65535:
        raise ConfigError(key, value, "port out of range")
    if key in ("defaultTopicQueueNums", "maxMessageSize", "mappedFileSizeCommitLog",
               "mappedFileSizeConsumeQueue", "maxHashSlotNum", "maxIndexNum", "dLedgerTickMs",
               "dLedgerHeartbeatTicks", "dLedgerElectionTimeoutTicks", "dLedgerMaxWaitAckTimeMs",
               "dLedgerMaxPendingRequestsNum", "dLedgerMetaSyncIntervalMs") and value <= 0:
        raise ConfigError(key, value, "must be positive")


_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_delay_levels(text: str) -> list[int]:
    """``"1s 5s ... 2h"`` -> delays in ms (level n is index n-1). Raises ConfigError."""
    out: list[int] = []
    for token in (text or "").split():
        unit = _UNIT_MS.get(token[-1:])
        if unit is None or not token[:-1].isdigit():
            raise ConfigError("messageDelayLevel", text, f"bad level {token!r}, use e.g. 1s 5m 2h 1d")
        out.append(int(token[:-1]) * unit)
    if not out:
        raise ConfigError("messageDelayLevel", text, "no levels")
    return out


def _render(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: Names Java writes into a persisted broker.conf (field names) but never reads back (no such setter).
_WRITTEN_NOT_READ = frozenset({"isEnableBatchPush"})
_EXTRA_KEYS = _parse_extra_spec(_EXTRA_SPEC)
_FIELD_KINDS = _field_kinds()
_FIELD_NAMES = frozenset(_FIELD_KINDS)


def parse_properties(text: str) -> list[tuple[str, str]]:
    """Parse Java properties text into (key, value) pairs in file order (last one wins when applied)."""
    pairs: list[tuple[str, str]] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        pairs.append(_split_pair(logical))
        logical = ""
    if logical:
        pairs.append(_split_pair(logical))
    return pairs


def _split_pair(line: str) -> tuple[str, str]:
    for i, ch in enumerate(line):
        if ch in "=:" or ch.isspace():
            key, rest = line[:i], line[i:].lstrip()
            if rest[:1] in ("=", ":") and not ch in "=:":
                rest = rest[1:]
            elif ch in "=:":
                rest = rest[1:]
            return key.strip(), _unescape(rest.strip())
    return line.strip(), ""


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out, i = [], 0
    simple = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            if nxt == "u" and i + 5 < len(value) + 0:
                try:
                    out.append(chr(int(value[i + 2:i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def load_broker_config(path: str | None, overrides: Mapping[str, object] | None = None) -> BrokerConfig:
    """Read ``broker.conf`` (``path`` may be None), apply ``overrides``, then BrokerStartup's fix-ups."""
    config = BrokerConfig(config_file=path or None)
    if path:
        with open(path, encoding="utf-8") as fh:
            for key, value in parse_properties(fh.read()):
                config.set(key, value)
    for key, value in (overrides or {}).items():
        if value is not None:
            config.set(key, value)
    apply_startup_rules(config)
    return config


def apply_startup_rules(config: BrokerConfig) -> BrokerConfig:
    """BrokerStartup's derived settings: masters get id 0, haListenPort = listenPort + 1; a DLedger
    broker starts with id -1 (its role change handler assigns 0 or selfId digits + 1)."""
    if config.enableDLegerCommitLog:
        _check_dledger(config)
        config.brokerId = -1
    elif config.brokerRole != "SLAVE":
        config.brokerId = 0
    elif config.brokerId <= 0:
        raise ConfigError("brokerId", config.brokerId, "a SLAVE's brokerId must be > 0")
    config.haListenPort = config.listenPort + 1
    config.storePathRootDir = os.path.expanduser(config.storePathRootDir)
    return config


def _check_dledger(config: BrokerConfig) -> None:
    """DLedger keys: selfId letters+digits and listed in dLegerPeers (id-host:port;...)."""
    self_id = config.dLegerSelfId or ""
    if not re.fullmatch(r"[A-Za-z]+\d+", self_id):
        raise ConfigError("dLegerSelfId", self_id, "must be letters followed by digits, e.g. n0")
    ids = []
    for item in (config.dLegerPeers or "").split(";"):
        node, sep, addr = item.strip().partition("-")
        host, colon, port = addr.rpartition(":")
        if not item.strip():
            continue
        if not sep or not node or not colon or not host or not port.isdigit():
            raise ConfigError("dLegerPeers", config.dLegerPeers, "expected n0-127.0.0.1:40911;n1-127.0.0.1:40912")
        ids.append(node)
    if self_id not in ids:
        raise ConfigError("dLegerSelfId", self_id, f"not among the dLegerPeers ids {ids}")
    if config.dLedgerHeartbeatTicks >= config.dLedgerElectionTimeoutTicks:
        raise ConfigError("dLedgerHeartbeatTicks", config.dLedgerHeartbeatTicks,
                          "must be below dLedgerElectionTimeoutTicks")
