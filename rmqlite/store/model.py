"""Value types of the message store: config, message to store, put/get results and statuses.

How it works:
1. ``StoreConfig`` mirrors the Java ``MessageStoreConfig`` keys the store uses (snake_case), with
   laptop-sized defaults (64 MiB commitlog files, 500k index slots / 2M entries).
2. ``PutStatus`` / ``GetStatus`` carry the Java enum names; the broker maps them to response codes.
3. Results are plain dataclasses; nothing here touches files.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

from rmqlite.common.message import Host

DEFAULT_DELAY_LEVELS = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"


class StoreError(Exception):
    """The store cannot do what was asked (not open, locked by another process, ...)."""


@dataclass(slots=True)
class StoreConfig:
    """Message store settings (Java ``MessageStoreConfig`` names in snake_case)."""

    store_path_root_dir: str
    store_path_commitlog: str | None = None  # default: <root>/commitlog
    mapped_file_size_commitlog: int = 64 * 1024 * 1024
    mapped_file_size_consume_queue: int = 300_000 * 20
    max_hash_slot_num: int = 500_000
    max_index_num: int = 2_000_000
    max_message_size: int = 4 * 1024 * 1024
    flush_disk_type: str = "ASYNC_FLUSH"  # or SYNC_FLUSH (the broker awaits flush())
    broker_role: str = "ASYNC_MASTER"  # SYNC_MASTER / SLAVE (slaves refuse puts)
    check_crc_on_recover: bool = True
    message_index_enable: bool = True
    message_index_safe: bool = False
    max_msgs_num_batch: int = 64
    max_transfer_bytes_on_message_in_memory: int = 256 * 1024
    max_transfer_count_on_message_in_memory: int = 32
    max_transfer_bytes_on_message_in_disk: int = 64 * 1024
    max_transfer_count_on_message_in_disk: int = 8
    access_message_in_memory_max_bytes: int = int(8 * 1024**3 * 0.4)  # Java: 40% of physical RAM
    offset_check_in_slave: bool = False
    message_delay_level: str = DEFAULT_DELAY_LEVELS
    file_reserved_time_hours: int = 72  # delete_expired_files() keeps commitlog files this long
    preallocate_commitlog: bool = True  # posix_fallocate new commitlog files (no SIGBUS on full disk)

    @property
    def commitlog_dir(self) -> str:
        return self.store_path_commitlog or os.path.join(self.store_path_root_dir, "commitlog")

    @property
    def consume_queue_units(self) -> int:
        """Units per consume-queue file (Java rounds the byte size up to whole units)."""
        return -(-self.mapped_file_size_consume_queue // 20)


@dataclass(slots=True)
class MessageToStore:
    """One message as the broker hands it to the store.

    ``properties`` may be a dict (encoded in insertion order) or an already-encoded string (stored
    byte-exact). The store fills QUEUEOFFSET, PHYSICALOFFSET, STORETIMESTAMP, BODYCRC, TOTALSIZE.
    """

    topic: str
    queue_id: int = 0
    flag: int = 0
    body: bytes = b""
    properties: dict[str, str] | str = field(default_factory=dict)
    sys_flag: int = 0
    born_timestamp: int = 0
    born_host: Host = ("127.0.0.1", 0)
    store_host: Host = ("127.0.0.1", 10911)
    reconsume_times: int = 0
    prepared_transaction_offset: int = 0
    #: None: delay by the DELAY property (Java's CommitLog rule); 0: store as is even if DELAY is set
    #: (a delivered delayed message keeps DELAY in its text, as in Java); > 0: this level
    delay_level: int | None = None


class PutStatus(enum.Enum):
    """Java ``PutMessageStatus``."""

    PUT_OK = "PUT_OK"
    FLUSH_DISK_TIMEOUT = "FLUSH_DISK_TIMEOUT"
    FLUSH_SLAVE_TIMEOUT = "FLUSH_SLAVE_TIMEOUT"
    SLAVE_NOT_AVAILABLE = "SLAVE_NOT_AVAILABLE"
    SERVICE_NOT_AVAILABLE = "SERVICE_NOT_AVAILABLE"
    CREATE_MAPEDFILE_FAILED = "CREATE_MAPEDFILE_FAILED"
    MESSAGE_ILLEGAL = "MESSAGE_ILLEGAL"
    PROPERTIES_SIZE_EXCEEDED = "PROPERTIES_SIZE_EXCEEDED"
    OS_PAGECACHE_BUSY = "OS_PAGECACHE_BUSY"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"


@dataclass(slots=True)
class StoredInfo:
    """Where one message went."""

    topic: str  # as stored (a delayed message goes to SCHEDULE_TOPIC_XXXX)
    queue_id: int
    phys_offset: int
    queue_offset: int
    size: int
    msg_id: str  # offset msg id (store host + phys offset)


@dataclass(slots=True)
class PutResult:
    """Outcome of ``put_message`` / ``put_batch``; offsets are those of the first message."""

    status: PutStatus
    phys_offset: int = 0
    queue_offset: int = 0
    msg_ids: list[str] = field(default_factory=list)
    wrote_bytes: int = 0
    store_timestamp: int = 0
    infos: list[StoredInfo] = field(default_factory=list)
    remark: str = ""

    @property
    def ok(self) -> bool:
        return self.status is PutStatus.PUT_OK

    @property
    def msg_id(self) -> str:
        """The send-response ``msgId``: comma-joined offset msg ids (one for a single message)."""
        return ",".join(self.msg_ids)

    @property
    def msg_num(self) -> int:
        return len(self.infos)


class GetStatus(enum.Enum):
    """Java ``GetMessageStatus``."""

    FOUND = "FOUND"
    NO_MATCHED_MESSAGE = "NO_MATCHED_MESSAGE"
    MESSAGE_WAS_REMOVING = "MESSAGE_WAS_REMOVING"
    OFFSET_FOUND_NULL = "OFFSET_FOUND_NULL"
    OFFSET_OVERFLOW_BADLY = "OFFSET_OVERFLOW_BADLY"
    OFFSET_OVERFLOW_ONE = "OFFSET_OVERFLOW_ONE"
    OFFSET_TOO_SMALL = "OFFSET_TOO_SMALL"
    NO_MATCHED_LOGIC_QUEUE = "NO_MATCHED_LOGIC_QUEUE"
    NO_MESSAGE_IN_QUEUE = "NO_MESSAGE_IN_QUEUE"


@dataclass(slots=True)
class GetResult:
    """Outcome of ``get_messages``: records are raw stored bytes (their concatenation = pull body)."""

    status: GetStatus
    next_begin_offset: int
    min_offset: int
    max_offset: int
    records: list[bytes] = field(default_factory=list)
    queue_offsets: list[int] = field(default_factory=list)
    suggest_pulling_from_slave: bool = False

    @property
    def body(self) -> bytes:
        return b"".join(self.records)

    @property
    def message_count(self) -> int:
        return len(self.records)

    @property
    def buffer_total_size(self) -> int:
        return sum(len(r) for r in self.records)


@dataclass(slots=True)
class QueryResult:
    """Outcome of a key query (QUERY_MESSAGE needs the index timestamps too)."""

    records: list[bytes]
    index_last_update_timestamp: int
    index_last_update_phyoffset: int
