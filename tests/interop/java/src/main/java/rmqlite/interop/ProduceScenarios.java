package rmqlite.interop;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Producer-side scenarios: produce (sync/async/oneway/batch), size_limits, pull_seek.
 *
 * Rules:
 * 1. Every message sent is registered in a Ledger first; what is stored is read back with explicit-offset pulls
 *    (DefaultMQPullConsumer) or a DefaultLitePullConsumer, and compared byte for byte.
 * 2. After reading, the topic's stored message count (sum of max offsets) must equal the number of accepted sends:
 *    nothing stored twice, nothing rejected stored.
 */
final class ProduceScenarios {
    private ProduceScenarios() {
    }

    static final String UNICODE = "h\u00e9llo \u2713 \u65e5\u672c \u0444";

    /** 4096 is the Java client's compressMsgBodyOverHowmuch: >= threshold is compressed (4.9.4: body.length >= 4096). */
    static Boolean compressedExpectation(int len, int threshold) {
        return len >= threshold;
    }

    static void checkOk(Result r, SendResult sr, String what) {
        r.check(sr != null && sr.getSendStatus() == SendStatus.SEND_OK, what + " status " + (sr == null ? null : sr.getSendStatus()));
    }

    static Result produce(Ctx ctx) throws Exception {
        Result r = new Result("produce");
        String topic = ctx.name("T_produce");
        ctx.createTopic(topic, 4);
        DefaultMQProducer p = ctx.producer(ctx.name("PG_produce"));
        int threshold = p.getCompressMsgBodyOverHowmuch();
        Ledger ledger = new Ledger();
        Map<String, Integer> perMode = new LinkedHashMap<>();

        // sync: sizes across the compression threshold up to exactly 4 MiB (compressible, so it fits the broker).
        int[] sizes = {1, 2, 100, 1024, 4095, 4096, 4097, 8000, 65536, 300_000, 1 << 20, 4 << 20};
        for (int i = 0; i < sizes.length; i++) {
            int n = sizes[i];
            boolean random = i % 2 == 0 && n < (4 << 20);
            byte[] body = random ? ctx.randomBody(n) : Ctx.textBody(n, "sync" + i);
            Message m = ctx.msg(topic, "TagSync", "ksync-" + i + " order-" + i, body);
            m.setFlag(i);
            m.putUserProperty("mode", "sync");
            m.putUserProperty("unicode", UNICODE);
            m.putUserProperty("size", Integer.toString(n));
            Ledger.Expected e = ledger.expect(m);
            e.compressed = compressedExpectation(n, threshold);
            SendResult sr = p.send(m);
            checkOk(r, sr, "sync send " + n + " B");
            e.msgId = sr.getMsgId();
            e.queueId = sr.getMessageQueue().getQueueId();
            e.queueOffset = sr.getQueueOffset();
            r.sent++;
        }
        // sync without tags / keys / extra properties
        for (int i = 0; i < 3; i++) {
            Message m = ctx.msg(topic, null, null, ("plain-" + i).getBytes());
            Ledger.Expected e = ledger.expect(m);
            SendResult sr = p.send(m);
            checkOk(r, sr, "sync plain send");
            e.msgId = sr.getMsgId();
            e.queueId = sr.getMessageQueue().getQueueId();
            e.queueOffset = sr.getQueueOffset();
            r.sent++;
        }
        perMode.put("sync", sizes.length + 3);

        // async
        int asyncN = 24;
        int[] asyncSizes = {10, 500, 3000, 5000, 20000, 70000};
        CountDownLatch latch = new CountDownLatch(asyncN);
        AtomicInteger asyncOk = new AtomicInteger();
        for (int i = 0; i < asyncN; i++) {
            int n = asyncSizes[i % asyncSizes.length];
            byte[] body = i % 3 == 0 ? Ctx.textBody(n, "async" + i) : ctx.randomBody(n);
            Message m = ctx.msg(topic, i % 2 == 0 ? "TagAsyncA" : "TagAsyncB", "kasync-" + i, body);
            m.putUserProperty("mode", "async");
            m.putUserProperty("i", Integer.toString(i));
            Ledger.Expected e = ledger.expect(m);
            e.compressed = compressedExpectation(n, threshold);
            p.send(m, new SendCallback() {
                @Override
                public void onSuccess(SendResult sr) {
                    if (sr.getSendStatus() == SendStatus.SEND_OK) {
                        e.msgId = sr.getMsgId();
                        e.queueId = sr.getMessageQueue().getQueueId();
                        e.queueOffset = sr.getQueueOffset();
                        asyncOk.incrementAndGet();
                    } else {
                        r.fail("async status " + sr.getSendStatus());
                    }
                    latch.countDown();
                }

                @Override
                public void onException(Throwable t) {
                    r.fail("async send failed: " + t);
                    latch.countDown();
                }
            }, 15000);
        }
        if (!latch.await(ctx.remainingMs(), TimeUnit.MILLISECONDS)) {
            r.fail("async callbacks missing: " + latch.getCount());
        }
        r.sent += asyncOk.get();
        perMode.put("async", asyncOk.get());

        // oneway: cannot be confirmed; counted as sent, all must arrive on loopback.
        int onewayN = 20;
        for (int i = 0; i < onewayN; i++) {
            int n = i == onewayN - 1 ? 10_240 : 16 + i * 50;
            Message m = ctx.msg(topic, "TagOneway", "koneway-" + i, ctx.randomBody(n));
            m.putUserProperty("mode", "oneway");
            Ledger.Expected e = ledger.expect(m);
            e.compressed = compressedExpectation(n, threshold);
            p.sendOneway(m);
            r.sent++;
        }
        perMode.put("oneway", onewayN);

        // batch: never compressed by the client; consecutive queue offsets, one msgId per message.
        List<Message> batch = new ArrayList<>();
        List<Ledger.Expected> batchExp = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int n = 1 + (i * 173) % 6000;
            boolean bare = i % 5 == 4;
            Message m = ctx.msg(topic, bare ? null : "TagBatch", bare ? null : "kbatch-" + i + " kb2-" + i, ctx.randomBody(n));
            m.putUserProperty("mode", "batch");
            m.setFlag(1000 + i);
            Ledger.Expected e = ledger.expect(m);
            e.compressed = Boolean.FALSE;
            batch.add(m);
            batchExp.add(e);
        }
        SendResult br = p.send(batch);
        checkOk(r, br, "batch send");
        String[] ids = br.getMsgId() == null ? new String[0] : br.getMsgId().split(",");
        r.check(ids.length == batch.size(), "batch msgId count " + ids.length + " != " + batch.size());
        for (int i = 0; i < batchExp.size(); i++) {
            Ledger.Expected e = batchExp.get(i);
            e.queueId = br.getMessageQueue().getQueueId();
            e.queueOffset = br.getQueueOffset() + i;
            if (i < ids.length) {
                e.msgId = ids[i];
            }
        }
        r.sent += batch.size();
        perMode.put("batch", batch.size());
        r.notes.put("sentPerMode", perMode);

        DefaultMQPullConsumer pc = ctx.pullConsumer(ctx.name("CG_produce_check"));
        ctx.pullAll(pc, topic, ledger::receive, ledger::complete);
        r.add(ledger);
        long stored = ctx.storedCount(pc, topic);
        r.check(stored == r.sent, "stored count " + stored + " != sent " + r.sent);
        return r;
    }

    static Result sizeLimits(Ctx ctx) throws Exception {
        Result r = new Result("size_limits");
        String topic = ctx.name("T_size");
        ctx.createTopic(topic, 1);
        long max = ctx.maxMessageSize;
        r.notes.put("maxMessageSize", max);
        r.notes.put("maxMessageSizeSource", ctx.maxMessageSizeSource);
        DefaultMQProducer p = ctx.producer(ctx.name("PG_size"));
        Ledger ledger = new Ledger();

        // 0-byte body: rejected by the Java client itself (Validators.checkMessage), never reaches the broker.
        Message zero = ctx.msg(topic, "TagZero", null, new byte[0]);
        try {
            p.send(zero);
            r.fail("0-byte body accepted by client");
            ledger.expect(zero);
            r.sent++;
        } catch (MQClientException e) {
            r.notes.put("zeroBody", "MQClientException code=" + e.getResponseCode() + " " + e.getErrorMessage());
            r.check(e.getResponseCode() == 13, "0-byte body: code " + e.getResponseCode());
        }

        // exactly maxMessageSize-sized body (4 MiB), compressible: client compresses, broker stores it.
        int fourMiB = (int) Math.min(max, 4L << 20);
        Message big = ctx.msg(topic, "TagBig", "kbig", Ctx.textBody(fourMiB, "big"));
        Ledger.Expected be = ledger.expect(big);
        be.compressed = Boolean.TRUE;
        SendResult bsr = p.send(big);
        checkOk(r, bsr, "4 MiB compressible send");
        be.msgId = bsr.getMsgId();
        be.queueOffset = bsr.getQueueOffset();
        r.sent++;
        r.notes.put("body4MiBCompressible", "accepted");

        // body one byte over the client's maxMessageSize (4 MiB): client rejects before compression.
        Message over = ctx.msg(topic, "TagOver", null, Ctx.textBody(fourMiB + 1, "over"));
        try {
            p.send(over);
            r.fail("4 MiB + 1 body accepted");
            ledger.expect(over);
            r.sent++;
        } catch (MQClientException e) {
            r.notes.put("body4MiBPlus1", "MQClientException code=" + e.getResponseCode() + " " + e.getErrorMessage());
            r.check(e.getResponseCode() == 13, "4 MiB+1 body: code " + e.getResponseCode());
        }

        // broker limit (4.9.4 CommitLog.MessageExtEncoder): the stored BODY may be at most maxMessageSize bytes;
        // the record's header/topic/properties come on top. Uncompressed bodies from here on.
        DefaultMQProducer raw = ctx.producer(ctx.name("PG_size_raw"), x -> {
            x.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
            x.setMaxMessageSize((int) max + 1024); // let the client pass max+1 so the broker has to judge it
        });
        DefaultMQPullConsumer pc = ctx.pullConsumer(ctx.name("CG_size_check"));
        byte[] probeBody = ctx.randomBody(1000);
        Message probe = new Message(topic, null, null, 0, probeBody, true);
        SendResult psr = raw.send(probe);
        checkOk(r, psr, "probe send");
        r.sent++;
        MessageExt probeBack = pullAt(ctx, pc, psr.getMessageQueue(), psr.getQueueOffset());
        r.received++;
        r.check(java.util.Arrays.equals(probeBack.getBody(), probeBody), "probe body differs");
        int overhead = probeBack.getStoreSize() - probeBody.length;
        r.notes.put("recordOverheadBytes(no tags/keys, topic " + topic.length() + " chars)", overhead);
        try {
            MessageExt viewed = ctx.admin.viewMessage(psr.getOffsetMsgId());
            r.check(java.util.Arrays.equals(viewed.getBody(), probeBody), "viewMessage(offsetMsgId) body differs");
            r.check(viewed.getStoreSize() == probeBack.getStoreSize(), "viewMessage storeSize differs");
        } catch (Exception e) {
            r.fail("viewMessage(offsetMsgId) failed: " + e);
        }
        Message edge = new Message(topic, null, null, 0, ctx.randomBody((int) max), true);
        try {
            SendResult esr = raw.send(edge);
            checkOk(r, esr, "uncompressed body of exactly maxMessageSize");
            r.sent++;
            MessageExt got = pullAt(ctx, pc, esr.getMessageQueue(), esr.getQueueOffset());
            r.received++;
            r.check(got.getStoreSize() == max + overhead, "boundary storeSize " + got.getStoreSize() + " != " + (max + overhead));
            r.check(java.util.Arrays.equals(got.getBody(), edge.getBody()), "boundary body differs");
            r.check((got.getSysFlag() & 1) == 0, "boundary message stored compressed");
            r.notes.put("uncompressedBodyOfExactlyMax", "accepted, record " + got.getStoreSize() + " B");
        } catch (MQBrokerException e) {
            r.fail("body of exactly maxMessageSize rejected: code=" + e.getResponseCode() + " " + e.getErrorMessage());
        }
        Message edge1 = new Message(topic, null, null, 0, ctx.randomBody((int) max + 1), true);
        try {
            raw.send(edge1);
            r.fail("uncompressed body of maxMessageSize+1 accepted by broker");
            r.sent++;
        } catch (MQBrokerException e) {
            r.notes.put("uncompressedBodyOfMaxPlus1", "MQBrokerException code=" + e.getResponseCode() + " " + e.getErrorMessage());
            r.check(e.getResponseCode() == 13, "oversize body: code " + e.getResponseCode() + " (want 13 MESSAGE_ILLEGAL)");
            r.check(e.getErrorMessage() != null && e.getErrorMessage().startsWith("the message is illegal"),
                "oversize remark: " + e.getErrorMessage());
            // informational (remarks are not parsed by clients): does the text equal real 4.9.4's?
            String real = String.format("the message is illegal, maybe msg body or properties length not matched."
                + " msg body length limit %dB, msg properties length limit 32KB.", max);
            r.notes.put("oversizeRemarkEqualsReal494", real.equals(e.getErrorMessage()));
        }

        // read the compressible 4 MiB message back through the ledger
        ctx.pullAll(pc, topic, m -> {
            if (m.getUserProperty(Ledger.ID_PROP) != null) {
                ledger.receive(m);
            }
        }, ledger::complete);
        r.add(ledger);
        long stored = ctx.storedCount(pc, topic);
        r.check(stored == r.sent, "stored count " + stored + " != accepted " + r.sent);
        return r;
    }

    /** Pull exactly the message at (mq, offset), retrying while the consume queue has not caught up yet. */
    static MessageExt pullAt(Ctx ctx, DefaultMQPullConsumer pc, MessageQueue mq, long offset) throws Exception {
        MessageExt[] out = new MessageExt[1];
        ctx.await("message " + mq + "@" + offset, () -> {
            try {
                PullResult pr = pc.pull(mq, "*", offset, 1, 10000);
                if (pr.getPullStatus() == PullStatus.FOUND && pr.getMsgFoundList().get(0).getQueueOffset() == offset) {
                    out[0] = pr.getMsgFoundList().get(0);
                    return true;
                }
                return false;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return out[0];
    }

    static Result pullSeek(Ctx ctx) throws Exception {
        Result r = new Result("pull_seek");
        String topic = ctx.name("T_seek");
        ctx.createTopic(topic, 2);
        DefaultMQProducer p = ctx.producer(ctx.name("PG_seek"));
        List<MessageQueue> mqs = p.fetchPublishMessageQueues(topic);
        Map<String, Ledger.Expected> all = new LinkedHashMap<>();
        Map<String, String> byPos = new LinkedHashMap<>(); // "queueId@offset" -> id
        int perPhase = 10;
        long lastPhase1 = 0;
        long t = 0;
        for (int phase = 1; phase <= 2; phase++) {
            if (phase == 2) {
                // separate the phases in time: nearest-store-time search must land on phase 2's first message
                Thread.sleep(Math.max(0, lastPhase1 + 600 - System.currentTimeMillis()));
                t = System.currentTimeMillis();
            }
            for (int i = 0; i < perPhase; i++) {
                for (MessageQueue mq : mqs) {
                    Message m = ctx.msg(topic, "TagSeek" + phase, "kseek-" + phase + "-" + i, ctx.randomBody(64 + i));
                    m.putUserProperty("phase", Integer.toString(phase));
                    Ledger.Expected e = new Ledger.Expected(m.getUserProperty(Ledger.ID_PROP), m);
                    SendResult sr = p.send(m, mq);
                    checkOk(r, sr, "seek send");
                    e.msgId = sr.getMsgId();
                    e.queueId = sr.getMessageQueue().getQueueId();
                    e.queueOffset = sr.getQueueOffset();
                    all.put(e.id, e);
                    byPos.put(e.queueId + "@" + e.queueOffset, e.id);
                    r.sent++;
                }
            }
            lastPhase1 = System.currentTimeMillis();
        }

        DefaultLitePullConsumer lc = new DefaultLitePullConsumer(ctx.name("CG_seek"));
        lc.setNamesrvAddr(ctx.namesrv);
        lc.setInstanceName(ctx.name("lc"));
        lc.setAutoCommit(false);
        lc.setPullBatchSize(8);
        ctx.register(lc);
        lc.start();
        List<MessageQueue> assigned = new ArrayList<>(lc.fetchMessageQueues(topic));
        r.check(assigned.size() == mqs.size(), "lite pull sees " + assigned.size() + " queues");
        lc.assign(assigned);

        // A: seek by offset 5 -> offsets 5..19 of every queue
        long seekTo = 5;
        for (MessageQueue mq : assigned) {
            lc.seek(mq, seekTo);
        }
        Ledger a = pollStep(ctx, r, lc, all, byPos, assigned, seekTo, 2L * perPhase, "seek offset");

        // B: offsetForTimestamp(t) -> first phase-2 offset (10) in every queue, then seek there
        Map<String, Long> byTime = new LinkedHashMap<>();
        for (MessageQueue mq : assigned) {
            Long off = lc.offsetForTimestamp(mq, t);
            byTime.put("q" + mq.getQueueId(), off);
            r.check(off != null && off == perPhase, "offsetForTimestamp(q" + mq.getQueueId() + ") = " + off + " want " + perPhase);
            lc.seek(mq, off == null ? perPhase : off);
        }
        r.notes.put("offsetForTimestamp", byTime);
        Ledger b = pollStep(ctx, r, lc, all, byPos, assigned, perPhase, 2L * perPhase, "seek timestamp");

        // C: timestamp before the first message -> 0; in the future -> offset of the LAST message (19), not max (20):
        // 4.9.4 ConsumeQueue.getOffsetInQueueByTime answers the nearest stored entry.
        for (MessageQueue mq : assigned) {
            Long early = lc.offsetForTimestamp(mq, t - 3_600_000L);
            Long late = lc.offsetForTimestamp(mq, System.currentTimeMillis() + 3_600_000L);
            r.check(early != null && early == 0, "offsetForTimestamp(past) = " + early);
            r.check(late != null && late == 2L * perPhase - 1, "offsetForTimestamp(future) = " + late + " want " + (2 * perPhase - 1));
            r.notes.put("offsetForTimestamp_past_future_q" + mq.getQueueId(), early + "," + late);
        }
        r.add(a);
        r.add(b);
        return r;
    }

    /** Poll until every queue delivered offsets [from, to); each message must be the one stored at that position. */
    private static Ledger pollStep(Ctx ctx, Result r, DefaultLitePullConsumer lc, Map<String, Ledger.Expected> all,
        Map<String, String> byPos, List<MessageQueue> mqs, long from, long to, String step) throws Exception {
        Ledger l = new Ledger();
        for (MessageQueue mq : mqs) {
            for (long off = from; off < to; off++) {
                String id = byPos.get(mq.getQueueId() + "@" + off);
                if (id != null) {
                    l.expectCopy(all.get(id));
                }
            }
        }
        ctx.await(step + " delivers offsets " + from + ".." + (to - 1), () -> {
            for (MessageExt m : lc.poll(100)) {
                if (m.getQueueOffset() < from) {
                    r.fail(step + ": got offset " + m.getQueueOffset() + " before " + from);
                }
                l.receive(m);
            }
            return l.complete();
        });
        for (MessageExt m : lc.poll(300)) {
            l.receive(m); // late extras count as duplicates
        }
        return l;
    }
}
