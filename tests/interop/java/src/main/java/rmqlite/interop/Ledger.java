package rmqlite.interop;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Book of expected messages and what actually arrived.
 *
 * Rules:
 * 1. Every message we send carries the user property {@link #ID_PROP} (unique per run); expectations are keyed by it.
 * 2. An expectation is a deep copy taken BEFORE sending (body cloned, user properties snapshot), so client-side
 *    mutation (UNIQ_KEY, compression) cannot hide a difference.
 * 3. A receipt is compared field by field: topic, tags, keys, flag, body bytes, every expected user property, no
 *    foreign user property (anything not ours and not a RocketMQ system key), plus msgId / queueId / queueOffset /
 *    compressed-flag when the send result told us what they must be.
 * 4. lost = expected never received; duplicated = receipts beyond the first; altered = receipts that differ;
 *    unexpected = receipts of messages that must not arrive (forbidden ids) or carry no / an unknown id.
 */
final class Ledger {
    static final String ID_PROP = "rmqliteId";
    private static final int MAX_PROBLEMS = 12;

    /** What one message must look like on arrival. */
    static final class Expected {
        final String id;
        volatile String topic;
        final String tags;
        final String keys;
        final int flag;
        final Map<String, String> userProps;
        final byte[] body;
        volatile String msgId;
        volatile int queueId = -1;
        volatile long queueOffset = -1;
        volatile Boolean compressed;
        final Map<String, String> sysProps = new ConcurrentHashMap<>();

        Expected(String id, Message m) {
            this.id = id;
            this.topic = m.getTopic();
            this.tags = m.getTags();
            this.keys = m.getKeys();
            this.flag = m.getFlag();
            Map<String, String> props = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : m.getProperties().entrySet()) {
                if (!MessageConst.STRING_HASH_SET.contains(e.getKey())) {
                    props.put(e.getKey(), e.getValue());
                }
            }
            this.userProps = Collections.unmodifiableMap(props);
            this.body = m.getBody() == null ? null : m.getBody().clone();
        }

        Expected copy() {
            Message m = new Message(topic, tags, keys, flag, body, true);
            for (Map.Entry<String, String> e : userProps.entrySet()) {
                m.putUserProperty(e.getKey(), e.getValue());
            }
            Expected c = new Expected(id, m);
            c.msgId = msgId;
            c.queueId = queueId;
            c.queueOffset = queueOffset;
            c.compressed = compressed;
            c.sysProps.putAll(sysProps);
            return c;
        }
    }

    private final Map<String, Expected> expected = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final Map<String, Boolean> forbidden = new ConcurrentHashMap<>();
    private final AtomicInteger received = new AtomicInteger();
    private final AtomicInteger altered = new AtomicInteger();
    private final AtomicInteger unexpected = new AtomicInteger();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());

    /** Register m (which must carry ID_PROP) as expected; returns the expectation for extra constraints. */
    Expected expect(Message m) {
        String id = m.getUserProperty(ID_PROP);
        if (id == null) {
            throw new IllegalArgumentException("message without " + ID_PROP);
        }
        Expected e = new Expected(id, m);
        expected.put(id, e);
        counts.put(id, new AtomicInteger());
        return e;
    }

    /** Register an expectation copied from another ledger (same id, same constraints). */
    Expected expectCopy(Expected e) {
        Expected c = e.copy();
        expected.put(c.id, c);
        counts.put(c.id, new AtomicInteger());
        return c;
    }

    /** m must NOT be delivered (e.g. a tag the subscription excludes). */
    void forbid(Message m) {
        forbidden.put(m.getUserProperty(ID_PROP), Boolean.TRUE);
    }

    /** Forget an expectation (e.g. the send failed as it had to). */
    void unexpect(String id) {
        expected.remove(id);
        counts.remove(id);
    }

    Expected get(String id) {
        return expected.get(id);
    }

    Iterable<Expected> all() {
        return expected.values();
    }

    int expectedCount() {
        return expected.size();
    }

    /** Record one delivery; thread-safe. Returns the list of differences (empty when the message is intact). */
    List<String> receive(MessageExt m) {
        String id = m.getUserProperty(ID_PROP);
        received.incrementAndGet();
        if (id == null || forbidden.containsKey(id) || !expected.containsKey(id)) {
            unexpected.incrementAndGet();
            problem("unexpected delivery id=" + id + " topic=" + m.getTopic() + " tags=" + m.getTags()
                + " queue=" + m.getQueueId() + "@" + m.getQueueOffset());
            return Collections.singletonList("unexpected");
        }
        counts.get(id).incrementAndGet();
        List<String> diffs = compare(expected.get(id), m);
        if (!diffs.isEmpty()) {
            altered.incrementAndGet();
            problem("altered id=" + id + ": " + String.join("; ", diffs));
        }
        return diffs;
    }

    static List<String> compare(Expected e, MessageExt m) {
        List<String> d = new ArrayList<>();
        if (!eq(e.topic, m.getTopic())) {
            d.add("topic " + e.topic + " != " + m.getTopic());
        }
        if (!eq(e.tags, m.getTags())) {
            d.add("tags " + e.tags + " != " + m.getTags());
        }
        if (!eq(e.keys, m.getKeys())) {
            d.add("keys " + e.keys + " != " + m.getKeys());
        }
        if (e.flag != m.getFlag()) {
            d.add("flag " + e.flag + " != " + m.getFlag());
        }
        if (!Arrays.equals(e.body, m.getBody())) {
            d.add("body differs (len " + (e.body == null ? -1 : e.body.length) + " vs "
                + (m.getBody() == null ? -1 : m.getBody().length) + ")");
        }
        for (Map.Entry<String, String> p : e.userProps.entrySet()) {
            if (!eq(p.getValue(), m.getUserProperty(p.getKey()))) {
                d.add("property " + p.getKey() + "=" + p.getValue() + " != " + m.getUserProperty(p.getKey()));
            }
        }
        for (Map.Entry<String, String> p : e.sysProps.entrySet()) {
            if (!eq(p.getValue(), m.getProperty(p.getKey()))) {
                d.add("system property " + p.getKey() + "=" + p.getValue() + " != " + m.getProperty(p.getKey()));
            }
        }
        for (String k : m.getProperties().keySet()) {
            if (!MessageConst.STRING_HASH_SET.contains(k) && !e.userProps.containsKey(k)) {
                d.add("foreign property " + k + "=" + m.getProperty(k));
            }
        }
        if (e.msgId != null && !e.msgId.equals(m.getMsgId())) {
            d.add("msgId " + e.msgId + " != " + m.getMsgId());
        }
        if (e.queueId >= 0 && e.queueId != m.getQueueId()) {
            d.add("queueId " + e.queueId + " != " + m.getQueueId());
        }
        if (e.queueOffset >= 0 && e.queueOffset != m.getQueueOffset()) {
            d.add("queueOffset " + e.queueOffset + " != " + m.getQueueOffset());
        }
        if (e.compressed != null && e.compressed != ((m.getSysFlag() & 0x1) != 0)) {
            d.add("compressed sysflag expected " + e.compressed + " got sysFlag=" + m.getSysFlag());
        }
        return d;
    }

    private static boolean eq(Object a, Object b) {
        return a == null ? b == null : a.equals(b);
    }

    void problem(String text) {
        synchronized (problems) {
            if (problems.size() < MAX_PROBLEMS) {
                problems.add(text);
            }
        }
    }

    /** Every expected message arrived at least once. */
    boolean complete() {
        for (AtomicInteger c : counts.values()) {
            if (c.get() == 0) {
                return false;
            }
        }
        return true;
    }

    int count(String id) {
        AtomicInteger c = counts.get(id);
        return c == null ? 0 : c.get();
    }

    int received() {
        return received.get();
    }

    int lost() {
        int n = 0;
        for (AtomicInteger c : counts.values()) {
            n += c.get() == 0 ? 1 : 0;
        }
        return n;
    }

    int duplicated() {
        int n = 0;
        for (AtomicInteger c : counts.values()) {
            n += Math.max(0, c.get() - 1);
        }
        return n;
    }

    int altered() {
        return altered.get();
    }

    int unexpected() {
        return unexpected.get();
    }

    List<String> problems() {
        synchronized (problems) {
            return new ArrayList<>(problems);
        }
    }

    /** Ids of expected messages never received (first few), for error texts. */
    List<String> missing(int max) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, AtomicInteger> e : counts.entrySet()) {
            if (e.getValue().get() == 0 && out.size() < max) {
                out.add(e.getKey());
            }
        }
        return out;
    }
}
