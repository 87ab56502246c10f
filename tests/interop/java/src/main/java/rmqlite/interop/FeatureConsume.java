package rmqlite.interop;

import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;

/**
 * Broadcasting with client-side offsets, and orderly consumption across a rebalance.
 *
 * Rules:
 * 1. broadcast_offsets: a broadcasting consumer consumes batch A and shuts down (offsets saved in its local offset
 *    file); batch B is sent; the same consumer instance restarts and must get exactly batch B.
 * 2. orderly_rebalance: consumer A (orderly) owns 4 queues; half of the keyed sequences are sent, consumer B joins,
 *    queue locks move (2 + 2), the rest is sent. Every (key, seq) arrives; per consumer, per key the sequence only
 *    goes up; at a hand-over the new owner starts at most one past where the old owner stopped (re-deliveries from
 *    the last committed offset are allowed and counted, gaps and reordering are not).
 */
final class FeatureConsume {
    private FeatureConsume() {
    }

    private static DefaultMQPushConsumer broadcaster(Ctx ctx, String group, String instance, String topic, Ledger l)
        throws Exception {
        DefaultMQPushConsumer c = ctx.push(group);
        c.setInstanceName(instance);
        c.setMessageModel(MessageModel.BROADCASTING);
        // let shutdown() wait for running listeners, so the offsets it persists cover every counted message
        c.setAwaitTerminationMillisWhenShutdown(5000);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                l.receive(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        return c;
    }

    static Result broadcastOffsets(Ctx ctx) throws Exception {
        Result r = new Result("feat_broadcast_offsets");
        String topic = ctx.name("T_fbcast");
        ctx.createTopic(topic, 2);
        String group = ctx.name("CG_fbcast");
        String instance = ctx.name("bcast");
        DefaultMQProducer p = ctx.producer(ctx.name("PG_fbcast"));
        Ledger first = new Ledger();
        DefaultMQPushConsumer c1 = broadcaster(ctx, group, instance, topic, first);
        ctx.await("broadcast consumer holds 2 queues", () -> Ctx.assigned(c1, topic).size() == 2);
        send(ctx, r, p, topic, "A", 5, first);
        ctx.await("batch A consumed", first::complete);
        c1.shutdown();                            // persists the local offsets
        Ledger second = new Ledger();
        List<Message> batchA = new ArrayList<>();
        for (Ledger.Expected e : first.all()) {
            Message m = new Message(topic, e.tags, e.keys, 0, e.body, true);
            m.putUserProperty(Ledger.ID_PROP, e.id);
            batchA.add(m);
        }
        for (Message m : batchA) {
            second.forbid(m);
        }
        send(ctx, r, p, topic, "B", 5, second);
        DefaultMQPushConsumer c2 = broadcaster(ctx, group, instance, topic, second);
        ctx.await("restarted broadcast consumer got batch B", second::complete);
        ctx.quiet(1500);
        r.add(first);
        r.add(second);
        File dir = new File(System.getProperty("rocketmq.client.localOffsetStoreDir"));
        r.notes.put("localOffsetFiles", countOffsetFiles(dir, group));
        r.check(countOffsetFiles(dir, group) > 0, "no local offsets.json for " + group + " under " + dir);
        c2.shutdown();
        return r;
    }

    private static int countOffsetFiles(File dir, String group) {
        File[] kids = dir.listFiles();
        int n = 0;
        if (kids == null) {
            return 0;
        }
        for (File k : kids) {
            if (k.isDirectory()) {
                n += k.getName().equals(group) && new File(k, "offsets.json").exists() ? 1 : countOffsetFiles(k, group);
            }
        }
        return n;
    }

    private static void send(Ctx ctx, Result r, DefaultMQProducer p, String topic, String batch, int n, Ledger l)
        throws Exception {
        for (int i = 0; i < n; i++) {
            Message m = ctx.msg(topic, "TagB" + batch, "kb-" + batch + i, ctx.randomBody(24));
            Ledger.Expected e = l.expect(m);
            SendResult sr = p.send(m);
            ProduceScenarios.checkOk(r, sr, "send");
            e.msgId = sr.getMsgId();
            r.sent++;
        }
    }

    // ---------------------------------------------------------------------------------------------- orderly
    static final class Delivery {
        final String consumer;
        final int key;
        final int seq;

        Delivery(String consumer, int key, int seq) {
            this.consumer = consumer;
            this.key = key;
            this.seq = seq;
        }
    }

    private static DefaultMQPushConsumer orderly(Ctx ctx, String name, String group, String topic,
        List<Delivery> log) throws Exception {
        DefaultMQPushConsumer c = ctx.push(group);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerOrderly) (msgs, context) -> {
            for (MessageExt m : msgs) {
                String k = m.getUserProperty("key");
                if (k != null) {
                    log.add(new Delivery(name, Integer.parseInt(k), Integer.parseInt(m.getUserProperty("seq"))));
                }
            }
            try {
                Thread.sleep(3);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        c.start();
        return c;
    }

    static Result orderlyRebalance(Ctx ctx) throws Exception {
        Result r = new Result("feat_orderly_rebalance");
        String topic = ctx.name("T_forder");
        ctx.createTopic(topic, 4);
        String group = ctx.name("CG_forder");
        List<Delivery> log = Collections.synchronizedList(new ArrayList<>());
        DefaultMQPushConsumer a = orderly(ctx, "A", group, topic, log);
        ctx.await("consumer A holds 4 queues", () -> Ctx.assigned(a, topic).size() == 4);
        DefaultMQProducer p = ctx.producer(ctx.name("PG_forder"));
        int keys = 8;
        int[] seq = {0};
        for (int s = 0; s < 10; s++) {
            sendRound(ctx, r, p, topic, keys, seq[0]++);
        }
        ctx.await("A consumes every key before B joins", () -> {
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            synchronized (log) {
                for (Delivery d : log) {
                    seen.add(d.key);
                }
            }
            return seen.size() == keys;
        });
        DefaultMQPushConsumer b = orderly(ctx, "B", group, topic, log);
        // keep the keys flowing until the queue locks have moved (B locks what A released: on A's rebalance, or at
        // B's periodic lock / rebalance), then a little more
        ctx.await("locks moved: A and B hold 2 queues each", () -> {
            try {
                sendRound(ctx, r, p, topic, keys, seq[0]++);
                Thread.sleep(100);
            } catch (Exception e) {
                r.fail("send: " + e);
            }
            return Ctx.assigned(a, topic).size() == 2 && Ctx.assigned(b, topic).size() == 2;
        });
        for (int s = 0; s < 10; s++) {
            sendRound(ctx, r, p, topic, keys, seq[0]++);
        }
        int perKey = seq[0];
        ctx.await("every (key, seq) delivered", () -> distinct(log) == keys * perKey);
        ctx.quiet(1500);
        List<Delivery> snapshot;
        synchronized (log) {
            snapshot = new ArrayList<>(log);
        }
        int dups = snapshot.size() - distinct(snapshot);
        r.received = distinct(snapshot);
        Map<String, Integer> lastByOwner = new ConcurrentHashMap<>();
        Map<Integer, Integer> maxSeen = new ConcurrentHashMap<>();
        Map<Integer, String> owner = new ConcurrentHashMap<>();
        int handovers = 0;
        for (Delivery d : snapshot) {
            String ok = d.consumer + "/" + d.key;
            Integer last = lastByOwner.get(ok);
            String prevOwner = owner.put(d.key, d.consumer);
            if (prevOwner != null && !prevOwner.equals(d.consumer)) {
                handovers++;
                int top = maxSeen.getOrDefault(d.key, -1);
                if (d.seq > top + 1) {
                    r.fail("key " + d.key + ": " + d.consumer + " took over at seq " + d.seq + " after " + prevOwner
                        + " stopped at " + top);
                }
                last = null;
            }
            if (last != null && d.seq <= last) {
                r.fail("key " + d.key + " out of order at " + d.consumer + ": " + d.seq + " after " + last);
            }
            lastByOwner.put(ok, d.seq);
            maxSeen.merge(d.key, d.seq, Math::max);
        }
        r.notes.put("deliveries", snapshot.size());
        int byB = 0;
        for (Delivery d : snapshot) {
            byB += d.consumer.equals("B") ? 1 : 0;
        }
        r.notes.put("deliveredByB", byB);
        Map<String, Integer> perOwnerKey = new java.util.TreeMap<>();
        for (Delivery d : snapshot) {
            perOwnerKey.merge(d.consumer + d.key, 1, Integer::sum);
        }
        r.notes.put("perOwnerKey", perOwnerKey);
        r.notes.put("queuesA", Ctx.assigned(a, topic).toString());
        r.notes.put("queuesB", Ctx.assigned(b, topic).toString());
        r.notes.put("redeliveredAfterHandover", dups);
        r.notes.put("handovers", handovers);
        r.check(handovers > 0, "no key moved from A to B: the rebalance did not hand any queue over");
        return r;
    }

    private static void sendRound(Ctx ctx, Result r, DefaultMQProducer p, String topic, int keys, int seq)
        throws Exception {
        for (int k = 0; k < keys; k++) {
            Message m = ctx.msg(topic, "TagO", "ko-" + k, ctx.randomBody(8));
            m.putUserProperty("key", Integer.toString(k));
            m.putUserProperty("seq", Integer.toString(seq));
            SendResult sr = p.send(m, (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), k);
            ProduceScenarios.checkOk(r, sr, "send");
            r.sent++;
        }
    }

    private static int distinct(List<Delivery> log) {
        java.util.Set<String> s = new java.util.HashSet<>();
        synchronized (log) {
            for (Delivery d : log) {
                s.add(d.key + ":" + d.seq);
            }
        }
        return s.size();
    }
}
