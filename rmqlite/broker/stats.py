"""Broker counters and TPS figures (RocketMQ ``StoreStatsService`` / ``BrokerStats``), pure.

How it works:
1. Handlers bump monotonically growing counters (messages put, pulls found/missed, messages
   transferred); ``sample(now_ms)`` (the shell calls it about once a second) records a snapshot.
2. TPS over a window = (counter now - counter at the oldest sample inside the window) / elapsed
   seconds; windows are 10 s, 60 s and 600 s, rendered ``"a b c"`` as clusterList expects.
3. Day counters (``msgPutTotalTodayMorning`` ...) are snapshots taken when the UTC day changes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["BrokerStats"]

_WINDOWS_S = (10, 60, 600)
_DAY_MS = 86_400_000


@dataclass(slots=True)
class _Sample:
    ms: int
    put: int
    found: int
    miss: int
    transferred: int


@dataclass(slots=True)
class BrokerStats:
    boot_ms: int
    put_msgs: int = 0
    put_bytes: int = 0
    put_times: int = 0
    put_failed: int = 0
    get_found: int = 0
    get_miss: int = 0
    get_transferred: int = 0
    put_today_morning: int = 0
    put_yesterday_morning: int = 0
    get_today_morning: int = 0
    get_yesterday_morning: int = 0
    _day: int = -1
    _samples: deque[_Sample] = field(default_factory=lambda: deque(maxlen=700))

    def on_put(self, msgs: int, wrote_bytes: int) -> None:
        self.put_msgs += msgs
        self.put_bytes += wrote_bytes
        self.put_times += 1

    def on_put_failed(self) -> None:
        self.put_failed += 1

    def on_get(self, found_msgs: int) -> None:
        if found_msgs > 0:
            self.get_found += 1
            self.get_transferred += found_msgs
        else:
            self.get_miss += 1

    def sample(self, now_ms: int) -> None:
        """Record a snapshot (call about every second)."""
        day = now_ms // _DAY_MS
        if day != self._day:
            if self._day >= 0:
                self.put_yesterday_morning, self.put_today_morning = self.put_today_morning, self.put_msgs
                self.get_yesterday_morning, self.get_today_morning = self.get_today_morning, self.get_transferred
            self._day = day
        self._samples.append(_Sample(now_ms, self.put_msgs, self.get_found, self.get_miss, self.get_transferred))

    def _tps(self, attr: str, window_s: int) -> float:
        if not self._samples:
            return 0.0
        last = self._samples[-1]
        first = last
        for s in reversed(self._samples):
            if last.ms - s.ms > window_s * 1000:
                break
            first = s
        elapsed = (last.ms - first.ms) / 1000.0
        if elapsed <= 0:
            return 0.0
        return (getattr(last, attr) - getattr(first, attr)) / elapsed

    def tps_text(self, attr: str) -> str:
        return " ".join(str(round(self._tps(attr, w), 4)) for w in _WINDOWS_S)

    def runtime_info(self, now_ms: int) -> dict[str, str]:
        """StoreStatsService keys (the store-independent part of GET_BROKER_RUNTIME_INFO)."""
        times = self.put_times or 1
        secs = max(0, now_ms - self.boot_ms) // 1000
        runtime = (f"[ {secs // 86400} days, {secs // 3600 % 24} hours, "
                   f"{secs // 60 % 60} minutes, {secs % 60} seconds ]")
        total_tps = [self._tps("found", w) + self._tps("miss", w) for w in _WINDOWS_S]
        return {
            "bootTimestamp": str(self.boot_ms),
            "runtime": runtime,
            "putMessageEntireTimeMax": "0",
            "putMessageTimesTotal": str(times),
            "putMessageFailedTimes": str(self.put_failed),
            "putMessageSizeTotal": str(self.put_bytes),
            "putMessageDistributeTime": "[<=0ms]:0 [0~10ms]:0 [10~50ms]:0 [50~100ms]:0 [100~200ms]:0 "
                                        "[200~500ms]:0 [500ms~1s]:0 [1~2s]:0 [2~3s]:0 [3~4s]:0 [4~5s]:0 "
                                        "[5~10s]:0 [10s~]:0 ",
            "putMessageAverageSize": str(self.put_bytes / times),
            "dispatchMaxBuffer": "0",
            "getMessageEntireTimeMax": "0",
            "putTps": self.tps_text("put"),
            "getFoundTps": self.tps_text("found"),
            "getMissTps": self.tps_text("miss"),
            "getTotalTps": " ".join(str(round(t, 4)) for t in total_tps),
            "getTransferedTps": self.tps_text("transferred"),
            "putLatency99": "0.00",
            "putLatency999": "0.00",
            "msgPutTotalYesterdayMorning": str(self.put_yesterday_morning),
            "msgPutTotalTodayMorning": str(self.put_today_morning),
            "msgPutTotalTodayNow": str(self.put_msgs),
            "msgGetTotalYesterdayMorning": str(self.get_yesterday_morning),
            "msgGetTotalTodayMorning": str(self.get_today_morning),
            "msgGetTotalTodayNow": str(self.get_transferred),
        }
