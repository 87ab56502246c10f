"""Store startup: lock, load, recover commitlog, consume queues and index (Java ``recoverNormally``
/ ``recoverAbnormally`` + ``recoverTopicQueueTable``).

How it works:
1. The ``lock`` file is held with ``flock`` for the life of the store; a second opener fails.
2. Commitlog recovery validates records from the 3rd-last file (after a crash, from the newest file
   whose first record predates the checkpoint minus 3 s, and in strict mode) and truncates the rest.
3. Consume queues drop torn units and units pointing at/after the commitlog end; the index undoes
   entries for offsets at/after it. Derived data never refers to bytes the commitlog lost.
4. Dispatch restarts at the furthest commitlog position any consume queue reached (normal), or the
   crash-recovery start file if earlier (abnormal); re-dispatch is idempotent, so consume queues and
   index are rebuilt from the commitlog up to the confirmed end.
5. The queue-offset table = each queue's max offset, raised by records written but not yet
   dispatched (replicated mode), so new messages continue the sequence.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from typing import TYPE_CHECKING

from rmqlite.common.message import RecordError
from rmqlite.store.consume_queue import ConsumeQueue
from rmqlite.store.dispatch import parse_dispatch
from rmqlite.store.model import StoreError

if TYPE_CHECKING:
    from rmqlite.store.message_store import MessageStore


def acquire_lock(path: str) -> int:
    """Open and exclusively flock ``path``; raises StoreError when another store holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        raise StoreError(f"store lock {path} is held by another process") from e
    return fd


def release_lock(fd: int | None) -> None:
    if fd is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def load_consume_queues(store: MessageStore) -> None:
    """Open every ``consumequeue/<topic>/<queueId>`` directory."""
    root = store.cq_root
    if not os.path.isdir(root):
        return
    for topic in sorted(os.listdir(root)):
        tdir = os.path.join(root, topic)
        if not os.path.isdir(tdir):
            continue
        for qname in sorted(os.listdir(tdir)):
            if not qname.lstrip("-").isdigit() or not os.path.isdir(os.path.join(tdir, qname)):
                continue
            cq = ConsumeQueue(root, topic, int(qname), store.config.consume_queue_units)
            cq.load()
            store.cqs[(topic, int(qname))] = cq


def recover(store: MessageStore, abnormal: bool) -> None:
    """Load all files and bring commitlog, consume queues, index and queue table in line."""
    cfg = store.config
    store.checkpoint.load()
    store.commitlog.load()
    load_consume_queues(store)
    store.index.load()
    start = store.commitlog.recovery_start(abnormal, store.checkpoint.min_timestamp(cfg.message_index_safe))
    end = store.commitlog.recover(start, cfg.check_crc_on_recover, strict=abnormal)
    for cq in store.cqs.values():
        cq.recover()
    truncate_derived(store, end)
    cl_min = store.commitlog.min_offset
    for cq in store.cqs.values():
        cq.correct_min_offset(cl_min)
    reached = [cq.max_physic_offset for cq in store.cqs.values() if cq.max_physic_offset >= 0]
    resume = min(max(max(reached, default=cl_min), cl_min), end)
    if abnormal:
        resume = min(resume, max(start, cl_min))
    store.dispatched_offset = store.confirmed_offset = resume
    store.recovered_abnormally = abnormal
    if store.auto_confirm:
        store.dispatch_up_to(end)
    rebuild_queue_table(store)


def truncate_derived(store: MessageStore, phys_end: int) -> None:
    """Remove consume-queue units and index entries for records at/after ``phys_end``."""
    for cq in store.cqs.values():
        cq.truncate_dirty(phys_end)
    store.index.truncate_after(phys_end, store.commitlog.store_timestamp)


def rebuild_queue_table(store: MessageStore) -> None:
    """Next queue offset per topic/queue (rule 5)."""
    table = {key: cq.max_offset for key, cq in store.cqs.items()}
    for phys, record in store.commitlog.iter_records(store.dispatched_offset, store.commitlog.max_offset):
        try:
            req = parse_dispatch(record, store.delay_levels)
        except RecordError:
            break
        if req.enters_consume_queue:
            key = (req.topic, req.queue_id)
            table[key] = max(table.get(key, 0), req.queue_offset + 1)
    store.queue_table = table


def remove_topic_dir(cq_root: str, topic: str) -> None:
    """Delete ``consumequeue/<topic>`` (topic names cannot contain path separators)."""
    if not topic or "/" in topic or topic in (".", ".."):
        return
    shutil.rmtree(os.path.join(cq_root, topic), ignore_errors=True)
