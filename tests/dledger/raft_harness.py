"""In-process test network for RaftNode unit tests (etcd raft_test.go's ``network``, simplified).

Messages go to a FIFO queue; ``stabilize()`` delivers until quiet. ``cut``/``isolate``/``heal`` block links,
``crash``/``restart`` keep only the MemoryLog (durable state). Every node is driven with the real
``process_ready`` helper, so tests exercise the same persist -> send -> apply -> advance order.
"""
from __future__ import annotations

import random
from collections import deque
from typing import Any, Callable

from rmqlite.dledger import MemoryLog, Message, RaftConfig, RaftNode, Role, process_ready
from rmqlite.dledger.messages import Entry


class Net:
    """N nodes n0..n{N-1} joined by a lossless in-order queue (with cuttable links)."""

    def __init__(self, n: int = 3, seed: int = 1, **cfg: Any) -> None:
        self.ids = tuple(f"n{i}" for i in range(n))
        self.cfg = cfg
        self.seed = seed
        self.logs = {i: MemoryLog() for i in self.ids}
        self.nodes: dict[str, RaftNode | None] = {}
        self.applied: dict[str, list[Entry]] = {i: [] for i in self.ids}
        self.queue: deque[Message] = deque()
        self.sent: list[Message] = []
        self.blocked: set[tuple[str, str]] = set()
        self.drop: Callable[[Message], bool] | None = None
        for k, i in enumerate(self.ids):
            self.nodes[i] = self._make(i, k)

    def _make(self, i: str, salt: int) -> RaftNode:
        conf = RaftConfig(node_id=i, voters=self.ids, **self.cfg)
        return RaftNode(conf, self.logs[i], random.Random(self.seed * 1000 + salt))

    def node(self, i: str) -> RaftNode:
        n = self.nodes[i]
        assert n is not None, f"{i} is down"
        return n

    # ---------------------------------------------------------------- driving
    def drive(self, i: str) -> None:
        n = self.nodes[i]
        if n is None:
            return

        def send(m: Message) -> None:
            self.sent.append(m)
            self.queue.append(m)

        process_ready(n, self.logs[i], send, self.applied[i].append)

    def deliver_one(self) -> Message | None:
        m = self.queue.popleft()
        if (m.src, m.dst) in self.blocked or self.nodes.get(m.dst) is None:
            return None
        if self.drop is not None and self.drop(m):
            return None
        self.node(m.dst).step(m)
        self.drive(m.dst)
        return m

    def stabilize(self, limit: int = 100_000) -> int:
        """Deliver until no message is in flight; returns how many were delivered."""
        k = 0
        while self.queue:
            self.deliver_one()
            k += 1
            assert k < limit, "network does not quiesce"
        return k

    def tick(self, i: str | None = None, n: int = 1, settle: bool = True) -> None:
        """Tick one node (or all live ones) ``n`` times, stabilizing after each round."""
        for _ in range(n):
            for j in ([i] if i else self.ids):
                if self.nodes.get(j) is not None:
                    self.node(j).tick()
                    self.drive(j)
            if settle:
                self.stabilize()

    def campaign(self, i: str) -> None:
        self.node(i).campaign()
        self.drive(i)
        self.stabilize()

    def propose(self, i: str, *datas: bytes) -> Any:
        res = self.node(i).propose_batch(list(datas))
        self.drive(i)
        return res

    # ---------------------------------------------------------------- faults
    def cut(self, a: str, b: str) -> None:
        self.blocked |= {(a, b), (b, a)}

    def isolate(self, a: str) -> None:
        for b in self.ids:
            if b != a:
                self.cut(a, b)

    def heal(self) -> None:
        self.blocked.clear()

    def crash(self, i: str) -> None:
        self.nodes[i] = None
        self.queue = deque(m for m in self.queue if m.dst != i)

    def restart(self, i: str, salt: int = 99) -> RaftNode:
        self.applied[i] = []
        self.nodes[i] = self._make(i, salt)
        self.drive(i)
        return self.node(i)

    # ---------------------------------------------------------------- queries
    def leaders(self) -> list[str]:
        return [i for i in self.ids if self.nodes[i] is not None and self.node(i).role is Role.LEADER]

    def leader(self) -> str:
        ls = self.leaders()
        assert len(ls) == 1, f"expected one leader, got {ls}"
        return ls[0]

    def data(self, i: str) -> list[bytes]:
        """Applied non-noop payloads of node i."""
        return [e.data for e in self.applied[i] if e.data]

    def elect(self, i: str = "n0") -> str:
        self.campaign(i)
        assert self.node(i).role is Role.LEADER, self.node(i).status()
        return i
