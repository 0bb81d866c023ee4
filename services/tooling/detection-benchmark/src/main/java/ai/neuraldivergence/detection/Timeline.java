package ai.neuraldivergence.detection;

import ai.neuraldivergence.domain.TapDistribution;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The minute distributions of a simulated stream, per tap, and the windows read from them. A window is merged from
 * aligned blocks of 1, 2, 4 … 64 minutes, each merged once and kept while a window can still read it, so that a
 * minute's evaluations of an hour-long window cost a dozen merges rather than sixty. A fork goes on from a frozen
 * parent: its minutes before the fork are the parent's.
 */
final class Timeline {

    /** The longest block: windows are at most an hour (the monitors' default span). */
    private static final int TOP_LEVEL = 6;
    /** Minutes kept behind the newest: a window reaches back an hour, a block at most 64 minutes more. */
    private static final int KEPT = 130;

    private final Timeline parent;
    private final int forkAt;
    private final int taps;
    private final List<TapDistribution[]> minutes = new ArrayList<>();
    private final List<Long> counts = new ArrayList<>();
    private final List<Map<Long, TapDistribution>> blocks = new ArrayList<>();

    Timeline(int taps) {
        this(null, 0, taps);
    }

    private Timeline(Timeline parent, int forkAt, int taps) {
        this.parent = parent;
        this.forkAt = forkAt;
        this.taps = taps;
        for (int t = 0; t < taps; t++) {
            blocks.add(new HashMap<>());
        }
    }

    /** A timeline going on from this one's present; this one must not grow while the fork is read. */
    Timeline fork() {
        return new Timeline(this, size(), taps);
    }

    /** Minutes so far. */
    int size() {
        return forkAt + minutes.size();
    }

    void add(TapDistribution[] minute) {
        long count = 0;
        for (TapDistribution d : minute) {
            if (d != null) {
                count = d.observationCount();
                break;
            }
        }
        minutes.add(minute);
        counts.add(count);
        int drop = minutes.size() - KEPT - 1;
        if (drop >= 0) {
            minutes.set(drop, null);
            int oldest = forkAt + drop;
            for (Map<Long, TapDistribution> b : blocks) {
                b.keySet().removeIf(key -> end(key) <= oldest);
            }
        }
    }

    /** Observations in minute {@code i} (every tap sees every observation). */
    long count(int i) {
        return i < forkAt ? parent.count(i) : counts.get(i - forkAt);
    }

    private TapDistribution minute(int tap, int i) {
        if (i < forkAt) {
            return parent.minute(tap, i);
        }
        TapDistribution[] m = minutes.get(i - forkAt);
        if (m == null) {
            throw new IllegalStateException("minute " + i + " is no longer kept");
        }
        return m[tap];
    }

    private static long key(int level, long j) {
        return ((long) level << 40) | j;
    }

    private static long end(long key) {
        int level = (int) (key >>> 40);
        long j = key & ((1L << 40) - 1);
        return (j + 1) << level;
    }

    /** Minutes {@code [j 2^level, (j + 1) 2^level)} merged, or null when they hold no observation. */
    private TapDistribution block(int tap, int level, long j) {
        if (level == 0) {
            return minute(tap, (int) j);
        }
        if (parent != null && (j + 1) << level <= forkAt) {
            return parent.block(tap, level, j);
        }
        Map<Long, TapDistribution> cache = blocks.get(tap);
        long key = key(level, j);
        TapDistribution kept = cache.get(key);
        if (kept != null || cache.containsKey(key)) {
            return kept;
        }
        TapDistribution left = block(tap, level - 1, 2 * j);
        TapDistribution right = block(tap, level - 1, 2 * j + 1);
        TapDistribution merged = merge(left, right);
        cache.put(key, merged);
        return merged;
    }

    private static TapDistribution merge(TapDistribution a, TapDistribution b) {
        if (a == null || b == null) {
            return a == null ? b : a;
        }
        TapDistribution m = new TapDistribution(a.neuronCount(), Traffic.K);
        m.merge(a);
        m.merge(b);
        return m;
    }

    /**
     * Tap {@code tap} over minutes {@code [from, to)} (minutes before the first held nothing): a new distribution,
     * never one kept; null when it holds no observation.
     */
    TapDistribution window(int tap, int from, int to) {
        TapDistribution out = null;
        int i = Math.max(0, from);
        while (i < to) {
            int level = 0;
            while (level < TOP_LEVEL && i % (1 << (level + 1)) == 0 && i + (1 << (level + 1)) <= to) {
                level++;
            }
            TapDistribution b = block(tap, level, i >> level);
            if (b != null) {
                if (out == null) {
                    out = new TapDistribution(b.neuronCount(), Traffic.K);
                }
                out.merge(b);
            }
            i += 1 << level;
        }
        return out;
    }
}
