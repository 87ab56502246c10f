"""Delayed delivery in DLedger mode across a change of master (in-process group).

A new master starts from the delay offsets it copied from its predecessor, which lag behind what that master
delivered (followers copy them every dLedgerMetaSyncIntervalMs). It must not deliver those messages a second
time (schedule.py rule 6), and a master must never publish progress that is not durable yet (rule 5).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from test_inprocess import GROUP, Group, until

from rmqlite.broker.schedule import ScheduleState
from rmqlite.client import Client

TOPIC = "DelayInProc"
KEYS = [f"dly-{i}" for i in range(3)]


async def test_new_master_does_not_deliver_again_what_the_old_one_delivered(tmp_path: Path) -> None:
    # no periodic metadata sync: the followers keep the delay offsets they copied before the deliveries
    g = Group(tmp_path, messageDelayLevel="1s 2s", dLedgerMetaSyncIntervalMs="600000")
    await g.start()
    try:
        master = await g.master()
        addr = master.config.broker_addr
        async with Client(g.namesrv) as client:
            await client.create_topic(addr, TOPIC, 1)
            route = await client.route(TOPIC)
            for key in KEYS:
                await client.send(route, GROUP, 0, key.encode(), properties={"DELAY": "1", "UNIQ_KEY": key})
        # delivered by the master, committed and applied everywhere
        await until(lambda: all(b.state.store.max_offset(TOPIC, 0) == len(KEYS) for b in g.brokers.values()))
        old = next(name for name, b in g.brokers.items() if b is master)
        followers = [b for b in g.brokers.values() if b is not master]
        assert all(b.state.schedule.offsets.get(1, 0) == 0 for b in followers)   # their copy lags behind

        await g.brokers.pop(old).close()           # hands leadership over to a follower
        new = await g.master(timeout=15)
        await until(lambda: new.state.schedule.offsets.get(1) == len(KEYS))
        await asyncio.sleep(0.3)                    # a few more delivery rounds (ticker + loop) must add nothing
        assert new.state.store.max_offset(TOPIC, 0) == len(KEYS)
        assert new.state.schedule.to_json() == {"offsetTable": {1: len(KEYS)}}
        async with Client(g.namesrv) as client:
            res = await client.pull(new.config.broker_addr, "g_dly", TOPIC, 0, 0)
        assert sorted(m.properties["UNIQ_KEY"] for m in res.messages) == KEYS
    finally:
        await g.close()


class _Store:
    """Just enough of a store for ScheduleState: nothing scheduled, a movable durable end."""

    def __init__(self) -> None:
        self.dispatched_offset = 0

    def max_offset(self, topic: str, queue_id: int) -> int:
        return 0


def test_published_offsets_stop_at_the_first_copy_not_durable() -> None:
    s = ScheduleState([1000, 2000])
    store: Any = _Store()
    s.due(store, 0)
    s.advance(1, 1, copy_end=100)
    s.advance(1, 2, copy_end=200)
    s.advance(2, 5)                                  # a skipped record: nothing stored
    assert s.to_json() == {"offsetTable": {1: 0, 2: 5}}
    store.dispatched_offset = 100
    assert s.to_json() == {"offsetTable": {1: 1, 2: 5}}
    s.restart_delivery()                             # deposed before the second copy committed: deliver it again
    assert s.offsets == {1: 1, 2: 5}
    store.dispatched_offset = 200
    assert s.to_json() == {"offsetTable": {1: 1, 2: 5}}


def test_single_store_progress_is_durable_at_once() -> None:
    s = ScheduleState([1000])
    store: Any = SimpleNamespace(dispatched_offset=300, max_offset=lambda topic, qid: 0)
    s.due(store, 0)
    s.advance(1, 1, copy_end=300)
    assert s.to_json() == {"offsetTable": {1: 1}}
