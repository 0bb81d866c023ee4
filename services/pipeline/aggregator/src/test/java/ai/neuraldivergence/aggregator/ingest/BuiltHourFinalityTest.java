package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.Compaction;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.TapWindowStore;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A minute whose hour is built takes no delta, whatever the watermark says at the flush. The group's watermark is
 * empty while one of its partitions has none yet (a partition added to a live topic): a flush then took nothing as
 * final, and a late delta for a built hour was folded into its minute and never reached the hour (hour and day rows
 * are never amended). Now it is dropped as final and counted, as a delta behind the watermark is.
 */
class BuiltHourFinalityTest {

    private static final Duration FINALITY = Duration.ofMinutes(5);
    private static final TapDescriptor TAP = new TapDescriptor("built", "1", "dense", 0, new int[] {1}, 1,
            Reduction.NONE);

    @Test
    void aLateDeltaForABuiltHourIsDroppedAsFinalWhileAPartitionHasNoWatermark() throws Exception {
        PGSimpleDataSource ds = TestDatabases.migrated("built_hour_finality");
        FlushWriter writer = FlushWriters.of(ds, "g", 200, new FlushWriter.Finality(FINALITY, Set.of("acts"),
                FINALITY), new DeltaPartitions(ds));
        TopicPartition first = new TopicPartition("acts", 0);
        writer.storedOffsets(Map.of(first, 0L));
        Instant minute = Granularity.HOUR.windowStart(Instant.now()).minus(Duration.ofHours(3));
        WindowKey key = new WindowKey("built", "1", "dense", Slice.ALL, Granularity.MINUTE, minute);

        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(drained(key, 5), Map.of(first,
                new FlushWriter.OffsetRange(0, 5, minute.plusSeconds(10)))));
        // event time moves two hours on: the minute is final, and its hour built
        Instant later = minute.plus(Duration.ofHours(2));
        writer.flush(new WindowAccumulator.Drained(Map.of(), Map.of()), Map.of(first,
                new FlushWriter.OffsetRange(5, 6, later)));
        Compaction.Pass pass = new Compaction(ds, 200, FINALITY, Compaction.Listener.NONE).run(later);
        assertEquals(1, pass.hours(), "the minute's hour");

        // a partition added to the topic: no watermark yet, so the group has none
        TopicPartition added = new TopicPartition("acts", 1);
        writer.storedOffsets(Map.of(added, 0L));
        FlushWriter.Outcome.Committed late = (FlushWriter.Outcome.Committed) writer.flush(drained(key, 2),
                Map.of(added, new FlushWriter.OffsetRange(0, 2, minute.plusSeconds(20))));
        assertEquals(1, late.droppedFinal(), "the late delta is dropped as final, and counted");
        assertEquals(0, unfolded(ds), "nothing appended to the built hour's minute");
        assertEquals(5, new TapWindowStore(ds).read("built", "1", "dense", Slice.ALL, Granularity.HOUR,
                Granularity.HOUR.windowStart(minute), later).get(0).distribution().observationCount());
    }

    private static WindowAccumulator.Drained drained(WindowKey key, int observations) {
        PendingWindow window = new PendingWindow(TAP, false);
        for (int i = 0; i < observations; i++) {
            window.add(new float[] {i}, key.windowStart() + "-" + i + "-" + observations);
        }
        Map<WindowKey, PendingWindow> windows = new LinkedHashMap<>();
        windows.put(key, window);
        return new WindowAccumulator.Drained(windows, Map.of());
    }

    private static long unfolded(PGSimpleDataSource ds) throws Exception {
        try (Connection c = ds.getConnection(); var s = c.prepareStatement("SELECT count(*) FROM window_delta WHERE "
                + "NOT folded"); var rs = s.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
