package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.LayerNullTable;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.SampledLayerNull;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Stored layer nulls against a real PostgreSQL: a reference's taps are due once it is sealed, and not before; a claim
 * keeps a second aggregator off a tap while its lease runs and lets it take over after; only the claim's holder may
 * store, and a stored table reads back exactly; a released claim waits its retry; a null of another construction is
 * due again; deleting the reference deletes its nulls and its sample. The mean KS's null is stored with the layer
 * statistic's, under its claim, and reads back exactly.
 */
class LayerNullStoreTest {

    private static final int NEURONS = 8;
    /** A mean KS's null from a sample without neuron values: no bucket, the analytic bound for good. */
    private static final LayerNullStore.MeanKs NO_VALUES = new LayerNullStore.MeanKs(0, new java.util.TreeMap<>());
    private static PGSimpleDataSource dataSource;
    private static LayerNullStore store;

    @BeforeAll
    static void migrate() {
        dataSource = MigratedDatabase.create("layer_null_test");
        store = new LayerNullStore(dataSource);
    }

    private static TapDescriptor tap(String model, int index) {
        return new TapDescriptor(model, "1", "tap" + index, index, new int[] {NEURONS}, NEURONS, Reduction.NONE);
    }

    /** A model version with two taps and a tagged reference "training" of it, sealed or not. */
    private static void reference(String model, boolean sealed) throws Exception {
        CatalogStore catalog = new CatalogStore(dataSource);
        try (Connection c = dataSource.getConnection()) {
            for (int t = 0; t < 2; t++) {
                catalog.register(c, tap(model, t));
            }
            ReferenceStore.registerTagged(c, model, "1", "training");
        }
        if (sealed) {
            seal(model);
        }
    }

    private static void seal(String model) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("UPDATE reference "
                + "SET sealed_at = now() WHERE model_id = ?")) {
            ps.setString(1, model);
            ps.executeUpdate();
        }
    }

    private static List<LayerNullStore.Key> due(String model) {
        return store.due(100).stream().map(LayerNullStore.Due::key).filter(k -> k.modelId().equals(model)).toList();
    }

    private static LayerNullStore.Key key(String model, int tap) {
        return new LayerNullStore.Key(model, "1", "training", "tap" + tap);
    }

    private static LayerNullTable computed(String model) {
        TapDescriptor tap = tap(model, 0);
        RandomFeatureMap map = FeatureMaps.of(LayerFeatures.seed(model, tap.tap(), 0, NEURONS)
                .orElseThrow(), NEURONS, null);
        Random r = new Random(5);
        List<float[]> sample = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            float[] row = new float[NEURONS];
            for (int j = 0; j < NEURONS; j++) {
                row[j] = (float) r.nextGaussian();
            }
            sample.add(map.projection(row));
        }
        return new SampledLayerNull(tap, sample, 3).table();
    }

    @Test
    void aSealedReferencesTapsAreDueAndItsNullReadsBackExactly() throws Exception {
        reference("due", false);
        assertEquals(List.of(), due("due"), "an unsealed reference is not due: its sample may still grow");
        assertTrue(store.read(key("due", 0)).isEmpty(), "calibrating before its seal");
        assertFalse(store.claim(key("due", 0), "a-1", Duration.ofMinutes(10)), "nothing to claim before the seal");
        seal("due");
        assertEquals(List.of(key("due", 0), key("due", 1)), due("due"), "every tap, in network order");
        long calibrating = store.calibrating();
        assertTrue(calibrating >= 2, "both taps calibrating: " + calibrating);

        assertTrue(store.claim(key("due", 0), "a-1", Duration.ofMinutes(10)));
        assertFalse(store.claim(key("due", 0), "b-1", Duration.ofMinutes(10)), "held by a");
        assertEquals(List.of(key("due", 1)), due("due"), "a claimed tap is not due while its lease runs");
        assertEquals(calibrating, store.calibrating(), "a claimed tap is still calibrating");
        assertTrue(store.read(key("due", 0)).isEmpty(), "claimed, still calibrating");

        LayerNullTable table = computed("due");
        assertFalse(store.store(key("due", 0), "b-1", computed("due"), NO_VALUES),
                "only the claim's holder stores");
        assertTrue(store.store(key("due", 0), "a-1", table, NO_VALUES));
        assertFalse(store.store(key("due", 0), "a-1", computed("due"), NO_VALUES), "stored: the claim is spent");
        assertEquals(calibrating - 1, store.calibrating());
        LayerNullTable read = store.read(key("due", 0)).orElseThrow();
        assertEquals(table.sampleSize(), read.sampleSize());
        double[][][] expected = table.summaries();
        double[][][] actual = read.summaries();
        assertEquals(expected.length, actual.length);
        for (int g = 0; g < expected.length; g++) {
            for (int b = 0; b < expected[g].length; b++) {
                assertArrayEquals(expected[g][b], actual[g][b], 0, "g " + g + ", bucket " + b);
            }
            assertArrayEquals(table.eigenvalues()[g], read.eigenvalues()[g], 0);
        }
        assertEquals(table.quantile(2, 3000, 8000, 1e-6).orElseThrow(), read.quantile(2, 3000, 8000, 1e-6)
                .orElseThrow(), 0);
        assertFalse(store.claim(key("due", 0), "b-2", Duration.ofMinutes(10)), "stored: nothing to claim");
        assertEquals(List.of(key("due", 1)), due("due"));

        // a null made another way (another construction of the resample) is calibrating and due again
        update("UPDATE layer_null SET construction = 'resampled/0' WHERE model_id = 'due'");
        assertTrue(store.read(key("due", 0)).isEmpty());
        assertEquals(List.of(key("due", 0), key("due", 1)), due("due"));
        assertTrue(store.claim(key("due", 0), "b-3", Duration.ofMinutes(10)));
        assertTrue(store.store(key("due", 0), "b-3", table, NO_VALUES));
        assertTrue(store.read(key("due", 0)).isPresent());
    }

    /** Per bucket, five summaries (KS values, in [0, 1]) that say which bucket and which summary they are. */
    private static LayerNullStore.MeanKs meanKs(int sampleSize, int... buckets) {
        java.util.TreeMap<Integer, double[]> out = new java.util.TreeMap<>();
        for (int b : buckets) {
            out.put(b, new double[] {b / 1e3 + 0.1, b / 1e3 + 0.2, b / 1e3 + 0.3, b / 1e3 + 0.4, b / 1e3 + 0.5});
        }
        return new LayerNullStore.MeanKs(sampleSize, out);
    }

    private static void assertSameMeanKs(LayerNullStore.MeanKs expected, LayerNullStore.MeanKs actual) {
        assertEquals(expected.sampleSize(), actual.sampleSize());
        assertEquals(expected.buckets().keySet(), actual.buckets().keySet());
        expected.buckets().forEach((b, q) -> assertArrayEquals(q, actual.buckets().get(b), 0, "bucket " + b));
    }

    private static void setQuantiles(String model, String quantiles) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("UPDATE layer_null "
                + "SET quantiles = ?::float8[] WHERE model_id = ? AND statistic = 'mean_ks'")) {
            ps.setString(1, quantiles);
            ps.setString(2, model);
            ps.executeUpdate();
        }
    }

    /** Runs an update of the stored rows, as an operator or another version would; returns the rows it changed. */
    private static int update(String sql) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            return ps.executeUpdate();
        }
    }

    private static java.sql.Timestamp computedAt(String model, String statistic) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT computed_at "
                + "FROM layer_null WHERE model_id = ? AND tap = 'tap0' AND statistic = ?")) {
            ps.setString(1, model);
            ps.setString(2, statistic);
            return Sql.one(ps, rs -> rs.getTimestamp(1));
        }
    }

    @Test
    void theMeanKsNullIsStoredWithTheLayersUnderItsClaimAndReadsBackExactly() throws Exception {
        reference("meanks", true);
        LayerNullStore.MeanKs stored = meanKs(300, 16, 32, 64, 128);
        // the layer statistic's table is not what this reads back: one that takes no resample to make
        LayerNullTable layer = LayerNullTable.unusable(300);
        assertTrue(store.claim(key("meanks", 0), "a-1", Duration.ofMinutes(10)));
        assertFalse(store.store(key("meanks", 0), "b-1", layer, stored), "only the claim's holder");
        assertTrue(store.read(key("meanks", 0)).isEmpty());
        assertTrue(store.readMeanKs(key("meanks", 0)).isEmpty(), "neither null stored without the claim");
        assertTrue(store.store(key("meanks", 0), "a-1", layer, stored));
        assertTrue(store.read(key("meanks", 0)).isPresent());
        assertSameMeanKs(stored, store.readMeanKs(key("meanks", 0)).orElseThrow());
        assertFalse(store.store(key("meanks", 0), "a-1", layer, meanKs(5, 16)), "the claim is spent");
        assertSameMeanKs(stored, store.readMeanKs(key("meanks", 0)).orElseThrow());

        // too few values to resample: stored for good, with no bucket; and a null stored without the mean KS's
        assertTrue(store.claim(key("meanks", 1), "a-2", Duration.ofMinutes(10)));
        assertTrue(store.store(key("meanks", 1), "a-2", LayerNullTable.unusable(40), meanKs(40)));
        assertSameMeanKs(meanKs(40), store.readMeanKs(key("meanks", 1)).orElseThrow());
        // a layer null stored without the mean KS's (stored before the mean KS had one): the tap stays calibrating
        // and due, and only the mean KS's is stored then, the layer null left as it was
        reference("meanks-none", true);
        assertTrue(store.claim(key("meanks-none", 0), "a-3", Duration.ofMinutes(10)));
        assertTrue(store.store(key("meanks-none", 0), "a-3", LayerNullTable.unusable(12), null));
        assertTrue(store.readMeanKs(key("meanks-none", 0)).isEmpty());
        assertEquals(12, store.read(key("meanks-none", 0)).orElseThrow().sampleSize());
        assertTrue(due("meanks-none").contains(key("meanks-none", 0)), "due for its mean KS's null");
        java.sql.Timestamp layerComputed = computedAt("meanks-none", "mmd2");
        assertTrue(store.claim(key("meanks-none", 0), "a-4", Duration.ofMinutes(10)));
        assertFalse(due("meanks-none").contains(key("meanks-none", 0)), "claimed");
        assertFalse(store.store(key("meanks-none", 0), "a-3", null, meanKs(300, 16)), "the claim is a-4's");
        assertTrue(store.store(key("meanks-none", 0), "a-4", null, meanKs(300, 16)));
        assertSameMeanKs(meanKs(300, 16), store.readMeanKs(key("meanks-none", 0)).orElseThrow());
        assertEquals(layerComputed, computedAt("meanks-none", "mmd2"), "the layer null is left alone");
        assertEquals(12, store.read(key("meanks-none", 0)).orElseThrow().sampleSize());
        assertFalse(due("meanks-none").contains(key("meanks-none", 0)));
        assertFalse(store.claim(key("meanks-none", 0), "a-5", Duration.ofMinutes(10)), "both stored");
        // a mean KS's null of another construction is due again, the layer null still not recomputed; keeping a
        // layer null that is itself of another construction is refused (it was due too)
        assertEquals(1, update("UPDATE layer_null "
                + "SET construction = 'mean-ks/0' WHERE model_id = 'meanks-none' AND statistic = 'mean_ks'"));
        assertTrue(store.readMeanKs(key("meanks-none", 0)).isEmpty(), "another construction: calibrating");
        assertTrue(store.read(key("meanks-none", 0)).isPresent());
        assertTrue(store.claim(key("meanks-none", 0), "a-6", Duration.ofMinutes(10)));
        assertEquals(1, update("UPDATE layer_null "
                + "SET construction = 'resampled/0' WHERE model_id = 'meanks-none' AND statistic = 'mmd2'"));
        assertFalse(store.store(key("meanks-none", 0), "a-6", null, meanKs(300, 16)),
                "a stale layer null is not kept");
        assertTrue(store.readMeanKs(key("meanks-none", 0)).isEmpty(), "nothing stored");
        assertTrue(store.store(key("meanks-none", 0), "a-6", LayerNullTable.unusable(13), meanKs(300, 16)));
        assertEquals(13, store.read(key("meanks-none", 0)).orElseThrow().sampleSize());

        // rows not of the shape stored: refused, not misread
        setQuantiles("meanks", "{16, 0.1, 0.2, 0.3, 0.4, 0.5, 32}");
        assertThrows(IllegalArgumentException.class, () -> store.readMeanKs(key("meanks", 0)), "not 6 a bucket");
        setQuantiles("meanks", "{32, 0.1, 0.2, 0.3, 0.4, 0.5, 16, 0.1, 0.2, 0.3, 0.4, 0.5}");
        assertThrows(IllegalArgumentException.class, () -> store.readMeanKs(key("meanks", 0)), "not ascending");
        setQuantiles("meanks", "{16, 0.1, 0.2, 0.3, 0.4, 0.5, 48, 0.1, 0.2, 0.3, 0.4, 0.5}");
        assertThrows(IllegalArgumentException.class, () -> store.readMeanKs(key("meanks", 0)), "not a power of 2");
        setQuantiles("meanks", "{8, 0.1, 0.2, 0.3, 0.4, 0.5}");
        assertThrows(IllegalArgumentException.class, () -> store.readMeanKs(key("meanks", 0)), "below 16");
        setQuantiles("meanks", "{16, 0.1, 0.2, NaN, 0.4, 0.5}");
        assertThrows(IllegalArgumentException.class, () -> store.readMeanKs(key("meanks", 0)), "not a number");
        setQuantiles("meanks", "{16, -0.1, 0.2, 0.3, 0.4, 0.5}");
        assertThrows(IllegalArgumentException.class, () -> store.readMeanKs(key("meanks", 0)), "below 0");
        setQuantiles("meanks", "{16, 0.1, 0.2, 0.3, 1.5, 0.5}");
        assertThrows(IllegalArgumentException.class, () -> store.readMeanKs(key("meanks", 0)), "above 1");

        // a null made another way is not read; deleting the reference deletes the mean KS's too
        assertEquals(1, update("UPDATE layer_null "
                + "SET construction = 'resampled/0' WHERE model_id = 'meanks' AND tap = 'tap1' AND "
                + "statistic = 'mean_ks'"));
        assertTrue(store.readMeanKs(key("meanks", 1)).isEmpty(), "another construction");
        assertTrue(new ReferenceStore(dataSource).delete("meanks", "training", "1", found -> { }));
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT count(*) "
                + "FROM layer_null WHERE model_id = 'meanks'")) {
            assertEquals(0L, Sql.<Long>one(ps, rs -> rs.getLong(1)), "no null of the deleted reference is left");
        }
    }

    @Test
    void aLapsedClaimIsTakenOverAReleasedOneWaitsAndAnUnusableSampleIsStoredForGood() throws Exception {
        reference("lapsed", true);
        assertTrue(store.claim(key("lapsed", 1), "died-1", Duration.ZERO));
        Thread.sleep(20);
        assertTrue(due("lapsed").contains(key("lapsed", 1)), "a lapsed claim is due again");
        assertTrue(store.claim(key("lapsed", 1), "b-1", Duration.ofMinutes(10)));
        assertFalse(store.store(key("lapsed", 1), "died-1", computed("lapsed"), NO_VALUES),
                "a computation that outlived its claim stores nothing");

        // a failed computation gives its claim up: due again after the retry, not before
        store.release(key("lapsed", 1), "b-1", Duration.ofMinutes(1));
        assertFalse(due("lapsed").contains(key("lapsed", 1)), "waiting its retry");
        assertFalse(store.claim(key("lapsed", 1), "c-1", Duration.ofMinutes(10)), "waiting its retry");
        store.release(key("lapsed", 1), "c-1", Duration.ZERO);
        store.release(key("lapsed", 0), "nobody", Duration.ZERO);
        update("UPDATE layer_null SET claimed_until = now() - interval '1 second' WHERE model_id = 'lapsed'");
        assertTrue(store.claim(key("lapsed", 1), "c-2", Duration.ofMinutes(10)));
        assertTrue(store.store(key("lapsed", 1), "c-2", LayerNullTable.unusable(12), NO_VALUES));
        LayerNullTable read = store.read(key("lapsed", 1)).orElseThrow();
        assertFalse(read.usable(), "too small a sample: the analytic bound, and no longer calibrating");
        assertEquals(12, read.sampleSize());
        assertFalse(due("lapsed").contains(key("lapsed", 1)));
    }

    @Test
    void deletingAReferenceDeletesItsNullsAndSampleAndAClaimOnItFails() throws Exception {
        reference("deleted", true);
        assertTrue(store.claim(key("deleted", 0), "a-1", Duration.ofMinutes(10)));
        assertTrue(store.store(key("deleted", 0), "a-1", computed("deleted"), NO_VALUES));
        assertTrue(store.claim(key("deleted", 1), "a-2", Duration.ofMinutes(10)));
        CalibrationSampleStore samples = new CalibrationSampleStore(dataSource);
        CalibrationSampleStore.Scope scope = CalibrationSampleStore.Scope.reference("deleted", "1", "tap0",
                "training");
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            samples.insert(c, List.of(new CalibrationSampleStore.Member(scope, 1, "obs-1", new float[] {1, 2})),
                    s -> 10);
            c.commit();
        }
        assertEquals(1, samples.readReference("deleted", "1", "tap0", "training", 10).size());
        assertTrue(new ReferenceStore(dataSource).delete("deleted", "training", "1", found -> { }));
        assertTrue(store.read(key("deleted", 0)).isEmpty());
        assertEquals(List.of(), samples.readReference("deleted", "1", "tap0", "training", 10),
                "a reference built again under this name starts from an empty sample");
        assertFalse(store.claim(key("deleted", 0), "a-3", Duration.ofMinutes(10)), "no reference to claim for");
        assertEquals(List.of(), due("deleted"));

        // made again under the same name and sealed: the old reference's computation, still running, stores nothing
        reference("deleted", true);
        assertTrue(store.claim(key("deleted", 1), "b-1", Duration.ofMinutes(10)));
        assertFalse(store.store(key("deleted", 1), "a-2", computed("deleted"), NO_VALUES));
        assertTrue(store.read(key("deleted", 1)).isEmpty());
    }

    @Test
    void nullsStoredUnderTheJointConstructionOfBeforeAreReadAfterTheUpgradeAndNotComputedAgain() throws Exception {
        PGSimpleDataSource before = MigratedDatabase.upTo("layer_null_v24", "23");
        CatalogStore catalog = new CatalogStore(before);
        try (Connection c = before.getConnection()) {
            catalog.register(c, tap("joint", 0));
            ReferenceStore.registerTagged(c, "joint", "1", "training");
        }
        // as the release of 2026-12-05 stored them: one construction string for both statistics
        String joint = "resampled/2 (with the mean KS's, sides disjoint): "
                + LayerNullTable.CONSTRUCTION.substring("resampled/1: ".length());
        try (Connection c = before.getConnection(); PreparedStatement ps = c.prepareStatement("UPDATE reference SET "
                + "sealed_at = now(); INSERT INTO layer_null (model_id, model_version, reference, tap, slice, "
                + "statistic, computed_at, construction, sample_size, quantiles, eigenvalues) VALUES ('joint', '1', "
                + "'training', 'tap0', 'all', 'mmd2', now(), ?, 12, '{}', '{}'), ('joint', '1', 'training', 'tap0', "
                + "'all', 'mean_ks', now(), ?, 300, '{16, 0.1, 0.2, 0.3, 0.4, 0.5}', '{}')")) {
            ps.setString(1, joint);
            ps.setString(2, joint);
            ps.executeUpdate();
        }
        org.flywaydb.core.Flyway.configure().dataSource(before).load().migrate();
        LayerNullStore upgraded = new LayerNullStore(before);
        LayerNullStore.Key key = new LayerNullStore.Key("joint", "1", "training", "tap0");
        assertEquals(12, upgraded.read(key).orElseThrow().sampleSize(), "the layer null is read, not due again");
        LayerNullStore.MeanKs meanKs = upgraded.readMeanKs(key).orElseThrow();
        assertEquals(300, meanKs.sampleSize(), "the mean KS's null is read, not due again");
        assertEquals(java.util.Set.of(16), meanKs.buckets().keySet());
        assertArrayEquals(new double[] {0.1, 0.2, 0.3, 0.4, 0.5}, meanKs.buckets().get(16), 0);
        assertEquals(0, upgraded.calibrating());
        assertEquals(List.of(), upgraded.due(10));
    }
}
