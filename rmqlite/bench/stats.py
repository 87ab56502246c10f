"""Latency and throughput bookkeeping for the load tool (pure: callers pass the clock readings).

How it works:
1. ``Window`` collects latency samples (nanoseconds) and failures for one interval; ``summary()`` gives count,
   failures, avg / p50 / p99 / p999 / max in milliseconds (nearest-rank percentiles of the sorted samples).
2. ``Meter`` keeps the current one-second window and the whole-run window; ``tick(now_ns)`` closes the
   current window when a second has passed and returns its line for the progress printout.
3. Nothing here reads a clock or prints: the async shell in ``load.py`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Window", "Meter", "percentile", "format_line"]


def percentile(sorted_samples: list[int], q: float) -> int:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_samples:
        return 0
    idx = max(0, min(len(sorted_samples) - 1, math.ceil(q * len(sorted_samples)) - 1))
    return sorted_samples[idx]


@dataclass(slots=True)
class Window:
    """Samples of one interval."""

    samples: list[int] = field(default_factory=list)
    failures: int = 0
    units: int = 0          # messages (a batch send adds its size)

    def add(self, latency_ns: int, units: int = 1) -> None:
        self.samples.append(latency_ns)
        self.units += units

    def fail(self, units: int = 1) -> None:
        self.failures += units

    def summary(self, seconds: float) -> dict[str, float]:
        """count/failed/tps and latency figures (ms) over ``seconds``."""
        s = sorted(self.samples)
        n = len(s)
        ms = 1e6
        return {
            "count": self.units,
            "requests": n,
            "failed": self.failures,
            "seconds": round(seconds, 3),
            "tps": round(self.units / seconds, 1) if seconds > 0 else 0.0,
            "rt_avg_ms": round(sum(s) / n / ms, 3) if n else 0.0,
            "rt_p50_ms": round(percentile(s, 0.50) / ms, 3),
            "rt_p99_ms": round(percentile(s, 0.99) / ms, 3),
            "rt_p999_ms": round(percentile(s, 0.999) / ms, 3),
            "rt_max_ms": round((s[-1] if s else 0) / ms, 3),
        }


class Meter:
    """Per-second windows plus the total of the run."""

    def __init__(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self.window_start_ns = start_ns
        self.current = Window()
        self.total = Window()
        self.seconds: list[dict[str, float]] = []

    def add(self, latency_ns: int, units: int = 1) -> None:
        self.current.add(latency_ns, units)
        self.total.add(latency_ns, units)

    def fail(self, units: int = 1) -> None:
        self.current.fail(units)
        self.total.fail(units)

    def tick(self, now_ns: int, force: bool = False) -> dict[str, float] | None:
        """Close the current window if a second has passed (or ``force``); return its summary."""
        span = (now_ns - self.window_start_ns) / 1e9
        if span < 1.0 and not force:
            return None
        if span <= 0:
            return None
        line = self.current.summary(span)
        line["t"] = round((now_ns - self.start_ns) / 1e9, 1)
        self.seconds.append(line)
        self.current = Window()
        self.window_start_ns = now_ns
        return line

    def summary(self, now_ns: int) -> dict[str, float]:
        return self.total.summary((now_ns - self.start_ns) / 1e9)


def format_line(line: dict[str, float], label: str = "") -> str:
    """One human progress line: TPS, RT avg/p99/max, failures."""
    t = line.get("t")
    head = f"[{t:6.1f}s] " if t is not None else ""
    return (f"{head}{label}TPS {line['tps']:>10,.1f}  RT avg {line['rt_avg_ms']:7.2f} ms  "
            f"p99 {line['rt_p99_ms']:7.2f} ms  max {line['rt_max_ms']:7.2f} ms  failed {int(line['failed'])}")
