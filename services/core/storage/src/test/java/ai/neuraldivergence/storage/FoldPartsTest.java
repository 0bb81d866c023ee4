package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TapMinute;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A busy minute is folded a part at a time: a fold reads its deltas up to a byte bound, merges them and marks them
 * folded before it reads the next, all in one transaction, so that its memory does not grow with the minute's traffic
 * (about 120 deltas a block-minute at the default flush interval). Folded one delta at a time, a minute's rows hold
 * exactly what one fold of all its deltas writes: every slice's values, counts and layer feature sums.
 */
class FoldPartsTest {

    private static final int NEURONS = 6;
    private static final float[] SCALES = {1f, 2f, 0.5f, 1f, 10f, 1f};
    private static final Slice CLASS_3 = Slice.predictedClass(3);
    private static final TapDescriptor TAP = new TapDescriptor("parts", "1", "dense", 0, new int[] {NEURONS}, NEURONS,
            Reduction.NONE, NEURONS, SCALES);
    private static final int DELTAS = 36;

    /** 36 deltas of 5: 180 values a neuron, under k = 200, kept exactly by both folds. */
    @Test
    void aMinuteReadAPartAtATimeIsBoundedAndFoldsToWhatOneReadWrites() throws Exception {
        foldsAlike(5, "exact");
    }

    /** 36 deltas of 20: 720 values a neuron, in sketches, each fold's within the sketches' rank errors. */
    @Test
    void aMinuteInSketchesFoldsAPartAtATimeToWhatOneReadWritesWithinTheSketchBounds() throws Exception {
        foldsAlike(20, "sketched");
    }

    private static void foldsAlike(int rowsPerDelta, String name) throws Exception {
        Instant minute = Granularity.MINUTE.windowStart(Instant.now()).minus(Duration.ofMinutes(10));
        PGSimpleDataSource inParts = withDeltas("fold_parts_one_by_one_" + name, minute, rowsPerDelta);
        PGSimpleDataSource whole = withDeltas("fold_parts_whole_" + name, minute, rowsPerDelta);
        TapMinute key = new TapMinute("parts", "1", "dense", minute, 0);
        boolean exact = DELTAS * rowsPerDelta <= 200;

        try (Connection c = inParts.getConnection()) {
            c.setAutoCommit(false);
            WindowDeltaStore deltas = new WindowDeltaStore();
            long one = encodedBytes(c, minute);
            WindowDeltaStore.Unfolded found = deltas.unfolded(c, key);
            assertEquals(true, found.alikeProjected(), "no delta carries projections");
            List<WindowDeltaStore.Delta> first = deltas.unfolded(c, key, 0, found.lastId(), one * 5 / 2);
            assertEquals(3, first.size(), "as many deltas as reach the bound, the one that passes it included");
            List<WindowDeltaStore.Delta> next = deltas.unfolded(c, key, first.get(2).id(), found.lastId(),
                    one * 5 / 2);
            assertEquals(3, next.size(), "the next part");
            assertEquals(first.get(2).id() + 1, next.get(0).id(), "starting after the last one read");
            assertEquals(1, deltas.unfolded(c, key, 0, found.lastId(), 1).size(), "one delta however small the bound");
            assertEquals(1, deltas.unfolded(c, key, found.lastId() - 1, found.lastId(), Long.MAX_VALUE).size(),
                    "none past the last one found at the start");
            c.rollback();
        }

        Instant watermark = minute.plus(Duration.ofMinutes(20));
        assertEquals(1, new Compaction(inParts, 200, Duration.ofMinutes(5), Compaction.Listener.NONE, 1, 500)
                .run(watermark).folded(), "one tap minute, folded a delta at a time");
        assertEquals(1, new Compaction(whole, 200, Duration.ofMinutes(5), Compaction.Listener.NONE)
                .run(watermark).folded(), "one tap minute, folded at once");
        assertEquals(0, unfolded(inParts), "every delta marked folded");

        for (Slice slice : List.of(Slice.ALL, CLASS_3)) {
            TapDistribution a = read(inParts, slice, minute);
            TapDistribution b = read(whole, slice, minute);
            assertEquals(slice == Slice.ALL ? DELTAS * rowsPerDelta : DELTAS / 2 * (3 + 2), a.observationCount(),
                    slice.toString());
            assertEquals(b.observationCount(), a.observationCount(), slice.toString());
            for (int n = 0; n < NEURONS; n++) {
                NeuronDistribution x = a.neuron(n);
                NeuronDistribution y = b.neuron(n);
                String what = slice + ", neuron " + n;
                assertEquals(y.count(), x.count(), what);
                assertEquals(y.sum(), x.sum(), 1e-9, what);
                assertEquals(y.min(), x.min(), what);
                assertEquals(y.max(), x.max(), what);
                for (double rank : new double[] {0.1, 0.25, 0.5, 0.75, 0.9}) {
                    if (exact) {
                        assertEquals(y.quantile(rank), x.quantile(rank), what + " at " + rank);
                    } else {
                        // the sketches compact at random: each answers within its own rank error
                        assertEquals(rank, x.rank((float) y.quantile(rank)), x.rankError() + y.rankError()
                                + 1.0 / x.count(), what + " at " + rank);
                    }
                }
            }
            assertNotNull(a.features(), slice + ": the layer feature sums kept");
            assertEquals(b.features().count(), a.features().count(), slice.toString());
            assertEquals(b.featureSeed(), a.featureSeed(), slice.toString());
            assertArrayEquals(b.features().sums(), a.features().sums(), 1e-9, slice.toString());
        }
    }

    /** A database of its own with the tap registered and {@link #DELTAS} deltas of {@code rowsPerDelta} in {@code minute}. */
    private static PGSimpleDataSource withDeltas(String database, Instant minute, int rowsPerDelta) throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create(database);
        new DeltaPartitions(ds).ensure(minute, minute.plusSeconds(60));
        Random random = new Random(5);
        try (Connection c = ds.getConnection()) {
            new CatalogStore(ds).register(c, TAP);
            for (int d = 0; d < DELTAS; d++) {
                List<float[]> rows = new ArrayList<>();
                for (int r = 0; r < rowsPerDelta; r++) {
                    float[] row = new float[NEURONS];
                    for (int n = 0; n < NEURONS; n++) {
                        row[n] = (float) (random.nextGaussian() * SCALES[n]);
                    }
                    rows.add(row);
                }
                // every delta in all; every other row of it in class 3 (three of five)
                List<float[]> class3 = List.of(rows.get(0), rows.get(2), rows.get(4));
                new WindowDeltaStore().append(c, List.of(new WindowDeltaStore.Append(new TapMinute("parts", "1",
                        "dense", minute, 0), new SlicedRows.Builder(NEURONS).add(Slice.ALL, rows)
                        .add(CLASS_3, d % 2 == 0 ? class3 : class3.subList(0, 2)).build())));
            }
        }
        return ds;
    }

    /** The stored size of the first delta of {@code minute} (every one is of the same size but for its slices). */
    private static long encodedBytes(Connection c, Instant minute) throws Exception {
        try (var s = c.prepareStatement("SELECT max(octet_length(activations)) FROM window_delta WHERE window_start = "
                + "?")) {
            s.setTimestamp(1, java.sql.Timestamp.from(minute));
            try (var rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static long unfolded(PGSimpleDataSource ds) throws Exception {
        try (Connection c = ds.getConnection(); var s = c.prepareStatement("SELECT count(*) FROM window_delta WHERE "
                + "NOT folded"); var rs = s.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static TapDistribution read(PGSimpleDataSource ds, Slice slice, Instant minute) {
        List<TapWindowStore.StoredWindow> read = new TapWindowStore(ds).read("parts", "1", "dense", slice,
                Granularity.MINUTE, minute, minute.plusSeconds(60));
        assertEquals(1, read.size(), slice.toString());
        return read.get(0).distribution();
    }
}
