"""The message store facade: commitlog + consume queues + index (Java ``DefaultMessageStore``).

How it works:
1. ``put_message`` / ``put_batch`` validate, encode records (wire-facts 4.1), assign queue offsets
   per topic/queue (prepared/rollback transactions get 0 and do not advance), append them to the
   commitlog (a batch stays in one file) and, when ``auto_confirm``, dispatch them at once.
   ``put_message`` (the hot path) encodes its record once, with its final offsets; the bytes and
   effects are those of the general ``_put`` (tests/bench/test_hotpath.py compares them).
2. Bytes of the commitlog below ``confirmed_offset`` are final. Consume queues and the index are
   built only from confirmed bytes, in commitlog order, by ``dispatch_up_to`` (the reput cursor
   ``dispatched_offset`` never passes ``confirmed_offset``). A replicated (DLedger) broker creates
   the store with ``auto_confirm=False`` and calls ``dispatch_up_to(committed)``.
3. Reads (``get_messages``, ``read_record``, queries) only see dispatched/confirmed data and follow
   Java's GetMessageStatus rules (wire-facts 6.5), including nextBeginOffset and batch limits.
4. ``open`` takes the ``lock`` file, recovers (recovery.py; abnormal when ``abort`` exists) and
   creates ``abort``; ``close`` flushes and removes it. ``flush`` syncs the files and writes the checkpoint.
5. Time is always passed in (``now_ms``); the store never reads a clock.
6. A full flush is ``prepare_flush`` (cheap bookkeeping on the owner's thread: which files were written,
   which timestamps the checkpoint may claim) plus ``FlushJob.run`` (fsyncs, then the checkpoint; no
   store object touched), so a broker can keep its event loop free while the disk works.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from typing import Callable

from rmqlite.common.message import (
    TRANSACTION_COMMIT_TYPE,
    TRANSACTION_NOT_TYPE,
    TRANSACTION_ROLLBACK_TYPE,
    MessageExt,
    MessageSysFlag,
    RecordError,
    crc32_body,
    decode_record,
    encode_record,
    host_bytes,
    offset_msg_id,
    pack_record,
    patch_offsets,
)
from rmqlite.store import recovery, retention
from rmqlite.store.checkpoint import StoreCheckpoint, write_checkpoint
from rmqlite.store.commitlog import CommitLog, CommitLogLike
from rmqlite.store.consume_queue import CQ_STORE_UNIT_SIZE, ConsumeQueue
from rmqlite.store.dispatch import DispatchRequest, compute_tags_code, parse_delay_levels, parse_dispatch
from rmqlite.store.index_file import IndexService
from rmqlite.store.mapped_file import StoreFileError
from rmqlite.store.model import (
    GetResult,
    GetStatus,
    MessageToStore,
    PutResult,
    PutStatus,
    QueryResult,
    StoredInfo,
    StoreConfig,
    StoreError,
)
from rmqlite.store.validate import check_batch, check_message, to_message_ext

log = logging.getLogger(__name__)
QueueKey = tuple[str, int]  # (topic, queue_id)
DispatchListener = Callable[[str, int, int], None]  # (topic, queue_id, new max offset)
_UNIT = struct.Struct(">qiq")


class MessageStore:
    """Single-threaded, file-backed RocketMQ message store (see module doc)."""

    def __init__(self, config: StoreConfig, commitlog: CommitLogLike | None = None, auto_confirm: bool = True) -> None:
        self.config = config
        root = config.store_path_root_dir
        self.commitlog: CommitLogLike = commitlog or CommitLog(
            config.commitlog_dir, config.mapped_file_size_commitlog, config.preallocate_commitlog)
        self.cq_root = os.path.join(root, "consumequeue")
        self.index = IndexService(os.path.join(root, "index"), config.max_hash_slot_num, config.max_index_num,
                                  config.max_msgs_num_batch)
        self.checkpoint = StoreCheckpoint(os.path.join(root, "checkpoint"))
        self.auto_confirm = auto_confirm
        self.delay_levels = parse_delay_levels(config.message_delay_level)
        self.cqs: dict[QueueKey, ConsumeQueue] = {}
        self.queue_table: dict[QueueKey, int] = {}  # next queue offset per topic/queue
        self.dispatched_offset = 0
        self.confirmed_offset = 0
        self.last_written_store_ts = 0
        self.last_dispatched_store_ts = 0
        self.recovered_abnormally = False
        self._listeners: list[DispatchListener] = []
        self._dirty_cqs: set[QueueKey] = set()
        self._lock_fd: int | None = None
        self._open = False

    # ------------------------------------------------------------------ lifecycle

    def open(self, now_ms: int) -> None:
        """Lock the store directory, load and recover files, mark the run (``abort`` file).
        Raises ``StoreError`` if another store holds the lock. (``now_ms`` is not needed today:
        recovery goes by the store times inside the records and the checkpoint.)"""
        if self._open:
            return
        root = self.config.store_path_root_dir
        os.makedirs(root, exist_ok=True)
        self._lock_fd = recovery.acquire_lock(os.path.join(root, "lock"))
        try:
            recovery.recover(self, abnormal=os.path.exists(self._abort_path))
            with open(self._abort_path, "wb"):
                pass
        except BaseException:
            self._close_files()
            recovery.release_lock(self._lock_fd)
            self._lock_fd = None
            raise
        self._open = True

    def close(self) -> None:
        """Flush everything, remove ``abort`` (clean shutdown) and release the lock."""
        if not self._open:
            return
        self.flush()
        self._close_files()
        try:
            os.unlink(self._abort_path)
        except FileNotFoundError:
            pass
        recovery.release_lock(self._lock_fd)
        self._lock_fd = None
        self._open = False

    @property
    def _abort_path(self) -> str:
        return os.path.join(self.config.store_path_root_dir, "abort")

    def _close_files(self) -> None:
        self.commitlog.close()
        for cq in self.cqs.values():
            cq.close()
        self.cqs.clear()
        self.index.close()

    def flush(self, commitlog_only: bool = False) -> None:
        """Make written data durable. Full flush: commitlog, consume queues, index, then the
        checkpoint. ``commitlog_only`` is the cheap SYNC_FLUSH group commit (CQ/index are
        rebuilt from the commitlog after a crash anyway)."""
        self.prepare_flush(commitlog_only).run()

    def prepare_flush(self, commitlog_only: bool = False) -> FlushJob:
        """A flush split in two (rule 6): this call, on the store's thread, notes every file written
        since the last flush and the checkpoint timestamps; ``FlushJob.run`` does the slow part (fsyncs,
        then the checkpoint) and touches no store object, so the shell may run it in a worker thread."""
        self._require_open()
        paths = self.commitlog.take_dirty()
        if commitlog_only:
            return FlushJob(paths)
        for key in self._dirty_cqs:
            cq = self.cqs.get(key)
            if cq is not None:
                paths += cq.take_dirty()
        self._dirty_cqs.clear()
        paths += self.index.take_dirty()
        cp = self.checkpoint
        if self.last_written_store_ts:
            cp.physic_msg_timestamp = self.last_written_store_ts
        if self.last_dispatched_store_ts:
            cp.logics_msg_timestamp = cp.index_msg_timestamp = self.last_dispatched_store_ts
        return FlushJob(paths, cp.path, cp.timestamps())

    def delete_expired_files(self, now_ms: int) -> int:
        """Delete commitlog files older than ``file_reserved_time_hours`` and the consume-queue and
        index files that only refer to them (Java Clean*Service). Returns commitlog files deleted."""
        self._require_open()
        return retention.delete_expired_files(self, now_ms, self.config.file_reserved_time_hours * 3_600_000)

    def _require_open(self) -> None:
        if not self._open:
            raise StoreError("message store is not open")

    @property
    def is_open(self) -> bool:
        return self._open

    # ------------------------------------------------------------------ put

    def put_message(self, msg: MessageToStore, now_ms: int) -> PutResult:
        """Store one message (rule 1). Same checks, bytes and effects as ``_put([msg])``, with the record
        encoded once with its final offsets and no intermediate ``MessageExt``."""
        bad = self._check_writable()
        if bad is not None:
            return bad
        res = check_message(msg, False, self.config.max_message_size, self.delay_levels)
        if isinstance(res, PutResult):
            return res
        topic, queue_id, sys_flag, props, _text, props_bytes, topic_bytes = res
        body = msg.body if type(msg.body) is bytes else bytes(msg.body)
        try:
            born = host_bytes(msg.born_host, bool(sys_flag & MessageSysFlag.BORNHOST_V6_FLAG))
            store = host_bytes(msg.store_host, bool(sys_flag & MessageSysFlag.STOREHOSTADDRESS_V6_FLAG))
            size = 75 + len(born) + len(store) + len(body) + len(topic_bytes) + len(props_bytes)
            phys = self.commitlog.prepare(size)
        except (RecordError, OSError) as e:
            return _write_failure(e)
        key = (topic, queue_id)
        if sys_flag & TRANSACTION_ROLLBACK_TYPE in (TRANSACTION_NOT_TYPE, TRANSACTION_COMMIT_TYPE):
            qoff = self.queue_table.get(key, 0)
            self.queue_table[key] = qoff + 1
        else:
            qoff = 0
        self.commitlog.append(pack_record(          # (positional: this is the per-message path)
            topic_bytes, body, props_bytes, crc32_body(body), queue_id, msg.flag, qoff, phys, sys_flag,
            msg.born_timestamp, born, now_ms, store, msg.reconsume_times, msg.prepared_transaction_offset))
        host, port = msg.store_host
        msg_id = offset_msg_id(host, port, phys)
        result = PutResult(PutStatus.PUT_OK, phys_offset=phys, queue_offset=qoff, msg_ids=[msg_id], wrote_bytes=size,
                           store_timestamp=now_ms, infos=[StoredInfo(topic, queue_id, phys, qoff, size, msg_id)])
        self.last_written_store_ts = now_ms
        at = phys + size
        if self.auto_confirm and self.dispatched_offset >= self.confirmed_offset:
            self.confirmed_offset = at
            self._dispatch_one(topic, queue_id, phys, size, compute_tags_code(topic, props, now_ms, self.delay_levels),
                               now_ms, qoff, sys_flag, props)
        elif self.auto_confirm:
            self.dispatch_up_to(at)
        return result

    def put_batch(self, msgs: list[MessageToStore], now_ms: int) -> PutResult:
        """Store a batch: one topic and queue, consecutive queue offsets, one commitlog file;
        no transactions, no delay (MESSAGE_ILLEGAL otherwise)."""
        if not msgs:
            return PutResult(PutStatus.MESSAGE_ILLEGAL, remark="empty batch")
        return self._put(msgs, now_ms, batch=True)

    def _put(self, msgs: list[MessageToStore], now_ms: int, batch: bool) -> PutResult:
        bad = self._check_writable()
        if bad is not None:
            return bad
        built: list[tuple[MessageExt, dict[str, str]]] = []
        for m in msgs:
            res = to_message_ext(m, now_ms, batch, self.config.max_message_size, self.delay_levels)
            if isinstance(res, PutResult):
                return res
            built.append(res)
        if batch:
            bad = check_batch([e for e, _ in built], self.config.max_message_size)
            if bad is not None:
                return bad
        try:
            encoded = [bytearray(encode_record(e)) for e, _ in built]
            phys = self.commitlog.prepare(sum(len(r) for r in encoded))
        except (RecordError, OSError) as e:
            return _write_failure(e)
        return self._append(built, encoded, phys, now_ms)

    def _check_writable(self) -> PutResult | None:
        if not self._open:
            return PutResult(PutStatus.SERVICE_NOT_AVAILABLE, remark="message store is not open")
        if self.config.broker_role == "SLAVE":
            return PutResult(PutStatus.SERVICE_NOT_AVAILABLE, remark="store is a slave")
        return None

    def _append(self, built: list[tuple[MessageExt, dict[str, str]]], encoded: list[bytearray], phys: int,
                now_ms: int) -> PutResult:
        """Assign queue offsets, write the records, dispatch when auto-confirming."""
        result = PutResult(PutStatus.PUT_OK, phys_offset=phys, store_timestamp=now_ms)
        reqs: list[DispatchRequest] = []
        at = phys
        for (ext, props), rec in zip(built, encoded):
            key = (ext.topic, ext.queue_id)
            tran = MessageSysFlag.get_transaction_value(ext.sys_flag)
            counts = tran in (TRANSACTION_NOT_TYPE, TRANSACTION_COMMIT_TYPE)
            qoff = self.queue_table.get(key, 0) if counts else 0
            if counts:
                self.queue_table[key] = qoff + 1
            patch_offsets(rec, qoff, at)
            msg_id = offset_msg_id(ext.store_host[0], ext.store_host[1], at)
            result.infos.append(StoredInfo(ext.topic, ext.queue_id, at, qoff, len(rec), msg_id))
            result.msg_ids.append(msg_id)
            reqs.append(DispatchRequest(ext.topic, ext.queue_id, at, len(rec),
                                        compute_tags_code(ext.topic, props, now_ms, self.delay_levels),
                                        now_ms, qoff, ext.sys_flag, props))
            at += len(rec)
        self.commitlog.append(b"".join(encoded))
        result.queue_offset = result.infos[0].queue_offset
        result.wrote_bytes = at - phys
        self.last_written_store_ts = now_ms
        if self.auto_confirm and self.dispatched_offset >= self.confirmed_offset:
            self.confirmed_offset = at
            for req in reqs:
                self._dispatch(req)
        elif self.auto_confirm:
            self.dispatch_up_to(at)
        return result

    # ------------------------------------------------------------------ dispatch

    def add_dispatch_listener(self, cb: DispatchListener) -> None:
        """Call ``cb(topic, queue_id, new_max_offset)`` after each consume-queue write."""
        self._listeners.append(cb)

    def dispatch_up_to(self, phys_offset: int) -> None:
        """Confirm commitlog bytes below ``phys_offset`` and build CQ/index from them (rule 2)."""
        end = min(phys_offset, self.commitlog.max_offset)
        if end <= self.dispatched_offset:
            self.confirmed_offset = max(self.confirmed_offset, end)
            return
        for phys, record in self.commitlog.iter_records(self.dispatched_offset, end):
            try:
                req = parse_dispatch(record, self.delay_levels)
            except RecordError:
                log.exception("cannot dispatch record at %d; dispatch stops there", phys)
                return
            self.confirmed_offset = max(self.confirmed_offset, phys + req.size)
            self._dispatch(req)
        self.dispatched_offset = max(self.dispatched_offset, end)
        self.confirmed_offset = max(self.confirmed_offset, end)

    def _dispatch(self, req: DispatchRequest) -> None:
        self._dispatch_one(req.topic, req.queue_id, req.phys_offset, req.size, req.tags_code, req.store_timestamp,
                           req.queue_offset, req.sys_flag, req.properties)

    def _dispatch_one(self, topic: str, queue_id: int, phys: int, size: int, tags_code: int, store_ts: int,
                      queue_offset: int, sys_flag: int, props: dict[str, str]) -> None:
        """Consume queue unit (NOT/COMMIT types only), listeners, index entries of one record."""
        if sys_flag & TRANSACTION_ROLLBACK_TYPE in (TRANSACTION_NOT_TYPE, TRANSACTION_COMMIT_TYPE):
            key = (topic, queue_id)
            cq = self.cqs.get(key) or self._cq(key, create=True)
            assert cq is not None
            if cq.put(phys, size, tags_code, queue_offset):
                self._dirty_cqs.add(key)
                for cb in self._listeners:
                    try:
                        cb(topic, queue_id, cq.max_offset)
                    except Exception:  # a listener bug must not break the store
                        log.exception("dispatch listener failed")
        if self.config.message_index_enable:
            self.index.build(topic, phys, store_ts, sys_flag, props)
        self.dispatched_offset = phys + size
        self.last_dispatched_store_ts = store_ts

    def _cq(self, key: QueueKey, create: bool = False) -> ConsumeQueue | None:
        cq = self.cqs.get(key)
        if cq is None and create:
            cq = ConsumeQueue(self.cq_root, key[0], key[1], self.config.consume_queue_units)
            self.cqs[key] = cq
        return cq

    def truncate_commitlog(self, phys_offset: int) -> None:
        """Drop commitlog bytes at/after ``phys_offset`` (replication truncation) and everything
        derived from them; queue offsets are recomputed."""
        self._require_open()
        self.commitlog.truncate(phys_offset)
        if phys_offset < self.dispatched_offset:
            recovery.truncate_derived(self, phys_offset)
            self.dispatched_offset = phys_offset
        self.confirmed_offset = min(self.confirmed_offset, phys_offset)
        recovery.rebuild_queue_table(self)

    def rebuild_queue_offsets(self) -> None:
        """Recompute the next queue offset of every queue from consume queues plus written but
        undispatched records (a replica taking over as leader does this, wire-facts 7.3)."""
        recovery.rebuild_queue_table(self)

    @property
    def dispatch_behind_bytes(self) -> int:
        """Written commitlog bytes not yet dispatched (Java ``dispatchBehindBytes``)."""
        return max(self.commitlog.max_offset - self.dispatched_offset, 0)

    # ------------------------------------------------------------------ get

    def get_messages(self, topic: str, queue_id: int, offset: int, max_nums: int,
                     tag_filter: Callable[[int], bool] | None = None,
                     record_filter: Callable[[bytes], bool] | None = None) -> GetResult:
        """Read up to ``max_nums`` records from a queue (Java ``getMessage`` semantics, rule 3).

        ``tag_filter(tagsCode)`` filters on consume-queue units; ``record_filter(record)`` on the
        stored bytes (SQL92 filters)."""
        self._require_open()
        cq = self.cqs.get((topic, queue_id))
        if cq is None or cq.max_offset == 0:
            lo, hi = (cq.min_offset, 0) if cq else (0, 0)
            return GetResult(GetStatus.NO_MESSAGE_IN_QUEUE, self._correct(offset, 0), lo, hi)
        lo, hi = cq.min_offset, cq.max_offset
        if offset < lo:
            return GetResult(GetStatus.OFFSET_TOO_SMALL, self._correct(offset, lo), lo, hi)
        if offset == hi:
            return GetResult(GetStatus.OFFSET_OVERFLOW_ONE, self._correct(offset, offset), lo, hi)
        if offset > hi:
            return GetResult(GetStatus.OFFSET_OVERFLOW_BADLY, self._correct(offset, hi), lo, hi)
        units = cq.units_from(offset, max(16000, max_nums * CQ_STORE_UNIT_SIZE))
        if units is None:
            return GetResult(GetStatus.OFFSET_FOUND_NULL, self._correct(offset, cq.roll_next_file(offset)), lo, hi)
        return self._scan(units, offset, max_nums, tag_filter, record_filter, lo, hi)

    def _scan(self, units: bytes, offset: int, max_nums: int, tag_filter: Callable[[int], bool] | None,
              record_filter: Callable[[bytes], bool] | None, lo: int, hi: int) -> GetResult:
        res = GetResult(GetStatus.NO_MATCHED_MESSAGE, offset, lo, hi)
        max_py = self.confirmed_offset
        memory = self.config.access_message_in_memory_max_bytes
        limit = min(len(units), max(16000, max_nums * CQ_STORE_UNIT_SIZE))
        next_file_start: int | None = None
        max_phy_pulling = total = 0
        i = 0
        while i < limit:
            phys, size, tags = _UNIT.unpack_from(units, i)
            max_phy_pulling = phys
            if next_file_start is not None and phys < next_file_start:
                i += CQ_STORE_UNIT_SIZE
                continue
            if self._batch_full(size, max_nums, total, len(res.records), max_py - phys > memory):
                break
            if tag_filter is not None and not tag_filter(tags):
                i += CQ_STORE_UNIT_SIZE
                continue
            data = self.commitlog.read(phys, size) if phys + size <= max_py else None
            if data is None:
                if total == 0:
                    res.status = GetStatus.MESSAGE_WAS_REMOVING
                next_file_start = self.commitlog.roll_next_file(phys)
                i += CQ_STORE_UNIT_SIZE
                continue
            if record_filter is not None and not record_filter(data):
                if total == 0:
                    res.status = GetStatus.NO_MATCHED_MESSAGE
                i += CQ_STORE_UNIT_SIZE
                continue
            res.records.append(data)
            res.queue_offsets.append(offset + i // CQ_STORE_UNIT_SIZE)
            total += size
            res.status = GetStatus.FOUND
            next_file_start = None
            i += CQ_STORE_UNIT_SIZE
        res.next_begin_offset = offset + i // CQ_STORE_UNIT_SIZE
        res.suggest_pulling_from_slave = max_py - max_phy_pulling > memory
        return res

    def _batch_full(self, size: int, max_nums: int, total: int, count: int, in_disk: bool) -> bool:
        c = self.config
        if total == 0 or count == 0:
            return False
        if max_nums <= count:
            return True
        if in_disk:
            return total + size > c.max_transfer_bytes_on_message_in_disk or count > c.max_transfer_count_on_message_in_disk - 1
        return total + size > c.max_transfer_bytes_on_message_in_memory or count > c.max_transfer_count_on_message_in_memory - 1

    def _correct(self, old: int, new: int) -> int:
        """Java ``nextOffsetCorrection``: slaves keep the requested offset unless configured."""
        if self.config.broker_role != "SLAVE" or self.config.offset_check_in_slave:
            return new
        return old

    # ------------------------------------------------------------------ offsets and lookups

    def min_offset(self, topic: str, queue_id: int) -> int:
        """First consumable queue offset (0 for an unknown queue)."""
        cq = self.cqs.get((topic, queue_id))
        return cq.min_offset if cq else 0

    def max_offset(self, topic: str, queue_id: int) -> int:
        """Next queue offset to be dispatched, i.e. the number of messages ever in the queue."""
        cq = self.cqs.get((topic, queue_id))
        return cq.max_offset if cq else 0

    def offset_by_time(self, topic: str, queue_id: int, ts_ms: int) -> int:
        """Queue offset of the message stored at ``ts_ms`` (or nearest; Java ``getOffsetInQueueByTime``)."""
        cq = self.cqs.get((topic, queue_id))
        if cq is None:
            return 0
        return cq.offset_by_time(ts_ms, lambda phys, _size: self.commitlog.store_timestamp(phys), self.commitlog.min_offset)

    def store_time_at(self, topic: str, queue_id: int, offset: int) -> int:
        """Store time of the message at a queue offset, -1 if none."""
        cq = self.cqs.get((topic, queue_id))
        unit = cq.unit(offset) if cq else None
        if unit is None or unit[0] + unit[1] > self.confirmed_offset:
            return -1
        return self.commitlog.store_timestamp(unit[0])

    def earliest_store_time(self, topic: str, queue_id: int) -> int:
        """Store time of the oldest message in a queue, -1 if none."""
        cq = self.cqs.get((topic, queue_id))
        return self.store_time_at(topic, queue_id, cq.min_offset) if cq else -1

    def read_record(self, phys_offset: int) -> bytes | None:
        """The stored record at a commitlog offset (VIEW_MESSAGE_BY_ID), None if there is none."""
        self._require_open()
        if phys_offset < 0 or phys_offset >= self.confirmed_offset:
            return None
        data = self.commitlog.read_record(phys_offset)
        if data is None or phys_offset + len(data) > self.confirmed_offset:
            return None
        return data

    def query_by_key(self, topic: str, key: str, max_num: int, begin_ms: int, end_ms: int) -> list[bytes]:
        """Records of ``topic`` whose KEYS contain ``key`` or whose UNIQ_KEY is ``key``, newest first."""
        return self.query_by_key_ex(topic, key, max_num, begin_ms, end_ms).records

    def query_by_key_ex(self, topic: str, key: str, max_num: int, begin_ms: int, end_ms: int) -> QueryResult:
        """``query_by_key`` plus indexLastUpdateTimestamp / indexLastUpdatePhyoffset."""
        self._require_open()
        offsets, last_ts, last_phy = self.index.query(topic, key, max_num, begin_ms, end_ms)
        records = []
        for phys in dict.fromkeys(offsets):  # crash recovery (Java's too) can index a record twice
            data = self.read_record(phys)
            if data is None:
                continue
            try:
                msg, _ = decode_record(data)
            except RecordError:
                continue
            if msg.topic == topic and (msg.uniq_key == key or key in msg.keys):
                records.append(data)
        return QueryResult(records, last_ts, last_phy)

    def topics_in_store(self) -> set[str]:
        """Topics that have at least one consume queue."""
        return {t for t, _ in self.cqs}

    def queues_of(self, topic: str) -> list[int]:
        """Queue ids that have a consume queue for ``topic``."""
        return sorted(q for t, q in self.cqs if t == topic)

    def delete_topic(self, topic: str) -> None:
        """Delete the topic's consume queues and queue offsets (commitlog and index stay)."""
        self._require_open()
        for key in [k for k in self.cqs if k[0] == topic]:
            self.cqs.pop(key).destroy()
            self._dirty_cqs.discard(key)
        for key in [k for k in self.queue_table if k[0] == topic]:
            del self.queue_table[key]
        recovery.remove_topic_dir(self.cq_root, topic)

    @property
    def commitlog_min_offset(self) -> int:
        """Start of the oldest commitlog file."""
        return self.commitlog.min_offset

    @property
    def commitlog_max_offset(self) -> int:
        """End of confirmed (readable) commitlog data."""
        return self.confirmed_offset

    @property
    def commitlog_written_offset(self) -> int:
        """End of written commitlog data (>= confirmed)."""
        return self.commitlog.max_offset


def _write_failure(e: Exception) -> PutResult:
    """A record that cannot be encoded or placed is illegal; a file that cannot be made is a store failure."""
    if isinstance(e, (RecordError, StoreFileError)):
        return PutResult(PutStatus.MESSAGE_ILLEGAL, remark=str(e))
    return PutResult(PutStatus.CREATE_MAPEDFILE_FAILED, remark=str(e))


@dataclass
class FlushJob:
    """The slow half of a full flush (``MessageStore.prepare_flush``): safe in any thread."""

    paths: list[str]
    checkpoint_path: str | None = None
    checkpoint: tuple[int, int, int] = (0, 0, 0)

    def run(self) -> None:
        """fsync each file (one deleted meanwhile is skipped), then write the checkpoint: its timestamps
        only ever claim data that is already durable."""
        for path in self.paths:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if self.checkpoint_path is not None:
            write_checkpoint(self.checkpoint_path, self.checkpoint)
