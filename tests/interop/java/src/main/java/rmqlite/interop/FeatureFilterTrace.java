package rmqlite.interop;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.trace.TraceBean;
import org.apache.rocketmq.client.trace.TraceContext;
import org.apache.rocketmq.client.trace.TraceDataEncoder;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.route.QueueData;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;

/**
 * SQL92 property filtering and message trace scenarios.
 *
 * Rules:
 * 1. sql92: one push consumer group per expression (MessageSelector.bySql); each must receive exactly the messages
 *    the expression selects (the expected set is computed here by hand) and none of the others. Two bad
 *    expressions must make consumer.start() fail; their response code and text go to the notes.
 * 2. trace: producer and consumer with enableMsgTrace; every message's trace (Pub, SubBefore, SubAfter) must be found
 *    by msgId in RMQ_SYS_TRACE_TOPIC, the way mqadmin queryMsgTraceById finds it (QUERY_MESSAGE by key, then
 *    TraceDataEncoder); a producer with a customized trace topic writes its Pub traces there.
 */
final class FeatureFilterTrace {
    private FeatureFilterTrace() {
    }

    private static final long QUIET_MS = 1500;

    private static int a(Message m) {
        return Integer.parseInt(m.getUserProperty("a"));
    }

    static Result sql92(Ctx ctx) throws Exception {
        Result r = new Result("feat_sql92");
        String topic = ctx.name("T_fsql");
        ctx.createTopic(topic, 2);
        Map<String, Predicate<Message>> exprs = new LinkedHashMap<>();
        exprs.put("a > 5 AND b = 'x'", m -> a(m) > 5 && "x".equals(m.getUserProperty("b")));
        exprs.put("a BETWEEN 2 AND 4 OR c IS NOT NULL", m -> (a(m) >= 2 && a(m) <= 4) || m.getUserProperty("c") != null);
        exprs.put("b IN ('x', 'y') AND NOT (a = 3)", m -> !"z".equals(m.getUserProperty("b")) && a(m) != 3);
        exprs.put("TAGS = 'T1' AND a < 100", m -> "T1".equals(m.getTags()));
        exprs.put("d IS NULL", m -> true);
        exprs.put("a > 5.5 OR b <> 'z' AND c = 'yes'", m -> a(m) > 5.5
            || (!"z".equals(m.getUserProperty("b")) && "yes".equals(m.getUserProperty("c"))));
        List<Ledger> ledgers = new ArrayList<>();
        List<DefaultMQPushConsumer> consumers = new ArrayList<>();
        for (String expr : exprs.keySet()) {
            Ledger l = new Ledger();
            ledgers.add(l);
            DefaultMQPushConsumer c = ctx.push(ctx.name("CG_fsql"));
            c.subscribe(topic, MessageSelector.bySql(expr));
            c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
                for (MessageExt m : msgs) {
                    l.receive(m);
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            consumers.add(c);
        }
        for (DefaultMQPushConsumer c : consumers) {
            ctx.await("sql92 consumer holds 2 queues", () -> Ctx.assigned(c, topic).size() == 2);
        }
        DefaultMQProducer p = ctx.producer(ctx.name("PG_fsql"));
        String[] bs = {"x", "y", "z"};
        for (int i = 0; i < 12; i++) {
            Message m = ctx.msg(topic, "T" + (i % 2), "ksql-" + i, ctx.randomBody(20));
            m.putUserProperty("a", Integer.toString(i));
            m.putUserProperty("b", bs[i % 3]);
            if (i % 4 == 0) {
                m.putUserProperty("c", "yes");
            }
            List<Ledger.Expected> es = new ArrayList<>();
            int k = 0;
            for (Predicate<Message> want : exprs.values()) {
                if (want.test(m)) {
                    es.add(ledgers.get(k).expect(m));
                } else {
                    ledgers.get(k).forbid(m);
                }
                k++;
            }
            SendResult sr = p.send(m);
            ProduceScenarios.checkOk(r, sr, "send");
            for (Ledger.Expected e : es) {
                e.msgId = sr.getMsgId();
            }
            r.sent++;
        }
        for (Ledger l : ledgers) {
            ctx.await("sql92: every selected message delivered", l::complete);
        }
        ctx.quiet(QUIET_MS);
        List<Integer> counts = new ArrayList<>();
        for (Ledger l : ledgers) {
            r.add(l);
            counts.add(l.received());
        }
        r.notes.put("receivedPerExpression", counts);
        for (String bad : new String[] {"a > 'x'", "a IS 5"}) {
            DefaultMQPushConsumer c = ctx.push(ctx.name("CG_fsqlbad"));
            c.subscribe(topic, MessageSelector.bySql(bad));
            c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
            Map<String, Object> outcome = new LinkedHashMap<>();
            try {
                c.start();
                outcome.put("started", true);
                r.fail("consumer with bad expression " + bad + " started");
            } catch (MQClientException e) {
                outcome.put("code", e.getResponseCode());
                outcome.put("remark", e.getErrorMessage());
            }
            r.notes.put("bad:" + bad, outcome);
        }
        return r;
    }

    // ---------------------------------------------------------------------------------------------- trace
    static Result trace(Ctx ctx) throws Exception {
        Result r = new Result("feat_trace");
        String topic = ctx.name("T_ftrace");
        ctx.createTopic(topic, 2);
        String customTrace = ctx.name("TraceCustom");
        ctx.createTopic(customTrace, 1);
        r.notes.put("traceTopicQueues", routeQueues(ctx, "RMQ_SYS_TRACE_TOPIC"));
        Ledger ledger = new Ledger();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(ctx.name("CG_ftrace"), true);
        c.setNamesrvAddr(ctx.namesrv);
        c.setInstanceName(ctx.name("tc"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        ctx.register(c);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                ledger.receive(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        ctx.await("trace consumer holds 2 queues", () -> Ctx.assigned(c, topic).size() == 2);
        DefaultMQProducer p1 = traceProducer(ctx, null);
        DefaultMQProducer p2 = traceProducer(ctx, customTrace);
        List<String> defaultIds = new ArrayList<>();
        List<String> customIds = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Message m = ctx.msg(topic, "TagTrace", "ktrace-" + i, ctx.randomBody(16));
            Ledger.Expected e = ledger.expect(m);
            SendResult sr = (i < 3 ? p1 : p2).send(m);
            ProduceScenarios.checkOk(r, sr, "send");
            e.msgId = sr.getMsgId();
            (i < 3 ? defaultIds : customIds).add(sr.getMsgId());
            r.sent++;
        }
        ctx.await("trace: all consumed", ledger::complete);
        r.add(ledger);
        Map<String, Set<String>> found = new ConcurrentHashMap<>();
        ctx.await("traces of every message queryable by msgId", () -> {
            boolean all = true;
            for (String id : defaultIds) {
                Set<String> types = traceTypes(ctx, "RMQ_SYS_TRACE_TOPIC", id);
                found.put(id, types);
                all &= types.containsAll(java.util.Arrays.asList("Pub", "SubBefore", "SubAfter"));
            }
            for (String id : customIds) {
                Set<String> types = traceTypes(ctx, customTrace, id);
                Set<String> sub = traceTypes(ctx, "RMQ_SYS_TRACE_TOPIC", id);
                types.addAll(sub);
                found.put(id, types);
                all &= traceTypes(ctx, customTrace, id).contains("Pub") && sub.contains("SubAfter");
            }
            return all;
        });
        r.notes.put("traceTypes", found);
        return r;
    }

    private static DefaultMQProducer traceProducer(Ctx ctx, String traceTopic) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(ctx.name("PG_ftrace"), true, traceTopic);
        p.setNamesrvAddr(ctx.namesrv);
        p.setInstanceName(ctx.name("tp"));
        p.setSendMsgTimeout(15000);
        ctx.register(p);
        p.start();
        return p;
    }

    private static int routeQueues(Ctx ctx, String topic) {
        try {
            TopicRouteData route = ctx.admin.examineTopicRouteInfo(topic);
            int n = 0;
            for (QueueData q : route.getQueueDatas()) {
                n += q.getWriteQueueNums();
            }
            return n;
        } catch (Exception e) {
            return -1;
        }
    }

    /** Trace types recorded for msgId in traceTopic (mqadmin queryMsgTraceById's lookup). */
    static Set<String> traceTypes(Ctx ctx, String traceTopic, String msgId) {
        Set<String> out = new TreeSet<>();
        try {
            QueryResult q = ctx.admin.queryMessage(traceTopic, msgId, 64, 0, System.currentTimeMillis() + 60_000);
            for (MessageExt m : q.getMessageList()) {
                for (TraceContext tc : TraceDataEncoder.decoderFromTraceDataString(new String(m.getBody()))) {
                    for (TraceBean b : tc.getTraceBeans() == null ? Collections.<TraceBean>emptyList() : tc.getTraceBeans()) {
                        if (msgId.equals(b.getMsgId())) {
                            out.add(tc.getTraceType().name());
                        }
                    }
                }
            }
        } catch (Exception e) {
            // not there yet (QUERY_NOT_FOUND)
        }
        return out;
    }
}
