package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The stores against a real PostgreSQL with the real migrations applied. */
class StoresTest {

    private static PGSimpleDataSource dataSource;

    @BeforeAll
    static void migrate() {
        dataSource = MigratedDatabase.create("storage_test");
    }

    private static final TapDescriptor CONV1 =
            new TapDescriptor("mnist", "1", "conv1", 0, new int[] {28, 28, 8}, 8, Reduction.MAX);

    @Test
    void aTapKeepsTheLayoutItWasFirstSeenWith() throws SQLException {
        CatalogStore catalog = new CatalogStore(dataSource);
        try (Connection c = dataSource.getConnection()) {
            assertEquals(CONV1, catalog.register(c, CONV1));
            TapDescriptor other = new TapDescriptor("mnist", "1", "conv1", 0, new int[] {28, 28, 16}, 16,
                    Reduction.MAX);
            TapDescriptor stored = catalog.register(c, other);
            assertEquals(CONV1, stored);
            assertFalse(stored.sameLayout(other));
            catalog.register(c, new TapDescriptor("mnist", "1", "dense1", 4, new int[] {64}, 64, Reduction.NONE));
        }
        assertEquals(List.of("conv1", "dense1"),
                catalog.taps("mnist", "1").stream().map(TapDescriptor::tap).toList());
    }

    /**
     * Two transactions creating the same row: the second waits for the first (the key is locked before the row
     * exists) and merges into what it committed, in every store that merges. Without the lock the second would not
     * see the uncommitted row, insert, wait on the conflict, and overwrite the first.
     */
    @Test
    void twoTransactionsCreatingOneRowBothCount() throws Exception {
        CatalogStore catalog = new CatalogStore(dataSource);
        TapWindowStore windows = new TapWindowStore(dataSource);
        ReferenceStore references = new ReferenceStore(dataSource);
        ExemplarStore exemplars = new ExemplarStore(dataSource);
        TapDescriptor tap = new TapDescriptor("race-model", "1", "dense", 0, new int[] {2}, 2, Reduction.NONE);
        Instant hour = Instant.parse("2026-11-28T10:00:00Z");
        WindowKey key = new WindowKey("race-model", "1", "dense", Slice.ALL, Granularity.HOUR, hour);
        ai.neuraldivergence.domain.ReferenceKey reference = new ai.neuraldivergence.domain.ReferenceKey(
                "race-model", "1", "training", "dense", Slice.ALL);
        try (Connection c = dataSource.getConnection()) {
            catalog.register(c, tap);
            references.registerTagged(c, "race-model", "1", "training");
        }
        try (Connection first = dataSource.getConnection(); Connection second = dataSource.getConnection()) {
            first.setAutoCommit(false);
            second.setAutoCommit(false);
            windows.merge(first, key, delta(1f, 2f));
            references.merge(first, reference, delta(1f, 2f));
            exemplars.merge(first, "race-model", "1", "dense", hour, top("a", 5f));
            java.util.concurrent.CompletableFuture<Void> other = java.util.concurrent.CompletableFuture.runAsync(
                    () -> {
                        try {
                            windows.merge(second, key, delta(7f));
                            references.merge(second, reference, delta(7f));
                            exemplars.merge(second, "race-model", "1", "dense", hour, top("b", 9f));
                            second.commit();
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    });
            Thread.sleep(500);
            assertFalse(other.isDone(), "the second transaction waits for the first");
            first.commit();
            other.get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertEquals(3, windows.read("race-model", "1", "dense", Slice.ALL, Granularity.HOUR, hour,
                hour.plusSeconds(3600)).get(0).distribution().observationCount());
        assertEquals(3, references.read("race-model", "1", "training", "dense", Slice.ALL).orElseThrow()
                .observationCount());
        assertEquals(List.of("b", "a"), List.of(exemplars.read("race-model", "1", "dense", hour).orElseThrow()
                .ids(0)));
    }

    private static ai.neuraldivergence.domain.TopExemplars top(String id, float activation) {
        ai.neuraldivergence.domain.TopExemplars t = new ai.neuraldivergence.domain.TopExemplars(2, 8);
        t.offer(0, activation, id);
        t.offer(1, activation, id);
        return t;
    }

    @Test
    void aFlushKeepingThousandsOfObservationsHoldsABoundedNumberOfInstanceLocks() throws Exception {
        LateLabelStore labels = new LateLabelStore(dataSource);
        List<String> instances = new java.util.ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            instances.add("m\u0000instance-" + i);
        }
        try (Connection c = dataSource.getConnection(); Connection other = dataSource.getConnection()) {
            c.setAutoCommit(false);
            labels.lockInstances(c, instances);
            // each advisory lock holds a slot of PostgreSQL's shared lock table (6,400 by default) until the commit
            long held;
            try (var ps = c.prepareStatement("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = "
                    + "pg_backend_pid()"); var rs = ps.executeQuery()) {
                rs.next();
                held = rs.getLong(1);
            }
            assertTrue(held > 0 && held <= LateLabelStore.INSTANCE_LOCK_BUCKETS, held + " instance locks");
            // and they still exclude: another transaction joining one of these instances waits
            other.setAutoCommit(false);
            try (var st = other.createStatement()) {
                st.execute("SET lock_timeout = '200ms'");
            }
            SQLException waited = assertThrows(SQLException.class,
                    () -> labels.lockInstances(other, List.of("m\u0000instance-17")));
            assertEquals("55P03", waited.getSQLState(), "lock_not_available");
            other.rollback();
            c.rollback();
        }
    }

    @Test
    void windowsMergeAndReadBackByRange() throws SQLException {
        CatalogStore catalog = new CatalogStore(dataSource);
        TapWindowStore windows = new TapWindowStore(dataSource);
        TapDescriptor tap = new TapDescriptor("merge-model", "v1", "dense", 0, new int[] {2}, 2, Reduction.NONE);
        Instant minute = Instant.parse("2026-11-28T10:15:00Z");
        WindowKey key = new WindowKey("merge-model", "v1", "dense", Slice.ALL, Granularity.MINUTE, minute);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, tap);
            assertEquals(2, windows.merge(c, key, delta(1f, 2f)).observationCount());
            assertEquals(3, windows.merge(c, key, delta(5f)).observationCount());
            windows.merge(c, new WindowKey("merge-model", "v1", "dense", Slice.ALL, Granularity.MINUTE,
                    minute.plusSeconds(60)), delta(9f));
            c.commit();
        }
        List<TapWindowStore.StoredWindow> read = windows.read("merge-model", "v1", "dense", Slice.ALL,
                Granularity.MINUTE, minute, minute.plusSeconds(60));
        assertEquals(1, read.size(), "[from, to) excludes the window starting at to");
        TapDistribution d = read.get(0).distribution();
        assertEquals(3, d.observationCount());
        assertEquals(3, d.neuron(0).count());
        assertEquals(8.0, d.neuron(0).sum());
        assertEquals(16.0, d.neuron(1).sum(), "neuron 1 holds twice neuron 0's values");
        assertEquals(2.0, d.neuron(0).quantile(0.5));

        CatalogStore.VersionCoverage coverage = catalog.versions("merge-model").get(0);
        assertEquals(minute, coverage.coverageFrom());
        assertEquals(minute.plusSeconds(120), coverage.coverageTo());
        assertEquals(4, coverage.observationCount());
    }

    @Test
    void aModelsVersionNamesAreItsVersionsNewestFirst() throws Exception {
        CatalogStore catalog = new CatalogStore(dataSource);
        for (String version : new String[] {"v1", "v2", "v3"}) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                catalog.register(c, new TapDescriptor("names-model", version, "dense", 0, new int[] {2}, 2,
                        Reduction.NONE));
                c.commit();
            }
            Thread.sleep(5); // first seen in this order
        }
        assertEquals(List.of("v3", "v2", "v1"), catalog.versionNames("names-model"));
        assertEquals(catalog.versions("names-model").stream().map(CatalogStore.VersionCoverage::modelVersion)
                .toList(), catalog.versionNames("names-model"), "the order the catalog lists them in");
        assertEquals(List.of(), catalog.versionNames("no-such-model"));
    }

    private static TapDistribution delta(float... neuronZero) {
        TapDistribution d = new TapDistribution(2, 200);
        for (float v : neuronZero) {
            d.add(new float[] {v, 2 * v}, 0);
        }
        return d;
    }

    @Test
    void anOffsetMovesOnlyFromTheExactOffsetADeltaStartedAt() throws SQLException {
        OffsetStore offsets = new OffsetStore();
        try (Connection c = dataSource.getConnection()) {
            assertEquals(0, offsets.initialize(c, "g", "t", 0, 0));
            assertEquals(0, offsets.initialize(c, "g", "t", 0, 42), "an existing row is kept");
            assertTrue(offsets.advance(c, "g", "t", 0, 0, 10));
            // a stale owner that also read from 0 cannot commit on top
            assertFalse(offsets.advance(c, "g", "t", 0, 0, 7));
            assertEquals(10, offsets.nextOffset(c, "g", "t", 0).getAsLong());
            assertTrue(offsets.nextOffset(c, "g", "t", 1).isEmpty());
        }
    }

    @Test
    void recentObservationsKeepTheirMetadataAndInputUntilTheTtlOrTheCapEvictsThem() throws SQLException {
        CatalogStore catalog = new CatalogStore(dataSource);
        RecentObservationStore store = new RecentObservationStore(dataSource);
        TapDescriptor conv = new TapDescriptor("recent-model", "v1", "conv", 0, new int[] {4, 4, 2}, 2,
                Reduction.MAX);
        TapDescriptor dense = new TapDescriptor("recent-model", "v1", "dense", 1, new int[] {3}, 3, Reduction.NONE);
        Instant t = Instant.parse("2026-11-28T10:00:00Z");
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, conv);
            catalog.register(c, dense);
            List<RecentObservationStore.Recent> rows = new java.util.ArrayList<>();
            for (int i = 0; i < 10; i++) {
                // one observation per ten minutes, so one per partition of the store
                Instant at = t.plus(Duration.ofMinutes(10L * i));
                // dense before conv: reading back puts them in network order
                rows.add(recent("o-" + i, "dense", at, new float[] {i, -i, 0.5f}));
                rows.add(recent("o-" + i, "conv", at, new float[] {i, 2 * i}));
            }
            store.keep(c, rows);
            c.commit();
        }
        Instant o9At = t.plus(Duration.ofMinutes(90));
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            // a replayed observation (same instance and event time) does not overwrite the kept one
            store.keep(c, List.of(recent("o-9", "dense", o9At, new float[] {99, 99, 99})));
            store.keepInputs(c, List.of(new RecentObservationStore.CapturedInput("recent-model", "v1", "o-9",
                    o9At, new byte[] {1, 2, 3})));
            c.commit();
        }
        List<RecentObservationStore.Recent> o9 = store.find("recent-model", "o-9");
        assertEquals(List.of("conv", "dense"), o9.stream().map(RecentObservationStore.Recent::tap).toList());
        RecentObservationStore.Recent d = o9.get(1);
        assertEquals(List.of(9f, -9f, 0.5f), List.of(d.activations()[0], d.activations()[1], d.activations()[2]));
        assertEquals(java.util.Map.of("source", "canary", "quote", "a \"b\" \\ c"), d.tags());
        assertEquals(7, d.predictedClass());
        assertEquals(0.75f, d.confidence());
        assertEquals(null, d.trueLabel());
        assertEquals("p-1", d.pairId());
        assertEquals(ai.neuraldivergence.domain.PairRole.ATTACKED, d.pairRole());
        assertEquals(3, store.input("recent-model", "o-9").orElseThrow().png().length);

        // the TTL drops the partitions of o-0 and o-1; the cap of 12 rows then drops the oldest partitions until the
        // newest 6 observations (2 taps each) are left
        RecentObservationStore.Evicted evicted = store.evict(t.plus(Duration.ofMinutes(20)), 12, 10);
        assertEquals(4, evicted.observationsExpired());
        assertEquals(4, evicted.observationsOverCap());
        assertTrue(store.find("recent-model", "o-3").isEmpty());
        assertEquals(2, store.find("recent-model", "o-4").size());
        assertEquals(0, evicted.inputsExpired() + evicted.inputsOverCap());
        // an input goes with the TTL too
        assertEquals(1, store.evict(t.plus(Duration.ofMinutes(100)), 12, 10).inputsExpired());
        assertTrue(store.input("recent-model", "o-9").isEmpty());
    }

    @Test
    void anInstanceIdSentAgainAtAnotherTimeIsAnotherObservationAndTheNewestIsInspected() throws SQLException {
        RecentObservationStore store = new RecentObservationStore(dataSource);
        CatalogStore catalog = new CatalogStore(dataSource);
        TapDescriptor dense = new TapDescriptor("recent-model", "v1", "dense", 1, new int[] {3}, 3, Reduction.NONE);
        Instant first = Instant.parse("2026-11-28T11:00:00Z");
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, dense);
            store.keep(c, List.of(recent("again", "dense", first, new float[] {1, 1, 1})));
            c.commit();
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            store.keep(c, List.of(recent("again", "dense", first.plus(Duration.ofMinutes(30)), new float[] {2, 2, 2})));
            c.commit();
        }
        List<RecentObservationStore.Recent> found = store.find("recent-model", "again");
        assertEquals(1, found.size());
        assertEquals(2f, found.get(0).activations()[0], "the newest of the two observations");
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            LateLabelStore labels = new LateLabelStore(dataSource);
            labels.lockInstances(c, List.of("recent-model\u0000again"));
            assertTrue(labels.recordLabel(c, "recent-model", "again", 3));
            assertFalse(labels.recordLabel(c, "recent-model", "again", 4), "the first label wins");
            // a label joins every unlabelled observation of its instance (each was counted in its windows)
            assertEquals(2, labels.claimUnlabelled(c, "recent-model", "again", 3, null).size());
            c.commit();
        }
        // the store's cap counts every row: the other test's figures must not see these
        try (Connection c = dataSource.getConnection(); java.sql.Statement s = c.createStatement()) {
            s.execute("DELETE FROM recent_observation WHERE instance_id = 'again'");
        }
    }

    private static RecentObservationStore.Recent recent(String id, String tap, Instant time, float[] activations) {
        return new RecentObservationStore.Recent("recent-model", "v1", id, tap, time, 7, 0.75f, null,
                java.util.Map.of("source", "canary", "quote", "a \"b\" \\ c"), "p-1",
                ai.neuraldivergence.domain.PairRole.ATTACKED, activations);
    }

    @Test
    void admittedTagValuesArePerModel() throws SQLException {
        CatalogStore catalog = new CatalogStore(dataSource);
        try (Connection c = dataSource.getConnection()) {
            catalog.admitTagValues(c, List.of(new ai.neuraldivergence.domain.SlicePolicy.Admitted("tv-1", "src", "a"),
                    new ai.neuraldivergence.domain.SlicePolicy.Admitted("tv-1", "src", "b"),
                    new ai.neuraldivergence.domain.SlicePolicy.Admitted("tv-1", "src", "a"),
                    new ai.neuraldivergence.domain.SlicePolicy.Admitted("tv-2", "src", "c")));
        }
        assertEquals(java.util.Map.of("src", java.util.Set.of("a", "b")), catalog.admittedTagValues("tv-1"));
        assertEquals(java.util.Map.of(), catalog.admittedTagValues("tv-3"));
    }

    @Test
    void aVersionCountsEveryObservationOnceWhateverIsBuiltAndCoversEveryGranularity() throws SQLException {
        CatalogStore catalog = new CatalogStore(dataSource);
        TapWindowStore windows = new TapWindowStore(dataSource);
        TapDescriptor tap = new TapDescriptor("count-model", "v1", "dense", 0, new int[] {2}, 2, Reduction.NONE);
        Instant day = Instant.parse("2026-11-20T00:00:00Z");
        Instant recent = Instant.parse("2026-11-28T10:00:00Z");
        Instant unfolded = recent.plusSeconds(3660);
        new DeltaPartitions(dataSource).ensure(unfolded, unfolded);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, tap);
            // a day whose minutes and hours expired long ago: only its day row is left
            windows.merge(c, new WindowKey("count-model", "v1", "dense", Slice.ALL, Granularity.DAY, day), delta(1, 2, 3));
            // a minute whose hour is built (the hour holds it too), its day not yet
            windows.merge(c, new WindowKey("count-model", "v1", "dense", Slice.ALL, Granularity.MINUTE, recent), delta(4));
            windows.merge(c, new WindowKey("count-model", "v1", "dense", Slice.ALL, Granularity.HOUR, recent), delta(4));
            // a minute of the next hour, not built, and a delta of the minute after it, not folded
            windows.merge(c, new WindowKey("count-model", "v1", "dense", Slice.ALL, Granularity.MINUTE,
                    recent.plusSeconds(3600)), delta(5, 6));
            // one observation in two slices: counted once
            float[] seven = {7, 7};
            new WindowDeltaStore().append(c, java.util.List.of(new WindowDeltaStore.Append(
                    new ai.neuraldivergence.domain.TapMinute("count-model", "v1", "dense", unfolded),
                    new ai.neuraldivergence.domain.SlicedRows.Builder(2).add(Slice.ALL, java.util.List.of(seven))
                            .add(Slice.predictedClass(1), java.util.List.of(seven)).build())));
            c.commit();
        }
        CatalogStore.VersionCoverage v = catalog.versions("count-model").get(0);
        assertEquals(3 + 1 + 2 + 1, v.observationCount());
        assertEquals(day, v.coverageFrom());
        assertEquals(unfolded.plusSeconds(60), v.coverageTo());
        // a reader sees the minute as its deltas, before any fold
        var minute = windows.read("count-model", "v1", "dense", Slice.ALL, Granularity.MINUTE, unfolded,
                unfolded.plusSeconds(60));
        assertEquals(1, minute.size());
        assertEquals(7.0, minute.get(0).distribution().neuron(1).sum());
    }
}
