"""MessageStore recovery: clean reopen, torn tail at every byte, abnormal rebuild, lagging queues, lock."""

from __future__ import annotations

import os
import shutil

import pytest
from store_helpers import crash, msg, small_config

from rmqlite.common.message import decode_records
from rmqlite.store import GetStatus, MessageStore, StoreError


def _snapshot(s: MessageStore) -> dict:
    """Everything a client can observe, per queue and per key."""
    out: dict = {"cl": s.commitlog_max_offset}
    for topic, qid in sorted(s.cqs):
        g = s.get_messages(topic, qid, s.min_offset(topic, qid), 10_000)
        out[(topic, qid)] = (s.min_offset(topic, qid), s.max_offset(topic, qid),
                             [(m.body, m.queue_offset) for m in decode_records(g.body)])
    return out


def _fill(s: MessageStore, n: int, t0: int = 1_000_000) -> None:
    for i in range(n):
        r = s.put_message(msg(topic="AB"[i % 2], queue_id=i % 3, body=b"m%03d" % i, keys=f"k{i} all",
                              uniq=f"U{i}", tags="t%d" % (i % 4)), t0 + 1000 * i)
        assert r.ok


def _keys_found(s: MessageStore, n: int) -> set[int]:
    found = set()
    for i in range(n):
        if s.query_by_key("AB"[i % 2], f"k{i}", 32, 0, 10**13):
            found.add(i)
    return found


def test_clean_reopen_keeps_everything(tmp_path) -> None:
    cfg = small_config(str(tmp_path / "s"))
    s = MessageStore(cfg)
    s.open(1)
    _fill(s, 40)
    before = _snapshot(s)
    s.close()
    assert not os.path.exists(tmp_path / "s" / "abort")
    s = MessageStore(cfg)
    s.open(2)
    assert not s.recovered_abnormally and _snapshot(s) == before and _keys_found(s, 40) == set(range(40))
    assert s.put_message(msg(topic="A", queue_id=1, body=b"next"), 99).queue_offset == before[("A", 1)][1]
    s.close()


def test_torn_tail_at_every_byte_of_last_record(tmp_path) -> None:
    template = tmp_path / "template"
    s = MessageStore(small_config(str(template)))
    s.open(1)
    _fill(s, 5)
    expected = _snapshot(s)
    last = s.put_message(msg(topic="A", queue_id=2, body=b"LAST", keys="lastkey", uniq="ULAST", tags="x"), 2_000_000)
    lost_qoff = last.queue_offset
    crash(s)
    seg = template / "commitlog" / "00000000000000000000"
    for k in range(last.wrote_bytes):
        work = tmp_path / f"w{k}"
        shutil.copytree(template, work)
        with open(work / "commitlog" / seg.name, "r+b") as f:
            f.truncate(last.phys_offset + k)  # the crash kept only k bytes of the last record
        st = MessageStore(small_config(str(work)))
        st.open(3)
        assert st.recovered_abnormally
        assert _snapshot(st) == expected, k  # only the last record is lost
        assert st.query_by_key("A", "lastkey", 32, 0, 10**13) == [] and _keys_found(st, 5) == set(range(5))
        r = st.put_message(msg(topic="A", queue_id=2, body=b"again", keys="k2"), 3_000_000)
        assert (r.phys_offset, r.queue_offset) == (last.phys_offset, lost_qoff)
        g = st.get_messages("A", 2, lost_qoff, 32)
        assert [m.body for m in decode_records(g.body)] == [b"again"]
        assert len(st.query_by_key("A", "k2", 32, 0, 10**13)) == 2
        st.close()
        st.open(4)  # and it survives another restart
        assert st.get_messages("A", 2, lost_qoff, 32).status is GetStatus.FOUND
        st.close()
        shutil.rmtree(work)


def test_abnormal_recovery_rebuilds_deleted_queues_and_index(tmp_path) -> None:
    cfg = small_config(str(tmp_path / "s"))
    s = MessageStore(cfg)
    s.open(1)
    _fill(s, 80)  # several commitlog, consume-queue and index files
    before = _snapshot(s)
    assert len(s.commitlog.queue.files) >= 3
    crash(s)
    shutil.rmtree(tmp_path / "s" / "consumequeue")
    shutil.rmtree(tmp_path / "s" / "index")
    s = MessageStore(cfg)
    s.open(2)
    assert s.recovered_abnormally and _snapshot(s) == before and _keys_found(s, 80) == set(range(80))
    assert s.put_message(msg(topic="B", queue_id=0, body=b"n"), 5).queue_offset == before[("B", 0)][1]
    s.close()


def test_abnormal_recovery_fills_lagging_queue_from_checkpoint(tmp_path) -> None:
    cfg = small_config(str(tmp_path / "s"))
    s = MessageStore(cfg)
    s.open(1)
    _fill(s, 60)
    s.flush()  # checkpoint: everything up to message 59 is durable
    shutil.copytree(tmp_path / "s" / "consumequeue" / "B", tmp_path / "old_cq")
    for i in range(60, 70):
        s.put_message(msg(topic="AB"[i % 2], queue_id=i % 3, body=b"m%03d" % i), 1_000_000 + 1000 * i)
    before = _snapshot(s)
    crash(s)
    shutil.rmtree(tmp_path / "s" / "consumequeue" / "B")
    shutil.copytree(tmp_path / "old_cq", tmp_path / "s" / "consumequeue" / "B")  # B lags, A does not
    s = MessageStore(cfg)
    s.open(2)
    assert _snapshot(s) == before
    s.close()


def test_normal_recovery_resumes_dispatch_for_lagging_queues(tmp_path) -> None:
    cfg = small_config(str(tmp_path / "s"))
    s = MessageStore(cfg)
    s.open(1)
    _fill(s, 30)
    s.close()
    shutil.copytree(tmp_path / "s" / "consumequeue", tmp_path / "old_cq")
    s.open(2)
    for i in range(30, 36):
        s.put_message(msg(topic="A", queue_id=0, body=b"m%03d" % i), 5_000_000 + i)
    before = _snapshot(s)
    s.close()
    shutil.rmtree(tmp_path / "s" / "consumequeue")
    shutil.copytree(tmp_path / "old_cq", tmp_path / "s" / "consumequeue")
    s.open(3)
    assert not s.recovered_abnormally and _snapshot(s) == before
    s.close()


def test_lock_file_excludes_a_second_store(tmp_path) -> None:
    cfg = small_config(str(tmp_path / "s"))
    a = MessageStore(cfg)
    a.open(1)
    b = MessageStore(cfg)
    with pytest.raises(StoreError):
        b.open(1)
    a.close()
    b.open(1)
    b.close()


def test_unconfirmed_tail_survives_restart_as_unconfirmed(tmp_path) -> None:
    cfg = small_config(str(tmp_path / "s"))
    s = MessageStore(cfg, auto_confirm=False)
    s.open(1)
    s.put_message(msg(body=b"a"), 10)
    r = s.put_message(msg(body=b"b"), 11)
    s.dispatch_up_to(r.phys_offset)
    s.close()
    s = MessageStore(cfg, auto_confirm=False)
    s.open(2)
    assert s.max_offset("T", 0) == 1 and s.commitlog_written_offset > s.commitlog_max_offset
    assert s.put_message(msg(body=b"c"), 12).queue_offset == 2  # continues after the unconfirmed one
    s.dispatch_up_to(s.commitlog_written_offset)
    assert [m.body for m in decode_records(s.get_messages("T", 0, 0, 9).body)] == [b"a", b"b", b"c"]
    s.close()
