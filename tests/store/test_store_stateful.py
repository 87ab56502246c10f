"""Hypothesis state machine: puts, gets, key queries, clean reopen and crash against a dict model."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from store_helpers import crash, msg, small_config

from rmqlite.common.message import decode_records, java_string_hash
from rmqlite.store import GetStatus, MessageStore

QUEUES = [("A", 0), ("A", 1), ("B", 0)]
queues = st.sampled_from(QUEUES)
bodies = st.binary(min_size=0, max_size=300)
tags = st.sampled_from(["x", "y", None])


class StoreMachine(RuleBasedStateMachine):
    """Model: per queue, the list of (body, tag, uniq key) in queue-offset order."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="rmqlite-store-sm-")
        self.cfg = small_config(self.dir)
        self.store = MessageStore(self.cfg)
        self.now = 1_000_000
        self.store.open(self.now)
        self.model: dict[tuple[str, int], list[tuple[bytes, str | None, str]]] = {q: [] for q in QUEUES}
        self.serial = 0
        self.last_cl_max = 0
        self.last_single: tuple[tuple[str, int], int, int] | None = None  # (queue, phys, size)

    def teardown(self) -> None:
        if self.store.is_open:
            self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _tick(self) -> int:
        self.now += 7
        return self.now

    @rule(q=queues, body=bodies, tag=tags)
    def put(self, q: tuple[str, int], body: bytes, tag: str | None) -> None:
        self.serial += 1
        uniq = f"U{self.serial}"
        r = self.store.put_message(msg(q[0], q[1], body=body, tags=tag, uniq=uniq), self._tick())
        assert r.ok and r.queue_offset == len(self.model[q])
        self.model[q].append((body, tag, uniq))
        self.last_single = (q, r.phys_offset, r.wrote_bytes)

    @rule(q=queues, n=st.integers(1, 5), body=bodies)
    def put_batch(self, q: tuple[str, int], n: int, body: bytes) -> None:
        batch = []
        for _ in range(n):
            self.serial += 1
            batch.append(msg(q[0], q[1], body=body, uniq=f"U{self.serial}"))
        r = self.store.put_batch(batch, self._tick())
        self.last_single = None
        assert r.ok and [i.queue_offset for i in r.infos] == list(range(len(self.model[q]), len(self.model[q]) + n))
        self.model[q].extend((body, None, m.properties["UNIQ_KEY"]) for m in batch)  # type: ignore[index]

    @rule(q=queues, start=st.integers(0, 40), max_nums=st.integers(1, 40), tag=tags)
    def get(self, q: tuple[str, int], start: int, max_nums: int, tag: str | None) -> None:
        items = self.model[q]
        flt = None if tag is None else (lambda code, h=java_string_hash(tag): code == h)
        g = self.store.get_messages(q[0], q[1], start, max_nums, tag_filter=flt)
        assert (g.min_offset, g.max_offset) == (0, len(items))
        if not items:
            assert g.status is GetStatus.NO_MESSAGE_IN_QUEUE and g.next_begin_offset == 0
            return
        if start >= len(items):
            assert g.status is (GetStatus.OFFSET_OVERFLOW_ONE if start == len(items) else GetStatus.OFFSET_OVERFLOW_BADLY)
            assert g.next_begin_offset == (start if start == len(items) else len(items))
            return
        got = [(m.body, m.queue_offset) for m in decode_records(g.body)]
        scanned = range(start, g.next_begin_offset)
        want = [(items[i][0], i) for i in scanned if tag is None or items[i][1] == tag]
        assert got == want and len(got) <= max_nums and g.next_begin_offset > start
        assert g.status is (GetStatus.FOUND if got else GetStatus.NO_MATCHED_MESSAGE)

    @rule(data=st.data())
    def query_uniq(self, data: st.DataObject) -> None:
        nonempty = [q for q in QUEUES if self.model[q]]
        if not nonempty:
            return
        q = data.draw(st.sampled_from(nonempty))
        body, _tag, uniq = data.draw(st.sampled_from(self.model[q]))
        found = decode_records(b"".join(self.store.query_by_key(q[0], uniq, 32, 0, 10**13)))
        assert [(m.body, m.uniq_key) for m in found] == [(body, uniq)]

    @rule(cut=st.floats(0, 1, exclude_max=True))
    def crash_with_torn_last_record(self, cut: float) -> None:
        """The process dies while the last single put was being written: that message is lost."""
        if self.last_single is None:
            return
        q, phys, size = self.last_single
        crash(self.store)
        seg = os.path.join(self.cfg.commitlog_dir, f"{phys - phys % self.cfg.mapped_file_size_commitlog:020d}")
        with open(seg, "r+b") as f:
            f.truncate(phys % self.cfg.mapped_file_size_commitlog + int(cut * size))
        self.model[q].pop()
        self.last_cl_max = phys
        self.last_single = None
        self.store = MessageStore(self.cfg)
        self.store.open(self._tick())
        assert self.store.commitlog_max_offset == phys

    @rule()
    def reopen(self) -> None:
        self.last_single = None
        self.store.close()
        self.store = MessageStore(self.cfg)
        self.store.open(self._tick())
        assert not self.store.recovered_abnormally

    @rule()
    def crash_and_reopen(self) -> None:
        self.last_single = None
        crash(self.store)  # mmap'd writes survive a process crash (page cache)
        self.store = MessageStore(self.cfg)
        self.store.open(self._tick())
        assert self.store.recovered_abnormally

    @invariant()
    def offsets_agree(self) -> None:
        for q, items in self.model.items():
            assert self.store.max_offset(*q) == len(items)
        assert self.store.commitlog_max_offset >= self.last_cl_max
        self.last_cl_max = self.store.commitlog_max_offset


StoreMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestStoreStateful = StoreMachine.TestCase
