"""Transaction check service (``TransactionalMessageCheckService``), pure state + a ``step``.

How it works:
1. Half messages sit in RMQ_SYS_TRANS_HALF_TOPIC; END_TRANSACTION resolves one by writing an op
   record (RMQ_SYS_TRANS_OP_HALF_TOPIC, tag ``d``, body = half queue offset).
2. ``step(state, now_ms)`` reads new op records (-> resolved set), then walks the half queue
   from its progress offset: resolved ones are skipped; a half younger than transactionTimeOut
   (or its CHECK_IMMUNITY_TIME_IN_SECONDS) stops the walk; an older one is checked at most once
   per ``transactionCheckInterval``: a CHECK_TRANSACTION_STATE request (oneway) for one producer
   channel of its PGROUP is returned; after ``transactionCheckMax`` checks it is discarded into
   TRANS_CHECK_MAX_TIME_TOPIC. The half-queue progress (everything below it is resolved) is kept
   in the consumer offset table under group CID_RMQ_SYS_TRANS, like Java; op records are re-read
   from the start after a restart.
3. Deviation: Java re-appends a checked half message with TRANSACTION_CHECK_TIMES + 1; here the
   check count lives in memory and the half record stays where it is (so the offsets a producer
   echoes back are always the original ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

from rmqlite.common.message import decode_record, encode_record
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand

__all__ = ["TransactionChecker", "CheckRequest", "TRANS_HALF_TOPIC", "TRANS_OP_HALF_TOPIC", "TRANS_SYS_GROUP"]

TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC"
TRANS_OP_HALF_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
TRANS_CHECK_MAX_TIME_TOPIC = "TRANS_CHECK_MAX_TIME_TOPIC"
TRANS_SYS_GROUP = "CID_RMQ_SYS_TRANS"
_BATCH = 32


@dataclass(slots=True)
class CheckRequest:
    channel: Hashable
    command: RemotingCommand


@dataclass(slots=True)
class TransactionChecker:
    """Which half messages are resolved, and how often each open one was checked."""

    resolved: set[int] = field(default_factory=set)
    op_offset: int = 0
    checks: dict[int, int] = field(default_factory=dict)
    last_check_ms: dict[int, int] = field(default_factory=dict)

    def _read(self, store: Any, topic: str, offset: int) -> tuple[list[Any], int]:
        result = store.get_messages(topic, 0, offset, _BATCH, None)
        name = getattr(result.status, "name", str(result.status))
        if name != "FOUND":
            return [], (result.next_begin_offset if name in ("OFFSET_TOO_SMALL", "OFFSET_OVERFLOW_BADLY") else offset)
        return [decode_record(r)[0] for r in result.records], result.next_begin_offset

    def _scan_ops(self, state: Any, progress: int) -> None:
        while True:
            msgs, nxt = self._read(state.store, TRANS_OP_HALF_TOPIC, self.op_offset)
            for m in msgs:
                try:
                    qoff = int(m.body.decode("ascii", "replace").strip())
                except ValueError:
                    continue
                if qoff >= progress:
                    self.resolved.add(qoff)
            if nxt <= self.op_offset:
                return
            self.op_offset = nxt

    def step(self, state: Any, now_ms: int) -> list[CheckRequest]:
        """One pass of the check service (master only); returns the checks to send."""
        cfg = state.config
        progress = max(0, state.offsets.query(TRANS_SYS_GROUP, TRANS_HALF_TOPIC, 0))
        self._scan_ops(state, progress)
        out: list[CheckRequest] = []
        offset, contiguous = progress, True
        while True:
            msgs, nxt = self._read(state.store, TRANS_HALF_TOPIC, offset)
            stop = not msgs
            for m in msgs:
                qoff = m.queue_offset
                if qoff in self.resolved:
                    pass
                elif now_ms - m.store_timestamp < self._timeout(m, cfg.transactionTimeOut):
                    stop = True
                    break
                elif self.checks.get(qoff, 0) >= cfg.transactionCheckMax:
                    self._discard(state, m, now_ms)
                    self.resolved.add(qoff)
                else:
                    contiguous = False
                    if now_ms - self.last_check_ms.get(qoff, -10**15) >= cfg.transactionCheckInterval:
                        self.checks[qoff] = self.checks.get(qoff, 0) + 1
                        self.last_check_ms[qoff] = now_ms
                        req = self._check_request(state, m)
                        if req is not None:
                            out.append(req)
                if contiguous and qoff in self.resolved:
                    self._forget(qoff)
                    progress = qoff + 1
            if stop or nxt <= offset:
                break
            offset = nxt
        state.offsets.commit(TRANS_SYS_GROUP, TRANS_HALF_TOPIC, 0, progress)
        return out

    def _forget(self, qoff: int) -> None:
        self.resolved.discard(qoff)
        self.checks.pop(qoff, None)
        self.last_check_ms.pop(qoff, None)

    @staticmethod
    def _timeout(m: Any, default_ms: int) -> int:
        immunity = m.properties.get("CHECK_IMMUNITY_TIME_IN_SECONDS")
        try:
            return max(default_ms, int(immunity) * 1000) if immunity else default_ms
        except ValueError:
            return default_ms

    @staticmethod
    def _check_request(state: Any, m: Any) -> CheckRequest | None:
        chans = state.clients.producer_channels(m.properties.get("PGROUP", ""))
        if not chans:
            return None
        uniq = m.properties.get("UNIQ_KEY", "")
        restored = decode_record(encode_record(m))[0]
        restored.topic = m.properties.get("REAL_TOPIC", m.topic)
        try:
            restored.queue_id = int(m.properties.get("REAL_QID", m.queue_id))
        except ValueError:
            pass
        ext = {"tranStateTableOffset": str(m.queue_offset), "commitLogOffset": str(m.commit_log_offset),
               "msgId": uniq, "transactionId": uniq, "offsetMsgId": m.offset_msg_id}
        cmd = RemotingCommand.request(RequestCode.CHECK_TRANSACTION_STATE, ext, encode_record(restored), oneway=True)
        return CheckRequest(chans[0].channel, cmd)

    @staticmethod
    def _discard(state: Any, m: Any, now_ms: int) -> None:
        msg = state.new_message(topic=TRANS_CHECK_MAX_TIME_TOPIC, queue_id=0, body=m.body, properties=dict(m.properties),
                                flag=m.flag, sys_flag=m.sys_flag & ~0xC, born_timestamp=m.born_timestamp,
                                born_host=m.born_host, store_host=m.store_host, reconsume_times=m.reconsume_times)
        state.store.put_message(msg, now_ms)
