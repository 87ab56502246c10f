"""The Ready/advance contract between the pure Raft node and its driver (simulator or asyncio shell).

How it works:
  After feeding the node input (``step``, ``tick``, ``propose``, ``transfer_leadership``) the driver asks
  ``node.has_ready()``; if True it takes ``rd = node.ready()`` and MUST, in this order:
    1. persist ``rd.entries`` (``log.append``: truncates the suffix from ``rd.entries[0].index``),
    2. persist ``rd.hard_state`` if not None,
    3. ``log.sync()`` when ``rd.must_sync``,
    4. send ``rd.messages`` (any order, any transport; loss is tolerated),
    5. apply ``rd.committed`` to the state machine (in order; empty ``data`` = leader no-op, skip it),
    6. call ``node.advance(rd)``,
  and loop until ``has_ready()`` is False. ``process_ready`` below is that loop; both the simulator and the
  asyncio driver use it.

Rules:
  1. Nothing in ``rd.messages`` may leave the process before steps 1-3 completed (a vote or an append ack
     must never precede the durable state it vouches for).
  2. ``rd.committed`` entries are durable on a quorum: safe to apply and to acknowledge to clients.
  3. No other node call may happen between ``ready()`` and ``advance()`` (single-threaded driver).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from rmqlite.dledger.config import SoftState
from rmqlite.dledger.log import HardState, RaftLog
from rmqlite.dledger.messages import Entry, Message

if TYPE_CHECKING:
    from rmqlite.dledger.node import RaftNode


@dataclass(frozen=True, slots=True)
class Ready:
    """A batch of work for the driver (see module docstring for the mandatory order)."""

    hard_state: HardState | None
    entries: tuple[Entry, ...]
    messages: tuple[Message, ...]
    committed: tuple[Entry, ...]
    soft_state: SoftState | None

    @property
    def must_sync(self) -> bool:
        """True when durable state changed (entries or hard state)."""
        return bool(self.entries) or self.hard_state is not None


def process_ready(
    node: RaftNode,
    log: RaftLog,
    send: Callable[[Message], None],
    apply: Callable[[Entry], None],
    on_soft_state: Callable[[SoftState], None] | None = None,
) -> int:
    """Run the persist -> sync -> send -> apply -> advance loop until the node is quiet.

    Returns how many Ready batches were processed."""
    n = 0
    while node.has_ready():
        rd = node.ready()
        if rd.entries:
            log.append(rd.entries)
        if rd.hard_state is not None:
            log.set_hard_state(rd.hard_state)
        if rd.must_sync:
            log.sync()
        if rd.soft_state is not None and on_soft_state is not None:
            on_soft_state(rd.soft_state)
        for m in rd.messages:
            send(m)
        for e in rd.committed:
            apply(e)
        node.advance(rd)
        n += 1
    return n


__all__ = ["Ready", "process_ready"]
