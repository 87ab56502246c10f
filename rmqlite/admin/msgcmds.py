"""mqadmin message and consumer commands for ``python -m rmqlite admin`` (registered into ``COMMANDS``).

How it works:
1. Message lookups print mqadmin's detail block (``%-20s %s`` labels), write the body to
   ``/tmp/rocketmq/msgbodys/<msgId>`` as mqadmin does, then the message track per consumer group.
2. Pull-based commands (queryMsgByOffset, printMsg, consumeMessage) pull as the TOOLS_CONSUMER
   group (or ``-g``) with subscription ``*`` and add MIN_OFFSET/MAX_OFFSET like the Java client.
3. resetOffsetByTime asks the brokers (INVOKE_BROKER_TO_RESET_OFFSET); when the group is not online
   it writes offsets directly, as mqadmin's fallback does.
"""

from __future__ import annotations

import os
import time
from typing import Any, TextIO

from rmqlite.admin.commands import AdminUsage, Opt, command
from rmqlite.admin.javafmt import (date_time, hashmap_order, human_time, java_map_str, message_ext_str, mq_str,
                                   parse_timestamp, version_desc)
from rmqlite.admin.ops import MQ, RETRY_PREFIX, TOOLS_CONSUMER_GROUP, AdminClient, ClientError
from rmqlite.common import message as m
from rmqlite.remoting.codes import ResponseCode

__all__ = ["print_message_detail", "message_tracks"]

BODY_DIR = "/tmp/rocketmq/msgbodys"
_PULL_STATUS = {ResponseCode.SUCCESS: "FOUND", ResponseCode.PULL_NOT_FOUND: "NO_NEW_MSG",
                ResponseCode.PULL_RETRY_IMMEDIATELY: "NO_MATCHED_MSG", ResponseCode.PULL_OFFSET_MOVED: "OFFSET_ILLEGAL"}


def _write_body(msg: m.MessageExt, index: int = 0) -> str:
    path = f"{BODY_DIR}/{msg.msg_id}" + (f"_{index}" if index > 0 else "")
    try:
        os.makedirs(BODY_DIR, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(msg.body)
    except OSError:
        pass
    return path


async def message_tracks(admin: AdminClient, msg: m.MessageExt) -> list[dict[str, Any]]:
    """``messageTrackDetail``: for each group consuming the topic, whether it consumed ``msg``."""
    out = []
    for group in await admin.consumed_by(msg.topic):
        track: dict[str, Any] = {"consumerGroup": group, "trackType": "UNKNOWN", "exceptionDesc": None}
        try:
            cc = await admin.examine_consumer_connection(group)
        except ClientError as exc:
            if exc.code == ResponseCode.CONSUMER_NOT_ONLINE:
                track["trackType"] = "NOT_ONLINE"
            track["exceptionDesc"] = f"CODE:{exc.code} DESC:{exc.remark}"
            out.append(track)
            continue
        if cc.get("consumeType") == "CONSUME_ACTIVELY":
            track["trackType"] = "PULL"
        else:
            try:
                consumed = await _consumed(admin, msg, group)
            except ClientError as exc:
                if exc.code == ResponseCode.CONSUMER_NOT_ONLINE:
                    track["trackType"] = "NOT_ONLINE"
                track["exceptionDesc"] = f"CODE:{exc.code} DESC:{exc.remark}"
                out.append(track)
                continue
            track["trackType"] = "CONSUMED" if consumed else "NOT_CONSUME_YET"
            sub = (cc.get("subscriptionTable") or {}).get(msg.topic)
            tags = set((sub or {}).get("tagsSet") or [])
            if consumed and sub is not None and tags and "*" not in tags and msg.tags not in tags:
                track["trackType"] = "CONSUMED_BUT_FILTERED"
        out.append(track)
    return out


async def _consumed(admin: AdminClient, msg: m.MessageExt, group: str) -> bool:
    table, _ = await admin.examine_consume_stats(group)
    info = await admin.cluster_info()
    store = f"{msg.store_host[0]}:{msg.store_host[1]}"
    for mq, w in table.items():
        if mq.topic != msg.topic or mq.queue_id != msg.queue_id:
            continue
        bd = (info.get("brokerAddrTable") or {}).get(mq.broker_name) or {}
        master = {int(k): v for k, v in (bd.get("brokerAddrs") or {}).items()}.get(0)
        if master == store and int(w.get("consumerOffset", 0)) > msg.queue_offset:
            return True
    return False


async def print_message_detail(admin: AdminClient, msg: m.MessageExt, out: TextIO, offset_id: bool = True,
                               extra_props: dict[str, str] | None = None, index: int = 0) -> None:
    """QueryMsgByIdSubCommand.printMsg / QueryMsgByUniqueKeySubCommand.showMessage."""
    path = _write_body(msg, index)
    props = dict(msg.properties)
    props.update(extra_props or {})
    lines: list[tuple[str, Any]] = [("OffsetID:", msg.offset_msg_id)] if offset_id else []
    lines += [("Topic:", msg.topic), ("Tags:", f"[{msg.tags}]"),
              ("Keys:", f"[{msg.properties.get('KEYS')}]"), ("Queue ID:", msg.queue_id),
              ("Queue Offset:", msg.queue_offset), ("CommitLog Offset:", msg.commit_log_offset),
              ("Reconsume Times:", msg.reconsume_times), ("Born Timestamp:", human_time(msg.born_timestamp)),
              ("Store Timestamp:", human_time(msg.store_timestamp)),
              ("Born Host:", f"{msg.born_host[0]}:{msg.born_host[1]}"),
              ("Store Host:", f"{msg.store_host[0]}:{msg.store_host[1]}"), ("System Flag:", msg.sys_flag),
              ("Properties:", java_map_str(props, list(msg.properties) + list(extra_props or {}))),
              ("Message Body Path:", path)]
    for label, value in lines:
        out.write("%-20s %s\n" % (label, value))
    tracks = await message_tracks(admin, msg)
    if not tracks:
        out.write("\n\nWARN: No Consumer")
        return
    out.write("\n\n")
    for t in tracks:
        out.write(f"MessageTrack [consumerGroup={t['consumerGroup']}, trackType={t['trackType']}, "
                  f"exceptionDesc={'null' if t['exceptionDesc'] is None else t['exceptionDesc']}]")


# ---------------------------------------------------------------------------------------------- queries
@command("queryMsgById", "Query Message by Id", Opt("i", "msgId", "Message Id", required=True),
         Opt("g", "consumerGroup", "consumer group name"), Opt("d", "clientId", "The consumer's client id"),
         Opt("s", "sendMessage", "resend message"), Opt("u", "unitName", "unit name"))
async def query_msg_by_id(admin: AdminClient, args: Any, out: TextIO) -> None:
    for msg_id in [x.strip() for x in args.msgId.split(",") if x.strip()]:
        try:
            msg = await admin.view_message_by_id(msg_id)
        except m.RecordError as exc:
            raise AdminUsage(f"bad message id {msg_id}: {exc}") from None
        if args.consumerGroup and args.clientId:
            result = await admin.resend_to_group(msg, args.consumerGroup.strip(), args.clientId.strip())
            out.write(f"{result}\n")
        elif args.sendMessage and args.sendMessage.strip().lower() == "true":
            out.write(f"prepare resend msg. originalMsgId={msg_id}")
            res = await admin.send_message(msg.topic, msg.body, properties={
                k: v for k, v in msg.properties.items() if k not in ("UNIQ_KEY", "MIN_OFFSET", "MAX_OFFSET")})
            out.write(f"SendResult [sendStatus=SEND_OK, msgId={res.msg_id}, offsetMsgId={res.offset_msg_id}, "
                      f"messageQueue={mq_str(msg.topic, res.broker_name, res.queue_id)}, "
                      f"queueOffset={res.queue_offset}]\n")
        else:
            await print_message_detail(admin, msg, out)


@command("queryMsgByKey", "Query Message by Key", Opt("t", "topic", "topic name", required=True),
         Opt("k", "msgKey", "Message Key", required=True))
async def query_msg_by_key(admin: AdminClient, args: Any, out: TextIO) -> None:
    try:
        msgs = await admin.query_message(args.topic.strip(), args.msgKey.strip(), 64)
    except ClientError as exc:
        if exc.code != ResponseCode.QUERY_NOT_FOUND:
            raise
        msgs = []
    out.write("%-50s %4s %40s\n" % ("#Message ID", "#QID", "#Offset"))
    for msg in msgs:
        out.write("%-50s %4d %40d\n" % (msg.msg_id, msg.queue_id, msg.queue_offset))


@command("queryMsgByUniqueKey", "Query Message by Unique key", Opt("i", "msgId", "Message Id", required=True),
         Opt("g", "consumerGroup", "consumer group name"), Opt("d", "clientId", "The consumer's client id"),
         Opt("t", "topic", "The topic of msg", required=True),
         Opt("a", "showAll", "Print all message, the limit is 32", flag=True))
async def query_msg_by_unique_key(admin: AdminClient, args: Any, out: TextIO) -> None:
    topic, msg_id = args.topic.strip(), args.msgId.strip()
    try:
        msgs = await admin.query_message(topic, msg_id, 32, unique=True)
    except ClientError as exc:
        if exc.code != ResponseCode.QUERY_NOT_FOUND:
            raise
        return
    msgs.sort(key=lambda x: x.store_timestamp)
    if args.consumerGroup and args.clientId:
        out.write(f"{await admin.resend_to_group(msgs[0], args.consumerGroup.strip(), args.clientId.strip())}\n")
        return
    for i, msg in enumerate(msgs if args.showAll else msgs[:1]):
        await print_message_detail(admin, msg, out, offset_id=False, index=i)


async def _pull(admin: AdminClient, group: str, mq: MQ, addr: str, offset: int, nums: int,
                sub: str = "*") -> tuple[str, int, list[m.MessageExt], dict[str, str]]:
    res = await admin.pull(addr, group, mq.topic, mq.queue_id, offset, nums, subscription=sub)
    extra = {"MIN_OFFSET": str(res.min_offset), "MAX_OFFSET": str(res.max_offset)}
    msgs = res.messages
    if sub.strip() not in ("", "*"):
        tags = {t.strip() for t in sub.split("||")}
        msgs = [x for x in msgs if x.tags in tags]
    return _PULL_STATUS.get(res.code, "NO_NEW_MSG"), res.next_begin_offset, msgs, extra


@command("queryMsgByOffset", "Query Message by offset", Opt("t", "topic", "topic name", required=True),
         Opt("b", "brokerName", "Broker Name", required=True), Opt("i", "queueId", "Queue Id", required=True),
         Opt("o", "offset", "Queue Offset", required=True))
async def query_msg_by_offset(admin: AdminClient, args: Any, out: TextIO) -> None:
    topic, broker = args.topic.strip(), args.brokerName.strip()
    mq = MQ(topic, broker, int(args.queueId))
    route = await admin.route(topic)
    status, _, msgs, extra = await _pull(admin, TOOLS_CONSUMER_GROUP, mq, route.master_of(broker), int(args.offset), 1)
    if status == "FOUND" and msgs:
        await print_message_detail(admin, msgs[0], out, extra_props=extra)


def _print_msgs(msgs: list[m.MessageExt], broker: str, extra: dict[str, str], print_body: bool, charset: str,
                out: TextIO) -> None:
    for msg in msgs:
        body = msg.body.decode(charset, "replace") if print_body else "NOT PRINT BODY"
        out.write(f"MSGID: {msg.msg_id} {message_ext_str(msg, broker, extra)} BODY: {body}\n")


@command("printMsg", "Print Message Detail", Opt("t", "topic", "topic name", required=True),
         Opt("c", "charsetName", "CharsetName(eg: UTF-8,GBK)"), Opt("s", "subExpression", "Subscribe Expression"),
         Opt("b", "beginTimestamp", "Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"),
         Opt("e", "endTimestamp", "End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"),
         Opt("d", "printBody", "print body"))
async def print_msg(admin: AdminClient, args: Any, out: TextIO) -> None:
    topic = args.topic.strip()
    charset = (args.charsetName or "UTF-8").strip()
    sub = (args.subExpression or "*").strip()
    print_body = args.printBody is None or args.printBody.strip().lower() == "true"
    route = await admin.route(topic)
    for broker, qid in route.read_queues():
        addr, mq = route.master_of(broker), MQ(topic, broker, qid)
        lo, hi = await admin.min_offset(addr, topic, qid), await admin.max_offset(addr, topic, qid)
        if args.beginTimestamp:
            lo = await admin.search_offset(addr, topic, qid, parse_timestamp(args.beginTimestamp))
        if args.endTimestamp:
            hi = await admin.search_offset(addr, topic, qid, parse_timestamp(args.endTimestamp))
        out.write(f"minOffset={lo}, maxOffset={hi}, {mq_str(topic, broker, qid)}\n")
        offset = lo
        while offset < hi:
            status, offset, msgs, extra = await _pull(admin, TOOLS_CONSUMER_GROUP, mq, addr, offset, 32, sub)
            if status == "FOUND":
                _print_msgs(msgs, broker, extra, print_body, charset, out)
            elif status == "NO_MATCHED_MSG":
                out.write(f"{mq_str(topic, broker, qid)} no matched msg. status={status}, offset={offset}\n")
            else:
                out.write(f"{mq_str(topic, broker, qid)} print msg finished. status={status}, offset={offset}\n")
                break
        out.write("--------------------------------------------------------\n")


@command("sendMessage", "Send a message", Opt("t", "topic", "Topic name", required=True),
         Opt("p", "body", "UTF-8 string format of the message body", required=True),
         Opt("k", "key", "Message keys"), Opt("c", "tags", "Message tags"),
         Opt("b", "broker", "Send message to target broker"), Opt("i", "qid", "Send message to target queue"),
         Opt("m", "msgTraceEnable", "Message Trace Enable, Default: false"))
async def send_message(admin: AdminClient, args: Any, out: TextIO) -> None:
    if args.qid is not None and not args.broker:
        out.write("Broker name must be set if the queue is chosen!")
        return
    qid = int(args.qid) if args.qid is not None else None
    res = await admin.send_message(args.topic.strip(), args.body.strip().encode("utf-8"),
                                   tags=args.tags.strip() if args.tags else None,
                                   keys=args.key.strip() if args.key else None,
                                   broker=args.broker.strip() if args.broker else None, queue_id=qid)
    status = {0: "SEND_OK", 10: "FLUSH_DISK_TIMEOUT", 12: "FLUSH_SLAVE_TIMEOUT", 11: "SLAVE_NOT_AVAILABLE"}
    out.write("%-32s  %-4s  %-20s    %s\n" % ("#Broker Name", "#QID", "#Send Result", "#MsgId"))
    out.write("%-32s  %-4s  %-20s    %s\n" % (res.broker_name, res.queue_id, status.get(res.status_code, "SEND_OK"),
                                             res.msg_id))


@command("consumeMessage", "Consume message", Opt("t", "topic", "Topic name", required=True),
         Opt("b", "brokerName", "Broker name"), Opt("i", "queueId", "Queue Id"), Opt("o", "offset", "Queue offset"),
         Opt("g", "consumerGroup", "Consumer group name"),
         Opt("s", "beginTimestamp", "Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"),
         Opt("e", "endTimestamp", "End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"),
         Opt("c", "MessageNumber", "Number of message to be consumed"))
async def consume_message(admin: AdminClient, args: Any, out: TextIO) -> None:
    topic = args.topic.strip()
    group = (args.consumerGroup or TOOLS_CONSUMER_GROUP).strip()
    count = int(args.MessageNumber) if args.MessageNumber else 128
    if count <= 0:
        out.write("Please input a positive messageNumber!")
        return
    if args.queueId is not None and not args.brokerName:
        out.write("Please set the brokerName before queueId!")
        return
    if args.offset is not None and args.queueId is None:
        out.write("Please set queueId before offset!")
        return
    now = int(time.time() * 1000)
    begin = parse_timestamp(args.beginTimestamp) if args.beginTimestamp else 0
    end = parse_timestamp(args.endTimestamp) if args.endTimestamp else 0
    if begin > now:
        out.write("Please set the beginTimestamp before now!")
        return
    if end > now:
        out.write("Please set the endTimestamp before now!")
        return
    route = await admin.route(topic)
    queues = ([(args.brokerName.strip(), int(args.queueId))] if args.queueId is not None else route.read_queues())
    left = count
    for broker, qid in queues:
        if left <= 0:
            return
        addr, mq = route.master_of(broker), MQ(topic, broker, qid)
        lo, hi = await admin.min_offset(addr, topic, qid), await admin.max_offset(addr, topic, qid)
        if begin > 0:
            lo = await admin.search_offset(addr, topic, qid, begin)
        if end > 0:
            hi = await admin.search_offset(addr, topic, qid, end)
        if args.offset is not None:
            offset = int(args.offset)
            if offset > hi:
                out.write(f"{mq_str(topic, broker, qid)} no matched msg, offset={offset}\n")
                return
            lo = max(lo, offset)
        if hi - lo > left:
            out.write(f"The older {left} message of the {qid} queue will be provided\n")
            hi = lo + left - 1
            left = 0
        else:
            left -= (hi - lo) + 1
        await _consume_queue(admin, group, mq, addr, lo, hi, out)


async def _consume_queue(admin: AdminClient, group: str, mq: MQ, addr: str, lo: int, hi: int, out: TextIO) -> None:
    offset = lo
    while offset <= hi:
        status, offset, msgs, extra = await _pull(admin, group, mq, addr, offset, max(1, min(32, hi - offset + 1)))
        if status == "FOUND":
            out.write("Consume ok\n")
            _print_msgs(msgs, mq.broker_name, extra, True, "utf-8", out)
        elif status == "NO_MATCHED_MSG":
            out.write(f"{mq_str(*mq)} no matched msg. status={status}, offset={offset}\n")
        else:
            out.write(f"{mq_str(*mq)} print msg finished. status={status}, offset={offset}\n")
            return


# ---------------------------------------------------------------------------------------------- consumers
@command("consumerProgress", "Query consumers's progress, speed",
         Opt("g", "groupName", "consumer group name"), Opt("s", "showClientIP", "Show Client IP per Queue"))
async def consumer_progress(admin: AdminClient, args: Any, out: TextIO) -> None:
    if args.groupName:
        await _progress_of_group(admin, args.groupName.strip(), out)
        return
    out.write("%-64s  %-6s  %-24s %-5s  %-14s  %-7s  %s\n" % ("#Group", "#Count", "#Version", "#Type", "#Model",
                                                             "#TPS", "#Diff Total"))
    for topic in await admin.topic_list():
        if not topic.startswith(RETRY_PREFIX):
            continue
        group = topic[len(RETRY_PREFIX):]
        tps, diff = 0, 0
        try:
            table, ftps = await admin.examine_consume_stats(group)
            tps, diff = int(ftps), sum(w["brokerOffset"] - w["consumerOffset"] for w in table.values())
        except Exception:
            pass
        count, version, ctype, model = 0, "", "", ""
        try:
            cc = await admin.examine_consumer_connection(group)
            conns = cc.get("connectionSet") or []
            count = len(conns)
            if count:
                version = version_desc(min(int(c.get("version", 0)) for c in conns))
                ctype = "PULL" if cc.get("consumeType") == "CONSUME_ACTIVELY" else "PUSH"
                model = str(cc.get("messageModel", "")) if ctype == "PUSH" else ""
        except Exception:
            pass
        out.write("%-64s  %-6d  %-24s %-5s  %-14s  %-7d  %d\n" % (group, count, version if count else "OFFLINE",
                                                                ctype, model, tps, diff))


async def _progress_of_group(admin: AdminClient, group: str, out: TextIO) -> None:
    table, tps = await admin.examine_consume_stats(group)
    out.write("%-64s  %-32s  %-4s  %-20s  %-20s  %-20s  %s\n" % ("#Topic", "#Broker Name", "#QID", "#Broker Offset",
                                                               "#Consumer Offset", "#Diff", "#LastTime"))
    total = 0
    for mq, w in table.items():
        diff = int(w["brokerOffset"]) - int(w["consumerOffset"])
        total += diff
        last = int(w.get("lastTimestamp", 0))
        out.write("%-64s  %-32s  %-4d  %-20d  %-20d  %-20d  %s\n" % (
            mq.topic, mq.broker_name, mq.queue_id, w["brokerOffset"], w["consumerOffset"], diff,
            date_time(last) if last else "N/A"))
    out.write("\n")
    out.write("Consume TPS: %.2f\n" % tps)
    out.write("Diff Total: %d\n" % total)


@command("consumerConnection", "Query consumer's socket connection, client version and subscription",
         Opt("g", "consumerGroup", "consumer group name", required=True), Opt("b", "brokerAddr", "broker address"))
async def consumer_connection(admin: AdminClient, args: Any, out: TextIO) -> None:
    cc = await admin.examine_consumer_connection(args.consumerGroup.strip(),
                                                 args.brokerAddr.strip() if args.brokerAddr else None)
    out.write("%-36s %-22s %-10s %s\n" % ("#ClientId", "#ClientAddr", "#Language", "#Version"))
    for c in cc.get("connectionSet") or []:
        out.write("%-36s %-22s %-10s %s\n" % (c.get("clientId"), c.get("clientAddr"), c.get("language"),
                                            version_desc(int(c.get("version", 0)))))
    out.write("\nBelow is subscription:\n")
    out.write("%-20s %s\n" % ("#Topic", "#SubExpression"))
    subs = cc.get("subscriptionTable") or {}
    for topic in hashmap_order(list(subs)):
        out.write("%-20s %s\n" % (subs[topic].get("topic", topic), subs[topic].get("subString")))
    out.write("\n")
    out.write(f"ConsumeType: {cc.get('consumeType')}\n")
    out.write(f"MessageModel: {cc.get('messageModel')}\n")
    out.write(f"ConsumeFromWhere: {cc.get('consumeFromWhere')}\n")


@command("producerConnection", "Query producer's socket connection and client version",
         Opt("g", "producerGroup", "producer group name", required=True), Opt("t", "topic", "topic name", required=True))
async def producer_connection(admin: AdminClient, args: Any, out: TextIO) -> None:
    pc = await admin.producer_connection(args.producerGroup.strip(), args.topic.strip())
    for i, c in enumerate(pc.get("connectionSet") or [], 1):
        out.write("%04d  %-32s %-22s %-8s %s\n" % (i, c.get("clientId"), c.get("clientAddr"), c.get("language"),
                                                  version_desc(int(c.get("version", 0)))))


@command("resetOffsetByTime", "Reset consumer offset by timestamp(without client restart).",
         Opt("g", "group", "set the consumer group", required=True), Opt("t", "topic", "set the topic", required=True),
         Opt("s", "timestamp", "set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]", required=True),
         Opt("f", "force", "set the force rollback by timestamp switch[true|false]"),
         Opt("c", "cplus", "reset c++ client offset", flag=True))
async def reset_offset_by_time(admin: AdminClient, args: Any, out: TextIO) -> None:
    group, topic, text = args.group.strip(), args.topic.strip(), args.timestamp.strip()
    ts = -1 if text == "now" else parse_timestamp(text)
    force = True if args.force is None else args.force.strip().lower() == "true"
    try:
        table = await admin.reset_offset_by_time(topic, group, ts, force, bool(args.cplus))
    except ClientError as exc:
        if exc.code != ResponseCode.CONSUMER_NOT_ONLINE:
            raise
        rows = await admin.reset_offset_old(topic, group, ts, force)
        out.write(f"rollback consumer offset by specified consumerGroup[{group}], topic[{topic}], "
                  f"force[{str(force).lower()}], timestamp(string)[{text}], timestamp(long)[{ts}]\n")
        out.write("%-20s  %-20s  %-20s  %-20s  %-20s  %-20s\n" % ("#brokerName", "#queueId", "#brokerOffset",
                                                                "#consumerOffset", "#timestampOffset",
                                                                "#rollbackOffset"))
        for r in rows:
            out.write("%-20s  %-20d  %-20d  %-20d  %-20d  %-20d\n" % (
                r["brokerName"], r["queueId"], r["brokerOffset"], r["consumerOffset"], r["timestampOffset"],
                r["rollbackOffset"]))
        return
    out.write(f"rollback consumer offset by specified group[{group}], topic[{topic}], force[{str(force).lower()}], "
              f"timestamp(string)[{text}], timestamp(long)[{ts}]\n")
    out.write("%-40s  %-40s  %-40s\n" % ("#brokerName", "#queueId", "#offset"))
    for mq, offset in table.items():
        out.write("%-40s  %-40d  %-40d\n" % (mq.broker_name, mq.queue_id, offset))
