"""Helpers for store tests (imported as ``store_helpers``): tiny file sizes so rollover and recovery
paths are exercised."""

from __future__ import annotations

from rmqlite.store import MessageStore, MessageToStore, StoreConfig
from rmqlite.store import recovery

STORE_HOST = ("192.168.0.10", 10911)


def small_config(root: str, **kw: object) -> StoreConfig:
    """Commitlog files of 4 KiB (~30 records), 16-unit consume-queue files, tiny index."""
    base: dict[str, object] = dict(
        mapped_file_size_commitlog=4096,
        mapped_file_size_consume_queue=16 * 20,
        max_hash_slot_num=64,
        max_index_num=256,
        max_message_size=2048,
    )
    base.update(kw)
    return StoreConfig(root, **base)  # type: ignore[arg-type]


def msg(topic: str = "T", queue_id: int = 0, body: bytes = b"body", tags: str | None = None,
        keys: str | None = None, uniq: str | None = None, **kw: object) -> MessageToStore:
    props: dict[str, str] = {}
    if tags is not None:
        props["TAGS"] = tags
    if keys is not None:
        props["KEYS"] = keys
    if uniq is not None:
        props["UNIQ_KEY"] = uniq
    return MessageToStore(topic, queue_id, body=body, properties=props, store_host=STORE_HOST,
                          born_host=("10.0.0.1", 5000), **kw)  # type: ignore[arg-type]


def crash(store: MessageStore) -> None:
    """Simulate the process dying: files closed without flush, ``abort`` left behind, lock freed."""
    store._close_files()
    recovery.release_lock(store._lock_fd)
    store._lock_fd = None
    store._open = False
