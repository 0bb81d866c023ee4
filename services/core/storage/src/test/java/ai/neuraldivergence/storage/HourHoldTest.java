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
import ai.neuraldivergence.domain.WindowKey;
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
 * A flush holds the hours it writes into from before it asks whether they are built until it commits, and a build of
 * one of them waits for it. A flush whose watermark is behind the pass's (a partition new to the group) may find an
 * hour ready but not built yet, and append to one of its minutes; without the hold the build, which cannot see the
 * uncommitted delta, built the hour without it, and the delta never reached the hour. With it the build waits, finds
 * the delta unfolded, and leaves the hour to the next pass, which holds every observation.
 */
class HourHoldTest {

    private static final Duration FINALITY = Duration.ofMinutes(5);
    private static final TapDescriptor TAP = new TapDescriptor("held", "1", "dense", 0, new int[] {1}, 1,
            Reduction.NONE);

    private static void append(Connection c, Instant minute, int observations) throws Exception {
        List<float[]> rows = new java.util.ArrayList<>();
        for (int i = 0; i < observations; i++) {
            rows.add(new float[] {i});
        }
        new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("held", "1", "dense",
                minute, 0), new SlicedRows.Builder(1).add(Slice.ALL, rows).build())));
    }

    @Test
    void aBuildWaitsForAFlushHoldingItsHourAndLeavesTheHourToTheNextPass() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create("hour_hold_test");
        Instant hour = Granularity.HOUR.windowStart(Instant.now()).minus(Duration.ofHours(3));
        Instant minute = hour.plus(Duration.ofMinutes(10));
        new DeltaPartitions(ds).ensure(hour, hour.plus(Duration.ofHours(1)));
        try (Connection c = ds.getConnection()) {
            new CatalogStore(ds).register(c, TAP);
            append(c, minute, 5);
        }
        Compaction compaction = new Compaction(ds, 200, FINALITY, Compaction.Listener.NONE);
        // the minute complete, not final: folded, and its hour not built yet
        assertEquals(1, compaction.run(minute.plus(Duration.ofMinutes(2))).folded());
        WindowKey hourKey = new WindowKey("held", "1", "dense", Slice.ALL, Granularity.HOUR, hour);

        ExecutorService thread = Executors.newSingleThreadExecutor();
        try (Connection flush = ds.getConnection()) {
            flush.setAutoCommit(false);
            WindowRollups.holdHours(flush, List.of(hourKey));
            assertTrue(new TapWindowStore(ds).existing(flush, List.of(hourKey)).isEmpty(), "not built yet");
            append(flush, minute, 2);
            Future<Boolean> build = thread.submit(() -> compaction.build(hourKey));
            Thread.sleep(500); // the build's chance to go ahead, were the hour not held
            assertFalse(build.isDone(), "the build waits for the flush");
            flush.commit();
            assertFalse(build.get(10, TimeUnit.SECONDS), "and then finds the flush's delta unfolded");
        } finally {
            thread.shutdownNow();
        }
        Compaction.Pass pass = compaction.run(hour.plus(Duration.ofHours(2)));
        assertEquals(1, pass.hours(), "the next pass builds the hour");
        assertEquals(7, new TapWindowStore(ds).read("held", "1", "dense", Slice.ALL, Granularity.HOUR, hour,
                hour.plus(Duration.ofHours(1))).get(0).distribution().observationCount(), "with the late delta");
    }
}
