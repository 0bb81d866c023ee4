package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import ai.neuraldivergence.storage.TapWindowStore;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The fence, deterministically, against a real PostgreSQL: two instances built deltas from the same stored offset;
 * the first commits; the second, now stale, is refused and writes nothing.
 */
class FlushFencingTest {

    @Test
    void aStaleDeltaIsRefusedAndWritesNothing() {
        PGSimpleDataSource ds = TestDatabases.migrated("fence_unit");
        FlushWriter first = FlushWriters.of(ds, "g");
        FlushWriter stale = FlushWriters.of(ds, "g");
        TopicPartition tp = new TopicPartition("t", 0);
        assertEquals(0L, first.storedOffsets(Map.of(tp, 0L)).get(tp));

        Instant minute = Instant.parse("2026-11-28T10:00:00Z");
        TapDescriptor tap = new TapDescriptor("m", "1", "dense", 0, new int[] {1}, 1, Reduction.NONE);
        WindowKey key = new WindowKey("m", "1", "dense", Slice.ALL, Granularity.MINUTE, minute);

        FlushWriter.Outcome committed = first.flush(drained(key, tap, 5), Map.of(tp,
                new FlushWriter.OffsetRange(0, 5)));
        assertInstanceOf(FlushWriter.Outcome.Committed.class, committed);
        // the other instance read the same records [0, 3) before it lost the partition
        FlushWriter.Outcome refused = stale.flush(drained(key, tap, 3), Map.of(tp,
                new FlushWriter.OffsetRange(0, 3)));
        assertEquals(new FlushWriter.Outcome.Fenced(tp), refused);

        TapDistribution stored = new TapWindowStore(ds).read("m", "1", "dense", Slice.ALL, Granularity.MINUTE,
                minute, minute.plusSeconds(60)).get(0).distribution();
        assertEquals(5, stored.observationCount(), "nothing of the stale delta was written");
        assertEquals(5L, first.storedOffsets(Map.of(tp, 0L)).get(tp));
    }

    /**
     * A delta read before its reference tap was sealed (by this aggregator, another one, or the seal job) reaches a
     * flush after the seal: the flush writes nothing and moves no offset, so that the records are read again and
     * dead-lettered; and the flush that brings a tap to its expected count seals it.
     */
    @Test
    void aDeltaReachingASealedReferenceWritesNothing() {
        PGSimpleDataSource ds = TestDatabases.migrated("seal_unit");
        FlushWriter writer = FlushWriters.of(ds, "g");
        ReferenceStore references = new ReferenceStore(ds);
        ai.neuraldivergence.storage.SealStore seals = new ai.neuraldivergence.storage.SealStore(ds);
        TopicPartition tp = new TopicPartition("t", 0);
        writer.storedOffsets(Map.of(tp, 0L));
        TapDescriptor tap = new TapDescriptor("m", "1", "dense", 0, new int[] {1}, 1, Reduction.NONE);
        ReferenceStore.ReferenceId training = new ReferenceStore.ReferenceId("m", "1", "training");

        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(referenceDelta(tap, "training", 5),
                Map.of(tp, new FlushWriter.OffsetRange(0, 5))));
        assertTrue(((SealStore.SealRequest.Accepted) seals.requestSeal(training, 5)).reference().sealed());

        assertEquals(new FlushWriter.Outcome.ReferenceSealed(training, "dense"), writer.flush(
                referenceDelta(tap, "training", 3), Map.of(tp, new FlushWriter.OffsetRange(5, 8))));
        assertEquals(5, references.read("m", "1", "training", "dense", Slice.ALL).orElseThrow().observationCount());
        assertEquals(5L, writer.storedOffsets(Map.of(tp, 0L)).get(tp), "no offset moved past the refused records");

        // a seal requested first: the flush reaching the count makes it
        ReferenceStore.ReferenceId next = new ReferenceStore.ReferenceId("m", "1", "next");
        seals.requestSeal(next, 4);
        FlushWriter.Outcome.Committed sealing = (FlushWriter.Outcome.Committed) writer.flush(
                referenceDelta(tap, "next", 4), Map.of(tp, new FlushWriter.OffsetRange(5, 9)));
        assertEquals(List.of(next), sealing.sealed().stream().map(SealStore.Sealed::id).toList());
        assertTrue(seals.tapSealed(next, "dense"));
    }

    /**
     * Two versions of a new layout declaring other neuron scales, read by two instances: the first to commit
     * registers its scales; the other's flush, built with its own, is a layout conflict that writes nothing and moves
     * no offset. Its records read again take the registered scales (what the intake asks the catalog for), and then
     * commit, summed through the first version's map.
     */
    @Test
    void aLayoutRegisteredMeanwhileWithOtherScalesIsAConflictThatWritesNothing() {
        PGSimpleDataSource ds = TestDatabases.migrated("scales_unit");
        FlushWriter first = FlushWriters.of(ds, "g");
        FlushWriter other = FlushWriters.of(ds, "h");
        TopicPartition tp = new TopicPartition("t", 0);
        first.storedOffsets(Map.of(tp, 0L));
        other.storedOffsets(Map.of(tp, 0L));
        Instant minute = Instant.parse("2026-11-28T10:00:00Z");
        TapDescriptor v1 = new TapDescriptor("m", "1", "dense", 0, new int[] {1}, 1, Reduction.NONE, 1,
                new float[] {2f});
        TapDescriptor v2 = new TapDescriptor("m", "2", "dense", 0, new int[] {1}, 1, Reduction.NONE, 1,
                new float[] {3f});
        WindowKey v1Key = new WindowKey("m", "1", "dense", Slice.ALL, Granularity.MINUTE, minute);
        WindowKey v2Key = new WindowKey("m", "2", "dense", Slice.ALL, Granularity.MINUTE, minute);

        assertInstanceOf(FlushWriter.Outcome.Committed.class, first.flush(drained(v1Key, v1, 5),
                Map.of(tp, new FlushWriter.OffsetRange(0, 5))));
        FlushWriter.Outcome conflict = other.flush(drained(v2Key, v2, 3), Map.of(tp,
                new FlushWriter.OffsetRange(0, 3)));
        assertInstanceOf(FlushWriter.Outcome.LayoutConflict.class, conflict);
        TapWindowStore windows = new TapWindowStore(ds);
        assertTrue(windows.read("m", "2", "dense", Slice.ALL, Granularity.MINUTE, minute, minute.plusSeconds(60))
                .isEmpty(), "nothing of the conflicting delta was written");
        assertEquals(0L, other.storedOffsets(Map.of(tp, 0L)).get(tp), "no offset moved past its records");

        TapDescriptor reread = new ai.neuraldivergence.storage.CatalogStore(ds).withRegisteredScales(v2);
        assertArrayEquals(new float[] {2f}, reread.featureScales(), "read again, the records take the layout's scales");
        assertInstanceOf(FlushWriter.Outcome.Committed.class, other.flush(drained(v2Key, reread, 3),
                Map.of(tp, new FlushWriter.OffsetRange(0, 3))));
        assertArrayEquals(new float[] {2f}, windows.read("m", "2", "dense", Slice.ALL, Granularity.MINUTE, minute,
                minute.plusSeconds(60)).get(0).distribution().featureScales());
    }

    /** {@code observations} of a reference, in its "all" slice and one predicted-class slice. */
    private static WindowAccumulator.Drained referenceDelta(TapDescriptor tap, String name, int observations) {
        Map<ReferenceKey, PendingWindow> out = new LinkedHashMap<>();
        for (Slice slice : List.of(Slice.ALL, Slice.predictedClass(1))) {
            PendingWindow window = new PendingWindow(tap, false);
            for (int i = 0; i < observations; i++) {
                window.add(new float[] {i}, name + "-" + i);
            }
            out.put(new ReferenceKey(tap.modelId(), tap.modelVersion(), name, tap.tap(), slice), window);
        }
        return new WindowAccumulator.Drained(Map.of(), out);
    }

    private static WindowAccumulator.Drained drained(WindowKey key, TapDescriptor tap, int observations) {
        PendingWindow window = new PendingWindow(tap, false);
        for (int i = 0; i < observations; i++) {
            window.add(new float[] {i}, "o-" + i);
        }
        Map<WindowKey, PendingWindow> windows = new LinkedHashMap<>();
        windows.put(key, window);
        return new WindowAccumulator.Drained(windows, Map.of());
    }
}
