"""Fault injection: small loopback TCP proxies in front of every path a node talks over.

How it works:
1. A ``Link`` listens on one loopback port and forwards each accepted connection to one target;
   bytes are copied, never parsed. A link joins two endpoints: node names, or ``CLIENTS`` for
   the port that clients are told about.
2. The cluster builds: one client link per node (its public port -> its private address), one
   link per ordered pair of DLedger peers (a's dLegerPeers entry for b), and one link per
   (broker, nameserver) pair (the broker's namesrvAddr). So every connection a node makes or
   accepts crosses a link that names it.
3. A link is cut when ``FaultNet.blocked(a, b)``: an isolated endpoint, or a partition that puts
   a and b on different sides. Cutting aborts the link's open connections (the peer sees a
   reset, at once); while cut, new connections are aborted right after accept.
4. A link's delay is the sum of its endpoints' delays; every chunk is forwarded that long after
   it arrived, in order, in each direction (a request/response round trip pays it twice).
5. ``heal()`` lifts every cut and delay. Nothing here changes a node: faults live outside it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Iterable

__all__ = ["CLIENTS", "FaultNet", "Link"]

log = logging.getLogger("rmqlite.cluster.faults")

CLIENTS = "<clients>"
_CHUNK = 256 * 1024


class _Pipe:
    """One proxied connection: two sockets and a copy task per direction."""

    def __init__(self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.link = link
        self.down = (reader, writer)
        self.up: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        try:
            self.up = await asyncio.wait_for(asyncio.open_connection(*self.link.target), 3.0)
        except (TimeoutError, OSError):
            self.abort()
            return
        if self.link.cut:            # cut while we were connecting
            self.abort()
            return
        self.tasks = [asyncio.ensure_future(self._copy(self.down[0], self.up[1])),
                      asyncio.ensure_future(self._copy(self.up[0], self.down[1]))]
        await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
        self.close()

    async def _copy(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        queue: collections.deque[tuple[float, bytes]] = collections.deque()
        wake = asyncio.Event()
        sender = asyncio.ensure_future(self._send_delayed(queue, wake, dst))
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await src.read(_CHUNK)
                if not data:
                    break
                delay = self.link.delay_s
                if delay <= 0 and not queue:
                    dst.write(data)
                    await dst.drain()
                else:
                    queue.append((loop.time() + delay, data))
                    wake.set()
            while queue:             # let delayed bytes out before closing
                await asyncio.sleep(0.005)
            if dst.can_write_eof():
                dst.write_eof()
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            sender.cancel()

    @staticmethod
    async def _send_delayed(queue: collections.deque[tuple[float, bytes]], wake: asyncio.Event,
                            dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await wake.wait()
            wake.clear()
            while queue:
                due, data = queue[0]
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                queue.popleft()
                dst.write(data)
                await dst.drain()

    def close(self) -> None:
        """Normal end: flush what is buffered, then close both sides."""
        for task in self.tasks:
            task.cancel()
        for pair in (self.down, self.up):
            if pair is not None:
                pair[1].close()

    def abort(self) -> None:
        """A cut: drop both sides at once (the peers see a reset)."""
        for task in self.tasks:
            task.cancel()
        for pair in (self.down, self.up):
            if pair is not None and pair[1].transport is not None:
                pair[1].transport.abort()


class Link:
    """A proxy between two endpoints: listens on ``listen`` and forwards to ``target``."""

    def __init__(self, net: FaultNet, a: str, b: str, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.net, self.a, self.b = net, a, b
        self.listen = listen
        self.target = target
        self.pipes: set[_Pipe] = set()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def ends(self) -> tuple[str, str]:
        return self.a, self.b

    @property
    def cut(self) -> bool:
        return self.net.blocked(self.a, self.b)

    @property
    def delay_s(self) -> float:
        return (self.net.delays.get(self.a, 0) + self.net.delays.get(self.b, 0)) / 1000.0

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self.listen[1]
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def addr(self) -> str:
        return f"{self.listen[0]}:{self.port}"

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._accept, self.listen[0], self.listen[1],
                                                      reuse_address=True)
        except OSError as exc:
            raise OSError(exc.errno, f"port {self.listen[1]} on {self.listen[0]} is already in use "
                                     f"(proxy {self.a} -> {self.b}): {exc.strerror or exc}") from None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.transport.abort()
            return
        pipe = _Pipe(self, reader, writer)
        self.pipes.add(pipe)
        try:
            await pipe.run()
        finally:
            self.pipes.discard(pipe)

    def sever(self) -> None:
        """Abort every open connection of this link."""
        for pipe in list(self.pipes):
            pipe.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.sever()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class FaultNet:
    """All links of a cluster and the faults applied to them."""

    def __init__(self) -> None:
        self.links: list[Link] = []
        self.isolated: set[str] = set()
        self.sides: list[frozenset[str]] = []      # a partition: endpoints on different sides are cut
        self.delays: dict[str, float] = {}

    def add(self, a: str, b: str, listen: tuple[str, int], target: tuple[str, int]) -> Link:
        link = Link(self, a, b, listen, target)
        self.links.append(link)
        return link

    async def start(self) -> None:
        await asyncio.gather(*(link.start() for link in self.links if link._server is None))

    async def close(self) -> None:
        await asyncio.gather(*(link.close() for link in self.links), return_exceptions=True)

    def blocked(self, a: str, b: str) -> bool:
        """Whether traffic between endpoints ``a`` and ``b`` is cut."""
        if a in self.isolated or b in self.isolated:
            return True
        side_a = next((i for i, s in enumerate(self.sides) if a in s), None)
        side_b = next((i for i, s in enumerate(self.sides) if b in s), None)
        return side_a is not None and side_b is not None and side_a != side_b

    def _apply(self) -> None:
        for link in self.links:
            if link.cut:
                link.sever()

    def isolate(self, node: str) -> None:
        """Cut ``node`` off from every peer, nameserver and client."""
        self.isolated.add(node)
        self._apply()

    def partition(self, sides: Iterable[Iterable[str]]) -> None:
        """Cut every link between endpoints on different sides (``CLIENTS`` may be on a side)."""
        self.sides = [frozenset(s) for s in sides]
        self._apply()

    def delay(self, node: str, ms: float) -> None:
        """Add ``ms`` to every chunk to or from ``node`` (0 removes the delay)."""
        if ms < 0:
            raise ValueError("delay must be >= 0 ms")
        if ms:
            self.delays[node] = ms
        else:
            self.delays.pop(node, None)

    def heal(self, node: str | None = None) -> None:
        """Lift every fault (or only ``node``'s isolation and delay)."""
        if node is None:
            self.isolated.clear()
            self.sides = []
            self.delays.clear()
        else:
            self.isolated.discard(node)
            self.delays.pop(node, None)

    def links_of(self, node: str) -> list[Link]:
        return [link for link in self.links if node in link.ends]
