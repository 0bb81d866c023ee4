package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RangePlan;
import ai.neuraldivergence.domain.TapDistribution;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Merged time-range selections, kept between queries and dropped as soon as a window they were built from changes
 * (the aggregator announces every committed window with a WindowUpdate). A live query repeats while only its newest
 * window keeps changing: each entry keeps the merge of its older windows apart, so that a change to the newest one
 * costs one window's read and one merge, not the whole range again.
 *
 * <p>Bounded (least recently used entries go first) and aged: an entry is rebuilt after {@code maxAge} whatever
 * happened, so that a lost announcement cannot keep a stale answer alive. Thread-safe.
 */
public final class SelectionCache {

    /** A range selection of one tap, as planned. */
    public record Key(String modelId, String modelVersion, String tap, String slice, List<RangePlan.Segment> plan) {
    }

    /** A cached selection: the merge of all its windows but the newest, the newest, and their merge. */
    private static final class Entry {
        final TapDistribution older;
        TapDistribution newest;
        TapDistribution merged;
        boolean newestStale;
        final long createdNanos = System.nanoTime();
        long version;

        Entry(TapDistribution older, TapDistribution newest, TapDistribution merged) {
            this.older = older;
            this.newest = newest;
            this.merged = merged;
        }
    }

    /** Reads windows for the cache: all of a plan's segments merged. */
    public interface Reader {
        TapDistribution read(List<RangePlan.Segment> segments);
    }

    private final int maxEntries;
    private final long maxAgeNanos;
    private final Map<Key, Entry> entries;
    private long hits;
    private long misses;
    // versions are unique across entries, so that a rebuilt entry never matches what its predecessor produced
    private long lastVersion;

    public SelectionCache(int maxEntries, Duration maxAge) {
        this.maxEntries = maxEntries;
        this.maxAgeNanos = maxAge.toNanos();
        this.entries = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** A merged selection: {@code merged} is shared and must not be modified by the caller. */
    public record Merged(TapDistribution distribution, long version) {
    }

    // only while window updates are followed can the cache know what is stale
    private volatile boolean enabled;

    /** Switches the cache on (updates are followed) or off (they are not: every read goes to the store). */
    public void enable(boolean on) {
        enabled = on;
        if (!on) {
            clear();
        }
    }

    /** The merged selection for {@code key}, from the cache or read (partly or wholly) through {@code reader}. */
    public Merged get(Key key, Reader reader, Supplier<TapDistribution> empty) {
        if (!enabled) {
            return new Merged(reader.read(key.plan()), -1);
        }
        Entry entry;
        boolean refreshNewest;
        synchronized (this) {
            entry = entries.get(key);
            if (entry != null && System.nanoTime() - entry.createdNanos > maxAgeNanos) {
                entries.remove(key);
                entry = null;
            }
            refreshNewest = entry != null && entry.newestStale;
            if (entry != null && !refreshNewest) {
                hits++;
                return new Merged(entry.merged, entry.version);
            }
            misses++;
        }
        List<RangePlan.Segment> plan = key.plan();
        RangePlan.Segment last = plan.get(plan.size() - 1);
        if (refreshNewest) {
            TapDistribution newest = reader.read(List.of(last));
            TapDistribution merged = copy(entry.older, empty);
            merged.merge(newest);
            synchronized (this) {
                entry.newest = newest;
                entry.merged = merged;
                entry.newestStale = false;
                entry.version = ++lastVersion;
                return new Merged(merged, entry.version);
            }
        }
        TapDistribution older = plan.size() == 1 ? empty.get() : reader.read(plan.subList(0, plan.size() - 1));
        TapDistribution newest = reader.read(List.of(last));
        TapDistribution merged = copy(older, empty);
        merged.merge(newest);
        Entry fresh = new Entry(older, newest, merged);
        synchronized (this) {
            fresh.version = ++lastVersion;
            entries.put(key, fresh);
            while (entries.size() > maxEntries) {
                Iterator<Key> eldest = entries.keySet().iterator();
                eldest.next();
                eldest.remove();
            }
        }
        return new Merged(merged, fresh.version);
    }

    /**
     * A window changed: every entry built from it (or from the hour or day a changed minute belongs to, which a
     * late minute also changes) is dropped, or only its newest window is re-read when that is the one that changed.
     */
    public synchronized void windowChanged(String modelId, String modelVersion, String tap, String slice,
            Granularity granularity, Instant start) {
        Iterator<Map.Entry<Key, Entry>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Key, Entry> e = it.next();
            Key k = e.getKey();
            if (!k.tap().equals(tap) || !k.slice().equals(slice) || !k.modelId().equals(modelId)
                    || !k.modelVersion().equals(modelVersion)) {
                continue;
            }
            List<RangePlan.Segment> plan = k.plan();
            for (int i = 0; i < plan.size(); i++) {
                if (covers(plan.get(i), granularity, start)) {
                    if (i == plan.size() - 1) {
                        e.getValue().newestStale = true;
                    } else {
                        it.remove();
                    }
                    break;
                }
            }
        }
    }

    /** Drops every entry (e.g. after the announcements may have been missed). */
    public synchronized void clear() {
        entries.clear();
    }

    public synchronized long hits() {
        return hits;
    }

    public synchronized long misses() {
        return misses;
    }

    /** Whether a changed window lies within a segment: the same window, or a minute of a cached hour or day. */
    static boolean covers(RangePlan.Segment segment, Granularity granularity, Instant start) {
        if (granularity.length().compareTo(segment.granularity().length()) > 0) {
            // a changed hour or day leaves its minutes' rows as they were
            return false;
        }
        Instant segmentStart = segment.granularity().windowStart(start);
        return segmentStart.equals(segment.start());
    }

    private static TapDistribution copy(TapDistribution source, Supplier<TapDistribution> empty) {
        TapDistribution out = empty.get();
        out.merge(source);
        return out;
    }
}
