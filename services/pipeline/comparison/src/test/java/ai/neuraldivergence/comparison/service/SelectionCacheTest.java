package ai.neuraldivergence.comparison.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RangePlan;
import ai.neuraldivergence.domain.RawRows;
import ai.neuraldivergence.domain.TapDistribution;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The selection cache against a store it reads through a counting reader (a unit test of one class): announced
 * deltas are added by their ids, never twice, and the newest window is read again only when the cache cannot tell
 * what it holds.
 */
class SelectionCacheTest {

    private static final Instant HOUR = Instant.parse("2026-11-30T10:00:00Z");
    private static final Instant NEWEST = HOUR.plusSeconds(60);
    private static final List<RangePlan.Segment> PLAN = List.of(new RangePlan.Segment(Granularity.MINUTE, HOUR),
            new RangePlan.Segment(Granularity.MINUTE, NEWEST));
    private static final SelectionCache.Key KEY = new SelectionCache.Key("m", "1", "dense", "all", PLAN);

    /** The store as the cache sees it: per minute, unfolded deltas by id; folded ones are in the minute's row. */
    private final class Store implements SelectionCache.Reader {
        final Map<Instant, List<float[]>> rows = new HashMap<>();
        final Map<Long, float[]> deltas = new HashMap<>();
        final Map<Long, Instant> deltaMinute = new HashMap<>();
        final Set<Long> folded = new HashSet<>();
        int windowReads;
        int deltaReads;
        Runnable duringRead = () -> { };

        long append(Instant minute, float value) {
            long id = deltas.size() + 1;
            deltas.put(id, new float[] {value});
            deltaMinute.put(id, minute);
            return id;
        }

        void fold(long id) {
            folded.add(id);
            rows.computeIfAbsent(deltaMinute.get(id), k -> new ArrayList<>()).add(deltas.get(id));
        }

        @Override
        public SelectionCache.Part read(List<RangePlan.Segment> segments) {
            windowReads++;
            duringRead.run();
            TapDistribution d = empty();
            Set<Long> ids = new HashSet<>();
            for (RangePlan.Segment s : segments) {
                d.addAll(rows.getOrDefault(s.start(), List.of()));
                deltas.forEach((id, row) -> {
                    if (deltaMinute.get(id).equals(s.start()) && !folded.contains(id)) {
                        d.addAll(List.of(row));
                        ids.add(id);
                    }
                });
            }
            return new SelectionCache.Part(d, ids);
        }

        @Override
        public List<SelectionCache.Added> deltas(Instant minute, Set<Long> ids) {
            deltaReads++;
            List<SelectionCache.Added> out = new ArrayList<>();
            for (Long id : ids) {
                if (deltas.containsKey(id) && deltaMinute.get(id).equals(minute)) {
                    out.add(new SelectionCache.Added(id, folded.contains(id), new RawRows(1,
                            List.<float[]>of(deltas.get(id)))));
                }
            }
            return out;
        }
    }

    private final SelectionCache cache = new SelectionCache(8, Duration.ofMinutes(10));
    private Store store;

    @BeforeEach
    void enable() {
        cache.enable(true);
        store = new Store();
    }

    private static TapDistribution empty() {
        return new TapDistribution(1, 200);
    }

    private SelectionCache.Merged get() {
        return cache.get(KEY, store, SelectionCacheTest::empty);
    }

    private void announce(Instant minute, long... ids) {
        Set<Long> set = new HashSet<>();
        for (long id : ids) {
            set.add(id);
        }
        cache.windowChanged("m", "1", "dense", "all", Granularity.MINUTE, minute, set);
    }

    @Test
    void theCacheHoldsAtMostItsBytesAndNeverKeepsASelectionLargerThanThem() {
        store.fold(store.append(HOUR, 1f));
        store.append(NEWEST, 2f);
        SelectionCache probe = new SelectionCache(8, Duration.ofMinutes(10));
        probe.enable(true);
        probe.get(KEY, store, SelectionCacheTest::empty);
        long one = probe.bytes();
        assertEquals(true, one > 0, "an entry is weighed");

        // room for one entry: a second selection evicts the first
        SelectionCache small = new SelectionCache(8, Duration.ofMinutes(10), one + one / 2);
        small.enable(true);
        SelectionCache.Key other = new SelectionCache.Key("m", "1", "dense", "class:1", PLAN);
        small.get(KEY, store, SelectionCacheTest::empty);
        small.get(other, store, SelectionCacheTest::empty);
        assertEquals(one, small.bytes(), "the eldest entry went");
        int reads = store.windowReads;
        small.get(KEY, store, SelectionCacheTest::empty);
        assertEquals(reads + 2, store.windowReads, "evicted: read again");

        // smaller than one entry: served, never kept
        SelectionCache tiny = new SelectionCache(8, Duration.ofMinutes(10), one - 1);
        tiny.enable(true);
        SelectionCache.Merged served = tiny.get(KEY, store, SelectionCacheTest::empty);
        assertEquals(2, served.distribution().observationCount());
        assertEquals(-1, served.version(), "not cached");
        assertEquals(0, tiny.bytes());
    }

    @Test
    void anAnnouncedDeltaIsAddedByItsIdWithoutReadingTheWindow() {
        store.fold(store.append(HOUR, 1f));
        store.append(NEWEST, 2f);
        assertEquals(2, get().distribution().observationCount());
        assertEquals(2, store.windowReads, "older and newest");

        long third = store.append(NEWEST, 4f);
        announce(NEWEST, third);
        SelectionCache.Merged merged = get();
        assertEquals(3, merged.distribution().observationCount());
        assertEquals(7.0, merged.distribution().neuron(0).sum(), 1e-9);
        assertEquals(2, store.windowReads, "no window read again");
        assertEquals(1, store.deltaReads);
        assertEquals(1, cache.deltasAdded());

        // announced twice (each slice's update names it): added once
        announce(NEWEST, third);
        assertEquals(3, get().distribution().observationCount());
        assertEquals(1, store.deltaReads, "a delta the entry holds is not fetched again");
    }

    @Test
    void aDeltaTheFirstReadAlreadyHeldIsNotAddedAgain() {
        long id = store.append(NEWEST, 2f);
        get();
        announce(NEWEST, id);
        assertEquals(1, get().distribution().observationCount());
        assertEquals(0, store.deltaReads);
    }

    @Test
    void aDeltaFoldedBeforeItWasFetchedMakesTheNewestWindowBeReadAgain() {
        store.append(NEWEST, 2f);
        get();
        long late = store.append(NEWEST, 4f);
        announce(NEWEST, late);
        // folded before the cache fetched it: whether the entry holds it cannot be told from the delta
        store.fold(late);
        store.fold(1);
        SelectionCache.Merged merged = get();
        assertEquals(2, merged.distribution().observationCount());
        assertEquals(6.0, merged.distribution().neuron(0).sum(), 1e-9);
        assertEquals(3, store.windowReads, "the newest window read again, the older ones not");
    }

    @Test
    void aChangeToAnOlderWindowRebuildsTheEntry() {
        store.append(NEWEST, 2f);
        long before = get().version();
        long late = store.append(HOUR, 8f);
        announce(HOUR, late);
        SelectionCache.Merged merged = get();
        assertEquals(2, merged.distribution().observationCount());
        assertNotEquals(before, merged.version());
        assertEquals(4, store.windowReads, "older and newest read again");
    }

    @Test
    void aStaleMarkArrivingWhileTheNewestWindowIsReadAgainIsNotLost() {
        store.append(NEWEST, 2f);
        get();
        // a built hour (no delta ids) marks the newest window stale
        cache.windowChanged("m", "1", "dense", "all", Granularity.MINUTE, NEWEST, Set.of());
        long during = store.append(NEWEST, 4f);
        store.duringRead = () -> {
            store.duringRead = () -> { };
            cache.windowChanged("m", "1", "dense", "all", Granularity.MINUTE, NEWEST, Set.of());
        };
        get();
        int reads = store.windowReads;
        get();
        assertEquals(reads + 1, store.windowReads, "the mark that came during the read asks for another");
        assertEquals(2, get().distribution().observationCount());
        assertEquals(0, store.deltaReads, "no delta was announced: id " + during + " came with the window");
    }

    @Test
    void aChangeAnnouncedWhileAnEntryIsFirstBuiltIsNotLost() {
        store.append(HOUR, 1f);
        // the older window is read; then, as the newest is read, a late delta of the older one commits and is
        // announced: the build cannot have seen it
        store.duringRead = () -> store.duringRead = () -> {
            store.duringRead = () -> { };
            long late = store.append(HOUR, 8f);
            announce(HOUR, late);
        };
        assertEquals(1, get().distribution().observationCount(), "served as read");
        assertEquals(1, cache.changedDuringBuild());
        SelectionCache.Merged next = get();
        assertEquals(2, next.distribution().observationCount(), "the next query reads again, not a stale entry");
        assertTrue(next.version() >= 0, "and keeps what it read");
        assertEquals(next.version(), get().version(), "which the one after is served from");
    }

    /**
     * The listener lost its place (a reconnect clears the cache, since announcements may have been missed) while an
     * entry was being built: the build, which read before the clear, is served and not kept, so that the next query
     * reads what was committed while nothing listened.
     */
    @Test
    void anEntryBeingBuiltWhenTheCacheIsClearedIsNotKept() {
        store.append(HOUR, 1f);
        // the older window is read; as the newest is read, a late delta of the older one commits while the listener
        // is away (no announcement reaches the cache), and the reconnect clears the cache
        store.duringRead = () -> store.duringRead = () -> {
            store.duringRead = () -> { };
            store.append(HOUR, 8f);
            cache.clear();
        };
        SelectionCache.Merged first = get();
        assertEquals(1, first.distribution().observationCount(), "served as read");
        assertEquals(-1, first.version(), "not kept");
        assertEquals(2, get().distribution().observationCount(), "the next query reads what was committed");
    }
}
