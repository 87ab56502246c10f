"""Held (long-polling) pull requests (RocketMQ ``PullRequestHoldService``), bookkeeping only.

How it works:
1. A pull that finds nothing (PULL_NOT_FOUND) with the suspend flag on its first run becomes a
   ``Hold``: request, channel, (topic, queueId), the offset it waits beyond and a deadline.
2. ``wake(topic, queue_id, max_offset)`` pops the holds of that queue waiting below
   ``max_offset`` (a message arrived); ``expire(now_ms)`` pops holds whose deadline passed.
   The shell re-runs each popped pull with suspension and offset commit disabled, so a re-run
   answers FOUND/19/20/21 and is never held again.
3. ``drop_channel`` forgets the holds of a closed connection (no one to answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable

__all__ = ["Hold", "HoldTable"]


@dataclass(slots=True)
class Hold:
    """A suspended PULL_MESSAGE."""

    request: Any            # the RemotingCommand to re-run
    channel: Hashable       # where to send the answer
    topic: str
    queue_id: int
    offset: int             # the request's queueOffset
    deadline_ms: int
    waiter: Any = None      # the shell's future for the answer


class HoldTable:
    """Holds keyed by (topic, queueId)."""

    def __init__(self) -> None:
        self._holds: dict[tuple[str, int], list[Hold]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._holds.values())

    def add(self, hold: Hold) -> None:
        self._holds.setdefault((hold.topic, hold.queue_id), []).append(hold)

    def wake(self, topic: str, queue_id: int, max_offset: int) -> list[Hold]:
        """Pop the holds of this queue whose offset is below the new max offset."""
        key = (topic, queue_id)
        holds = self._holds.get(key)
        if not holds:
            return []
        ready = [h for h in holds if h.offset < max_offset]
        if ready:
            rest = [h for h in holds if h.offset >= max_offset]
            if rest:
                self._holds[key] = rest
            else:
                del self._holds[key]
        return ready

    def expire(self, now_ms: int) -> list[Hold]:
        """Pop every hold whose deadline has passed."""
        out: list[Hold] = []
        for key in list(self._holds):
            holds = self._holds[key]
            due = [h for h in holds if h.deadline_ms <= now_ms]
            if due:
                out.extend(due)
                rest = [h for h in holds if h.deadline_ms > now_ms]
                if rest:
                    self._holds[key] = rest
                else:
                    del self._holds[key]
        return out

    def drop_channel(self, channel: Hashable) -> list[Hold]:
        """Pop the holds of a closed channel (no one to answer; the shell cancels their waiters)."""
        dropped: list[Hold] = []
        for key in list(self._holds):
            holds = self._holds[key]
            keep = [h for h in holds if h.channel is not channel]
            dropped.extend(h for h in holds if h.channel is channel)
            if keep:
                self._holds[key] = keep
            else:
                del self._holds[key]
        return dropped

    def pop_all(self) -> list[Hold]:
        """Everything (shutdown: answer them all)."""
        out = [h for holds in self._holds.values() for h in holds]
        self._holds.clear()
        return out

    def next_deadline(self) -> int | None:
        deadlines = [h.deadline_ms for holds in self._holds.values() for h in holds]
        return min(deadlines) if deadlines else None
