package rmqlite.bench;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.route.BrokerData;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * The step implementations (see LoadGen for the step syntax).
 *
 * Rules:
 * 1. Every step makes its own producer/consumer with a unique group and instance name and shuts it down after.
 * 2. A phase word drives timed steps: 0 warmup (samples dropped), 1 measuring, 2 stop. TPS = measured
 *    successes / measured wall time.
 * 3. Waits are bounded: threads are joined for at most 15 s after the end; consumers stop after `idle` s without
 *    progress.
 */
final class Steps {
    private static final int SEND_TIMEOUT_MS = 5000;
    private final String namesrv;
    private final String runId = Long.toString(System.currentTimeMillis() % 10_000_000L);
    private final AtomicInteger seq = new AtomicInteger();
    private final Random random = new Random(42);
    private DefaultMQAdminExt admin;

    Steps(String namesrv) {
        this.namesrv = namesrv;
    }

    Json run(String kind, Map<String, String> kv) throws Exception {
        switch (kind) {
            case "topic": return topic(kv.get("name"), intArg(kv, "queues", 8));
            case "sync": return timedSend(kv, false);
            case "batch": return timedSend(kv, true);
            case "async": return async(kv);
            case "fill": return fill(kv);
            case "consume": return consume(kv);
            case "e2e": return e2e(kv);
            default: throw new IllegalArgumentException("unknown step kind " + kind);
        }
    }

    void close() {
        if (admin != null) {
            admin.shutdown();
        }
    }

    // ------------------------------------------------------------------ helpers
    private static int intArg(Map<String, String> kv, String key, int dflt) {
        String v = kv.get(key);
        return v == null ? dflt : Integer.parseInt(v);
    }

    private static double dblArg(Map<String, String> kv, String key, double dflt) {
        String v = kv.get(key);
        return v == null ? dflt : Double.parseDouble(v);
    }

    private String unique(String prefix) {
        return prefix + "_" + runId + "_" + seq.incrementAndGet();
    }

    private byte[] body(int size) {
        byte[] b = new byte[size];
        random.nextBytes(b);
        return b;
    }

    private DefaultMQProducer producer() throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(unique("bench_p"));
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(unique("benchp"));
        p.setRetryTimesWhenSendFailed(0);
        p.setRetryTimesWhenSendAsyncFailed(0);
        p.setSendMsgTimeout(SEND_TIMEOUT_MS);
        p.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        p.start();
        return p;
    }

    /** The exception and its root cause (the client wraps broker answers in "Send [1] times, still failed"). */
    static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? e.toString() : e.toString().split("\n")[0] + " <- " + root;
    }

    private static void sleepNanos(long nanos) throws InterruptedException {
        if (nanos > 0) {
            TimeUnit.NANOSECONDS.sleep(nanos);
        }
    }

    private static Json latencyFields(Json out, List<Recorder> recs, String prefix) {
        double[] s = Recorder.summary(recs);
        return out.put(prefix + "avg_ms", s[1]).put(prefix + "p50_ms", s[2]).put(prefix + "p99_ms", s[3])
                .put(prefix + "p999_ms", s[4]).put(prefix + "max_ms", s[5]);
    }

    private static void progress(String what, long count, long failed) {
        System.err.printf("[loadgen] %s count=%d failed=%d%n", what, count, failed);
    }

    // ------------------------------------------------------------------ topic
    private DefaultMQAdminExt admin() throws Exception {
        if (admin == null) {
            admin = new DefaultMQAdminExt();
            admin.setNamesrvAddr(namesrv);
            admin.setInstanceName(unique("benchadmin"));
            admin.start();
        }
        return admin;
    }

    private Json topic(String name, int queues) throws Exception {
        long t0 = System.nanoTime();
        ClusterInfo ci = admin().examineBrokerClusterInfo();
        List<String> masters = new ArrayList<>();
        for (BrokerData bd : ci.getBrokerAddrTable().values()) {
            String addr = bd.getBrokerAddrs().get(0L);
            if (addr != null) {
                masters.add(addr);
            }
        }
        if (masters.isEmpty()) {
            throw new IllegalStateException("no master broker in cluster info");
        }
        for (String addr : masters) {
            admin().createAndUpdateTopicConfig(addr, new TopicConfig(name, queues, queues, 6));
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try {
                TopicRouteData route = admin().examineTopicRouteInfo(name);
                if (route.getQueueDatas().size() >= masters.size()) {
                    break;
                }
            } catch (Exception e) {
                // route not there yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("route for " + name + " did not appear");
            }
            Thread.sleep(100);
        }
        return new Json().put("kind", "topic").put("topic", name).put("masters", masters.size())
                .put("seconds", (System.nanoTime() - t0) / 1e9);
    }

    // ------------------------------------------------------------------ sync / batch
    private Json timedSend(Map<String, String> kv, boolean batched) throws Exception {
        String topic = kv.get("topic");
        int size = intArg(kv, "size", 1024);
        int inflight = intArg(kv, "inflight", 1);
        int batch = batched ? intArg(kv, "batch", 32) : 1;
        double seconds = dblArg(kv, "seconds", 5);
        double warmup = dblArg(kv, "warmup", 1);
        byte[] body = body(size);
        DefaultMQProducer p = producer();
        AtomicInteger phase = new AtomicInteger();
        AtomicLong failed = new AtomicLong();
        AtomicLong sent = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        List<Recorder> recs = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < inflight; i++) {
            Recorder rec = new Recorder();
            recs.add(rec);
            Thread t = new Thread(() -> {
                while (phase.get() < 2) {
                    List<Message> msgs = new ArrayList<>(batch);
                    for (int k = 0; k < batch; k++) {
                        msgs.add(new Message(topic, body));
                    }
                    long t0 = System.nanoTime();
                    boolean ok;
                    try {
                        SendResult r = batched ? p.send(msgs) : p.send(msgs.get(0));
                        ok = r.getSendStatus() == SendStatus.SEND_OK;
                        if (!ok) {
                            firstError.compareAndSet(null, r.getSendStatus().toString());
                        }
                    } catch (Exception e) {
                        ok = false;
                        firstError.compareAndSet(null, describe(e));
                    }
                    long dt = System.nanoTime() - t0;
                    if (phase.get() == 1) {
                        if (ok) {
                            rec.add(dt);
                            sent.addAndGet(batch);
                        } else {
                            failed.addAndGet(batch);
                        }
                    }
                    if (!ok) {
                        try {
                            Thread.sleep(5);
                        } catch (InterruptedException ie) {
                            return;
                        }
                    }
                }
            }, "send-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        sleepNanos((long) (warmup * 1e9));
        phase.set(1);
        long start = System.nanoTime();
        sleepNanos((long) (seconds * 1e9));
        phase.set(2);
        long end = System.nanoTime();
        for (Thread t : threads) {
            t.join(15000);
        }
        p.shutdown();
        double wall = (end - start) / 1e9;
        progress(batched ? "batch" : "sync", sent.get(), failed.get());
        Json out = new Json().put("kind", batched ? "batch" : "sync").put("topic", topic).put("size", size)
                .put("inflight", inflight).put("batch", batch).put("seconds", wall).put("count", sent.get())
                .put("failed", failed.get()).put("tps", sent.get() / wall);
        latencyFields(out, recs, "rt_");
        return out.put("error", firstError.get());
    }

    // ------------------------------------------------------------------ async
    private Json async(Map<String, String> kv) throws Exception {
        String topic = kv.get("topic");
        int size = intArg(kv, "size", 1024);
        int inflight = intArg(kv, "inflight", 64);
        double seconds = dblArg(kv, "seconds", 5);
        double warmup = dblArg(kv, "warmup", 1);
        byte[] body = body(size);
        DefaultMQProducer p = producer();
        Semaphore sem = new Semaphore(inflight);
        AtomicInteger phase = new AtomicInteger();
        AtomicLong failed = new AtomicLong();
        AtomicLong sent = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        Recorder rec = new Recorder();
        long begin = System.nanoTime();
        long measureAt = begin + (long) (warmup * 1e9);
        long stopAt = measureAt + (long) (seconds * 1e9);
        while (true) {
            long now = System.nanoTime();
            if (now >= stopAt) {
                break;
            }
            if (phase.get() == 0 && now >= measureAt) {
                phase.set(1);
            }
            if (!sem.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                continue;
            }
            long t0 = System.nanoTime();
            SendCallback cb = new SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    long dt = System.nanoTime() - t0;
                    if (phase.get() == 1 && System.nanoTime() < stopAt) {
                        rec.addShared(dt);
                        sent.incrementAndGet();
                    }
                    sem.release();
                }

                @Override
                public void onException(Throwable e) {
                    if (phase.get() == 1) {
                        failed.incrementAndGet();
                    }
                    firstError.compareAndSet(null, describe(e));
                    sem.release();
                }
            };
            try {
                p.send(new Message(topic, body), cb);
            } catch (Exception e) {
                firstError.compareAndSet(null, describe(e));
                failed.incrementAndGet();
                sem.release();
            }
        }
        long end = System.nanoTime();
        sem.tryAcquire(inflight, 15, TimeUnit.SECONDS);
        p.shutdown();
        double wall = (Math.min(end, stopAt) - measureAt) / 1e9;
        progress("async", sent.get(), failed.get());
        Json out = new Json().put("kind", "async").put("topic", topic).put("size", size).put("inflight", inflight)
                .put("batch", 1).put("seconds", wall).put("count", sent.get()).put("failed", failed.get())
                .put("tps", sent.get() / wall);
        List<Recorder> recs = new ArrayList<>();
        recs.add(rec);
        latencyFields(out, recs, "rt_");
        return out.put("error", firstError.get());
    }

    // ------------------------------------------------------------------ backlog fill
    private Json fill(Map<String, String> kv) throws Exception {
        String topic = kv.get("topic");
        int size = intArg(kv, "size", 128);
        long count = Long.parseLong(kv.getOrDefault("count", "100000"));
        int batch = intArg(kv, "batch", 64);
        int inflight = intArg(kv, "inflight", 4);
        byte[] body = body(size);
        DefaultMQProducer p = producer();
        AtomicLong reserved = new AtomicLong();
        AtomicLong done = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        long deadline = System.nanoTime() + (long) (dblArg(kv, "timeout", 600) * 1e9);
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < inflight; i++) {
            Thread t = new Thread(() -> {
                while (System.nanoTime() < deadline) {
                    long from = reserved.getAndAdd(batch);
                    if (from >= count) {
                        return;
                    }
                    int k = (int) Math.min(batch, count - from);
                    List<Message> msgs = new ArrayList<>(k);
                    for (int j = 0; j < k; j++) {
                        msgs.add(new Message(topic, body));
                    }
                    for (int attempt = 0; attempt < 20 && System.nanoTime() < deadline; attempt++) {
                        try {
                            SendResult r = k == 1 ? p.send(msgs.get(0)) : p.send(msgs);
                            if (r.getSendStatus() == SendStatus.SEND_OK) {
                                done.addAndGet(k);
                                break;
                            }
                            firstError.compareAndSet(null, r.getSendStatus().toString());
                        } catch (Exception e) {
                            firstError.compareAndSet(null, describe(e));
                        }
                        failed.incrementAndGet();
                        try {
                            Thread.sleep(20);
                        } catch (InterruptedException ie) {
                            return;
                        }
                    }
                }
            }, "fill-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        long lastReport = System.nanoTime();
        for (Thread t : threads) {
            while (t.isAlive()) {
                t.join(1000);
                if (System.nanoTime() - lastReport > 5_000_000_000L) {
                    progress("fill", done.get(), failed.get());
                    lastReport = System.nanoTime();
                }
            }
        }
        double wall = (System.nanoTime() - start) / 1e9;
        p.shutdown();
        progress("fill", done.get(), failed.get());
        return new Json().put("kind", "fill").put("topic", topic).put("size", size).put("batch", batch)
                .put("inflight", inflight).put("count", done.get()).put("failed", failed.get())
                .put("seconds", wall).put("tps", done.get() / wall).put("error", done.get() < count
                        ? "filled only " + done.get() + " of " + count + ": " + firstError.get() : null);
    }

    // ------------------------------------------------------------------ consume
    private DefaultMQPushConsumer consumer(String topic, MessageListenerConcurrently listener) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(unique("bench_c"));
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(unique("benchc"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPullBatchSize(32);
        c.setConsumeMessageBatchMaxSize(32);
        c.subscribe(topic, "*");
        c.registerMessageListener(listener);
        return c;
    }

    private Json consume(Map<String, String> kv) throws Exception {
        String topic = kv.get("topic");
        long count = Long.parseLong(kv.getOrDefault("count", "100000"));
        double idle = dblArg(kv, "idle", 15);
        AtomicLong got = new AtomicLong();
        AtomicLong firstNs = new AtomicLong();
        AtomicLong doneNs = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        DefaultMQPushConsumer c = consumer(topic, (msgs, ctx) -> {
            firstNs.compareAndSet(0, System.nanoTime());
            long n = got.addAndGet(msgs.size());
            if (n >= count && doneNs.compareAndSet(0, System.nanoTime())) {
                done.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        long start = System.nanoTime();
        c.start();
        long last = -1;
        long lastChange = System.nanoTime();
        while (!done.await(1, TimeUnit.SECONDS)) {
            long n = got.get();
            System.err.printf("[loadgen] consume %d/%d%n", n, count);
            if (n != last) {
                last = n;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > idle * 1e9) {
                break;
            }
        }
        long end = doneNs.get() != 0 ? doneNs.get() : System.nanoTime();
        c.shutdown();
        double wall = (end - start) / 1e9;
        double fromFirst = firstNs.get() == 0 ? 0 : (end - firstNs.get()) / 1e9;
        return new Json().put("kind", "consume").put("topic", topic).put("count", got.get())
                .put("expected", count).put("seconds", wall).put("tps", got.get() / wall)
                .put("seconds_from_first", fromFirst)
                .put("tps_from_first", fromFirst > 0 ? got.get() / fromFirst : 0.0)
                .put("error", got.get() < count ? "stalled at " + got.get() + " of " + count : null);
    }

    // ------------------------------------------------------------------ produce -> consume latency
    private Json e2e(Map<String, String> kv) throws Exception {
        String topic = kv.get("topic");
        int size = Math.max(16, intArg(kv, "size", 1024));
        double rate = dblArg(kv, "rate", 1000);
        double seconds = dblArg(kv, "seconds", 5);
        double warmup = dblArg(kv, "warmup", 1);
        Recorder rec = new Recorder();
        AtomicLong received = new AtomicLong();
        DefaultMQPushConsumer c = consumer(topic, (msgs, ctx) -> {
            long now = System.nanoTime();
            for (MessageExt m : msgs) {
                byte[] b = m.getBody();
                if (b.length >= 9 && b[8] == 1) {
                    rec.addShared(now - ByteBuffer.wrap(b).getLong(0));
                    received.incrementAndGet();
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        DefaultMQProducer p = producer();
        // Let the consumer's rebalance assign every queue and its first (long-polling) pulls arrive.
        Thread.sleep(3000);
        byte[] template = body(size);
        Semaphore sem = new Semaphore(1024);
        AtomicLong failed = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        long measuredSent = 0;
        long begin = System.nanoTime();
        long interval = (long) (1e9 / rate);
        long total = (long) ((warmup + seconds) * rate);
        long measureFrom = (long) (warmup * rate);
        for (long i = 0; i < total; i++) {
            sleepNanos(begin + i * interval - System.nanoTime());
            byte[] b = template.clone();
            boolean measured = i >= measureFrom;
            ByteBuffer.wrap(b).putLong(0, System.nanoTime()).put(8, (byte) (measured ? 1 : 0));
            if (!sem.tryAcquire(SEND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                failed.incrementAndGet();
                continue;
            }
            try {
                p.send(new Message(topic, b), new SendCallback() {
                    @Override
                    public void onSuccess(SendResult r) {
                        sem.release();
                    }

                    @Override
                    public void onException(Throwable e) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, describe(e));
                        sem.release();
                    }
                });
                if (measured) {
                    measuredSent++;
                }
            } catch (Exception e) {
                failed.incrementAndGet();
                firstError.compareAndSet(null, describe(e));
                sem.release();
            }
        }
        double sendWall = (System.nanoTime() - begin) / 1e9;
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (received.get() < measuredSent - failed.get() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        p.shutdown();
        c.shutdown();
        List<Recorder> recs = new ArrayList<>();
        recs.add(rec);
        Json out = new Json().put("kind", "e2e").put("topic", topic).put("size", size).put("rate", rate)
                .put("achieved_rate", total / sendWall).put("count", received.get()).put("sent", measuredSent)
                .put("failed", failed.get()).put("lost", Math.max(0, measuredSent - failed.get() - received.get()));
        latencyFields(out, recs, "e2e_");
        return out.put("error", firstError.get());
    }
}
