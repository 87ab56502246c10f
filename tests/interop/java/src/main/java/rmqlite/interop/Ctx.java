package rmqlite.interop;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.constant.PermName;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.route.BrokerData;
import org.apache.rocketmq.common.protocol.route.QueueData;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * Shared run environment (namesrv, one admin client, broker facts) plus per-scenario helpers.
 *
 * Rules:
 * 1. Every topic / group / instance name gets the run id and a counter, so scenarios never share state.
 * 2. Topics are created with DefaultMQAdminExt.createAndUpdateTopicConfig on every master broker
 *    (UPDATE_AND_CREATE_TOPIC), then we poll the namesrv route until all queues are visible.
 * 3. All waits are bounded by the current scenario deadline; {@link #await} throws TimeoutException with a text.
 * 4. Clients created through this class are closed by {@link #closeAll} after each scenario.
 */
final class Ctx {
    final String namesrv;
    final String runId;
    final DefaultMQAdminExt admin;
    final List<String> masterAddrs = new ArrayList<>();
    long maxMessageSize = 4L * 1024 * 1024;
    String maxMessageSizeSource = "default (GET_BROKER_CONFIG failed)";
    private final AtomicInteger counter = new AtomicInteger();
    private final List<Object> clients = new ArrayList<>();
    private long deadlineNanos;
    final Random random;

    Ctx(String namesrv, String runId, long seed) throws Exception {
        this.namesrv = namesrv;
        this.runId = runId;
        this.random = new Random(seed);
        this.deadlineNanos = System.nanoTime() + 60_000_000_000L;
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("admin_" + runId);
        admin.setAdminExtGroup("rmqlite_admin_" + runId);
        admin.start();
    }

    /** Look up master brokers and the broker's maxMessageSize (bounded by the current deadline). */
    void discover() throws Exception {
        await("broker registered in namesrv", () -> {
            try {
                ClusterInfo ci = admin.examineBrokerClusterInfo();
                masterAddrs.clear();
                for (BrokerData bd : ci.getBrokerAddrTable().values()) {
                    String a = bd.getBrokerAddrs().get(0L);
                    if (a != null) {
                        masterAddrs.add(a);
                    }
                }
                return !masterAddrs.isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        try {
            Properties p = admin.getBrokerConfig(masterAddrs.get(0));
            String v = p.getProperty("maxMessageSize");
            if (v != null) {
                maxMessageSize = Long.parseLong(v.trim());
                maxMessageSizeSource = "GET_BROKER_CONFIG";
            }
        } catch (Exception e) {
            maxMessageSizeSource = "default (GET_BROKER_CONFIG failed: " + e + ")";
        }
    }

    void setDeadline(long seconds) {
        deadlineNanos = System.nanoTime() + seconds * 1_000_000_000L;
    }

    long remainingMs() {
        return Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000L);
    }

    /** Wait (polling every 20 ms) until cond holds; TimeoutException naming what at the scenario deadline. */
    void await(String what, BooleanSupplier cond) throws TimeoutException, InterruptedException {
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadlineNanos) {
                throw new TimeoutException("deadline while waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Quiet period after everything arrived, to catch late duplicates (never beyond the deadline). */
    void quiet(long ms) throws InterruptedException {
        Thread.sleep(Math.min(ms, remainingMs()));
    }

    String name(String base) {
        return base + "_" + runId + "_" + counter.incrementAndGet();
    }

    /** Create topic with the given queue count on every master and wait until the namesrv route shows it. */
    void createTopic(String topic, int queues) throws Exception {
        for (String addr : masterAddrs) {
            TopicConfig tc = new TopicConfig(topic, queues, queues, PermName.PERM_READ | PermName.PERM_WRITE);
            admin.createAndUpdateTopicConfig(addr, tc);
        }
        waitRoute(topic, queues * masterAddrs.size());
    }

    /** Wait until the namesrv route of topic has at least `queues` readable+writable queues. */
    void waitRoute(String topic, int queues) throws Exception {
        await("route of " + topic, () -> {
            try {
                TopicRouteData r = admin.examineTopicRouteInfo(topic);
                int n = 0;
                for (QueueData q : r.getQueueDatas()) {
                    n += Math.min(q.getReadQueueNums(), q.getWriteQueueNums());
                }
                return n >= queues;
            } catch (Exception e) {
                return false;
            }
        });
    }

    /** Wait until the namesrv route of topic has any readable queue (for broker-created topics like %DLQ%). */
    void waitReadableRoute(String topic) throws Exception {
        await("readable route of " + topic, () -> {
            try {
                TopicRouteData r = admin.examineTopicRouteInfo(topic);
                for (QueueData q : r.getQueueDatas()) {
                    if (q.getReadQueueNums() > 0 && PermName.isReadable(q.getPerm())) {
                        return true;
                    }
                }
                return false;
            } catch (Exception e) {
                return false;
            }
        });
    }

    DefaultMQProducer producer(String group) throws Exception {
        return producer(group, p -> { });
    }

    /** Started producer; configure runs before start(). */
    DefaultMQProducer producer(String group, Consumer<DefaultMQProducer> configure) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(name("p"));
        p.setSendMsgTimeout(15000);
        configure.accept(p);
        register(p);
        p.start();
        return p;
    }

    /** Push consumer (not started): own instance name, consume from first offset. */
    DefaultMQPushConsumer push(String group) {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(name("c"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setConsumeThreadMin(4);
        c.setConsumeThreadMax(4);
        register(c);
        return c;
    }

    DefaultMQPullConsumer pullConsumer(String group) throws Exception {
        DefaultMQPullConsumer c = new DefaultMQPullConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(name("pc"));
        register(c);
        c.start();
        return c;
    }

    void register(Object client) {
        synchronized (clients) {
            clients.add(client);
        }
    }

    /** Queues of topic currently held (rebalanced to) by a push consumer. */
    static Set<MessageQueue> assigned(DefaultMQPushConsumer c, String topic) {
        Set<MessageQueue> out = new HashSet<>();
        Map<MessageQueue, ProcessQueue> t = c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable();
        for (Map.Entry<MessageQueue, ProcessQueue> e : t.entrySet()) {
            if (e.getKey().getTopic().equals(topic) && !e.getValue().isDropped()) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    /**
     * Pull every queue of topic from offset 0 with DefaultMQPullConsumer (explicit offsets, PULL_MESSAGE) and hand
     * each message to sink, until done() holds and a full sweep found nothing new (so every stored message is
     * seen, duplicates included); bounded by the deadline.
     */
    void pullAll(DefaultMQPullConsumer pc, String topic, Consumer<MessageExt> sink, BooleanSupplier done)
        throws Exception {
        Collection<MessageQueue> mqs = pc.fetchSubscribeMessageQueues(topic);
        java.util.Map<MessageQueue, Long> next = new java.util.HashMap<>();
        for (MessageQueue mq : mqs) {
            next.put(mq, 0L);
        }
        while (true) {
            if (System.nanoTime() > deadlineNanos) {
                throw new TimeoutException("deadline while pulling " + topic + " at " + next);
            }
            boolean progressed = false;
            for (MessageQueue mq : mqs) {
                PullResult r = pc.pull(mq, "*", next.get(mq), 32, Math.max(1000, Math.min(10000, remainingMs())));
                if (r.getPullStatus() == PullStatus.FOUND) {
                    for (MessageExt m : r.getMsgFoundList()) {
                        sink.accept(m);
                    }
                    progressed = true;
                }
                next.put(mq, r.getNextBeginOffset());
            }
            if (!progressed) {
                if (done.getAsBoolean()) {
                    return;
                }
                Thread.sleep(50);
            }
        }
    }

    /** Sum of max offsets of all queues of topic (= number of messages stored when the topic is fresh). */
    long storedCount(DefaultMQPullConsumer pc, String topic) throws Exception {
        long n = 0;
        for (MessageQueue mq : pc.fetchSubscribeMessageQueues(topic)) {
            n += pc.maxOffset(mq) - pc.minOffset(mq);
        }
        return n;
    }

    /** A message carrying a fresh unique id property. */
    Message msg(String topic, String tags, String keys, byte[] body) {
        Message m = new Message(topic, tags, keys, 0, body, true);
        m.putUserProperty(Ledger.ID_PROP, name("m"));
        return m;
    }

    /** Random (incompressible) bytes. */
    byte[] randomBody(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** Highly compressible bytes (repeating text with a counter). */
    static byte[] textBody(int n, String seed) {
        byte[] b = new byte[n];
        byte[] pat = ("rmqlite interop " + seed + " 0123456789 abcdefghijklmnopqrstuvwxyz\n").getBytes();
        for (int i = 0; i < n; i++) {
            b[i] = pat[i % pat.length];
        }
        return b;
    }

    /** Shut down every client created for the current scenario (errors ignored). */
    void closeAll() {
        List<Object> copy;
        synchronized (clients) {
            copy = new ArrayList<>(clients);
            clients.clear();
        }
        for (Object o : copy) {
            try {
                if (o instanceof DefaultMQProducer) {
                    ((DefaultMQProducer) o).shutdown();
                } else if (o instanceof DefaultMQPushConsumer) {
                    ((DefaultMQPushConsumer) o).shutdown();
                } else if (o instanceof DefaultMQPullConsumer) {
                    ((DefaultMQPullConsumer) o).shutdown();
                } else if (o instanceof org.apache.rocketmq.client.consumer.DefaultLitePullConsumer) {
                    ((org.apache.rocketmq.client.consumer.DefaultLitePullConsumer) o).shutdown();
                }
            } catch (Exception e) {
                System.err.println("shutdown failed: " + e);
            }
        }
    }

    void shutdown() {
        closeAll();
        admin.shutdown();
    }
}
