"""Disk retention: delete old commitlog files and what only refers to them (Java
``CleanCommitLogService`` / ``CleanConsumeQueueService``, without the wall clock).

How it works:
1. A commitlog file (never the last one) is expired when the first record of the *next* file was
   stored more than ``reserved_ms`` before ``now_ms``: every record of the file is older still.
   Java looks at file mtimes; record times keep this pure and survive copying the store.
2. Files holding records not yet dispatched are never deleted.
3. Then each consume queue drops leading files whose last unit points below the new commitlog
   minimum, and recomputes its min offset; index files (never the last) whose endPhyOffset is below
   it are deleted.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from rmqlite.store.commitlog import CommitLog
from rmqlite.store.consume_queue import CQ_STORE_UNIT_SIZE

if TYPE_CHECKING:
    from rmqlite.store.message_store import MessageStore

_UNIT = struct.Struct(">qiq")


def delete_expired_files(store: MessageStore, now_ms: int, reserved_ms: int) -> int:
    """Apply rules 1-3; returns the number of commitlog files deleted."""
    cl = store.commitlog
    if not isinstance(cl, CommitLog):
        return 0
    deleted = 0
    files = cl.queue.files
    while len(files) > 1:
        nxt = files[1]
        ts = cl.first_store_timestamp(nxt)
        if ts == 0 or ts + reserved_ms >= now_ms or nxt.file_from_offset > store.dispatched_offset:
            break
        files.pop(0).destroy()
        deleted += 1
    if deleted:
        drop_derived_below(store, cl.min_offset)
    return deleted


def drop_derived_below(store: MessageStore, phys_min: int) -> None:
    """Delete consume-queue and index files that only point below ``phys_min`` (rule 3)."""
    for cq in store.cqs.values():
        files = cq.queue.files
        while len(files) > 1:
            last_unit = files[0].read(files[0].file_size - CQ_STORE_UNIT_SIZE, CQ_STORE_UNIT_SIZE)
            phys, _size, _tags = _UNIT.unpack(last_unit)
            if phys >= phys_min:
                break
            files.pop(0).destroy()
        cq.correct_min_offset(phys_min)
    index_files = store.index.files
    while len(index_files) > 1 and index_files[0].end_phy < phys_min:
        index_files.pop(0).destroy()
