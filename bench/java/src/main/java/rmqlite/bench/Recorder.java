package rmqlite.bench;

import java.util.Arrays;
import java.util.List;

/**
 * Latency samples of one thread (nanoseconds), merged into percentiles at the end of a step.
 *
 * Rules:
 * 1. One Recorder per writer thread (no locking); callbacks that run on shared client threads use synchronized add.
 * 2. Percentiles use the nearest-rank method on the sorted merged samples (p = ceil(q * n) - 1).
 */
final class Recorder {
    private long[] samples = new long[1 << 14];
    private int size;

    void add(long nanos) {
        if (size == samples.length) {
            samples = Arrays.copyOf(samples, size * 2);
        }
        samples[size++] = nanos;
    }

    synchronized void addShared(long nanos) {
        add(nanos);
    }

    int size() {
        return size;
    }

    /** Merged summary: count, avg, p50, p99, p999, max in milliseconds. */
    static double[] summary(List<Recorder> recorders) {
        int n = 0;
        for (Recorder r : recorders) {
            n += r.size;
        }
        long[] all = new long[n];
        int pos = 0;
        for (Recorder r : recorders) {
            System.arraycopy(r.samples, 0, all, pos, r.size);
            pos += r.size;
        }
        if (n == 0) {
            return new double[] {0, 0, 0, 0, 0, 0};
        }
        Arrays.sort(all);
        double sum = 0;
        for (long v : all) {
            sum += v;
        }
        return new double[] {n, sum / n / 1e6, rank(all, 0.50), rank(all, 0.99), rank(all, 0.999), all[n - 1] / 1e6};
    }

    private static double rank(long[] sorted, double q) {
        int idx = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))] / 1e6;
    }
}
