package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.TapWindowStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The write path of a tap stored in several blocks, with block 0's projections, against a real PostgreSQL, when it
 * fails: a flush rolled back before its commit leaves nothing; its retry stores every observation once, and the
 * assembled tap's layer sums are exactly the whole observations'; a second instance's stale replay of the same
 * records is fenced and counts nothing twice. A late label joins kept observations into its slice with the whole
 * observations' layer sums, once, whatever fails on the way.
 */
class WideTapFlushTest {

    private static final Instant MINUTE = Instant.parse("2026-11-28T10:03:00Z");
    // 6 neurons in blocks of 4, with declared scales: block 0 holds neurons 0..3, block 1 neurons 4..5
    private static final TapDescriptor TAP = new TapDescriptor("m", "1", "wide", 0, new int[] {6}, 6,
            Reduction.NONE, 4, new float[] {1f, 2f, 0.5f, 1f, 3f, 1f});
    private static final RandomFeatureMap MAP = LayerFeatures.map(TAP);

    private static float[] observation(int i) {
        return new float[] {i, -i, i % 7, i % 3, 0.5f * i, i % 5};
    }

    /** Observations {@code from..to-1} of the minute's slice all: block 0 with its projections, block 1 alone. */
    private static WindowAccumulator.Drained delta(int from, int to) {
        PendingWindow block0 = new PendingWindow(TAP, 0, true);
        PendingWindow block1 = new PendingWindow(TAP, 1, true);
        for (int i = from; i < to; i++) {
            float[] o = observation(i);
            block0.add(java.util.Arrays.copyOfRange(o, 0, 4), "o-" + i, MAP.projectionOrNaN(o));
            block1.add(java.util.Arrays.copyOfRange(o, 4, 6), "o-" + i);
        }
        Map<WindowKey, PendingWindow> windows = new LinkedHashMap<>();
        windows.put(new WindowKey("m", "1", "wide", Slice.ALL, Granularity.MINUTE, MINUTE, 0), block0);
        windows.put(new WindowKey("m", "1", "wide", Slice.ALL, Granularity.MINUTE, MINUTE, 1), block1);
        return new WindowAccumulator.Drained(windows, Map.of());
    }

    /** The layer sums of observations {@code 0..count-1}, each projected whole. */
    private static FeatureSums sumsOf(int count) {
        FeatureSums sums = new FeatureSums(MAP.bandwidths());
        double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
        for (int i = 0; i < count; i++) {
            sums.add(MAP, observation(i), scratch);
        }
        return sums;
    }

    private static TapDistribution stored(TapWindowStore store) {
        return stored(store, Slice.ALL);
    }

    private static TapDistribution stored(TapWindowStore store, Slice slice) {
        TapDistribution merged = new TapDistribution(6, 200);
        for (var w : store.read("m", "1", "wide", slice, Granularity.MINUTE, MINUTE, MINUTE.plusSeconds(60))) {
            merged.merge(w.distribution());
        }
        return merged;
    }

    @Test
    void aFailedFlushLeavesNothingItsRetryStoresEachObservationOnceWithTheWholeTapsSumsAndAStaleReplayIsFenced() {
        PGSimpleDataSource ds = TestDatabases.migrated("wide_flush");
        TapWindowStore store = new TapWindowStore(ds);
        FlushWriter writer = FlushWriters.of(ds, "g");
        TopicPartition tp = new TopicPartition("t", 0);
        writer.storedOffsets(Map.of(tp, 0L));

        // the commit fails (a dead connection): nothing is stored
        assertThrows(IllegalStateException.class, () -> writer.flush(delta(0, 50), Map.of(tp,
                new FlushWriter.OffsetRange(0, 50)), () -> {
                    throw new IllegalStateException("the connection died before the commit");
                }));
        assertEquals(0, stored(store).observationCount());

        // the records read again and flushed: every observation once, the layer sums the whole observations'
        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(delta(0, 50), Map.of(tp,
                new FlushWriter.OffsetRange(0, 50))));
        TapDistribution tap = stored(store);
        assertEquals(50, tap.observationCount());
        assertNotNull(tap.features(), "the assembled tap has block 0's sums");
        FeatureSums expected = sumsOf(50);
        assertEquals(50, tap.features().count());
        assertArrayEquals(expected.sums(), tap.features().sums(), 1e-4);

        // a second instance that read the same records before it lost the partition: fenced, nothing counted twice
        FlushWriter stale = FlushWriters.of(ds, "g");
        assertInstanceOf(FlushWriter.Outcome.Fenced.class, stale.flush(delta(0, 30), Map.of(tp,
                new FlushWriter.OffsetRange(0, 30))));
        TapDistribution after = stored(store);
        assertEquals(50, after.observationCount());
        assertEquals(50, after.features().count());
        assertEquals(50, after.neuron(5).count(), "block 1 too");
    }

    /**
     * Observations {@code from..to-1} without labels, kept in the recent-observation store as the flush keeps them:
     * block 0 with the whole observation's projections, block 1 alone.
     */
    private static WindowAccumulator.Drained unlabelled(int from, int to) {
        WindowAccumulator.Drained windows = delta(from, to);
        List<RecentObservationStore.Recent> recent = new ArrayList<>();
        for (int i = from; i < to; i++) {
            float[] o = observation(i);
            Instant t = MINUTE.plusSeconds(i % 60);
            recent.add(new RecentObservationStore.Recent("m", "1", "o-" + i, "wide", t, 0, 1f, null, Map.of(), null,
                    null, java.util.Arrays.copyOfRange(o, 0, 4), 0, MAP.projectionOrNaN(o)));
            recent.add(new RecentObservationStore.Recent("m", "1", "o-" + i, "wide", t, 0, 1f, null, Map.of(), null,
                    null, java.util.Arrays.copyOfRange(o, 4, 6), 1));
        }
        return new WindowAccumulator.Drained(windows.windows(), Map.of(), recent, List.of(), List.of(), List.of(),
                Set.of(TAP), List.of());
    }

    /** Labels {@code label} for observations {@code from..to-1}, arriving after their observations were flushed. */
    private static WindowAccumulator.Drained labels(int from, int to, int label) {
        List<LabelEvent> labels = new ArrayList<>();
        for (int i = from; i < to; i++) {
            labels.add(LabelEvent.newBuilder().setModelId("m").setInstanceId("o-" + i).setTrueLabel(label).build());
        }
        return new WindowAccumulator.Drained(Map.of(), Map.of(), List.of(), labels, List.of(), List.of(), Set.of(),
                List.of());
    }

    @Test
    void aLateLabelJoinsAWideTapsKeptObservationsIntoItsSliceWithTheirLayerSumsOnceThroughAFailedCommitAndAResend() {
        PGSimpleDataSource ds = TestDatabases.migrated("wide_late_label");
        TapWindowStore store = new TapWindowStore(ds);
        FlushWriter writer = FlushWriters.of(ds, "g");
        TopicPartition observations = new TopicPartition("t", 0);
        TopicPartition labelTopic = new TopicPartition("labels", 0);
        writer.storedOffsets(Map.of(observations, 0L, labelTopic, 0L));
        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(unlabelled(0, 40), Map.of(observations,
                new FlushWriter.OffsetRange(0, 40))));
        Slice seven = Slice.trueLabel(7);
        assertEquals(0, stored(store, seven).observationCount());

        // the labels' flush dies before its commit: nothing joined, the kept observations still unlabelled
        assertThrows(IllegalStateException.class, () -> writer.flush(labels(0, 20, 7), Map.of(labelTopic,
                new FlushWriter.OffsetRange(0, 20)), () -> {
                    throw new IllegalStateException("the connection died before the commit");
                }));
        assertEquals(0, stored(store, seven).observationCount());

        // read again and flushed: the label's slice holds the 20 observations, block 1 too, with block 0's sums
        // exactly the whole observations' (the tap is wider than any block, so only the kept projections give them)
        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(labels(0, 20, 7), Map.of(labelTopic,
                new FlushWriter.OffsetRange(0, 20))));
        FeatureSums expected = sumsOf(20);
        TapDistribution joined = stored(store, seven);
        assertEquals(20, joined.observationCount());
        assertEquals(20, joined.neuron(5).count(), "block 1 joined too");
        assertNotNull(joined.features(), "the label's slice has the layer sums of the observations it joined");
        assertEquals(20, joined.features().count());
        assertArrayEquals(expected.sums(), joined.features().sums(), 1e-4);

        // the labels sent again (a producer's retry, new offsets): each observation joined once
        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(labels(0, 20, 7), Map.of(labelTopic,
                new FlushWriter.OffsetRange(20, 40))));
        TapDistribution again = stored(store, seven);
        assertEquals(20, again.observationCount());
        assertEquals(20, again.features().count());
        assertArrayEquals(expected.sums(), again.features().sums(), 1e-4);
    }
}
