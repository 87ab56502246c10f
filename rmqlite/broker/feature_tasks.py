"""Asyncio shell of the broker's feature services: ACL request hook and file reload, on-time delayed delivery.

How it works:
1. ``BrokerFeatures(broker)`` is created by ``Broker.start`` once the state exists. With aclEnable=true it loads
   the ACL files (``acl.AclState``); a file that cannot be used stops the start with ``AclError``.
2. ``check_request(cmd, conn)`` runs before every handler (Java's RPC hook): None lets the request through, a
   RemotingCommand is the SYSTEM_ERROR refusal (always JSON, like Java's exception path); oneway requests are
   refused silently (``REFUSED_ONEWAY``). Nothing of a refused request reaches a handler.
3. ``tasks()`` are the loops the broker runs:
   - delayed delivery: delivers what is due (masters only), persists delayOffset.json right after a delivery,
     then sleeps until the earliest next due time (``ScheduleState.next_due_ms``), until a new
     SCHEDULE_TOPIC_XXXX entry is dispatched (``on_dispatch``) or until ``wake()`` (DLedger role change),
     at most 1 s;
   - ACL reload: every 5 s (Java's AclFileWatchService) compares the file list and modification times; a changed
     file is reloaded alone, a changed file count reloads everything; a file that fails to load keeps the old
     rules and is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from rmqlite.broker.acl import AclState, acl_files, acl_home
from rmqlite.broker.schedule import SCHEDULE_TOPIC, deliver_due
from rmqlite.remoting.codes import ResponseCode
from rmqlite.remoting.command import RemotingCommand, SerializeType
from rmqlite.common.aio import wait_event

log = logging.getLogger("rmqlite.broker.features")

__all__ = ["ACL_WATCH_INTERVAL_S", "REFUSED_ONEWAY", "BrokerFeatures"]

ACL_WATCH_INTERVAL_S = 5.0
REFUSED_ONEWAY = object()
_MAX_SLEEP_S = 1.0


def _now_ms() -> int:
    return int(time.time() * 1000)


class BrokerFeatures:
    """ACL and delayed-delivery shell bound to one ``Broker``."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.acl: AclState | None = None
        self._wake: asyncio.Event | None = None
        self._mtimes: dict[str, float] = {}
        if broker.config.aclEnable:
            home = acl_home(broker.config)
            if home is None:
                log.warning("aclEnable=true but ROCKETMQ_HOME is not set: no accounts, every request is refused")
            self.acl = AclState(home)
            self.acl.load()
            self._mtimes = self._scan()

    # ------------------------------------------------------------------ request hook
    def check_request(self, cmd: RemotingCommand, conn: Any) -> Any:
        """None to proceed; a refusal response; or REFUSED_ONEWAY (refused, nothing to answer)."""
        if self.acl is None:
            return None
        addr = "%s:%d" % tuple(conn.remote_addr[:2]) if conn is not None else "127.0.0.1:0"
        remark = self.acl.check(cmd, addr)
        if remark is None:
            return None
        if cmd.is_oneway:
            return REFUSED_ONEWAY
        resp = cmd.response(ResponseCode.SYSTEM_ERROR, remark)
        resp.serialize_type = SerializeType.JSON
        return resp

    # ------------------------------------------------------------------ dispatch listener
    def on_dispatch(self, topic: str, queue_id: int, max_offset: int) -> None:
        if topic == SCHEDULE_TOPIC and self._wake is not None:
            self._wake.set()

    def wake(self) -> None:
        """Run the delayed-delivery loop now (a node that just became master delivers what is due at once)."""
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------ loops
    def tasks(self) -> list[Any]:
        self._wake = asyncio.Event()
        loops = [self._schedule_loop()]
        if self.acl is not None:
            loops.append(self._acl_watch_loop())
        return loops

    async def _schedule_loop(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            state = self.broker.state
            sleep_s = _MAX_SLEEP_S
            try:
                if state is not None and state.is_master:
                    if deliver_due(state, _now_ms()):
                        self.broker._async_dirty = True
                        state.schedule.persist()
                    nxt = state.schedule.next_due_ms
                    if nxt is not None:
                        sleep_s = min(_MAX_SLEEP_S, max(0.0, (nxt - _now_ms()) / 1000.0))
            except Exception:
                log.exception("delayed delivery failed")
            await wait_event(self._wake, sleep_s)

    def _scan(self) -> dict[str, float]:
        assert self.acl is not None
        if not self.acl.home:
            return {}
        out = {}
        for path in acl_files(self.acl.home):
            try:
                out[path] = os.stat(path).st_mtime
            except OSError:
                continue
        return out

    async def _acl_watch_loop(self) -> None:
        assert self.acl is not None
        while True:
            await asyncio.sleep(ACL_WATCH_INTERVAL_S)
            try:
                self._reload_changed()
            except Exception as exc:          # a bad file: keep the rules we have
                log.error("ACL file reload failed, keeping the previous rules: %s", exc)

    def _reload_changed(self) -> None:
        assert self.acl is not None
        now = self._scan()
        if len(now) != len(self._mtimes):
            self._mtimes = now
            self.acl.load()
            log.info("ACL files reloaded (%d files)", len(now))
            return
        for path, mtime in now.items():
            if self._mtimes.get(path) != mtime:
                self._mtimes[path] = mtime
                self.acl.reload_file(path)
                log.info("ACL file reloaded: %s", path)
