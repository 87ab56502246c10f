"""END_TRANSACTION (37) (``EndTransactionProcessor``) for half messages stored by SEND.

How it works:
1. A slave answers SLAVE_NOT_AVAILABLE; commitOrRollback 0 (unknown) or any other value gets no
   reply at all (Java returns null).
2. The half message is read at ``commitLogOffset`` and checked: PGROUP == producerGroup, queue
   offset == tranStateTableOffset, commitlog offset == commitLogOffset (Java's remarks).
3. COMMIT stores the final message to REAL_TOPIC / REAL_QID with transaction type COMMIT and
   PREPARED TX OFFSET = the half's commitlog offset; as in 4.9.4 the stored properties text is
   the half record's own text. Both COMMIT and ROLLBACK then write the op record: topic
   RMQ_SYS_TRANS_OP_HALF_TOPIC, same queueId as the half, tag ``d``, body = half queue offset.
"""

from __future__ import annotations

from typing import Any

from rmqlite.broker.handlers.base import handler, status_name
from rmqlite.broker.handlers.send import store_message
from rmqlite.broker.state import BrokerState, Ctx
from rmqlite.common.message import decode_record, encode_properties
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.headers import ext_int, ext_str

__all__ = ["end_transaction", "write_op_record", "TRANS_OP_HALF_TOPIC", "REMOVE_TAG"]

TRAN_COMMIT = 0x8
TRAN_ROLLBACK = 0xC
TRAN_MASK = 0xC
TRANS_OP_HALF_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
REMOVE_TAG = "d"


def write_op_record(state: BrokerState, half: Any, now_ms: int) -> Any:
    """Mark the half message as resolved (``TransactionalMessageBridge.addRemoveTagInTransactionOp``)."""
    host = state.store_host
    msg = state.new_message(topic=TRANS_OP_HALF_TOPIC, queue_id=half.queue_id, body=str(half.queue_offset).encode(),
                            properties=encode_properties({"TAGS": REMOVE_TAG, "WAIT": "true"}),
                            born_timestamp=now_ms, born_host=host, store_host=host)
    return store_message(state, msg, now_ms)


def _check(half: Any, group: str, table_offset: int, log_offset: int) -> str | None:
    if half is None:
        return "Find prepared transaction message failed"
    if half.properties.get("PGROUP", "") != group:
        return "The producer group wrong"
    if half.queue_offset != table_offset:
        return "The transaction state table offset wrong"
    if half.commit_log_offset != log_offset:
        return "The commit log offset wrong"
    return None


@handler(RequestCode.END_TRANSACTION)
def end_transaction(state: BrokerState, cmd: RemotingCommand, ctx: Ctx) -> RemotingCommand | None:
    if not state.is_master:
        return cmd.response(ResponseCode.SLAVE_NOT_AVAILABLE)
    group = ext_str(cmd, "producerGroup")
    table_offset = ext_int(cmd, "tranStateTableOffset")
    log_offset = ext_int(cmd, "commitLogOffset")
    kind = ext_int(cmd, "commitOrRollback")
    if kind not in (TRAN_COMMIT, TRAN_ROLLBACK):
        return None
    raw = state.store.read_record(log_offset)
    half = decode_record(raw)[0] if raw else None
    problem = _check(half, group, table_offset, log_offset)
    if problem:
        return cmd.response(ResponseCode.SYSTEM_ERROR, problem)
    if kind == TRAN_ROLLBACK:
        write_op_record(state, half, ctx.now_ms)
        ctx.wrote = True
        return cmd.response(ResponseCode.SUCCESS)
    try:
        real_qid = int(half.properties.get("REAL_QID", ""))
    except ValueError:
        return cmd.response(ResponseCode.SYSTEM_ERROR, "Find prepared transaction message failed")
    final = state.new_message(
        topic=half.properties.get("REAL_TOPIC", ""), queue_id=real_qid, body=half.body,
        properties=half.properties_string if half.properties_string is not None else encode_properties(half.properties),
        flag=half.flag, sys_flag=(half.sys_flag & ~TRAN_MASK) | TRAN_COMMIT, born_timestamp=half.born_timestamp,
        born_host=half.born_host, store_host=half.store_host, reconsume_times=half.reconsume_times,
        prepared_transaction_offset=log_offset,
    )
    result = store_message(state, final, ctx.now_ms)
    ctx.wrote = True
    status = status_name(result.status)
    if status in ("PUT_OK", "FLUSH_DISK_TIMEOUT", "FLUSH_SLAVE_TIMEOUT", "SLAVE_NOT_AVAILABLE"):
        write_op_record(state, half, ctx.now_ms)
        return cmd.response(ResponseCode.SUCCESS)
    if status in ("MESSAGE_ILLEGAL", "PROPERTIES_SIZE_EXCEEDED"):
        return cmd.response(ResponseCode.MESSAGE_ILLEGAL, (
            "The message is illegal, maybe msg body or properties length not matched. msg body length limit "
            f"{state.config.maxMessageSize}B, msg properties length limit 32KB."))
    if status == "SERVICE_NOT_AVAILABLE":
        return cmd.response(ResponseCode.SERVICE_NOT_AVAILABLE, "Service not available now.")
    return cmd.response(ResponseCode.SYSTEM_ERROR, status)
