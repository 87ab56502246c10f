package rmqlite.interop;

import com.alibaba.fastjson.JSONObject;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Delay-level and transactional-message scenarios.
 *
 * Rules:
 * 1. Delays come from the broker's own messageDelayLevel (GET_BROKER_CONFIG); a delayed message must arrive
 *    exactly once, never before born + delay, and (measured with the delivered record's store timestamp, the
 *    broker's clock) within rmqlite.delay.slackMs after its due time.
 * 2. Transactions: the listener decides per message (commit, rollback, unknown then commit/rollback at check-back,
 *    unknown twice, exception then commit). Only committed messages may arrive, exactly once, and never before the
 *    producer decided to commit.
 */
final class FeatureMessaging {
    private FeatureMessaging() {
    }

    private static final long QUIET_MS = 1500;

    private static long delayOf(long[] table, int level) {
        return level <= 0 ? 0 : table[Math.min(level, table.length) - 1];
    }

    // ---------------------------------------------------------------------------------------------- delay
    static Result delay(Ctx ctx) throws Exception {
        Result r = new Result("feat_delay");
        long[] table = FeatureScenarios.delayTable(ctx);
        long slack = FeatureScenarios.longProp("rmqlite.delay.slackMs", 100);
        String topic = ctx.name("T_fdelay");
        ctx.createTopic(topic, 2);
        Ledger ledger = new Ledger();
        Map<String, MessageExt> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = ctx.push(ctx.name("CG_fdelay"));
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                String id = m.getUserProperty(Ledger.ID_PROP);
                if (id != null) {
                    got.putIfAbsent(id, m);
                }
                ledger.receive(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        ctx.await("delay consumer holds 2 queues", () -> Ctx.assigned(c, topic).size() == 2);
        DefaultMQProducer p = ctx.producer(ctx.name("PG_fdelay"));
        int[] levels = {1, 2, 3, 0, 1, 2, 3, 99, 18, 1, 4, 0};
        Map<String, long[]> window = new LinkedHashMap<>();   // id -> {sendStart, sendEnd, delay}
        for (int i = 0; i < levels.length; i++) {
            Message m = ctx.msg(topic, "TagD" + levels[i], "kd-" + i, ctx.randomBody(40 + i));
            if (levels[i] > 0) {
                m.setDelayTimeLevel(levels[i]);
            }
            Ledger.Expected e = ledger.expect(m);
            long t0 = System.currentTimeMillis();
            SendResult sr = p.send(m);
            long t1 = System.currentTimeMillis();
            ProduceScenarios.checkOk(r, sr, "send");
            e.msgId = sr.getMsgId();
            e.queueId = sr.getMessageQueue().getQueueId();
            window.put(e.id, new long[] {t0, t1, delayOf(table, levels[i])});
            r.sent++;
        }
        ctx.await("delay: all delivered", ledger::complete);
        ctx.quiet(QUIET_MS);
        r.add(ledger);
        long maxLate = Long.MIN_VALUE;
        for (Map.Entry<String, long[]> w : window.entrySet()) {
            MessageExt m = got.get(w.getKey());
            if (m == null) {
                continue;
            }
            long[] t = w.getValue();
            long deliveredAt = t[2] == 0 ? t[1] : m.getStoreTimestamp();
            if (deliveredAt < t[0] + t[2] - 5) {
                r.fail("message " + w.getKey() + " delivered " + (t[0] + t[2] - deliveredAt) + " ms early");
            }
            long late = deliveredAt - (t[1] + t[2]);
            maxLate = Math.max(maxLate, late);
            if (t[2] > 0 && late > slack) {
                r.fail("message " + w.getKey() + " (delay " + t[2] + " ms) delivered " + late + " ms late");
            }
        }
        MessageExt sample = got.get(window.keySet().iterator().next());
        r.notes.put("maxLateMs", maxLate);
        r.notes.put("slackMs", slack);
        r.notes.put("deliveredDelayProperty", sample == null ? null : sample.getProperty(MessageConst.PROPERTY_DELAY_TIME_LEVEL));
        r.notes.put("deliveredRealTopic", sample == null ? null : sample.getProperty(MessageConst.PROPERTY_REAL_TOPIC));
        return r;
    }

    static Result delayRetry(Ctx ctx) throws Exception {
        Result r = new Result("feat_delay_retry");
        long[] table = FeatureScenarios.delayTable(ctx);
        long slack = FeatureScenarios.longProp("rmqlite.delay.slackMs", 100);
        String topic = ctx.name("T_fretry");
        ctx.createTopic(topic, 1);
        String group = ctx.name("CG_fretry");
        ctx.createTopic("%RETRY%" + group, 1);          // what the first heartbeat would create; route ready now
        Map<String, List<Long>> times = new ConcurrentHashMap<>();
        Map<String, List<Integer>> recon = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = ctx.push(group);
        c.setMaxReconsumeTimes(5);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            ConsumeConcurrentlyStatus status = ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            for (MessageExt m : msgs) {
                String id = m.getUserProperty(Ledger.ID_PROP);
                if (id == null) {
                    continue;
                }
                times.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>())).add(System.currentTimeMillis());
                recon.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>())).add(m.getReconsumeTimes());
                if (m.getReconsumeTimes() < 2) {
                    status = ConsumeConcurrentlyStatus.RECONSUME_LATER;   // delay level 0: broker uses 3 + reconsumeTimes
                }
            }
            return status;
        });
        c.start();
        ctx.await("retry consumer holds its queue", () -> Ctx.assigned(c, topic).size() == 1);
        DefaultMQProducer p = ctx.producer(ctx.name("PG_fretry"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Message m = ctx.msg(topic, "TagR", "kr-" + i, ctx.randomBody(30));
            ids.add(m.getUserProperty(Ledger.ID_PROP));
            ProduceScenarios.checkOk(r, p.send(m), "send");
            r.sent++;
        }
        ctx.await("three deliveries of every message", () -> {
            for (String id : ids) {
                if (recon.getOrDefault(id, Collections.emptyList()).size() < 3) {
                    return false;
                }
            }
            return true;
        });
        ctx.quiet(QUIET_MS);
        long[] want = {delayOf(table, 3), delayOf(table, 4)};
        List<Long> gaps = new ArrayList<>();
        for (String id : ids) {
            List<Integer> rc = recon.get(id);
            List<Long> t = times.get(id);
            r.received += rc.size();
            if (!rc.equals(java.util.Arrays.asList(0, 1, 2))) {
                r.fail("reconsumeTimes of " + id + " were " + rc + ", expected [0, 1, 2]");
                continue;
            }
            for (int k = 0; k < 2; k++) {
                long gap = t.get(k + 1) - t.get(k);
                gaps.add(gap);
                if (gap < want[k] - 50 || gap > want[k] + slack + 400) {
                    r.fail("retry " + (k + 1) + " of " + id + " came after " + gap + " ms, level " + (3 + k)
                        + " is " + want[k] + " ms");
                }
            }
        }
        r.notes.put("gapsMs", gaps);
        r.notes.put("expectedGapsMs", java.util.Arrays.asList(want[0], want[1]));
        return r;
    }

    static Result delayRestartSend(Ctx ctx) throws Exception {
        Result r = new Result("feat_delay_restart_send");
        long[] table = FeatureScenarios.delayTable(ctx);
        String topic = ctx.name("T_fdrestart");
        ctx.createTopic(topic, 2);
        DefaultMQProducer p = ctx.producer(ctx.name("PG_fdrestart"));
        List<Object> msgs = new ArrayList<>();
        int[] levels = {1, 7, 1, 7, 2, 7};
        for (int i = 0; i < levels.length; i++) {
            Message m = ctx.msg(topic, "TagDR", "kdr-" + i, ctx.randomBody(64));
            m.setDelayTimeLevel(levels[i]);
            long t0 = System.currentTimeMillis();
            SendResult sr = p.send(m);
            ProduceScenarios.checkOk(r, sr, "send");
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("id", m.getUserProperty(Ledger.ID_PROP));
            one.put("tags", m.getTags());
            one.put("keys", m.getKeys());
            one.put("body", Base64.getEncoder().encodeToString(m.getBody()));
            one.put("queueId", sr.getMessageQueue().getQueueId());
            one.put("msgId", sr.getMsgId());
            one.put("sentAt", t0);
            one.put("delayMs", delayOf(table, levels[i]));
            msgs.add(one);
            r.sent++;
        }
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("topic", topic);
        state.put("messages", msgs);
        FeatureScenarios.saveState(state);
        r.received = r.sent;             // nothing to receive in this phase
        return r;
    }

    static Result delayRestartRecv(Ctx ctx) throws Exception {
        Result r = new Result("feat_delay_restart_recv");
        JSONObject state = FeatureScenarios.loadState();
        String topic = state.getString("topic");
        long restartedAt = FeatureScenarios.longProp("rmqlite.restart.readyAt", 0);
        long slack = FeatureScenarios.longProp("rmqlite.delay.slackMs", 100);
        Ledger ledger = new Ledger();
        Map<String, Long> due = new ConcurrentHashMap<>();
        for (Object o : state.getJSONArray("messages")) {
            JSONObject one = (JSONObject) o;
            Message m = new Message(topic, one.getString("tags"), one.getString("keys"), 0,
                Base64.getDecoder().decode(one.getString("body")), true);
            m.putUserProperty(Ledger.ID_PROP, one.getString("id"));
            Ledger.Expected e = ledger.expect(m);
            e.msgId = one.getString("msgId");
            e.queueId = one.getIntValue("queueId");
            due.put(e.id, one.getLongValue("sentAt") + one.getLongValue("delayMs"));
            r.sent++;
        }
        Map<String, Long> storedAt = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = ctx.push(ctx.name("CG_fdrestart"));
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                String id = m.getUserProperty(Ledger.ID_PROP);
                if (id != null) {
                    storedAt.putIfAbsent(id, m.getStoreTimestamp());
                }
                ledger.receive(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        ctx.await("every delayed message sent before the restart", ledger::complete);
        ctx.quiet(QUIET_MS);
        r.add(ledger);
        for (Map.Entry<String, Long> d : due.entrySet()) {
            Long at = storedAt.get(d.getKey());
            if (at == null) {
                continue;
            }
            if (at < d.getValue() - 5) {
                r.fail("message " + d.getKey() + " delivered " + (d.getValue() - at) + " ms early");
            }
            long latest = Math.max(d.getValue(), restartedAt) + slack + 1000;
            if (restartedAt > 0 && at > latest) {
                r.fail("message " + d.getKey() + " delivered " + (at - latest) + " ms after it was due (or after restart)");
            }
        }
        return r;
    }

    // ---------------------------------------------------------------------------------------------- transactions
    private static final String[] TX_MODES = {"commit", "rollback", "unknown_commit", "unknown_rollback",
        "unknown_twice_commit", "throw_commit", "commit", "unknown_commit", "rollback", "unknown_rollback"};

    static Result transaction(Ctx ctx) throws Exception {
        Result r = new Result("feat_transaction");
        String topic = ctx.name("T_ftx");
        ctx.createTopic(topic, 2);
        Ledger ledger = new Ledger();
        Map<String, String> mode = new ConcurrentHashMap<>();
        Map<String, Long> committedAt = new ConcurrentHashMap<>();
        Map<String, Long> gotAt = new ConcurrentHashMap<>();
        Map<String, List<String>> checks = new ConcurrentHashMap<>();
        Map<String, String> deliveredCheckTimes = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = ctx.push(ctx.name("CG_ftx"));
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                String id = m.getUserProperty(Ledger.ID_PROP);
                if (id != null) {
                    gotAt.putIfAbsent(id, System.currentTimeMillis());
                    deliveredCheckTimes.put(id, String.valueOf(m.getProperty(MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES)));
                }
                // committed after a check-back: the message keeps TRANSACTION_CHECK_TIMES (as the Java broker does)
                org.apache.rocketmq.common.message.MessageAccessor.clearProperty(m, MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES);
                ledger.receive(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        ctx.await("tx consumer holds 2 queues", () -> Ctx.assigned(c, topic).size() == 2);
        TransactionMQProducer p = txProducer(ctx, ctx.name("PG_ftx"), new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                String id = msg.getUserProperty(Ledger.ID_PROP);
                String md = mode.get(id);
                if (md.equals("commit")) {
                    committedAt.put(id, System.currentTimeMillis());
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                if (md.equals("rollback")) {
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                if (md.startsWith("throw")) {
                    throw new IllegalStateException("local transaction failed on purpose");
                }
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String id = msg.getUserProperty(Ledger.ID_PROP);
                String md = mode.get(id);
                List<String> seen = checks.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>()));
                seen.add(String.valueOf(msg.getProperty(MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES)));
                if (md == null || md.equals("commit") || md.equals("rollback")) {
                    r.fail("check-back for a message already ended: " + id + " (" + md + ")");
                    return LocalTransactionState.UNKNOW;
                }
                if (md.equals("unknown_twice_commit") && seen.size() < 2) {
                    return LocalTransactionState.UNKNOW;
                }
                if (md.endsWith("commit")) {
                    committedAt.putIfAbsent(id, System.currentTimeMillis());
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                return LocalTransactionState.ROLLBACK_MESSAGE;
            }
        });
        for (int i = 0; i < TX_MODES.length; i++) {
            Message m = ctx.msg(topic, "TagTx", "ktx-" + i, ctx.randomBody(80 + i));
            String id = m.getUserProperty(Ledger.ID_PROP);
            mode.put(id, TX_MODES[i]);
            Ledger.Expected e = null;
            if (TX_MODES[i].endsWith("commit")) {
                e = ledger.expect(m);
            } else {
                ledger.forbid(m);
            }
            TransactionSendResult sr = p.sendMessageInTransaction(m, null);
            ProduceScenarios.checkOk(r, sr, "sendMessageInTransaction");
            if (e != null) {
                e.msgId = sr.getMsgId();
                e.queueId = sr.getMessageQueue().getQueueId();
            }
            r.sent++;
        }
        ctx.await("tx: every committed message delivered", ledger::complete);
        ctx.quiet(Math.max(QUIET_MS, 2 * FeatureScenarios.longProp("rmqlite.tx.checkIntervalMs", 1000)));
        r.add(ledger);
        for (Map.Entry<String, Long> g : gotAt.entrySet()) {
            Long decided = committedAt.get(g.getKey());
            if (decided != null && g.getValue() < decided) {
                r.fail("message " + g.getKey() + " delivered before the producer committed it (half message visible)");
            }
        }
        int maxChecks = 0;
        for (Map.Entry<String, List<String>> ck : checks.entrySet()) {
            maxChecks = Math.max(maxChecks, ck.getValue().size());
            if (mode.get(ck.getKey()).equals("unknown_twice_commit") && !ck.getValue().equals(java.util.Arrays.asList("1", "2"))) {
                r.fail("check-backs of the twice-unknown message carried TRANSACTION_CHECK_TIMES " + ck.getValue());
            }
        }
        int expectChecked = 0;
        for (String md : TX_MODES) {
            expectChecked += md.startsWith("unknown") || md.startsWith("throw") ? 1 : 0;
        }
        r.check(checks.size() == expectChecked, "check-backs for " + checks.size() + " messages, expected " + expectChecked);
        for (Map.Entry<String, String> d : deliveredCheckTimes.entrySet()) {
            List<String> seen = checks.get(d.getKey());
            String want = seen == null ? "null" : seen.get(seen.size() - 1);
            if (!want.equals(d.getValue())) {
                r.fail("committed message " + d.getKey() + " carries TRANSACTION_CHECK_TIMES=" + d.getValue() + ", last check had " + want);
            }
        }
        r.notes.put("checkedMessages", checks.size());
        r.notes.put("checkTimesSeen", checks.values());
        return r;
    }

    static TransactionMQProducer txProducer(Ctx ctx, String group, TransactionListener listener) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(group);
        p.setNamesrvAddr(ctx.namesrv);
        p.setInstanceName(ctx.name("txp"));
        p.setSendMsgTimeout(15000);
        p.setTransactionListener(listener);
        ctx.register(p);
        p.start();
        return p;
    }

    static Result transactionRestartSend(Ctx ctx) throws Exception {
        Result r = new Result("feat_transaction_restart_send");
        String topic = ctx.name("T_ftxrestart");
        ctx.createTopic(topic, 2);
        String group = ctx.name("PG_ftxrestart");
        AtomicInteger checked = new AtomicInteger();
        TransactionMQProducer p = txProducer(ctx, group, new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                checked.incrementAndGet();
                return LocalTransactionState.UNKNOW;
            }
        });
        List<Object> msgs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Message m = ctx.msg(topic, "TagTxR", "ktxr-" + i, ctx.randomBody(48));
            TransactionSendResult sr = p.sendMessageInTransaction(m, null);
            ProduceScenarios.checkOk(r, sr, "sendMessageInTransaction");
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("id", m.getUserProperty(Ledger.ID_PROP));
            one.put("tags", m.getTags());
            one.put("keys", m.getKeys());
            one.put("body", Base64.getEncoder().encodeToString(m.getBody()));
            one.put("queueId", sr.getMessageQueue().getQueueId());
            one.put("msgId", sr.getMsgId());
            msgs.add(one);
            r.sent++;
        }
        p.shutdown();
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("topic", topic);
        state.put("group", group);
        state.put("messages", msgs);
        FeatureScenarios.saveState(state);
        r.received = r.sent;
        r.notes.put("checkedBeforeShutdown", checked.get());
        return r;
    }

    static Result transactionRestartRecv(Ctx ctx) throws Exception {
        Result r = new Result("feat_transaction_restart_recv");
        JSONObject state = FeatureScenarios.loadState();
        String topic = state.getString("topic");
        Ledger ledger = new Ledger();
        Map<String, String> ids = new ConcurrentHashMap<>();
        for (Object o : state.getJSONArray("messages")) {
            JSONObject one = (JSONObject) o;
            Message m = new Message(topic, one.getString("tags"), one.getString("keys"), 0,
                Base64.getDecoder().decode(one.getString("body")), true);
            m.putUserProperty(Ledger.ID_PROP, one.getString("id"));
            Ledger.Expected e = ledger.expect(m);
            e.msgId = one.getString("msgId");
            e.queueId = one.getIntValue("queueId");
            ids.put(e.id, "");
            r.sent++;
        }
        Map<String, String> checkTimes = new ConcurrentHashMap<>();
        txProducer(ctx, state.getString("group"), new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String id = msg.getUserProperty(Ledger.ID_PROP);
                checkTimes.put(String.valueOf(id), String.valueOf(msg.getProperty(MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES)));
                return ids.containsKey(id) ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.ROLLBACK_MESSAGE;
            }
        });
        DefaultMQPushConsumer c = ctx.push(ctx.name("CG_ftxrestart"));
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                org.apache.rocketmq.common.message.MessageAccessor.clearProperty(m, MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES);
                ledger.receive(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        ctx.await("every half message of the first phase committed by check-back", ledger::complete);
        ctx.quiet(QUIET_MS);
        r.add(ledger);
        r.notes.put("checkTimes", checkTimes);
        r.check(checkTimes.keySet().containsAll(ids.keySet()), "check-back did not reach every pending message");
        return r;
    }
}
