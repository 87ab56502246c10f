// Cross-checks rmqlite's store files against Apache RocketMQ 4.9.4's own DefaultMessageStore.
// Run as a single-file program (JDK 11+):
//   java --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
//        -cp '<rocketmq lib>/*' StoreCrossCheck.java DIR clSize cqSize slots indexNum topic:queue[,...] key N OUT
// 1. loads DIR with Java's DefaultMessageStore (normal or abnormal recovery, as the abort file says);
// 2. prints "queue T Q min max", then "msg queueOffset commitLogOffset storeTime bodyHex msgId bodyCrc props"
//    for every message Java returns from getMessage(min, 1000), then "query N" for the key (to file OUT);
// 3. appends N messages to topic J, queue i % 2 (body "java-i", tag TagJ, keys "jk<i> jall");
// 4. shuts down cleanly.
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.store.DefaultMessageStore;
import org.apache.rocketmq.store.GetMessageResult;
import org.apache.rocketmq.store.MessageExtBrokerInner;
import org.apache.rocketmq.store.PutMessageResult;
import org.apache.rocketmq.store.QueryMessageResult;
import org.apache.rocketmq.store.config.MessageStoreConfig;
import org.apache.rocketmq.store.stats.BrokerStatsManager;

public class StoreCrossCheck {
    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static String esc(String s) {
        return s.replace("\u0001", "\\1").replace("\u0002", "\\2");
    }

    public static void main(String[] a) throws Exception {
        MessageStoreConfig c = new MessageStoreConfig();
        c.setStorePathRootDir(a[0]);
        c.setStorePathCommitLog(a[0] + "/commitlog");
        c.setMappedFileSizeCommitLog(Integer.parseInt(a[1]));
        c.setMappedFileSizeConsumeQueue(Integer.parseInt(a[2]));
        c.setMaxHashSlotNum(Integer.parseInt(a[3]));
        c.setMaxIndexNum(Integer.parseInt(a[4]));
        java.io.PrintStream out = new java.io.PrintStream(new java.io.FileOutputStream(a[8]), true, "UTF-8");
        DefaultMessageStore store = new DefaultMessageStore(c, new BrokerStatsManager("x", false), null, new BrokerConfig());
        if (!store.load()) throw new IllegalStateException("load failed");
        store.start();
        while (store.dispatchBehindBytes() > 0) Thread.sleep(10);
        for (String tq : a[5].split(",")) {
            String topic = tq.split(":")[0];
            int q = Integer.parseInt(tq.split(":")[1]);
            long min = store.getMinOffsetInQueue(topic, q), max = store.getMaxOffsetInQueue(topic, q);
            out.println("queue " + topic + " " + q + " " + min + " " + max);
            for (long off = min; off < max; ) {
                GetMessageResult g = store.getMessage("g", topic, q, off, 1000, null);
                for (ByteBuffer bb : g.getMessageBufferList()) {
                    MessageExt m = MessageDecoder.decode(bb, true, false);
                    out.println("msg " + m.getQueueOffset() + " " + m.getCommitLogOffset() + " "
                        + m.getStoreTimestamp() + " " + hex(m.getBody()) + " " + m.getMsgId() + " "
                        + m.getBodyCRC() + " " + esc(MessageDecoder.messageProperties2String(m.getProperties())));
                }
                g.release();
                if (g.getNextBeginOffset() <= off) throw new IllegalStateException("no progress " + g);
                off = g.getNextBeginOffset();
            }
        }
        QueryMessageResult qr = store.queryMessage(a[5].split(":")[0], a[6], 64, 0, Long.MAX_VALUE);
        out.println("query " + qr.getMessageBufferList().size());
        int n = Integer.parseInt(a[7]);
        for (int i = 0; i < n; i++) {
            MessageExtBrokerInner m = new MessageExtBrokerInner();
            m.setTopic("J");
            m.setQueueId(i % 2);
            m.setBody(("java-" + i).getBytes("UTF-8"));
            m.setTags("TagJ");
            m.setKeys("jk" + i + " jall");
            m.setBornTimestamp(1000 + i);
            m.setBornHost(new InetSocketAddress("10.0.0.2", 6000));
            m.setStoreHost(new InetSocketAddress("192.168.0.11", 10911));
            m.setPropertiesString(MessageDecoder.messageProperties2String(m.getProperties()));
            m.setTagsCode(m.getTags().hashCode());
            PutMessageResult r = store.putMessage(m);
            if (!r.isOk()) throw new IllegalStateException("put " + r);
        }
        while (store.dispatchBehindBytes() > 0) Thread.sleep(10);
        store.shutdown();
        out.close();
        System.exit(0);
    }
}
