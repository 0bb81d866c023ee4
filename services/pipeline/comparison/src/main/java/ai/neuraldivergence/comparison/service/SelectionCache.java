package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RangePlan;
import ai.neuraldivergence.domain.TapDelta;
import ai.neuraldivergence.domain.TapDistribution;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Merged time-range selections, kept between queries and brought up to date as the windows they were built from
 * change (the aggregator announces every commit with a WindowUpdate). A live query repeats while only its newest
 * window keeps changing: each entry keeps the merge of its older windows apart, and the ids of the newest minute's
 * deltas it holds. A commit to that minute names the deltas it appended: the entry fetches exactly those and adds
 * them (one delta read, no window read); only when it cannot tell what it holds (a delta folded into the minute's row
 * before it was fetched, or gone) is the newest window read again. A change to an older window rebuilds the entry.
 *
 * <p>Bounded (least recently used entries go first) and aged: an entry is rebuilt after {@code maxAge} whatever
 * happened, so that a lost announcement cannot keep a stale answer alive. Thread-safe.
 */
public final class SelectionCache {

    /** A range selection of one tap, as planned. */
    public record Key(String modelId, String modelVersion, String tap, String slice, List<RangePlan.Segment> plan) {
    }

    /** A cached selection: the merge of all its windows but the newest, and the merge of them all. */
    private static final class Entry {
        final TapDistribution older;
        TapDistribution merged;
        /** The newest window's unfolded deltas that {@link #merged} holds. */
        final Set<Long> newestDeltas = new HashSet<>();
        /** Deltas announced for the newest window since, not added yet. */
        final Set<Long> pendingDeltas = new HashSet<>();
        boolean newestStale;
        /** Times {@link #newestStale} was set: one set during a re-read of the newest window is not lost. */
        long staleMarks;
        final long createdNanos = System.nanoTime();
        long version;
        /** The heap the entry holds (both distributions), estimated when it was made. */
        final long bytes;

        Entry(TapDistribution older, TapDistribution merged, Set<Long> newestDeltas) {
            this.older = older;
            this.merged = merged;
            this.bytes = older.heapBytes() + merged.heapBytes();
            this.newestDeltas.addAll(newestDeltas);
        }
    }

    /** What a read of some windows gave: their merge, and the ids of the unfolded deltas it holds. */
    public record Part(TapDistribution distribution, Set<Long> deltaIds) {
    }

    /** A delta fetched by id: whether it is folded by now, and its rows of the selection's slice. */
    public record Added(long id, boolean folded, TapDelta rows) {
    }

    /** Reads windows and deltas for the cache. */
    public interface Reader {
        /** All of a plan's segments merged. */
        Part read(List<RangePlan.Segment> segments);

        /** The deltas with these ids of one minute, those still stored. */
        List<Added> deltas(Instant minute, Set<Long> ids);
    }

    /**
     * Changes announced per tap and slice (hashed into a fixed number of counters, so that the memory is bounded; a
     * collision only makes an entry be served without being kept). An entry built while its tap and slice changed
     * may hold the change or not: it is served, never kept, so that the change is not lost for the entry's life.
     */
    private final long[] changes = new long[4096];
    /** Clears so far: a build that began before one is served, not kept. */
    private long clears;
    private final int maxEntries;
    private final long maxBytes;
    private long bytes;
    private final long maxAgeNanos;
    private final Map<Key, Entry> entries;
    private long hits;
    private long misses;
    private long deltasAdded;
    private long changedDuringBuild;
    // versions are unique across entries, so that a rebuilt entry never matches what its predecessor produced
    private long lastVersion;

    public SelectionCache(int maxEntries, Duration maxAge) {
        this(maxEntries, maxAge, Long.MAX_VALUE);
    }

    /**
     * @param maxBytes the heap the entries may hold together (estimated, {@link TapDistribution#heapBytes}): a
     *     wide tap's selection in estimation mode is tens of megabytes, so a count alone bounds nothing; a selection
     *     larger than this is returned, never kept
     */
    public SelectionCache(int maxEntries, Duration maxAge, long maxBytes) {
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
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
            return new Merged(reader.read(key.plan()).distribution(), -1);
        }
        Entry entry;
        Set<Long> pending;
        long seen;
        TapDistribution held;
        boolean stale;
        long staleMarks;
        long changesBefore;
        long clearsBefore;
        synchronized (this) {
            changesBefore = changes[bucket(key.modelId(), key.modelVersion(), key.tap(), key.slice())];
            clearsBefore = clears;
            entry = entries.get(key);
            if (entry != null && System.nanoTime() - entry.createdNanos > maxAgeNanos) {
                bytes -= entries.remove(key).bytes;
                entry = null;
            }
            if (entry != null && !entry.newestStale && entry.pendingDeltas.isEmpty()) {
                hits++;
                return new Merged(entry.merged, entry.version);
            }
            pending = entry == null ? Set.of() : new HashSet<>(entry.pendingDeltas);
            seen = entry == null ? 0 : entry.version;
            held = entry == null ? null : entry.merged;
            stale = entry != null && entry.newestStale;
            staleMarks = entry == null ? 0 : entry.staleMarks;
        }
        List<RangePlan.Segment> plan = key.plan();
        RangePlan.Segment last = plan.get(plan.size() - 1);
        if (entry != null && !stale) {
            // only announced deltas are missing: fetched by id and added, outside the lock (entries are never
            // changed in place, only replaced)
            List<Added> added = reader.deltas(last.start(), pending);
            if (added.size() == pending.size() && added.stream().noneMatch(Added::folded)) {
                TapDistribution merged = copy(held, empty);
                added.forEach(a -> a.rows().addTo(merged));
                synchronized (this) {
                    if (entry.version != seen) {
                        // another query brought it up to date meanwhile
                        return new Merged(entry.merged, entry.version);
                    }
                    entry.merged = merged;
                    entry.newestDeltas.addAll(pending);
                    entry.pendingDeltas.removeAll(pending);
                    entry.version = ++lastVersion;
                    hits++;
                    deltasAdded += added.size();
                    return new Merged(merged, entry.version);
                }
            }
            // folded into the minute's row since it was announced (or gone): whether the entry holds it cannot be
            // told, so the newest window is read again
        }
        synchronized (this) {
            misses++;
        }
        if (entry != null) {
            // every delta announced before this read is in it, as a delta or in the minute's row
            Part newest = reader.read(List.of(last));
            TapDistribution merged = copy(entry.older, empty);
            merged.merge(newest.distribution());
            synchronized (this) {
                if (entry.version != seen) {
                    return new Merged(entry.merged, entry.version);
                }
                entry.merged = merged;
                entry.newestDeltas.clear();
                entry.newestDeltas.addAll(newest.deltaIds());
                entry.pendingDeltas.removeAll(pending);
                entry.pendingDeltas.removeAll(entry.newestDeltas);
                entry.newestStale = entry.newestStale && entry.staleMarks != staleMarks;
                entry.version = ++lastVersion;
                return new Merged(merged, entry.version);
            }
        }
        Part older = plan.size() == 1 ? new Part(empty.get(), Set.of())
                : reader.read(plan.subList(0, plan.size() - 1));
        Part newest = reader.read(List.of(last));
        TapDistribution merged = copy(older.distribution(), empty);
        merged.merge(newest.distribution());
        Entry fresh = new Entry(older.distribution(), merged, newest.deltaIds());
        synchronized (this) {
            fresh.version = ++lastVersion;
            if (fresh.bytes > maxBytes) {
                // larger than the whole cache may be: served, not kept
                return new Merged(merged, -1);
            }
            if (changes[bucket(key.modelId(), key.modelVersion(), key.tap(), key.slice())] != changesBefore
                    || clears != clearsBefore) {
                // (or the cache was cleared meanwhile: announcements may have been missed, and the read with them)
                // announced while it was read: whether the read saw the change cannot be told
                changedDuringBuild++;
                return new Merged(merged, -1);
            }
            Entry replaced = entries.put(key, fresh);
            bytes += fresh.bytes - (replaced == null ? 0 : replaced.bytes);
            Iterator<Entry> eldest = entries.values().iterator();
            while ((entries.size() > maxEntries || bytes > maxBytes) && eldest.hasNext()) {
                bytes -= eldest.next().bytes;
                eldest.remove();
            }
        }
        return new Merged(merged, fresh.version);
    }

    /**
     * A window changed: an entry whose newest window is that minute notes the deltas the commit appended (added at
     * its next use), or re-reads its newest window when the commit names none (a built hour or day); every entry
     * built from an older window it changed (or from the hour or day a changed minute belongs to, which a late
     * minute also changes) is dropped.
     */
    public synchronized void windowChanged(String modelId, String modelVersion, String tap, String slice,
            Granularity granularity, Instant start, Set<Long> deltaIds) {
        changes[bucket(modelId, modelVersion, tap, slice)]++;
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
                    Entry entry = e.getValue();
                    if (i < plan.size() - 1) {
                        bytes -= entry.bytes;
                        it.remove();
                    } else if (!deltaIds.isEmpty() && granularity == Granularity.MINUTE
                            && plan.get(i).granularity() == Granularity.MINUTE) {
                        for (Long id : deltaIds) {
                            if (!entry.newestDeltas.contains(id)) {
                                entry.pendingDeltas.add(id);
                            }
                        }
                    } else {
                        entry.newestStale = true;
                        entry.staleMarks++;
                    }
                    break;
                }
            }
        }
    }

    private int bucket(String modelId, String modelVersion, String tap, String slice) {
        return Math.floorMod(java.util.Objects.hash(modelId, modelVersion, tap, slice), changes.length);
    }

    /** Selections built while their tap and slice changed: served, not kept. */
    public synchronized long changedDuringBuild() {
        return changedDuringBuild;
    }

    /**
     * Drops every entry (e.g. after the announcements may have been missed), and every entry being built now: one
     * read before the clear may miss what was announced while nothing listened.
     */
    public synchronized void clear() {
        entries.clear();
        bytes = 0;
        clears++;
    }

    /** The heap the entries hold, estimated. */
    public synchronized long bytes() {
        return bytes;
    }

    public synchronized long hits() {
        return hits;
    }

    public synchronized long misses() {
        return misses;
    }

    /** Deltas added to cached selections by their ids (each one window read saved). */
    public synchronized long deltasAdded() {
        return deltasAdded;
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
