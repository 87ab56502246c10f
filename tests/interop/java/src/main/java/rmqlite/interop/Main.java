package rmqlite.interop;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * rmqlite interop program: runs RocketMQ client scenarios against a namesrv and prints one JSON line per scenario.
 *
 * Usage: java -jar rmqlite-interop.jar --namesrv 127.0.0.1:9876 [--scenario NAME[,NAME..]|all] [--deadline-s 60]
 *
 * Rules:
 * 1. Scenarios run one after another, each with its own topics/groups (random run id), each bounded by its deadline
 *    (the watchdog adds 20 s grace, then reports a timeout and moves on).
 * 2. stdout carries only the JSON result lines; logs go to stderr. Exit code 0 iff every scenario is ok.
 * 3. Client logging goes through slf4j/logback (WARN to stderr; env RMQLITE_JAVA_LOGLEVEL=INFO for more), local
 *    offsets (broadcasting) under java.io.tmpdir, so nothing is written to the home directory.
 */
public final class Main {
    interface Scenario {
        Result run(Ctx ctx) throws Exception;
    }

    static final Map<String, Scenario> SCENARIOS = new LinkedHashMap<>();

    /** Feature scenarios (tests/features/test_java_features.py): run by name, listed by --list-features, not in "all". */
    static final Map<String, Scenario> FEATURE_SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("produce", ProduceScenarios::produce);
        SCENARIOS.put("size_limits", ProduceScenarios::sizeLimits);
        SCENARIOS.put("clustering", ConsumeScenarios::clustering);
        SCENARIOS.put("broadcasting", ConsumeScenarios::broadcasting);
        SCENARIOS.put("tag_filter", ConsumeScenarios::tagFilter);
        SCENARIOS.put("orderly", ConsumeScenarios::orderly);
        SCENARIOS.put("retry_dlq", ConsumeScenarios::retryDlq);
        SCENARIOS.put("delay", ConsumeScenarios::delay);
        SCENARIOS.put("pull_seek", ProduceScenarios::pullSeek);
        FeatureScenarios.register(FEATURE_SCENARIOS);
    }

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        String namesrv = null;
        String scenario = "all";
        long deadlineS = 60;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--namesrv": namesrv = args[++i]; break;
                case "--scenario": scenario = args[++i]; break;
                case "--deadline-s": deadlineS = Long.parseLong(args[++i]); break;
                case "--list": System.out.println(String.join("\n", SCENARIOS.keySet())); return;
                case "--list-features": System.out.println(String.join("\n", FEATURE_SCENARIOS.keySet())); return;
                default:
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
            }
        }
        if (namesrv == null) {
            System.err.println("usage: --namesrv HOST:PORT [--scenario NAME[,NAME..]|all] [--deadline-s N] | --list");
            System.exit(2);
        }
        List<String> names = scenario.equals("all") ? new ArrayList<>(SCENARIOS.keySet()) : Arrays.asList(scenario.split(","));
        for (String n : names) {
            if (!SCENARIOS.containsKey(n) && !FEATURE_SCENARIOS.containsKey(n)) {
                System.err.println("unknown scenario " + n + "; known: " + SCENARIOS.keySet() + " "
                    + FEATURE_SCENARIOS.keySet());
                System.exit(2);
            }
        }
        String runId = Long.toString(System.currentTimeMillis() % 100_000_000L, 36) + Integer.toString((int) (Math.random() * 1296), 36);
        File tmp = new File(System.getProperty("java.io.tmpdir"), "rmqlite-interop-" + runId);
        System.setProperty("rocketmq.client.logUseSlf4j", "true");
        System.setProperty("rocketmq.client.localOffsetStoreDir", new File(tmp, "offsets").getPath());

        boolean allOk = true;
        ExecutorService exec = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "scenario");
            t.setDaemon(true);
            return t;
        });
        Ctx ctx = new Ctx(namesrv, runId, System.nanoTime());
        try {
            ctx.setDeadline(Math.min(deadlineS, 20));
            try {
                ctx.discover();
            } catch (Exception e) {
                // no usable cluster: one failed line per requested scenario, so every test reports the cause
                for (String n : names) {
                    Result res = new Result(n);
                    res.error = "setup (GET_BROKER_CLUSTER_INFO via namesrv " + namesrv + "): " + e;
                    System.out.println(res.toJson());
                }
                System.out.flush();
                allOk = false;
                names = new ArrayList<>();
            }
            for (String n : names) {
                long t0 = System.nanoTime();
                ctx.setDeadline(deadlineS);
                Result res;
                Scenario sc = SCENARIOS.containsKey(n) ? SCENARIOS.get(n) : FEATURE_SCENARIOS.get(n);
                Future<Result> f = exec.submit(() -> sc.run(ctx));
                try {
                    res = f.get(deadlineS + 20, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    res = new Result(n);
                    res.error = "watchdog: scenario exceeded " + (deadlineS + 20) + " s";
                } catch (java.util.concurrent.ExecutionException e) {
                    res = new Result(n);
                    Throwable c = e.getCause();
                    res.error = c.getClass().getSimpleName() + ": " + c.getMessage();
                } finally {
                    ctx.closeAll();
                }
                res.seconds = (System.nanoTime() - t0) / 1e9;
                allOk &= res.ok();
                System.out.println(res.toJson());
                System.out.flush();
            }
        } finally {
            ctx.shutdown();
            deleteTree(tmp);
        }
        System.exit(allOk ? 0 : 1);
    }

    private static void deleteTree(File f) {
        File[] kids = f.listFiles();
        if (kids != null) {
            for (File k : kids) {
                deleteTree(k);
            }
        }
        f.delete();
    }
}
