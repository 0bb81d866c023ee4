package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerDrift;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The layer feature sums of every slice, not the slice all alone: a class or a label is compared as a layer too. A
 * minute's delta holds each observation once with the slices it is in; read before its fold (each slice's rows
 * summed as they are read) and after it (each observation projected once for all its slices), every slice's sums are
 * the sums of its own rows through the layout's map, its declared scales included, non-finite observations counted
 * apart; and so again after a late delta of the minute is folded into those rows. A class slice then compares with
 * the slice all through the one map.
 */
class SliceFeatureSumsTest {

    private static final int NEURONS = 6;
    private static final float[] SCALES = {1f, 2f, 0.5f, 1f, 10f, 1f};
    private static final Slice CLASS_3 = Slice.predictedClass(3);
    private static final Slice LABEL_3 = Slice.trueLabel(3);

    private static final TapDescriptor TAP = new TapDescriptor("sliced", "1", "dense", 0, new int[] {NEURONS}, NEURONS,
            Reduction.NONE, NEURONS, SCALES);

    /** A database of its own with the tap's layout (and its declared scales) registered. */
    private static PGSimpleDataSource registered(String database) throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create(database);
        try (Connection c = ds.getConnection()) {
            new CatalogStore(ds).register(c, TAP);
        }
        return ds;
    }

    @Test
    void everySliceSumsItsOwnRowsBeforeAndAfterTheFold() throws Exception {
        PGSimpleDataSource ds = registered("slice_feature_sums_test");
        Instant minute = Granularity.MINUTE.windowStart(Instant.now()).minus(Duration.ofMinutes(10));
        new DeltaPartitions(ds).ensure(minute, minute.plusSeconds(60));

        // every row in all; even rows in class 3; every third in label 3; row 12 (in all three) holds a NaN
        Random random = new Random(11);
        Map<Slice, List<float[]>> expected = new LinkedHashMap<>();
        for (Slice s : List.of(Slice.ALL, CLASS_3, LABEL_3)) {
            expected.put(s, new ArrayList<>());
        }
        for (int r = 0; r < 300; r++) {
            float[] row = new float[NEURONS];
            for (int n = 0; n < NEURONS; n++) {
                row[n] = r == 12 && n == 2 ? Float.NaN : (float) (random.nextGaussian() * SCALES[n]);
            }
            expected.get(Slice.ALL).add(row);
            if (r % 2 == 0) {
                expected.get(CLASS_3).add(row);
            }
            if (r % 3 == 0) {
                expected.get(LABEL_3).add(row);
            }
        }
        SlicedRows.Builder builder = new SlicedRows.Builder(NEURONS);
        expected.forEach(builder::add);
        try (Connection c = ds.getConnection()) {
            new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("sliced", "1", "dense",
                    minute, 0), builder.build())));
        }

        long seed = LayerFeatures.seed("sliced", "dense", 0, NEURONS).orElseThrow();
        RandomFeatureMap map = FeatureMaps.of(seed, NEURONS, SCALES);
        TapWindowStore windows = new TapWindowStore(ds);
        Compaction compaction = new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE);
        for (int step = 0; step < 3; step++) {
            if (step == 1) {
                assertEquals(1, compaction.run(minute.plus(Duration.ofMinutes(20))).folded(), "one tap minute");
            }
            if (step == 2) {
                // a late delta of the same minute, folded into the rows that hold sums already
                SlicedRows.Builder late = new SlicedRows.Builder(NEURONS);
                List<float[]> lateRows = new ArrayList<>();
                for (int r = 0; r < 50; r++) {
                    float[] row = new float[NEURONS];
                    for (int n = 0; n < NEURONS; n++) {
                        row[n] = (float) (random.nextGaussian() * SCALES[n] + 1);
                    }
                    lateRows.add(row);
                }
                late.add(Slice.ALL, lateRows).add(LABEL_3, lateRows.subList(0, 20));
                expected.get(Slice.ALL).addAll(lateRows);
                expected.get(LABEL_3).addAll(lateRows.subList(0, 20));
                try (Connection c = ds.getConnection()) {
                    new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("sliced", "1",
                            "dense", minute, 0), late.build())));
                }
                assertEquals(1, compaction.run(minute.plus(Duration.ofMinutes(21))).folded(), "folded again");
            }
            for (Map.Entry<Slice, List<float[]>> e : expected.entrySet()) {
                String what = e.getKey() + (step == 0 ? ", read from the delta" : step == 1 ? ", folded"
                        : ", a late delta folded into it");
                TapDistribution d = read(windows, e.getKey(), minute);
                FeatureSums own = new FeatureSums(map.bandwidths());
                double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
                e.getValue().forEach(row -> own.add(map, row, scratch));
                FeatureSums stored = d.features();
                assertNotNull(stored, what);
                assertEquals(e.getValue().size(), d.observationCount(), what);
                assertEquals(own.count(), stored.count(), what);
                assertEquals(1, stored.nonFinite(), what + ": the NaN row is in every slice, counted apart");
                assertArrayEquals(SCALES, d.featureScales(), what);
                assertEquals(seed, d.featureSeed(), what);
                assertArrayEquals(own.sums(), stored.sums(), 1e-9, what);
            }
        }
        LayerDrift layer = LayerDrift.of(TAP, read(windows, CLASS_3, minute), read(windows, Slice.ALL, minute), 0.01,
                0.001);
        assertTrue(layer.available(), layer.unavailable());
    }

    /**
     * A delta whose stored slices name one slice twice (its rows would be read once and its sums added twice) is the
     * store's fault: its minute's fold fails, is counted, and writes nothing, and the next minute is folded as usual.
     */
    @Test
    void aDeltaStoredWithASliceTwiceFailsItsFoldAloneAndWritesNothing() throws Exception {
        PGSimpleDataSource ds = registered("slice_feature_sums_corrupt_test");
        Instant bad = Granularity.MINUTE.windowStart(Instant.now()).minus(Duration.ofMinutes(10));
        Instant good = bad.plusSeconds(60);
        new DeltaPartitions(ds).ensure(bad, good.plusSeconds(60));
        for (Instant minute : List.of(bad, good)) {
            List<float[]> rows = List.of(new float[] {1, 2, 3, 4, 5, 6}, new float[] {6, 5, 4, 3, 2, 1});
            try (Connection c = ds.getConnection()) {
                new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("sliced", "1",
                        "dense", minute, 0), new SlicedRows.Builder(NEURONS).add(Slice.ALL, rows)
                        .add(CLASS_3, rows).build())));
            }
        }
        try (Connection c = ds.getConnection(); var s = c.prepareStatement("UPDATE window_delta SET slices = "
                + "ARRAY['all', 'all'] WHERE window_start = ?")) {
            s.setTimestamp(1, java.sql.Timestamp.from(bad));
            assertEquals(1, s.executeUpdate());
        }
        Compaction.Pass pass = new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE)
                .run(good.plus(Duration.ofMinutes(20)));
        assertEquals(1, pass.folded(), "the good minute");
        assertEquals(1, pass.failed(), "the bad one, counted");
        try (Connection c = ds.getConnection(); var s = c.prepareStatement("SELECT count(*) FILTER (WHERE "
                + "window_start = ?), count(*) FILTER (WHERE window_start = ?) FROM tap_window WHERE granularity = "
                + "'minute'")) {
            s.setTimestamp(1, java.sql.Timestamp.from(bad));
            s.setTimestamp(2, java.sql.Timestamp.from(good));
            try (var rs = s.executeQuery()) {
                rs.next();
                assertEquals(0, rs.getLong(1), "nothing of the bad minute written");
                assertEquals(2, rs.getLong(2), "the good minute's two slices");
            }
        }
        try (Connection c = ds.getConnection(); var s = c.prepareStatement("SELECT folded FROM window_delta WHERE "
                + "window_start = ?")) {
            s.setTimestamp(1, java.sql.Timestamp.from(bad));
            try (var rs = s.executeQuery()) {
                rs.next();
                assertTrue(!rs.getBoolean(1), "the bad delta stays unfolded, for an operator to see");
            }
        }
    }

    private static TapDistribution read(TapWindowStore windows, Slice slice, Instant minute) {
        List<TapWindowStore.StoredWindow> read = windows.read("sliced", "1", "dense", slice, Granularity.MINUTE,
                minute, minute.plusSeconds(60));
        assertEquals(1, read.size(), slice.toString());
        return read.get(0).distribution();
    }
}
