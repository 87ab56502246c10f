"""Compact simulation trace (one line per event, TigerBeetle style) and the seed banner for failures.

How it works:
  ``Trace.add`` stores raw tuples in a bounded deque (cheap on the hot path); formatting happens only when
  a failure is reported. ``repro_command`` is the exact command that replays a seed.

Rules:
  1. Recording never changes the simulation (no randomness, no I/O).
  2. A failure report always starts with the seed and the command to reproduce it.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable

from rmqlite.dledger.messages import (
    AppendRequest,
    AppendResponse,
    Heartbeat,
    HeartbeatResponse,
    Message,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from rmqlite.sim.network import UNITS_PER_TICK


def fmt_msg(m: Message) -> str:
    """Short human form of a message, e.g. ``App n0>n1 t3 p5/3 [6..8] c5``."""
    head = f"{m.src}>{m.dst} t{m.term}"
    t = type(m)
    if t is AppendRequest:
        assert isinstance(m, AppendRequest)
        ents = f" [{m.entries[0].index}..{m.entries[-1].index}]" if m.entries else ""
        return f"App {head} p{m.prev_index}/{m.prev_term}{ents} c{m.commit}"
    if t is AppendResponse:
        assert isinstance(m, AppendResponse)
        if m.reject:
            return f"AppResp {head} REJECT i{m.index} hint{m.hint_index}/{m.hint_term}"
        return f"AppResp {head} ok i{m.index}"
    if t is VoteRequest:
        assert isinstance(m, VoteRequest)
        kind = "PreVote" if m.pre_vote else "Vote"
        return f"{kind} {head} last{m.last_index}/{m.last_term}{' transfer' if m.transfer else ''}"
    if t is VoteResponse:
        assert isinstance(m, VoteResponse)
        kind = "PreVoteResp" if m.pre_vote else "VoteResp"
        return f"{kind} {head} {'GRANT' if m.granted else 'reject'}"
    if t is Heartbeat:
        assert isinstance(m, Heartbeat)
        return f"HB {head} c{m.commit}"
    if t is HeartbeatResponse:
        return f"HBResp {head}"
    if t is TimeoutNow:
        return f"TimeoutNow {head}"
    return repr(m)


class Trace:
    """Bounded event log; ``keep`` most recent events are retained."""

    def __init__(self, keep: int = 400) -> None:
        self.events: deque[tuple[int, str, object]] = deque(maxlen=keep)
        self.total = 0

    def add(self, now: int, kind: str, what: object) -> None:
        self.total += 1
        self.events.append((now, kind, what))

    def lines(self, last: int | None = None) -> list[str]:
        evs: Iterable[tuple[int, str, object]] = self.events
        if last is not None:
            evs = list(self.events)[-last:]
        out = []
        for now, kind, what in evs:
            text = fmt_msg(what) if kind in ("deliver", "drop") else str(what)  # type: ignore[arg-type]
            out.append(f"{now // UNITS_PER_TICK:6d}.{now % UNITS_PER_TICK} {kind:8s} {text}")
        return out


def repro_command(seed: int, test_hint: str = "tests/sim") -> str:
    """Shell command that replays ``seed`` alone."""
    return f"RMQLITE_SIM_SEED={seed} python -m pytest {test_hint} -q -k test_sim_seed"


def failure_report(seed: int, why: str, trace: Trace, summary: str, last: int = 120) -> str:
    """Multi-line failure text: seed banner, reason, run summary, trace tail."""
    head = [
        f"SIMULATION FAILURE  RMQLITE_SIM_SEED={seed}",
        f"  reproduce: {repro_command(seed)}",
        f"       or:  python -m rmqlite.sim --seed {seed} --trace",
        f"  reason: {why}",
        f"  run: {summary}",
        f"  last {min(last, len(trace.events))} of {trace.total} events (tick.unit kind detail):",
    ]
    return "\n".join(head + ["    " + ln for ln in trace.lines(last)])


__all__ = ["fmt_msg", "Trace", "repro_command", "failure_report"]
