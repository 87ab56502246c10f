package rmqlite.interop;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.constant.PermName;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * ACL scenario for a broker with aclEnable=true and the plain_acl.yml written by tests/features/test_java_features.py:
 * account rmqlite_admin (admin), account rmqlite_user (defaultTopicPerm PUB|SUB, defaultGroupPerm SUB, topic
 * AclDeniedTopic=DENY, group AclDeniedGroup=DENY); no white lists that match 127.0.0.1.
 *
 * Rules:
 * 1. Signed clients (AclClientRPCHook) of the user account produce and consume normally.
 * 2. Refused requests (denied topic, wrong secret, unknown key, unsigned, non-admin topic creation, denied group)
 *    fail with the broker's code and remark, reported in the notes, and leave nothing behind (the denied topic's
 *    queues stay empty; the denied group receives nothing).
 */
final class FeatureAcl {
    private FeatureAcl() {
    }

    static final String ADMIN_AK = "rmqlite_admin";
    static final String ADMIN_SK = "admin-secret-1";
    static final String USER_AK = "rmqlite_user";
    static final String USER_SK = "user-secret-1";
    static final String DENIED_TOPIC = "AclDeniedTopic";
    static final String DENIED_GROUP = "AclDeniedGroup";

    static RPCHook hook(String ak, String sk) {
        return new AclClientRPCHook(new SessionCredentials(ak, sk));
    }

    private static DefaultMQProducer producer(Ctx ctx, RPCHook hook) throws Exception {
        DefaultMQProducer p = hook == null ? new DefaultMQProducer(ctx.name("PG_facl")) : new DefaultMQProducer(ctx.name("PG_facl"), hook);
        p.setNamesrvAddr(ctx.namesrv);
        p.setInstanceName(ctx.name("ap"));
        p.setSendMsgTimeout(5000);
        p.setRetryTimesWhenSendFailed(0);
        ctx.register(p);
        p.start();
        return p;
    }

    /** The broker's answer inside a client exception: MQBrokerException first, else an MQClientException code. */
    private static Map<String, Object> refusal(Throwable t) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof MQBrokerException) {
                out.put("code", ((MQBrokerException) c).getResponseCode());
                out.put("remark", ((MQBrokerException) c).getErrorMessage());
                return out;
            }
        }
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof org.apache.rocketmq.client.exception.MQClientException
                && ((org.apache.rocketmq.client.exception.MQClientException) c).getResponseCode() > 0) {
                out.put("code", ((org.apache.rocketmq.client.exception.MQClientException) c).getResponseCode());
                out.put("remark", ((org.apache.rocketmq.client.exception.MQClientException) c).getErrorMessage());
                return out;
            }
        }
        out.put("error", FeatureScenarios.describe(t));
        return out;
    }

    private static Map<String, Object> trySend(Ctx ctx, RPCHook hook, String topic) {
        try {
            SendResult sr = producer(ctx, hook).send(ctx.msg(topic, "TagAcl", "kacl", ctx.randomBody(8)));
            Map<String, Object> ok = new LinkedHashMap<>();
            ok.put("status", sr.getSendStatus().name());
            return ok;
        } catch (Exception e) {
            return refusal(e);
        }
    }

    static Result acl(Ctx ctx) throws Exception {
        Result r = new Result("feat_acl");
        DefaultMQAdminExt admin = new DefaultMQAdminExt(hook(ADMIN_AK, ADMIN_SK));
        admin.setNamesrvAddr(ctx.namesrv);
        admin.setInstanceName(ctx.name("aadmin"));
        admin.start();
        try {
            return run(ctx, r, admin);
        } finally {
            admin.shutdown();
        }
    }

    private static Result run(Ctx ctx, Result r, DefaultMQAdminExt admin) throws Exception {
        String topic = ctx.name("T_facl");
        for (String t : new String[] {topic, DENIED_TOPIC}) {
            for (String addr : ctx.masterAddrs) {
                admin.createAndUpdateTopicConfig(addr, new TopicConfig(t, 2, 2, PermName.PERM_READ | PermName.PERM_WRITE));
            }
            ctx.waitRoute(t, 2 * ctx.masterAddrs.size());
        }
        long deniedBefore = 0;
        for (MessageQueue mq : queues(admin, DENIED_TOPIC)) {
            deniedBefore += admin.maxOffset(mq);
        }
        // 1. signed user: produce + consume
        Ledger ledger = new Ledger();
        DefaultMQPushConsumer c = consumer(ctx, ctx.name("CG_facl"), topic, ledger, hook(USER_AK, USER_SK), null);
        ctx.await("acl consumer holds 2 queues", () -> Ctx.assigned(c, topic).size() == 2);
        DefaultMQProducer p = producer(ctx, hook(USER_AK, USER_SK));
        for (int i = 0; i < 5; i++) {
            Message m = ctx.msg(topic, "TagAcl", "kacl-" + i, ctx.randomBody(32));
            Ledger.Expected e = ledger.expect(m);
            SendResult sr = p.send(m);
            ProduceScenarios.checkOk(r, sr, "signed send");
            e.msgId = sr.getMsgId();
            r.sent++;
        }
        ctx.await("acl: signed consumer got everything", ledger::complete);
        // 2. refusals
        r.notes.put("deniedTopic", trySend(ctx, hook(USER_AK, USER_SK), DENIED_TOPIC));
        r.notes.put("wrongSecret", trySend(ctx, hook(USER_AK, "not-the-secret"), topic));
        r.notes.put("unknownKey", trySend(ctx, hook("nobody_here", USER_SK), topic));
        r.notes.put("unsigned", trySend(ctx, null, topic));
        Map<String, Object> create = new LinkedHashMap<>();
        DefaultMQAdminExt user = new DefaultMQAdminExt(hook(USER_AK, USER_SK));
        user.setNamesrvAddr(ctx.namesrv);
        user.setInstanceName(ctx.name("uadmin"));
        user.start();
        try {
            user.createAndUpdateTopicConfig(ctx.masterAddrs.get(0), new TopicConfig(ctx.name("T_facl_nope"), 1, 1, 6));
            create.put("status", "created");
        } catch (Exception e) {
            create = refusal(e);
        } finally {
            user.shutdown();
        }
        r.notes.put("nonAdminCreateTopic", create);
        // 3. denied group receives nothing
        Ledger none = new Ledger();
        AtomicInteger deniedGot = new AtomicInteger();
        consumer(ctx, DENIED_GROUP, topic, none, hook(USER_AK, USER_SK), deniedGot);
        ctx.quiet(3000);
        r.check(deniedGot.get() == 0, "group " + DENIED_GROUP + " (DENY) received " + deniedGot.get() + " messages");
        long deniedAfter = 0;
        for (MessageQueue mq : queues(admin, DENIED_TOPIC)) {
            deniedAfter += admin.maxOffset(mq);
        }
        r.check(deniedAfter == deniedBefore, "refused sends stored " + (deniedAfter - deniedBefore) + " messages");
        r.add(ledger);
        return r;
    }

    private static java.util.List<MessageQueue> queues(DefaultMQAdminExt admin, String topic) throws Exception {
        java.util.List<MessageQueue> out = new java.util.ArrayList<>();
        for (org.apache.rocketmq.common.protocol.route.QueueData q : admin.examineTopicRouteInfo(topic).getQueueDatas()) {
            for (int i = 0; i < q.getWriteQueueNums(); i++) {
                out.add(new MessageQueue(topic, q.getBrokerName(), i));
            }
        }
        return out;
    }

    private static DefaultMQPushConsumer consumer(Ctx ctx, String group, String topic, Ledger ledger, RPCHook hook,
        AtomicInteger counter) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group, hook, new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely());
        c.setNamesrvAddr(ctx.namesrv);
        c.setInstanceName(ctx.name("ac"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        ctx.register(c);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                if (counter != null) {
                    counter.incrementAndGet();
                } else {
                    ledger.receive(m);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        return c;
    }
}
