"""The DLedger data file as the store's commitlog: a one-member group (leader by itself) under a real
MessageStore - positions, commit-driven dispatch, refusals, record iteration across no-op entries, recovery."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from rmq_procs import free_port

from rmqlite.broker.dledger_commitlog import DLedgerCommitLog, ProposalRefused, records_valid
from rmqlite.common.message import decode_record, offset_msg_id
from rmqlite.dledger.driver import GroupConfig, RaftDriver
from rmqlite.dledger.entry import BODY_OFFSET
from rmqlite.dledger.file_log import FileLog
from rmqlite.dledger.messages import Entry
from rmqlite.store.message_store import MessageStore
from rmqlite.store.model import GetStatus, MessageToStore, PutStatus, StoreConfig

FS = 1 << 16


class Solo:
    """Store + DLedger commitlog + one-member driver."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = FileLog(str(root / "dledger-n0"), data_file_size=FS, index_file_units=4096, fsync=False,
                           body_check=records_valid)
        self.cl = DLedgerCommitLog(self.log)
        self.store = MessageStore(StoreConfig(str(root), mapped_file_size_commitlog=FS), commitlog=self.cl,
                                  auto_confirm=False)
        self.driver: RaftDriver | None = None

    async def start(self) -> None:
        self.store.open(int(time.time() * 1000))
        applied = self.log.index_at_or_after(self.store.dispatched_offset) - 1
        self.log.raise_committed(applied)
        gc = GroupConfig("g", "n0", {"n0": f"127.0.0.1:{free_port()}"}, file_size=FS, tick_ms=5,
                         election_ticks=3, heartbeat_ticks=1)
        self.driver = RaftDriver(gc, self.log, applied=applied, on_apply=self._apply)
        self.cl.driver = self.driver
        await self.driver.start()
        while not self.driver.serving:
            await asyncio.sleep(0.005)
        self.cl.writable = True

    def _apply(self, entries: list[Entry]) -> None:
        pos, size = self.log.entry_span(entries[-1].index)
        self.store.dispatch_up_to(pos + size)

    def put(self, body: bytes, queue_id: int = 0) -> object:
        msg = MessageToStore(topic="T", queue_id=queue_id, body=body, properties={"UNIQ_KEY": body.hex()})
        return self.store.put_message(msg, int(time.time() * 1000))

    async def committed(self) -> None:
        assert self.driver is not None
        node = self.driver.node
        while node.commit_index < node.last_index or node.log.applied < node.commit_index:
            await asyncio.sleep(0.002)

    async def close(self) -> None:
        if self.driver is not None:
            await self.driver.close()
        self.store.close()


@pytest.fixture
async def solo(tmp_path: Path):
    s = Solo(tmp_path)
    await s.start()
    yield s
    await s.close()


async def test_put_lands_at_entry_pos_plus_48_and_dispatches_on_commit(solo: Solo) -> None:
    res = solo.put(b"first")
    assert res.status is PutStatus.PUT_OK
    index = solo.log.last_index()
    assert res.phys_offset == solo.log.entry_pos(index) + BODY_OFFSET
    assert res.msg_ids[0] == offset_msg_id("127.0.0.1", 10911, res.phys_offset)
    await solo.committed()
    got = solo.store.get_messages("T", 0, 0, 32)
    assert got.status is GetStatus.FOUND
    msg, _ = decode_record(got.records[0])
    assert msg.body == b"first" and msg.commit_log_offset == res.phys_offset


async def test_refused_put_leaves_no_queue_offset_gap(solo: Solo) -> None:
    solo.cl.writable = False
    res = solo.put(b"refused")
    assert res.status is PutStatus.CREATE_MAPEDFILE_FAILED
    with pytest.raises(ProposalRefused):
        solo.cl.prepare(100)
    solo.cl.writable = True
    ok = solo.put(b"ok")
    assert ok.queue_offset == 0


async def test_iter_records_skips_noops_and_fillers(solo: Solo) -> None:
    bodies = [bytes([i]) * 9000 for i in range(12)]          # several data files (fillers in between)
    results = [solo.put(b) for b in bodies]
    await solo.committed()
    assert len(solo.log.data.files) > 1
    recs = list(solo.cl.iter_records(0, solo.cl.max_offset))
    assert [p for p, _ in recs] == [r.phys_offset for r in results]
    mid = results[5].phys_offset
    assert [p for p, _ in solo.cl.iter_records(mid, solo.cl.max_offset)][0] == mid
    assert [p for p, _ in solo.cl.iter_records(mid - BODY_OFFSET, mid + 1)] == []    # record must fit below end
    assert solo.cl.read_record(mid) == recs[5][1]
    assert solo.cl.read_record(mid - BODY_OFFSET) is None                           # an entry header
    assert solo.cl.store_timestamp(mid) > 0


async def test_restart_recovers_store_from_committed_entries(tmp_path: Path) -> None:
    s = Solo(tmp_path)
    await s.start()
    for i in range(30):
        s.put(b"m%d" % i, queue_id=i % 2)
    await s.committed()
    await s.close()
    again = Solo(tmp_path)
    await again.start()
    try:
        assert again.store.max_offset("T", 0) == 15 and again.store.max_offset("T", 1) == 15
        res = again.put(b"after", queue_id=0)
        assert res.queue_offset == 15
        await again.committed()
        assert again.store.max_offset("T", 0) == 16
        start = again.cl.recovery_start(True, int(time.time() * 1000))
        assert start in [f.start for f in again.log.data.files]
        assert again.cl.recovery_start(True, 0) == 0                      # nothing old enough: from the start
    finally:
        await again.close()
