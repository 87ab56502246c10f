"""rmqlite.store: RocketMQ-format commitlog, consume queues and index files (pure, single-threaded).

Entry point: ``MessageStore(StoreConfig(root)).open(now_ms)``; see ``message_store`` for the rules.
"""

from rmqlite.store.message_store import MessageStore
from rmqlite.store.model import (
    GetResult,
    GetStatus,
    MessageToStore,
    PutResult,
    PutStatus,
    QueryResult,
    StoreConfig,
    StoredInfo,
    StoreError,
)

__all__ = [
    "GetResult",
    "GetStatus",
    "MessageStore",
    "MessageToStore",
    "PutResult",
    "PutStatus",
    "QueryResult",
    "StoreConfig",
    "StoreError",
    "StoredInfo",
]
