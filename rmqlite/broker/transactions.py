"""Transaction check-back (``TransactionalMessageServiceImpl.check`` + ``TransactionalMessageBridge``, 4.9.4).

How it works:
1. Half messages sit in RMQ_SYS_TRANS_HALF_TOPIC (queue 0). END_TRANSACTION resolves one by writing an op
   record to RMQ_SYS_TRANS_OP_HALF_TOPIC (same queue id, tag ``d``, body = the half's queue offset).
2. ``step(state, now_ms)`` is one run of the check service (every transactionCheckInterval, master only). It
   makes sure the half topic exists (1 queue, like ``fetchMessageQueues``), then per half queue:
   reads the progress of group CID_RMQ_SYS_TRANS on the half and op queues (consumer offsets, so it survives a
   restart; -1 means the queue's min offset), loads op records (32 at a time) into "resolved" half offsets,
   and walks the half queue from its progress offset:
   a. resolved -> skipped (its op offset is "done");
   b. TRANSACTION_CHECK_TIMES >= transactionCheckMax, or older than fileReservedTime -> discarded into
      TRANS_CHECK_MAX_TIME_TOPIC; otherwise the property is set/incremented in the message;
   c. stored after the run started -> stop; born less than transactionTimeOut ago (or its
      CHECK_IMMUNITY_TIME_IN_SECONDS) -> stop (immunity messages may be re-put and skipped instead);
   d. unresolved once every op record has been read -> checked: the half is RE-APPENDED to the half queue
      (new offsets, TRANSACTION_CHECK_TIMES updated, flag/reconsumeTimes not copied, as Java does) and a
      oneway CHECK_TRANSACTION_STATE is sent to one producer channel of its PGROUP (round robin) with the
      new offsets; the producer's END_TRANSACTION then refers to the re-appended copy.
   The half progress moves past everything visited; the op progress past the contiguous "done" op records.
3. Nothing is kept in memory between runs: the half queue, op queue and consumer offsets are the state.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from rmqlite.common.message import (
    decode_record,
    encode_properties,
    encode_record,
    offset_msg_id,
)
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand

__all__ = [
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "TRANS_HALF_TOPIC",
    "TRANS_OP_HALF_TOPIC",
    "TRANS_SYS_GROUP",
    "CheckRequest",
    "TransactionChecker",
]

TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC"
TRANS_OP_HALF_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
TRANS_CHECK_MAX_TIME_TOPIC = "TRANS_CHECK_MAX_TIME_TOPIC"
TRANS_SYS_GROUP = "CID_RMQ_SYS_TRANS"
REMOVE_TAG = "d"
CHECK_TIMES = "TRANSACTION_CHECK_TIMES"
IMMUNITY = "CHECK_IMMUNITY_TIME_IN_SECONDS"
PREPARED_QUEUE_OFFSET = "TRAN_PREPARED_QUEUE_OFFSET"
_PERM_RW = 6
_OP_BATCH = 32
_NO_NEW, _FOUND, _ILLEGAL, _NO_MATCHED = "NO_NEW_MSG", "FOUND", "OFFSET_ILLEGAL", "NO_MATCHED_MSG"


@dataclass(slots=True)
class CheckRequest:
    channel: Hashable
    command: RemotingCommand


@dataclass(slots=True)
class _Pull:
    status: str
    next_begin: int
    msgs: list[Any] | None


def _pull(store: Any, topic: str, queue_id: int, offset: int, nums: int) -> _Pull:
    """``TransactionalMessageBridge.getMessage`` status mapping."""
    r = store.get_messages(topic, queue_id, offset, nums, None)
    name = getattr(r.status, "name", str(r.status))
    if name == "FOUND":
        return _Pull(_FOUND, r.next_begin_offset, [decode_record(raw)[0] for raw in r.records])
    if name == "NO_MATCHED_MESSAGE":
        return _Pull(_NO_MATCHED, r.next_begin_offset, None)
    if name in ("NO_MESSAGE_IN_QUEUE", "OFFSET_OVERFLOW_ONE"):
        return _Pull(_NO_NEW, r.next_begin_offset, None)
    return _Pull(_ILLEGAL, r.next_begin_offset, None)


def _to_long(text: Any) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        return -1


@dataclass(slots=True)
class _Walk:
    """State of one queue's check pass."""

    qid: int
    half_offset: int
    op_offset: int
    start_ms: int
    removed: dict[int, int] = field(default_factory=dict)   # half offset -> op offset
    done_ops: list[int] = field(default_factory=list)


@dataclass(slots=True)
class TransactionChecker:
    """The check service; ``counter`` picks producer channels round robin (``getAvailableChannel``)."""

    counter: int = 0

    def step(self, state: Any, now_ms: int) -> list[CheckRequest]:
        """One check run over every half queue; returns the CHECK_TRANSACTION_STATE requests to send."""
        cfg = state.topics.create_in_send_back(TRANS_HALF_TOPIC, 1, _PERM_RW, 0, now_ms)
        out: list[CheckRequest] = []
        for qid in range(cfg.readQueueNums):
            self._check_queue(state, qid, now_ms, out)
        return out

    # ------------------------------------------------------------------ one queue
    def _offset(self, state: Any, topic: str, qid: int) -> int:
        offset = state.offsets.query(TRANS_SYS_GROUP, topic, qid)
        return state.store.min_offset(topic, qid) if offset == -1 else offset

    def _check_queue(self, state: Any, qid: int, now_ms: int, out: list[CheckRequest]) -> None:
        cfg = state.config
        w = _Walk(qid, self._offset(state, TRANS_HALF_TOPIC, qid), self._offset(state, TRANS_OP_HALF_TOPIC, qid),
                  now_ms)
        if w.half_offset < 0 or w.op_offset < 0:
            return
        ops = self._fill_removed(state, w, w.op_offset)
        nulls, new_offset, i = 1, w.half_offset, w.half_offset
        while True:
            if i in w.removed:
                w.done_ops.append(w.removed.pop(i))
            else:
                half = _pull(state.store, TRANS_HALF_TOPIC, qid, i, 1)
                if half.msgs is None:
                    nulls += 1
                    if nulls - 1 > 1 or half.status == _NO_NEW:
                        break
                    i = new_offset = half.next_begin
                    continue
                msg = half.msgs[0]
                if self._need_discard(msg, cfg.transactionCheckMax) or \
                        now_ms - msg.born_timestamp > cfg.fileReservedTime * 3600 * 1000:
                    self._discard(state, msg, now_ms)
                    new_offset, i = i + 1, i + 1
                    continue
                if msg.store_timestamp >= w.start_ms:
                    break
                verdict = self._verdict(state, w, msg, ops, now_ms)
                if verdict == "stop":
                    break
                if verdict == "skip":
                    new_offset, i = i + 1, i + 1
                    continue
                if verdict == "more-ops":
                    if ops.msgs is None:    # every op read, time frozen in this run: Java spins until the
                        break               # clock moves (<= 60 s); we look again at the next run
                    ops = self._fill_removed(state, w, ops.next_begin)
                    continue
                if not self._put_back(state, msg, now_ms):
                    continue
                req = self._check_request(state, msg)
                if req is not None:
                    out.append(req)
            new_offset, i = i + 1, i + 1
        if new_offset != w.half_offset:
            state.offsets.commit(TRANS_SYS_GROUP, TRANS_HALF_TOPIC, qid, new_offset)
        new_op = w.op_offset
        for done in sorted(w.done_ops):
            if done != new_op:
                break
            new_op += 1
        if new_op != w.op_offset:
            state.offsets.commit(TRANS_SYS_GROUP, TRANS_OP_HALF_TOPIC, qid, new_op)

    def _verdict(self, state: Any, w: _Walk, msg: Any, ops: _Pull, now_ms: int) -> str:
        """check / stop / skip / more-ops for an unresolved, not discarded half message."""
        timeout = state.config.transactionTimeOut
        age = now_ms - msg.born_timestamp
        immunity = timeout
        text = msg.properties.get(IMMUNITY)
        if text is not None:
            value = _to_long(text)
            immunity = timeout if value == -1 else value * 1000
            if age < immunity and self._immune_handled(state, w, msg, now_ms):
                return "skip"
        elif 0 <= age < immunity:
            return "stop"
        need_check = ((ops.msgs is None and age > immunity)
                      or (ops.msgs is not None and ops.msgs[-1].born_timestamp - w.start_ms > timeout)
                      or age <= -1)
        return "check" if need_check else "more-ops"

    def _immune_handled(self, state: Any, w: _Walk, msg: Any, now_ms: int) -> bool:
        """``checkPrepareQueueOffset``: True when the message can be skipped in this run."""
        text = msg.properties.get(PREPARED_QUEUE_OFFSET)
        if text is None:
            return self._put_immune_copy(state, msg, msg.queue_offset, now_ms)
        prepared = _to_long(text)
        if prepared == -1:
            return False
        if prepared in w.removed:
            w.done_ops.append(w.removed.pop(prepared))
            return True
        return self._put_immune_copy(state, msg, prepared, now_ms)

    def _fill_removed(self, state: Any, w: _Walk, op_offset: int) -> _Pull:
        """``fillOpRemoveMap``: read op records from ``op_offset`` into the resolved map."""
        ops = _pull(state.store, TRANS_OP_HALF_TOPIC, w.qid, op_offset, _OP_BATCH)
        if ops.status in (_ILLEGAL, _NO_MATCHED):
            state.offsets.commit(TRANS_SYS_GROUP, TRANS_OP_HALF_TOPIC, w.qid, ops.next_begin)
            return ops
        for op in ops.msgs or []:
            if op.properties.get("TAGS") != REMOVE_TAG:
                continue
            half_offset = _to_long(op.body.decode("utf-8", "replace"))
            if half_offset < w.half_offset:
                w.done_ops.append(op.queue_offset)
            else:
                w.removed[half_offset] = op.queue_offset
        return ops

    # ------------------------------------------------------------------ effects
    @staticmethod
    def _need_discard(msg: Any, check_max: int) -> bool:
        text = msg.properties.get(CHECK_TIMES)
        times = 1
        if text is not None:
            times = _to_long(text)
            times = times if -(1 << 31) <= times < (1 << 31) else -1
            if times >= check_max:
                return True
            times += 1
        msg.properties[CHECK_TIMES] = str(times)
        return False

    def _put_back(self, state: Any, msg: Any, now_ms: int) -> bool:
        """``putBackHalfMsgQueue``: re-append; ``msg`` takes the new offsets (True on success)."""
        copy = state.new_message(topic=TRANS_HALF_TOPIC, queue_id=msg.queue_id, body=msg.body,
                                 properties=encode_properties(msg.properties), flag=0, sys_flag=msg.sys_flag,
                                 born_timestamp=msg.born_timestamp, born_host=msg.born_host,
                                 store_host=msg.store_host, reconsume_times=0)
        result = state.store.put_message(copy, now_ms)
        if getattr(result.status, "name", str(result.status)) != "PUT_OK":
            return False
        msg.queue_offset, msg.commit_log_offset = result.queue_offset, result.phys_offset
        msg.properties["WAIT"] = "false"       # Java shares the property map with the copy it stored
        return True

    def _put_immune_copy(self, state: Any, msg: Any, prepared_offset: int, now_ms: int) -> bool:
        props = dict(msg.properties)
        props[PREPARED_QUEUE_OFFSET] = str(prepared_offset)
        copy = state.new_message(topic=TRANS_HALF_TOPIC, queue_id=msg.queue_id, body=msg.body,
                                 properties=encode_properties(props), flag=0, sys_flag=msg.sys_flag,
                                 born_timestamp=msg.born_timestamp, born_host=msg.born_host,
                                 store_host=msg.store_host)
        return getattr(state.store.put_message(copy, now_ms).status, "name", "") == "PUT_OK"

    def _check_request(self, state: Any, msg: Any) -> CheckRequest | None:
        """``sendCheckMessage`` to one producer channel of the message's group (None if none is online)."""
        chans = state.clients.producer_channels(msg.properties.get("PGROUP", ""))
        if not chans:
            return None
        self.counter += 1
        channel = chans[self.counter % len(chans)].channel
        uniq = msg.properties.get("UNIQ_KEY")
        host, port = msg.store_host
        ext = {"tranStateTableOffset": str(msg.queue_offset), "commitLogOffset": str(msg.commit_log_offset),
               "offsetMsgId": offset_msg_id(host, port, msg.commit_log_offset)}
        if uniq is not None:
            ext["msgId"] = ext["transactionId"] = uniq
        view = replace(msg, topic=msg.properties.get("REAL_TOPIC", msg.topic),
                       queue_id=_to_long(msg.properties.get("REAL_QID", msg.queue_id)),
                       properties=dict(msg.properties), properties_string=None)
        cmd = RemotingCommand.request(RequestCode.CHECK_TRANSACTION_STATE, ext, encode_record(view), oneway=True)
        return CheckRequest(channel, cmd)

    @staticmethod
    def _discard(state: Any, msg: Any, now_ms: int) -> None:
        """``resolveDiscardMsg``: move to TRANS_CHECK_MAX_TIME_TOPIC (queue 0)."""
        state.topics.create_in_send_back(TRANS_CHECK_MAX_TIME_TOPIC, 1, _PERM_RW, 0, now_ms)
        copy = state.new_message(topic=TRANS_CHECK_MAX_TIME_TOPIC, queue_id=0, body=msg.body,
                                 properties=encode_properties(msg.properties), flag=msg.flag, sys_flag=msg.sys_flag,
                                 born_timestamp=msg.born_timestamp, born_host=msg.born_host,
                                 store_host=msg.store_host, reconsume_times=msg.reconsume_times)
        state.store.put_message(copy, now_ms)
