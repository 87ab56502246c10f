"""NameServer: the asyncio shell around the pure nameserver handlers.

How it works:
1. ``start`` loads kvConfig.json, registers every handler of ``handlers.HANDLERS`` on a
   ``RemotingServer`` and starts the expiry scan task. Unknown codes get the transport's
   REQUEST_CODE_NOT_SUPPORTED (Java's nameserver stays silent; an answer is kinder).
2. Each request runs its handler with ``now_ms`` from the clock and the connection's id and
   remote address; then dirty KV / config state is written to disk before the reply leaves.
3. Every ``scan_interval_ms`` brokers not re-registered for ``broker_expire_ms`` are removed
   and their registration connection closed (Java ``scanNotActiveBroker``).
4. When any connection closes, the broker registered over it (found by connection id, else
   by remote address) is removed at once (Java ``BrokerHousekeepingService``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from rmqlite.namesrv.config import NamesrvConfig
from rmqlite.namesrv.handlers import HANDLERS, ConnInfo, NamesrvHandler, NamesrvState
from rmqlite.namesrv.kvconfig import KVConfigStore, default_kv_config_path
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import Connection, RemotingServer

__all__ = ["NameServer"]

log = logging.getLogger("rmqlite.namesrv")


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _addr(conn: Connection) -> str:
    host, port = conn.remote_addr
    return f"{host}:{port}"


class NameServer:
    """A RocketMQ 4.9.4-compatible nameserver on one TCP port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9876,
                 kv_config_path: str | None = None, scan_interval_ms: int = 10_000,
                 broker_expire_ms: int = 120_000, *, config_store_path: str | None = None,
                 order_message_enable: bool = False,
                 clock: Callable[[], int] = _wall_clock_ms) -> None:
        """``kv_config_path`` defaults to ``~/namesrv/kvConfig.json`` (Java's default);
        ``config_store_path`` (UPDATE_NAMESRV_CONFIG file) to ``namesrv.properties`` next to it."""
        self.host = host
        self.requested_port = port
        self.scan_interval_ms = scan_interval_ms
        self.broker_expire_ms = broker_expire_ms
        self.clock = clock
        kv_path = kv_config_path or default_kv_config_path()
        store_path = config_store_path or str(Path(kv_path).parent / "namesrv.properties")
        config = NamesrvConfig(kv_path, store_path, listen_port=port,
                               rocketmq_home=os.environ.get("ROCKETMQ_HOME"),
                               order_message_enable=order_message_enable)
        self.state = NamesrvState(config=config, kv=KVConfigStore(kv_path))
        self._server: RemotingServer | None = None
        self._scan_task: asyncio.Task[None] | None = None

    @staticmethod
    def ready_line() -> str:
        """What Java's NamesrvStartup prints once it listens."""
        return "The Name Server boot success. serializeType=JSON"

    @property
    def port(self) -> int:
        """The bound port (useful with port=0)."""
        return self._server.port if self._server is not None else self.requested_port

    async def start(self) -> None:
        """Load the KV file, listen, start the expiry scan."""
        self.state.kv.load()
        server = RemotingServer(self.host, self.requested_port, name="namesrv")
        for code, handler in HANDLERS.items():
            server.register(code, self._bind(handler))
        server.on_close(self._on_close)
        await server.start()
        self._server = server
        self.state.config.values["listenPort"] = server.port
        self._scan_task = asyncio.create_task(self._scan_loop(), name="namesrv-scan")

    async def close(self) -> None:
        """Stop scanning, close the port and all connections."""
        if self._scan_task is not None:
            self._scan_task.cancel()
            try:
                await self._scan_task
            except asyncio.CancelledError:
                pass
            self._scan_task = None
        if self._server is not None:
            await self._server.close()
            self._server = None

    # ------------------------------------------------------------ internals

    def _bind(self, handler: NamesrvHandler) -> Callable[[RemotingCommand, Connection],
                                                         RemotingCommand | None]:
        def run(cmd: RemotingCommand, conn: Connection) -> RemotingCommand | None:
            try:
                return handler(self.state, cmd, self.clock(), ConnInfo(conn.id, _addr(conn)))
            finally:
                self._persist()
        return run

    def _persist(self) -> None:
        for store, what in ((self.state.kv, "kv config"), (self.state.config, "namesrv config")):
            if store.dirty:
                try:
                    store.save()
                except OSError as e:  # keep serving; the next change retries the write
                    log.error("persist %s failed: %s", what, e)

    def _on_close(self, conn: Connection) -> None:
        addr = self.state.routes.on_connection_closed(_addr(conn), conn.id)
        if addr and addr != _addr(conn):
            log.info("the broker's channel destroyed, %s, clean it's data structure at once", addr)

    def scan_not_active_broker(self) -> int:
        """One expiry pass; returns how many brokers were removed."""
        removed = self.state.routes.expire(self.clock(), self.broker_expire_ms)
        connections = self._server.connections if self._server is not None else {}
        for addr, live in removed:
            log.warning("The broker channel expired, %s %dms", addr, self.broker_expire_ms)
            conn = connections.get(live.conn_id) if live.conn_id is not None else None
            if conn is not None:
                conn.close()
        return len(removed)

    async def _scan_loop(self) -> None:
        while True:
            await asyncio.sleep(self.scan_interval_ms / 1000)
            try:
                self.scan_not_active_broker()
            except Exception:  # never let the scan task die
                log.exception("scanNotActiveBroker failed")
