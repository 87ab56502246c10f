package rmqlite.interop;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Messaging-feature scenarios (delay, transactions, SQL92, trace, ACL, broadcasting offsets, orderly rebalance),
 * run by tests/features/test_java_features.py against a broker configured for them (see that file).
 *
 * Rules:
 * 1. Scenario names start with "feat_"; they are listed by --list-features and never run by "all".
 * 2. Two-phase scenarios (broker restart in between) keep their state in the JSON file named by the system
 *    property rmqlite.feature.state; the pytest restarts the broker between the phases.
 * 3. Tunables come as system properties (rmqlite.delay.slackMs, rmqlite.acl.*); facts the pytest checks against
 *    Java's answers (refusal remarks, parse errors) are reported in the result notes.
 */
final class FeatureScenarios {
    private FeatureScenarios() {
    }

    static void register(Map<String, Main.Scenario> m) {
        m.put("feat_delay", FeatureMessaging::delay);
        m.put("feat_delay_retry", FeatureMessaging::delayRetry);
        m.put("feat_delay_restart_send", FeatureMessaging::delayRestartSend);
        m.put("feat_delay_restart_recv", FeatureMessaging::delayRestartRecv);
        m.put("feat_transaction", FeatureMessaging::transaction);
        m.put("feat_transaction_restart_send", FeatureMessaging::transactionRestartSend);
        m.put("feat_transaction_restart_recv", FeatureMessaging::transactionRestartRecv);
        m.put("feat_sql92", FeatureFilterTrace::sql92);
        m.put("feat_trace", FeatureFilterTrace::trace);
        m.put("feat_acl", FeatureAcl::acl);
        m.put("feat_broadcast_offsets", FeatureConsume::broadcastOffsets);
        m.put("feat_orderly_rebalance", FeatureConsume::orderlyRebalance);
    }

    /** Delay per level in ms (index 0 = level 1) from the broker's messageDelayLevel (GET_BROKER_CONFIG). */
    static long[] delayTable(Ctx ctx) throws Exception {
        Properties p = ctx.admin.getBrokerConfig(ctx.masterAddrs.get(0));
        String spec = p.getProperty("messageDelayLevel", "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h");
        String[] words = spec.trim().split("\\s+");
        long[] out = new long[words.length];
        for (int i = 0; i < words.length; i++) {
            String w = words[i];
            long n = Long.parseLong(w.substring(0, w.length() - 1));
            switch (w.charAt(w.length() - 1)) {
                case 's': out[i] = n * 1000; break;
                case 'm': out[i] = n * 60_000; break;
                case 'h': out[i] = n * 3_600_000; break;
                default: out[i] = n * 86_400_000; break;
            }
        }
        return out;
    }

    static long longProp(String name, long def) {
        String v = System.getProperty(name);
        return v == null ? def : Long.parseLong(v.trim());
    }

    static Path statePath() {
        String p = System.getProperty("rmqlite.feature.state");
        if (p == null) {
            throw new IllegalStateException("two-phase scenario needs -Drmqlite.feature.state=FILE");
        }
        return Paths.get(p);
    }

    static void saveState(Map<String, Object> state) throws Exception {
        Files.write(statePath(), JSON.toJSONString(state).getBytes(StandardCharsets.UTF_8));
    }

    static JSONObject loadState() throws Exception {
        return JSON.parseObject(new String(Files.readAllBytes(statePath()), StandardCharsets.UTF_8));
    }

    static List<String> strings(JSONObject o, String key) {
        List<String> out = new ArrayList<>();
        if (o.getJSONArray(key) != null) {
            for (Object x : o.getJSONArray(key)) {
                out.add(String.valueOf(x));
            }
        }
        return out;
    }

    /** The innermost exception message chain, for refusal remarks. */
    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (sb.length() > 0) {
                sb.append(" <- ");
            }
            sb.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
            if (c.getCause() == c) {
                break;
            }
        }
        return sb.toString();
    }
}
