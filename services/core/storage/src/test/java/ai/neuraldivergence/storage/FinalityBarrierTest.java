package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapMinute;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A flush decides what is final by the watermark it read at its start; a compaction pass that read a later one (moved
 * by another partition's flush meanwhile) builds an hour only once that flush has committed, so that the hour holds
 * its observations. Before, the hour was built without them and never amended, and retention later dropped the
 * minute that held the only copy.
 */
class FinalityBarrierTest {

    private static final TapDescriptor TAP = new TapDescriptor("late", "1", "dense", 0, new int[] {2}, 2,
            Reduction.NONE);
    private static final Instant HOUR = Granularity.HOUR.windowStart(Instant.now()).minus(Duration.ofHours(3));

    private static PGSimpleDataSource database(String name) throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create(name);
        try (Connection c = ds.getConnection()) {
            new CatalogStore(ds).register(c, TAP);
        }
        new DeltaPartitions(ds).ensure(HOUR, HOUR.plus(Duration.ofHours(1)));
        return ds;
    }

    private static void append(Connection c, Instant minute, float value) throws Exception {
        new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("late", "1", "dense",
                minute, 0), new SlicedRows.Builder(2).add(Slice.ALL, List.of(new float[] {value, value})).build())));
    }

    private static long hourObservations(PGSimpleDataSource ds) {
        List<TapWindowStore.StoredWindow> hour = new TapWindowStore(ds).read("late", "1", "dense", Slice.ALL,
                Granularity.HOUR, HOUR, HOUR.plus(Duration.ofHours(1)));
        return hour.isEmpty() ? 0 : hour.get(0).distribution().observationCount();
    }

    @Test
    void anHourIsBuiltOnlyOnceTheFlushesThatReadAnEarlierWatermarkHaveCommitted() throws Exception {
        PGSimpleDataSource ds = database("finality_barrier_test");
        try (Connection c = ds.getConnection()) {
            append(c, HOUR.plus(Duration.ofMinutes(10)), 1f);
        }
        Compaction compaction = new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Connection flush = ds.getConnection()) {
            // a flush that read the watermark while 11:55 was open: it appends to that minute and has not committed
            flush.setAutoCommit(false);
            FinalityBarrier.enterFlush(flush);
            append(flush, HOUR.plus(Duration.ofMinutes(55)), 2f);
            // meanwhile another partition's flush moved the watermark two hours past: the pass may build the hour
            Future<Compaction.Pass> pass = pool.submit(() -> compaction.run(HOUR.plus(Duration.ofHours(2))));
            Thread.sleep(1_000);
            assertFalse(pass.isDone(), "the pass waits for the flush");
            flush.commit();
            Compaction.Pass done = pass.get(30, TimeUnit.SECONDS);
            assertFalse(done.deferred());
            assertEquals(2, done.folded(), "both minutes folded");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(2, hourObservations(ds), "the hour holds the flush's observation too");
    }

    @Test
    void aFlushThatRunsLongerThanThePassWaitsDefersThePassAndNothingIsBuilt() throws Exception {
        PGSimpleDataSource ds = database("finality_barrier_deferred_test");
        Compaction compaction = new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE);
        try (Connection flush = ds.getConnection()) {
            flush.setAutoCommit(false);
            FinalityBarrier.enterFlush(flush);
            append(flush, HOUR.plus(Duration.ofMinutes(30)), 3f);
            long started = System.nanoTime();
            Compaction.Pass deferred = compaction.run(HOUR.plus(Duration.ofHours(2)));
            assertTrue(deferred.deferred(), "waited " + (System.nanoTime() - started) / 1_000_000 + " ms");
            assertEquals(0, deferred.hours());
            flush.commit();
        }
        Compaction.Pass next = compaction.run(HOUR.plus(Duration.ofHours(2)));
        assertFalse(next.deferred());
        assertEquals(1, next.folded());
        assertEquals(1, hourObservations(ds), "built at the next pass, with the flush's observation");
    }
}
