"""MessageStore put/get: statuses of wire-facts 6.5, filters, batch limits, lookups, put validation."""

from __future__ import annotations

import os

from rmqlite.common.message import (
    MessageSysFlag,
    decode_record,
    decode_records,
    java_string_hash,
    offset_msg_id,
)
from rmqlite.store import GetStatus, MessageToStore, PutStatus
from rmqlite.store.dispatch import SCHEDULE_TOPIC

from store_helpers import STORE_HOST, msg


def _bodies(res) -> list[bytes]:
    return [m.body for m in decode_records(res.body)]


def test_put_fills_record_fields(open_store) -> None:
    s = open_store()
    r = s.put_message(msg(body=b"hello", tags="TagA", keys="k1 k2", uniq="U1"), now_ms=1_234_567)
    assert r.ok and (r.phys_offset, r.queue_offset) == (0, 0)
    assert r.msg_id == offset_msg_id(*STORE_HOST, 0) and r.msg_ids == [r.msg_id]
    m, size = decode_record(s.read_record(0), check_crc=True)
    assert size == r.wrote_bytes and m.store_timestamp == 1_234_567 and m.body == b"hello"
    assert (m.queue_offset, m.commit_log_offset, m.queue_id, m.topic) == (0, 0, 0, "T")
    assert m.properties == {"TAGS": "TagA", "KEYS": "k1 k2", "UNIQ_KEY": "U1"}
    r2 = s.put_message(msg(body=b"x"), now_ms=1_234_568)
    assert (r2.phys_offset, r2.queue_offset) == (size, 1)
    assert s.read_record(3) is None and s.read_record(10**9) is None and s.read_record(-1) is None
    assert s.store_time_at("T", 0, 1) == 1_234_568 and s.store_time_at("T", 0, 2) == -1


def test_properties_string_kept_byte_exact_and_ipv6_flag(open_store) -> None:
    s = open_store()
    raw = "TAGS\x01A\x02KEYS\x01k \x02"
    r = s.put_message(MessageToStore("T", 0, body=b"b", properties=raw, store_host=("fe80::1", 10911)), 1)
    m, _ = decode_record(s.read_record(r.phys_offset))
    assert m.properties_string == raw and m.sys_flag & MessageSysFlag.STOREHOSTADDRESS_V6_FLAG
    assert len(r.msg_id) == 56


def test_get_statuses_of_wire_facts_6_5(open_store) -> None:
    s = open_store()
    g = s.get_messages("T", 0, 0, 32)  # queue that never existed
    assert (g.status, g.next_begin_offset, g.min_offset, g.max_offset) == (GetStatus.NO_MESSAGE_IN_QUEUE, 0, 0, 0)
    assert s.get_messages("T", 0, 5, 32).next_begin_offset == 0
    for i in range(5):
        s.put_message(msg(body=b"m%d" % i), 1000 + i)
    g = s.get_messages("T", 0, 1, 2)
    assert (g.status, g.next_begin_offset, g.min_offset, g.max_offset) == (GetStatus.FOUND, 3, 0, 5)
    assert _bodies(g) == [b"m1", b"m2"] and g.queue_offsets == [1, 2] and g.message_count == 2
    g = s.get_messages("T", 0, 5, 32)
    assert (g.status, g.next_begin_offset) == (GetStatus.OFFSET_OVERFLOW_ONE, 5) and not g.records
    g = s.get_messages("T", 0, 9, 32)
    assert (g.status, g.next_begin_offset) == (GetStatus.OFFSET_OVERFLOW_BADLY, 5)
    g = s.get_messages("T", 0, 0, 0)  # the first message is always taken
    assert g.status is GetStatus.FOUND and g.message_count == 1
    s.config.broker_role = "SLAVE"  # slaves do not correct offsets
    assert s.get_messages("T", 0, 9, 32).next_begin_offset == 9
    assert s.put_message(msg(), 1).status is PutStatus.SERVICE_NOT_AVAILABLE


def test_offset_too_small_after_old_commitlog_file_is_gone(open_store, tmp_path) -> None:
    s = open_store()
    for i in range(70):  # ~3 commitlog files of 4 KiB
        s.put_message(msg(body=b"m%d" % i), 1000 + i)
    s.close()
    os.unlink(tmp_path / "store" / "commitlog" / "00000000000000000000")
    s = open_store()
    lo = s.min_offset("T", 0)
    assert lo > 0 and s.commitlog_min_offset == 4096
    g = s.get_messages("T", 0, 0, 32)
    assert (g.status, g.next_begin_offset, g.min_offset) == (GetStatus.OFFSET_TOO_SMALL, lo, lo)
    assert s.get_messages("T", 0, lo, 1).status is GetStatus.FOUND
    assert s.offset_by_time("T", 0, 0) == lo and s.earliest_store_time("T", 0) == 1000 + lo


def test_message_was_removing_and_offset_found_null(open_store) -> None:
    s = open_store()
    for i in range(70):
        s.put_message(msg(body=b"m%d" % i), 1000 + i)
    s.commitlog.queue.files.pop(0).destroy()  # commitlog file deleted under a live queue
    g = s.get_messages("T", 0, 0, 32)
    assert (g.status, g.next_begin_offset) == (GetStatus.MESSAGE_WAS_REMOVING, 16)  # 16 units per CQ file
    cq = s.cqs[("T", 0)]
    cq.queue.files.pop(0).destroy()  # consume-queue file deleted too
    g = s.get_messages("T", 0, 3, 32)
    assert (g.status, g.next_begin_offset) == (GetStatus.OFFSET_FOUND_NULL, 16)


def test_tag_filter_and_no_matched_message(open_store) -> None:
    s = open_store(mapped_file_size_consume_queue=2000 * 20, mapped_file_size_commitlog=1 << 20)
    for i in range(10):
        s.put_message(msg(body=b"m%d" % i, tags="a" if i % 2 else "b"), 1000 + i)
    code_a = java_string_hash("a")
    g = s.get_messages("T", 0, 0, 3, tag_filter=lambda c: c == code_a)
    assert g.status is GetStatus.FOUND and _bodies(g) == [b"m1", b"m3", b"m5"]
    assert g.next_begin_offset == 6 and g.queue_offsets == [1, 3, 5]  # scanned 6 units
    g = s.get_messages("T", 0, 0, 32, tag_filter=lambda c: False)
    assert (g.status, g.next_begin_offset) == (GetStatus.NO_MATCHED_MESSAGE, 10)
    g = s.get_messages("T", 0, 0, 32, record_filter=lambda rec: b"m7" in rec)
    assert _bodies(g) == [b"m7"] and g.next_begin_offset == 10
    for i in range(1000):  # scan cap: max(16000 B, n*20 B) of consume queue = 800 units
        s.put_message(msg(body=b"z", tags="b"), 2000 + i)
    g = s.get_messages("T", 0, 10, 32, tag_filter=lambda c: c == code_a)
    assert (g.status, g.next_begin_offset) == (GetStatus.NO_MATCHED_MESSAGE, 810)


def test_batch_limits_memory_and_disk(open_store) -> None:
    s = open_store(mapped_file_size_consume_queue=2000 * 20, mapped_file_size_commitlog=1 << 20,
                   max_transfer_bytes_on_message_in_memory=1000)
    for i in range(50):
        s.put_message(msg(body=bytes(200)), 1000 + i)  # ~300-byte records
    g = s.get_messages("T", 0, 0, 32)
    assert g.message_count == 3 and g.next_begin_offset == 3 and g.buffer_total_size <= 1000
    s.config.max_transfer_bytes_on_message_in_memory = 1 << 20
    assert s.get_messages("T", 0, 0, 100).message_count == 32  # in-memory count cap
    s.config.access_message_in_memory_max_bytes = 0  # everything counts as "on disk"
    g = s.get_messages("T", 0, 0, 100)
    assert g.message_count == 8 and g.suggest_pulling_from_slave
    assert s.get_messages("T", 0, 0, 5).message_count == 5


def test_offset_by_time_and_store_times(open_store) -> None:
    s = open_store()
    for i, t in enumerate([100, 200, 200, 300, 1000]):
        s.put_message(msg(body=b"%d" % i), t)
    assert [s.offset_by_time("T", 0, t) for t in (0, 100, 150, 200, 260, 999, 5000)] == [0, 0, 0, 1, 3, 4, 4]
    assert s.offset_by_time("X", 0, 100) == 0
    assert s.earliest_store_time("T", 0) == 100 and s.earliest_store_time("X", 0) == -1


def test_query_by_key(open_store) -> None:
    s = open_store()
    for i in range(6):
        s.put_message(msg(body=b"%d" % i, keys=f"order{i % 3} shared", uniq=f"U{i}"), 10_000 + 1000 * i)
    s.put_message(msg(topic="Other", body=b"o", keys="shared"), 20_000)
    assert [m.body for m in decode_records(b"".join(s.query_by_key("T", "order1", 32, 0, 10**13)))] == [b"4", b"1"]
    assert len(s.query_by_key("T", "shared", 32, 0, 10**13)) == 6
    assert len(s.query_by_key("T", "shared", 2, 0, 10**13)) == 2
    assert len(s.query_by_key("T", "shared", 1000, 0, 10**13)) == 6
    assert len(s.query_by_key("T", "U3", 32, 0, 10**13)) == 1
    assert len(s.query_by_key("T", "shared", 32, 12_000, 13_000)) == 2
    assert s.query_by_key("T", "nope", 32, 0, 10**13) == []
    q = s.query_by_key_ex("Other", "shared", 32, 0, 10**13)
    assert len(q.records) == 1 and q.index_last_update_timestamp == 20_000


def test_put_validation(open_store) -> None:
    s = open_store()
    assert s.put_message(msg(topic="x" * 128), 1).status is PutStatus.MESSAGE_ILLEGAL
    assert s.put_message(msg(topic="a/b"), 1).status is PutStatus.MESSAGE_ILLEGAL
    assert s.put_message(msg(body=bytes(2049)), 1).status is PutStatus.MESSAGE_ILLEGAL
    big = MessageToStore("T", 0, properties={"k": "\u00e9" * 20000})  # 20k chars, 40k bytes
    assert s.put_message(big, 1).status is PutStatus.PROPERTIES_SIZE_EXCEEDED
    assert s.put_message(MessageToStore("T", 0, properties={"k": "v" * 40000}), 1).status is PutStatus.MESSAGE_ILLEGAL
    assert s.put_batch([], 1).status is PutStatus.MESSAGE_ILLEGAL
    assert s.put_message(MessageToStore("T", 0, born_host=("localhost", 1)), 1).status is PutStatus.MESSAGE_ILLEGAL
    assert s.commitlog_max_offset == 0  # nothing written by rejected puts
    s.put_message(msg(), 5)
    s.flush(commitlog_only=True)
    assert s.checkpoint.physic_msg_timestamp == 0  # checkpoint only moves on a full flush
    s.flush()
    assert s.checkpoint.physic_msg_timestamp == 5 == s.checkpoint.logics_msg_timestamp
    s.open(6)  # already open: no-op
    s.close()
    assert s.put_message(msg(), 1).status is PutStatus.SERVICE_NOT_AVAILABLE


def test_put_batch(open_store) -> None:
    s = open_store()
    s.put_message(msg(body=bytes(1200)), 1)
    s.put_message(msg(body=bytes(1200)), 1)
    s.put_message(msg(body=bytes(1200)), 1)
    r = s.put_batch([msg(body=b"b%d" % i, uniq=f"B{i}") for i in range(4)], 2)
    assert r.ok and r.queue_offset == 3 and [i.queue_offset for i in r.infos] == [3, 4, 5, 6]
    assert r.phys_offset == 4096  # did not fit after ~3.8 KiB: whole batch moved to the next file
    assert r.msg_id == ",".join(offset_msg_id(*STORE_HOST, i.phys_offset) for i in r.infos)
    assert _bodies(s.get_messages("T", 0, 3, 32)) == [b"b0", b"b1", b"b2", b"b3"]
    assert s.put_batch([msg(), msg(queue_id=1)], 3).status is PutStatus.MESSAGE_ILLEGAL
    delayed = MessageToStore("T", 0, properties={"DELAY": "2"})
    assert s.put_batch([msg(), delayed], 3).status is PutStatus.MESSAGE_ILLEGAL
    tx = msg(sys_flag=MessageSysFlag.TRANSACTION_PREPARED_TYPE)
    assert s.put_batch([tx], 3).status is PutStatus.MESSAGE_ILLEGAL
    assert s.put_batch([msg(body=bytes(1500)), msg(body=bytes(1500))], 3).status is PutStatus.MESSAGE_ILLEGAL


def test_delay_rewrite_to_schedule_topic(open_store) -> None:
    s = open_store()
    r = s.put_message(MessageToStore("T", 3, body=b"d", properties={"DELAY": "3", "TAGS": "x"}), 50_000)
    assert r.infos[0].topic == SCHEDULE_TOPIC and r.infos[0].queue_id == 2
    m, _ = decode_record(s.read_record(r.phys_offset))
    assert m.properties["REAL_TOPIC"] == "T" and m.properties["REAL_QID"] == "3"
    assert s.cqs[(SCHEDULE_TOPIC, 2)].unit(0)[2] == 50_000 + 10_000  # tagsCode = deliver time
    r = s.put_message(MessageToStore("T", 0, properties={"DELAY": "99"}), 1)
    assert r.infos[0].queue_id == 17  # clamped to level 18
    assert s.max_offset("T", 3) == 0


def test_transaction_types(open_store) -> None:
    s = open_store()
    r = s.put_message(msg(keys="half", sys_flag=MessageSysFlag.TRANSACTION_PREPARED_TYPE), 1)
    assert r.queue_offset == 0 and s.max_offset("T", 0) == 0  # not in the consume queue
    assert len(s.query_by_key("T", "half", 32, 0, 10**13)) == 1  # but indexed
    s.put_message(msg(keys="rb", sys_flag=MessageSysFlag.TRANSACTION_ROLLBACK_TYPE), 2)
    assert s.query_by_key("T", "rb", 32, 0, 10**13) == []
    r = s.put_message(msg(sys_flag=MessageSysFlag.TRANSACTION_COMMIT_TYPE, prepared_transaction_offset=0), 3)
    assert r.queue_offset == 0 and s.max_offset("T", 0) == 1


def test_dispatch_listener_and_delete_topic(open_store, tmp_path) -> None:
    s = open_store()
    seen: list[tuple[str, int, int]] = []
    s.add_dispatch_listener(lambda t, q, m: seen.append((t, q, m)))
    s.add_dispatch_listener(lambda t, q, m: 1 / 0)  # a broken listener does not break puts
    s.put_message(msg(queue_id=1), 1)
    s.put_message(msg(queue_id=1), 2)
    assert seen == [("T", 1, 1), ("T", 1, 2)]
    s.put_message(msg(topic="U"), 3)
    assert s.topics_in_store() == {"T", "U"} and s.queues_of("T") == [1]
    s.delete_topic("T")
    assert s.topics_in_store() == {"U"} and s.max_offset("T", 1) == 0
    assert not os.path.exists(tmp_path / "store" / "consumequeue" / "T")
    assert s.put_message(msg(queue_id=1), 4).queue_offset == 0


def test_unconfirmed_writes_are_invisible_until_dispatched(tmp_path) -> None:
    from rmqlite.store import MessageStore

    from store_helpers import small_config

    s = MessageStore(small_config(str(tmp_path / "s")), auto_confirm=False)
    s.open(1)
    r1 = s.put_message(msg(body=b"a"), 10)
    r2 = s.put_message(msg(body=b"b"), 11)
    assert (r1.queue_offset, r2.queue_offset) == (0, 1)
    assert s.max_offset("T", 0) == 0 and s.read_record(0) is None and s.commitlog_max_offset == 0
    assert s.dispatch_behind_bytes == r2.phys_offset + r2.wrote_bytes
    s.dispatch_up_to(r2.phys_offset)  # confirm only the first
    assert s.max_offset("T", 0) == 1 and s.read_record(0) is not None and s.read_record(r2.phys_offset) is None
    s.truncate_commitlog(r2.phys_offset)  # the unconfirmed one is dropped (e.g. Raft truncation)
    assert s.commitlog_written_offset == r2.phys_offset
    r3 = s.put_message(msg(body=b"c"), 12)
    assert r3.queue_offset == 1 and r3.phys_offset == r2.phys_offset
    s.dispatch_up_to(s.commitlog_written_offset)
    assert _bodies(s.get_messages("T", 0, 0, 32)) == [b"a", b"c"]
    assert s.dispatch_behind_bytes == 0
    s.queue_table.clear()
    s.rebuild_queue_offsets()
    assert s.queue_table == {("T", 0): 2}
    s.truncate_commitlog(0)  # even dispatched data can be cut: CQ and index follow
    assert s.max_offset("T", 0) == 0 and s.put_message(msg(), 13).queue_offset == 0
    assert s.query_by_key("T", "x", 32, 0, 10**13) == []
    s.close()


def test_delete_expired_files(open_store, tmp_path) -> None:
    s = open_store(file_reserved_time_hours=1, max_index_num=20)
    hour = 3_600_000
    for i in range(100):  # ~4 commitlog files, messages one minute apart
        s.put_message(msg(body=b"m%d" % i, keys=f"k{i}"), 60_000 * i)
    files = len(s.commitlog.queue.files)
    assert s.delete_expired_files(now_ms=60_000 * 99 + hour) >= 1
    assert len(s.commitlog.queue.files) < files and s.commitlog_min_offset > 0
    lo = s.min_offset("T", 0)
    assert lo > 0 and s.get_messages("T", 0, 0, 32).status is GetStatus.OFFSET_TOO_SMALL
    g = s.get_messages("T", 0, lo, 1)
    assert g.status is GetStatus.FOUND and decode_records(g.body)[0].body == b"m%d" % lo
    assert len(os.listdir(tmp_path / "store" / "consumequeue" / "T" / "0")) < 7
    assert s.delete_expired_files(now_ms=0) == 0
    s.close()
    s.open(1)
    assert s.min_offset("T", 0) == lo and s.max_offset("T", 0) == 100
