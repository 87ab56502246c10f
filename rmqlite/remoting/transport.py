"""asyncio shell around the codec: a RocketMQ remoting server and client.

How it works:
1. Every TCP connection, accepted or outgoing, is a ``Connection`` (an
   ``asyncio.Protocol``) with its own ``FrameDecoder`` and a table of pending
   requests keyed by opaque.
2. An incoming response completes the pending future with its opaque; responses
   with an unknown opaque (late, or for a oneway request) are dropped.
3. An incoming request goes to the handler registered for its code. Synchronous
   handlers are answered inline (in order); a handler that returns an awaitable is
   run as a task, so a held pull does not block the connection. A ``None`` result or
   a oneway request means no reply.
4. Errors never take the server down: a malformed frame closes that connection with
   a log line; an unknown code gets REQUEST_CODE_NOT_SUPPORTED; a ``HeaderError``
   gets SYSTEM_ERROR naming the field; any other handler exception gets SYSTEM_ERROR
   with its text.
5. Closing a connection fails its pending requests with ``RemotingConnectError``.
6. Writes are coalesced: frames written while a ``data_received`` call is being handled (the
   replies of synchronous handlers to every request in that chunk) go to the transport in ONE
   ``writelines`` at its end; frames written elsewhere (replies of async handlers, requests) are
   queued and flushed by a ``call_soon`` callback, so everything written in one loop iteration
   leaves in one syscall. Order on the connection is the order of the ``write`` calls; ``close``
   flushes first.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Union

from rmqlite.remoting.codec import FrameDecoder, FrameError, encode_frame
from rmqlite.remoting.codes import ResponseCode
from rmqlite.remoting.command import FLAG_ONEWAY, RemotingCommand, next_opaque
from rmqlite.remoting.headers import HeaderError

__all__ = [
    "Connection",
    "Handler",
    "RemotingClient",
    "RemotingConnectError",
    "RemotingError",
    "RemotingServer",
    "RemotingTimeout",
]

log = logging.getLogger("rmqlite.remoting")

HandlerResult = Union[RemotingCommand, None, Awaitable[Union[RemotingCommand, None]]]
Handler = Callable[[RemotingCommand, "Connection"], HandlerResult]
_conn_ids = itertools.count(1)


class RemotingError(Exception):
    """Base of transport errors."""


class RemotingTimeout(RemotingError):
    """No response within the timeout."""


class RemotingConnectError(RemotingError):
    """The connection could not be made or was lost."""


class Connection(asyncio.Protocol):
    """One TCP connection speaking the remoting protocol."""

    def __init__(self, dispatcher: _Dispatcher | None, name: str = "") -> None:
        self.id = next(_conn_ids)
        self.name = name
        self.attrs: dict[str, Any] = {}
        self.remote_addr: tuple[str, int] = ("", 0)
        self.local_addr: tuple[str, int] = ("", 0)
        self.closed = False
        self._dispatcher = dispatcher
        self._decoder = FrameDecoder()
        self._transport: asyncio.Transport | None = None
        self._pending: dict[int, asyncio.Future[RemotingCommand]] = {}
        self._close_callbacks: list[Callable[[Connection], None]] = []
        self._closed_event = asyncio.Event()
        self._batch: list[bytes] | None = None   # frames not yet handed to the transport (rule 6)
        self._receiving = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()
        peer = transport.get_extra_info("peername") or ("", 0)
        sock = transport.get_extra_info("sockname") or ("", 0)
        self.remote_addr = (str(peer[0]), int(peer[1]))
        self.local_addr = (str(sock[0]), int(sock[1]))

    def data_received(self, data: bytes) -> None:
        try:
            commands = self._decoder.feed(data)
        except FrameError as exc:
            log.warning("%s: closing connection from %s:%d: %s", self.name, *self.remote_addr, exc)
            self.close()
            return
        if self._receiving:  # re-entered from a handler: the outer call flushes
            self._handle(commands)
            return
        self._receiving = True
        try:
            self._handle(commands)
        finally:
            self._receiving = False
            self._flush()

    def _handle(self, commands: list[RemotingCommand]) -> None:
        for cmd in commands:
            if cmd.flag & 1:        # a response
                fut = self._pending.pop(cmd.opaque, None)
                if fut is not None and not fut.done():
                    fut.set_result(cmd)
            elif self._dispatcher is not None:
                self._dispatcher.dispatch(cmd, self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(RemotingConnectError(f"connection to {self.peer} closed"))
        for cb in self._close_callbacks:
            try:
                cb(self)
            except Exception:  # a callback bug must not break the loop
                log.exception("close callback failed")
        self._closed_event.set()

    # -- API
    @property
    def peer(self) -> str:
        return "%s:%d" % self.remote_addr

    def on_close(self, cb: Callable[[Connection], None]) -> None:
        self._close_callbacks.append(cb)

    def write(self, cmd: RemotingCommand) -> None:
        """Send a command, ignoring a closed connection."""
        if self._transport is None or self.closed or self._transport.is_closing():
            return
        frame = encode_frame(cmd)
        if self._batch is not None:
            self._batch.append(frame)
            return
        self._batch = [frame]
        if not self._receiving:
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Hand the queued frames to the transport in one call (rule 6)."""
        batch, self._batch = self._batch, None
        if batch and self._transport is not None and not self._transport.is_closing():
            if len(batch) == 1:
                self._transport.write(batch[0])
            else:
                self._transport.writelines(batch)

    def send_oneway(self, cmd: RemotingCommand) -> None:
        if not cmd.opaque:
            cmd.opaque = next_opaque()
        cmd.flag |= FLAG_ONEWAY
        self.write(cmd)

    async def invoke(self, cmd: RemotingCommand, timeout_ms: int = 3000) -> RemotingCommand:
        """Send a request and wait for its response."""
        if self.closed:
            raise RemotingConnectError(f"connection to {self.peer} is closed")
        if not cmd.opaque or cmd.opaque in self._pending:
            cmd.opaque = next_opaque()
        fut: asyncio.Future[RemotingCommand] = asyncio.get_running_loop().create_future()
        self._pending[cmd.opaque] = fut
        self.write(cmd)
        try:
            async with asyncio.timeout(timeout_ms / 1000.0):   # not wait_for: it can swallow a cancel (3.11)
                return await fut
        except TimeoutError:
            raise RemotingTimeout(
                f"wait response on {self.peer} timeout {timeout_ms}ms (code {cmd.code})"
            ) from None
        finally:
            self._pending.pop(cmd.opaque, None)

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._flush()
            self._transport.close()

    async def wait_closed(self) -> None:
        await self._closed_event.wait()


class _Dispatcher:
    """Routes requests to handlers by code and writes their replies."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: dict[int, Handler] = {}
        self.default: Handler | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def dispatch(self, cmd: RemotingCommand, conn: Connection) -> None:
        handler = self.handlers.get(cmd.code, self.default)
        if handler is None:
            self._reply(conn, cmd, cmd.response(
                ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
                f" request type {cmd.code} not supported",
            ))
            return
        try:
            result = handler(cmd, conn)
        except Exception as exc:
            self._reply(conn, cmd, self._error(cmd, exc))
            return
        if type(result) is RemotingCommand:      # the common case, without the awaitable checks
            if not cmd.flag & FLAG_ONEWAY:
                result.opaque = cmd.opaque
                result.flag |= 1
                result.serialize_type = cmd.serialize_type
                conn.write(result)
        elif inspect.isawaitable(result):
            task = asyncio.ensure_future(self._finish(result, cmd, conn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            self._reply(conn, cmd, result)

    async def _finish(self, result: Awaitable[RemotingCommand | None], cmd: RemotingCommand,
                      conn: Connection) -> None:
        try:
            response = await result
        except asyncio.CancelledError:
            return
        except Exception as exc:
            response = self._error(cmd, exc)
        self._reply(conn, cmd, response)

    def _error(self, cmd: RemotingCommand, exc: Exception) -> RemotingCommand:
        if isinstance(exc, HeaderError):
            return cmd.response(ResponseCode.SYSTEM_ERROR, str(exc))
        log.exception("%s: handler for code %d failed", self.name, cmd.code)
        return cmd.response(ResponseCode.SYSTEM_ERROR, f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _reply(conn: Connection, request: RemotingCommand, response: RemotingCommand | None) -> None:
        if response is None or request.is_oneway:
            return
        response.opaque = request.opaque
        response.flag |= 1
        response.serialize_type = request.serialize_type
        conn.write(response)


class RemotingServer:
    """Listens on one port and serves registered request handlers."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, name: str = "server") -> None:
        self.host = host
        self.requested_port = port
        self.name = name
        self._dispatcher = _Dispatcher(name)
        self._server: asyncio.base_events.Server | None = None
        self._close_callbacks: list[Callable[[Connection], None]] = []
        self.connections: dict[int, Connection] = {}

    def register(self, code: int, handler: Handler) -> None:
        self._dispatcher.handlers[int(code)] = handler

    def register_default(self, handler: Handler) -> None:
        """Handler for codes without their own (instead of REQUEST_CODE_NOT_SUPPORTED)."""
        self._dispatcher.default = handler

    def on_close(self, cb: Callable[[Connection], None]) -> None:
        self._close_callbacks.append(cb)

    def _make_connection(self) -> Connection:
        conn = Connection(self._dispatcher, self.name)
        self.connections[conn.id] = conn
        conn.on_close(lambda c: self.connections.pop(c.id, None))
        for cb in self._close_callbacks:
            conn.on_close(cb)
        return conn

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                self._make_connection, self.host, self.requested_port, reuse_address=True
            )
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {self.host}:{self.requested_port}: "
                                     f"{exc.strerror or exc}") from None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self.requested_port
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections.values()):
            conn.close()
        for task in list(self._dispatcher.tasks):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class RemotingClient:
    """Outgoing connections, one per ``host:port``, made lazily and remade when lost."""

    def __init__(self, handler: Handler | None = None, name: str = "client",
                 connect_timeout_ms: int = 3000) -> None:
        self._dispatcher = _Dispatcher(name)
        if handler is not None:
            self._dispatcher.default = handler
        self.name = name
        self.connect_timeout_ms = connect_timeout_ms
        self._conns: dict[str, Connection] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def connection(self, addr: str) -> Connection:
        """The live connection to ``addr``, connecting if needed."""
        conn = self._conns.get(addr)
        if conn is not None and not conn.closed:
            return conn
        lock = self._locks.setdefault(addr, asyncio.Lock())
        async with lock:
            conn = self._conns.get(addr)
            if conn is not None and not conn.closed:
                return conn
            host, _, port = addr.rpartition(":")
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self.connect_timeout_ms / 1000.0):
                    _, conn = await loop.create_connection(
                        lambda: Connection(self._dispatcher, self.name), host, int(port))
            except (OSError, asyncio.TimeoutError, ValueError) as exc:
                raise RemotingConnectError(f"connect to {addr} failed: {exc or type(exc).__name__}") from None
            self._conns[addr] = conn
            return conn

    async def invoke(self, addr: str, cmd: RemotingCommand, timeout_ms: int = 3000) -> RemotingCommand:
        conn = await self.connection(addr)
        return await conn.invoke(cmd, timeout_ms)

    async def invoke_oneway(self, addr: str, cmd: RemotingCommand) -> None:
        conn = await self.connection(addr)
        conn.send_oneway(cmd)

    def close_connection(self, addr: str) -> None:
        conn = self._conns.pop(addr, None)
        if conn is not None:
            conn.close()

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()
        for conn in conns:
            if conn._transport is not None:
                try:
                    await asyncio.wait_for(conn.wait_closed(), 1.0)
                except asyncio.TimeoutError:
                    pass
