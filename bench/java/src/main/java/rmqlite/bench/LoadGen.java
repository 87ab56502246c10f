package rmqlite.bench;

import java.util.HashMap;
import java.util.Map;

/**
 * Benchmark load generator on the unmodified Apache RocketMQ Java client 4.9.4.
 *
 * Usage: java -jar rmqlite-bench.jar NAMESRV STEP [STEP ...]
 * A STEP is "kind:key=value,key=value"; each prints one JSON line on stdout (progress goes to stderr). Kinds:
 *   topic:name=T,queues=8                          create T on every master (UPDATE_AND_CREATE_TOPIC), wait for route
 *   sync:topic=T,size=1024,inflight=64,seconds=5,warmup=1     N threads doing blocking send()
 *   async:topic=T,size=1024,inflight=64,seconds=5,warmup=1    sendAsync() with at most N outstanding
 *   batch:topic=T,size=1024,batch=32,inflight=8,seconds=5,warmup=1   N threads doing send(List) of B messages
 *   fill:topic=T,size=128,count=1000000,batch=64,inflight=4   produce a backlog of exactly count messages
 *   consume:topic=T,count=1000000,idle=15                     push consumer from the first offset until count seen
 *   e2e:topic=T,size=1024,rate=1000,seconds=5,warmup=1        paced sends; push consumer measures send->receive
 * Any step may carry tag=NAME, copied into its JSON line (the report leaves out steps tagged "warmup").
 *
 * Rules:
 * 1. The same binary and settings drive every system; nothing here knows which server it talks to.
 * 2. Send failures are counted, not retried (retryTimesWhenSendFailed = 0); body compression is off so the
 *    stored body is exactly `size` bytes.
 * 3. Only samples completed inside the measured window count; warmup samples are dropped.
 * 4. Every step is bounded in time; a step that cannot finish reports "error" and the run goes on.
 */
public final class LoadGen {
    private LoadGen() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: LoadGen NAMESRV STEP [STEP ...]");
            System.exit(2);
        }
        String namesrv = args[0];
        Steps steps = new Steps(namesrv);
        for (int i = 1; i < args.length; i++) {
            String spec = args[i];
            Map<String, String> kv = parse(spec);
            Json out;
            try {
                out = steps.run(kv.get("kind"), kv);
            } catch (Throwable t) {
                out = new Json().put("kind", kv.get("kind")).put("error", t.toString());
            }
            if (kv.containsKey("tag")) {
                out.put("tag", kv.get("tag"));
            }
            out.put("spec", spec);
            System.out.println(out);
            System.out.flush();
        }
        steps.close();
        System.exit(0);
    }

    static Map<String, String> parse(String spec) {
        Map<String, String> kv = new HashMap<>();
        int colon = spec.indexOf(':');
        kv.put("kind", colon < 0 ? spec : spec.substring(0, colon));
        if (colon >= 0) {
            for (String part : spec.substring(colon + 1).split(",")) {
                if (part.isEmpty()) {
                    continue;
                }
                int eq = part.indexOf('=');
                kv.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        return kv;
    }
}
