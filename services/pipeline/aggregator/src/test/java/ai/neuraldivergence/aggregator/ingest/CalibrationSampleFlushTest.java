package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * What a flush adds to the calibration samples, against a real PostgreSQL, when it fails: a flush rolled back before
 * its commit leaves no sample row; its retry writes exactly the smallest ranks; a second instance's stale replay of the
 * same records is fenced and changes nothing; a non-finite observation never enters; and another partition's flush
 * into the same hour keeps the smallest ranks of both. Each member keeps the slices it is in: the hour's sample of a
 * class is exactly its kept members in that class. The members within the byte cap on neuron values (the smallest
 * ranks) keep their values, for the mean KS's null, through the same failures.
 */
class CalibrationSampleFlushTest {

    private static final int SIZE = 300;
    /**
     * Values for 260 members of the 3-neuron tap (4 bytes a neuron): at least the smallest sample resampled, or none
     * would be kept.
     */
    private static final int VALUED = 260;
    private static final long VALUE_BYTES = 4L * 3 * VALUED;
    private static final Instant MINUTE = Instant.parse("2026-11-28T10:03:00Z");
    // declared neuron scales: the sample is projected through the map that divides by them
    private static final TapDescriptor TAP = new TapDescriptor("m", "1", "dense", 0, new int[] {3}, 3,
            Reduction.NONE, 3, new float[] {1f, 10f, 0.1f});
    private static final RandomFeatureMap MAP = LayerFeatures.map(TAP);
    private static final Slice CLASS_2 = Slice.predictedClass(2);

    private static float[] row(int i) {
        return new float[] {i, -i, i % 7};
    }

    /** Observations {@code from..to-1} in the minute's all slice (which keeps their ids), and a reference's. */
    private static WindowAccumulator.Drained delta(int from, int to) {
        PendingWindow window = new PendingWindow(TAP, true);
        PendingWindow even = new PendingWindow(TAP, false);
        PendingWindow reference = new PendingWindow(TAP, 0, true);
        for (int i = from; i < to; i++) {
            // the even observations are predicted class 2 too: that window shares their arrays, as the flush's do
            float[] values = row(i);
            window.add(values, "o-" + i);
            if (i % 2 == 0) {
                even.add(values, "o-" + i);
            }
            reference.add(row(i), "o-" + i);
        }
        // and one observation with a NaN: it has no projections, so no place in a sample
        window.add(new float[] {Float.NaN, 0, 0}, "nan-" + from);
        Map<WindowKey, PendingWindow> windows = new LinkedHashMap<>();
        windows.put(new WindowKey("m", "1", "dense", Slice.ALL, Granularity.MINUTE, MINUTE), window);
        windows.put(new WindowKey("m", "1", "dense", CLASS_2, Granularity.MINUTE, MINUTE), even);
        Map<ReferenceKey, PendingWindow> references = new LinkedHashMap<>();
        references.put(new ReferenceKey("m", "1", "training", "dense", Slice.ALL), reference);
        return new WindowAccumulator.Drained(windows, references);
    }

    /** The projections of the {@code SIZE} smallest-ranked of observations {@code from..to-1}. */
    private static List<float[]> expected(int from, int to, Instant minute) {
        return IntStream.range(from, to).boxed()
                .sorted(Comparator.comparingLong(i -> CalibrationSampleStore.rank("m", "o-" + i, minute)))
                .limit(SIZE).map(i -> MAP.projection(row(i))).toList();
    }

    /** The kept members' projections that are of even observations: what the hour's sample of class 2 holds. */
    private static List<float[]> expectedEven(int from, int to) {
        return IntStream.range(from, to).boxed()
                .sorted(Comparator.comparingLong(i -> CalibrationSampleStore.rank("m", "o-" + i, MINUTE)))
                .limit(SIZE).filter(i -> i % 2 == 0).map(i -> MAP.projection(row(i))).toList();
    }

    /** The rows of the {@code VALUED} smallest-ranked of observations {@code from..to-1}, in {@code slice}. */
    private static List<float[]> expectedValues(int from, int to, Instant minute, boolean evenOnly) {
        return IntStream.range(from, to).boxed()
                .sorted(Comparator.comparingLong(i -> CalibrationSampleStore.rank("m", "o-" + i, minute)))
                .limit(VALUED).filter(i -> !evenOnly || i % 2 == 0).map(CalibrationSampleFlushTest::row).toList();
    }

    /** The sampled values of the hour of {@code MINUTE}, in a slice. */
    private static List<float[]> hourValues(CalibrationSampleStore store, Slice slice) {
        Instant hour = Granularity.HOUR.windowStart(MINUTE);
        return store.readHoursValues("m", "1", "dense", hour, hour.plusSeconds(3600), slice, 10_000);
    }

    private static void assertSample(List<float[]> expected, List<float[]> read) {
        assertEquals(expected.size(), read.size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), read.get(i), "rank " + i);
        }
    }

    @Test
    void aFailedFlushLeavesNoSampleAndItsRetryAndAStaleReplayKeepExactlyTheSmallestRanks() {
        PGSimpleDataSource ds = TestDatabases.migrated("sample_flush");
        CalibrationSampleStore store = new CalibrationSampleStore(ds);
        FlushWriter writer = FlushWriters.withSamples(ds, "g", new CalibrationSamples(store, SIZE, 1 << 20, VALUE_BYTES));
        TopicPartition tp = new TopicPartition("t", 0);
        writer.storedOffsets(Map.of(tp, 0L));
        Instant hour = Granularity.HOUR.windowStart(MINUTE);

        // the commit fails (a dead connection, a fenced dead-letter write): nothing of the sample is written
        assertThrows(IllegalStateException.class, () -> writer.flush(delta(0, 1000), Map.of(tp,
                new FlushWriter.OffsetRange(0, 1000)), () -> {
                    throw new IllegalStateException("the connection died before the commit");
                }));
        assertTrue(store.readHours("m", "1", "dense", hour, hour.plusSeconds(3600), 10_000).isEmpty());
        assertTrue(store.readReference("m", "1", "dense", "training", 10_000).isEmpty());
        assertTrue(hourValues(store, Slice.ALL).isEmpty());

        // the records read again and flushed: exactly the smallest ranks, the hour's and the reference's
        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(delta(0, 1000), Map.of(tp,
                new FlushWriter.OffsetRange(0, 1000))));
        assertSample(expected(0, 1000, MINUTE), store.readHours("m", "1", "dense", hour, hour.plusSeconds(3600),
                10_000));
        assertSample(expected(0, 1000, CalibrationSampleStore.NO_WINDOW), store.readReference("m", "1", "dense",
                "training", 10_000));
        assertSample(expectedEven(0, 1000), store.readHours("m", "1", "dense", hour, hour.plusSeconds(3600), CLASS_2,
                10_000));
        // the smallest ranks within the byte cap keep their neuron values, the hour's and the reference's
        assertSample(expectedValues(0, 1000, MINUTE, false), hourValues(store, Slice.ALL));
        assertSample(expectedValues(0, 1000, MINUTE, true), hourValues(store, CLASS_2));
        assertSample(expectedValues(0, 1000, CalibrationSampleStore.NO_WINDOW, false), store.readReferenceValues("m",
                "1", "dense", "training", Slice.ALL, 10_000));

        // a second instance that read the same records before it lost the partition: fenced, nothing changes
        FlushWriter stale = FlushWriters.withSamples(ds, "g", new CalibrationSamples(store, SIZE, 1 << 20, VALUE_BYTES));
        assertInstanceOf(FlushWriter.Outcome.Fenced.class, stale.flush(delta(0, 600), Map.of(tp,
                new FlushWriter.OffsetRange(0, 600))));
        assertSample(expected(0, 1000, MINUTE), store.readHours("m", "1", "dense", hour, hour.plusSeconds(3600),
                10_000));
        assertSample(expectedValues(0, 1000, MINUTE, false), hourValues(store, Slice.ALL));

        // another partition's observations of the same hour, through that second instance: the union's smallest
        TopicPartition other = new TopicPartition("t", 1);
        stale.storedOffsets(Map.of(other, 0L));
        assertInstanceOf(FlushWriter.Outcome.Committed.class, stale.flush(delta(1000, 2500), Map.of(other,
                new FlushWriter.OffsetRange(0, 1500))));
        assertSample(expected(0, 2500, MINUTE), store.readHours("m", "1", "dense", hour, hour.plusSeconds(3600),
                10_000));
        assertSample(expectedEven(0, 2500), store.readHours("m", "1", "dense", hour, hour.plusSeconds(3600), CLASS_2,
                10_000));
        assertSample(expectedValues(0, 2500, MINUTE, false), hourValues(store, Slice.ALL));
    }
}
