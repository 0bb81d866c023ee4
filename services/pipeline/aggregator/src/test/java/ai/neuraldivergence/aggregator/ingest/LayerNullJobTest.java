package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.LayerNullTable;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.ResampledNull;
import ai.neuraldivergence.domain.SampledLayerNull;
import ai.neuraldivergence.domain.SampledMeanKsNull;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.LayerNullStore;
import ai.neuraldivergence.storage.ReferenceStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The background job that computes sealed references' layer nulls, against a real PostgreSQL, with a failure
 * injected: a tap whose sample cannot be read (a corrupt row) is counted as failed, released for a later retry and
 * left calibrating, while the other tap of the check is computed and stored as the on-demand null would be; once the
 * row is mended, the retry stores it and nothing is calibrating any more. A write the database refuses after the
 * computation is counted and retried, never half stored; two aggregators checking at once store each tap exactly
 * once. The mean KS's null is stored with the layer's, resampled from the members' neuron values; one that is due
 * alone (a layer null stored before the mean KS had one) is computed alone, the layer null left as stored.
 */
class LayerNullJobTest {

    private static final int NEURONS = 8;
    private static final int SAMPLE = 300;

    private static TapDescriptor tap(String name, int index) {
        return new TapDescriptor("m", "1", name, index, new int[] {NEURONS}, NEURONS, Reduction.NONE);
    }

    private static List<CalibrationSampleStore.Member> sample(TapDescriptor tap) {
        RandomFeatureMap map = LayerFeatures.map(tap);
        CalibrationSampleStore.Scope scope = CalibrationSampleStore.Scope.reference("m", "1", tap.tap(), "training");
        Random r = new Random(tap.tap().hashCode());
        List<CalibrationSampleStore.Member> out = new ArrayList<>();
        for (int i = 0; i < SAMPLE; i++) {
            float[] row = new float[NEURONS];
            for (int j = 0; j < NEURONS; j++) {
                row[j] = (float) Math.max(0, r.nextGaussian());
            }
            out.add(new CalibrationSampleStore.Member(scope, i, "o-" + i, map.projection(row),
                    List.of(ai.neuraldivergence.domain.Slice.ALL), row));
        }
        return out;
    }

    private static void execute(PGSimpleDataSource ds, String sql) throws Exception {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.executeUpdate();
        }
    }

    @Test
    void aTapThatFailsIsReleasedForItsRetryAndTheOthersAreStored() throws Exception {
        PGSimpleDataSource ds = TestDatabases.migrated("layer_null_job");
        CatalogStore catalog = new CatalogStore(ds);
        CalibrationSampleStore samples = new CalibrationSampleStore(ds);
        TapDescriptor broken = tap("broken", 0);
        TapDescriptor fine = tap("fine", 1);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, broken);
            catalog.register(c, fine);
            ReferenceStore.registerTagged(c, "m", "1", "training");
            samples.insert(c, sample(broken), s -> SAMPLE);
            samples.insert(c, sample(fine), s -> SAMPLE);
            c.commit();
        }
        execute(ds, "UPDATE reference SET sealed_at = now()");
        // a row that is not float32 values: reading the sample fails
        execute(ds, "UPDATE calibration_sample SET projections = '\\x0102030405' WHERE tap = 'broken' AND rank = 7");

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LayerNullStore nulls = new LayerNullStore(ds);
        LayerNullJob job = new LayerNullJob(nulls, samples, catalog, 2_000, 1 << 20, Duration.ofMinutes(10),
                registry);
        assertEquals(1, job.check(), "the fine tap is stored whatever the broken one does");
        assertEquals(1, registry.get("nd.aggregator.layer.nulls.failures").counter().count());
        assertEquals(1, registry.get("nd.aggregator.layer.nulls.computed").counter().count());
        assertEquals(1, registry.get("nd.aggregator.layer.nulls.calibrating").gauge().value(), "the broken one");
        LayerNullStore.Key brokenKey = new LayerNullStore.Key("m", "1", "training", "broken");
        LayerNullStore.Key fineKey = new LayerNullStore.Key("m", "1", "training", "fine");
        assertTrue(nulls.read(brokenKey).isEmpty(), "calibrating");
        assertEquals(List.of(), nulls.due(16), "released for a retry a minute later, not at the next check");
        assertEquals(0, job.check());

        // what was stored is what the comparison service would have resampled on demand from the same sample
        LayerNullTable expected = new SampledLayerNull(fine, samples.readReference("m", "1", "fine", "training",
                2_000), LayerNullJob.seed(fineKey)).table();
        LayerNullTable stored = nulls.read(fineKey).orElseThrow();
        assertEquals(SAMPLE, stored.sampleSize());
        for (long n : new long[] {40, 700, 5_000}) {
            assertEquals(expected.quantile(3, n, SAMPLE, 1e-5).orElseThrow(), stored.quantile(3, n, SAMPLE, 1e-5)
                    .orElseThrow(), 0);
        }
        // and beside it the mean KS's, resampled from the members' neuron values (a tap stored as one block)
        List<float[]> values = samples.readReferenceValues("m", "1", "fine", "training",
                ai.neuraldivergence.domain.Slice.ALL, 2_000);
        assertEquals(SAMPLE, values.size());
        LayerNullStore.MeanKs meanKs = nulls.readMeanKs(fineKey).orElseThrow();
        assertEquals(SAMPLE, meanKs.sampleSize());
        var expectedKs = new SampledMeanKsNull(values).table(ResampledNull.REPLICATES, LayerNullJob.seed(fineKey))
                .buckets();
        assertEquals(expectedKs.keySet(), meanKs.buckets().keySet());
        assertTrue(!expectedKs.isEmpty(), "300 members resample the smallest buckets");
        expectedKs.forEach((bucket, q) -> assertArrayEquals(q, meanKs.buckets().get(bucket), 0, "bucket " + bucket));
        assertTrue(nulls.readMeanKs(brokenKey).isEmpty(), "nothing stored for the tap that failed");

        // mended, and its retry due: stored, and nothing is calibrating
        execute(ds, "DELETE FROM calibration_sample WHERE tap = 'broken' AND rank = 7");
        execute(ds, "UPDATE layer_null SET claimed_until = now() - interval '1 second' WHERE tap = 'broken'");
        assertEquals(1, job.check());
        assertEquals(SAMPLE - 1, nulls.read(brokenKey).orElseThrow().sampleSize());
        assertEquals(0, registry.get("nd.aggregator.layer.nulls.calibrating").gauge().value());
    }

    /** A database and its stores: what an aggregator's job and a test of it share. */
    private record Database(PGSimpleDataSource ds, CatalogStore catalog, CalibrationSampleStore samples,
            LayerNullStore nulls) {
    }

    /** A new database with a model version of {@code taps} taps and a sealed tagged reference with usable samples. */
    private static Database sealed(String name, int taps) throws Exception {
        PGSimpleDataSource ds = TestDatabases.migrated(name);
        Database db = new Database(ds, new CatalogStore(ds), new CalibrationSampleStore(ds), new LayerNullStore(ds));
        List<TapDescriptor> out = new ArrayList<>();
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            for (int t = 0; t < taps; t++) {
                TapDescriptor tap = tap("tap" + t, t);
                db.catalog().register(c, tap);
                out.add(tap);
            }
            ReferenceStore.registerTagged(c, "m", "1", "training");
            for (TapDescriptor tap : out) {
                db.samples().insert(c, sample(tap), s -> SAMPLE);
            }
            c.commit();
        }
        execute(ds, "UPDATE reference SET sealed_at = now()");
        return db;
    }

    @Test
    void aRefusedWriteIsRetriedAndTwoAggregatorsStoreEachTapOnce() throws Exception {
        Database db = sealed("layer_null_jobs", 4);
        PGSimpleDataSource ds = db.ds();
        CatalogStore catalog = db.catalog();
        CalibrationSampleStore samples = db.samples();
        LayerNullStore nulls = db.nulls();
        // the database refuses every stored result (a failing disk, say), after the computation
        execute(ds, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                + "'injected write failure'; END $$");
        execute(ds, "CREATE TRIGGER refuse BEFORE UPDATE ON layer_null FOR EACH ROW WHEN (NEW.computed_at IS NOT "
                + "NULL) EXECUTE FUNCTION refuse()");
        SimpleMeterRegistry first = new SimpleMeterRegistry();
        LayerNullJob a = new LayerNullJob(nulls, samples, catalog, 2_000, 0, Duration.ofMinutes(10), first);
        assertEquals(0, a.check());
        assertEquals(4, first.get("nd.aggregator.layer.nulls.failures").counter().count(), "each tap counted");
        assertEquals(4, first.get("nd.aggregator.layer.nulls.calibrating").gauge().value(), "none half stored");

        // the database takes writes again, every retry is due: two aggregators check at once
        execute(ds, "DROP TRIGGER refuse ON layer_null");
        execute(ds, "UPDATE layer_null SET claimed_until = now() - interval '1 second'");
        SimpleMeterRegistry second = new SimpleMeterRegistry();
        LayerNullJob b = new LayerNullJob(nulls, samples, catalog, 2_000, 0, Duration.ofMinutes(10), second);
        java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var fromA = two.submit(a::check);
            var fromB = two.submit(b::check);
            assertEquals(4, fromA.get() + fromB.get(), "each tap stored by one of them");
        } finally {
            two.shutdownNow();
        }
        assertEquals(4, first.get("nd.aggregator.layer.nulls.computed").counter().count()
                + second.get("nd.aggregator.layer.nulls.computed").counter().count(), "and counted once");
        assertEquals(0, a.check() + b.check(), "nothing left to do");
        for (int t = 0; t < 4; t++) {
            assertEquals(SAMPLE, nulls.read(new LayerNullStore.Key("m", "1", "training", "tap" + t)).orElseThrow()
                    .sampleSize());
        }
        assertEquals(0, nulls.calibrating());
    }

    @Test
    void aMeanKsNullDueAloneIsComputedAloneAndTheStoredLayerNullIsLeftAsItIs() throws Exception {
        Database db = sealed("layer_null_mean_ks_alone", 2);
        PGSimpleDataSource ds = db.ds();
        LayerNullStore nulls = db.nulls();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LayerNullJob job = new LayerNullJob(nulls, db.samples(), db.catalog(), 2_000, 1 << 20,
                Duration.ofMinutes(10), registry);
        assertEquals(2, job.check());
        // as after the upgrade that brought the mean KS's null: layer nulls stored, no mean KS's; and the layer
        // statistic's sample unreadable (of tap0) or gone (tap1: its neuron values gone too, as hours past their
        // retention), so that computing a layer null again would fail or lose it
        execute(ds, "DELETE FROM layer_null WHERE statistic = 'mean_ks'");
        execute(ds, "UPDATE layer_null SET computed_at = computed_at - interval '1 day'");
        execute(ds, "UPDATE calibration_sample SET projections = '\\x0102030405' WHERE tap = 'tap0'");
        execute(ds, "DELETE FROM calibration_sample WHERE tap = 'tap1'");
        LayerNullStore.Key tap0 = new LayerNullStore.Key("m", "1", "training", "tap0");
        LayerNullStore.Key tap1 = new LayerNullStore.Key("m", "1", "training", "tap1");
        LayerNullTable before = nulls.read(tap0).orElseThrow();
        assertEquals(2, nulls.calibrating(), "due for their mean KS's nulls");

        // the database refuses the mean KS's rows (a failing disk, say): counted, nothing half stored, the layer
        // nulls untouched, and both released for their retry
        execute(ds, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                + "'injected write failure'; END $$");
        execute(ds, "CREATE TRIGGER refuse BEFORE INSERT ON layer_null FOR EACH ROW WHEN (NEW.statistic = "
                + "'mean_ks') EXECUTE FUNCTION refuse()");
        assertEquals(0, job.check());
        assertEquals(2, registry.get("nd.aggregator.layer.nulls.failures").counter().count());
        assertEquals(2, nulls.calibrating());
        assertTrue(nulls.readMeanKs(tap0).isEmpty() && nulls.readMeanKs(tap1).isEmpty());
        assertEquals(before.sampleSize(), nulls.read(tap0).orElseThrow().sampleSize());
        assertEquals(List.of(), nulls.due(16), "released for a retry a minute later");
        execute(ds, "DROP TRIGGER refuse ON layer_null");
        execute(ds, "UPDATE layer_null SET claimed_until = now() - interval '1 second'");

        assertEquals(2, job.check());
        assertEquals(2, registry.get("nd.aggregator.layer.nulls.failures").counter().count(),
                "nothing read that fails: only the two refused writes");
        assertEquals(0, nulls.calibrating());
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM "
                + "layer_null WHERE statistic = 'mmd2' AND computed_at > now() - interval '1 hour'")) {
            try (var rs = ps.executeQuery()) {
                rs.next();
                assertEquals(0, rs.getLong(1), "no layer null stored again");
            }
        }
        LayerNullTable after = nulls.read(tap0).orElseThrow();
        assertEquals(before.sampleSize(), after.sampleSize());
        assertEquals(before.quantile(3, 700, SAMPLE, 1e-5).orElseThrow(), after.quantile(3, 700, SAMPLE, 1e-5)
                .orElseThrow(), 0);
        assertEquals(SAMPLE, nulls.read(tap1).orElseThrow().sampleSize(), "tap1's layer null is kept, sample gone");

        // tap0's mean KS's null is resampled from its values, as at the seal; tap1 has none left: the analytic bound
        List<float[]> values = db.samples().readReferenceValues("m", "1", "tap0", "training",
                ai.neuraldivergence.domain.Slice.ALL, 2_000);
        var expected = new SampledMeanKsNull(values).table(ResampledNull.REPLICATES, LayerNullJob.seed(tap0))
                .buckets();
        LayerNullStore.MeanKs stored = nulls.readMeanKs(tap0).orElseThrow();
        assertEquals(expected.keySet(), stored.buckets().keySet());
        assertTrue(!expected.isEmpty());
        expected.forEach((bucket, q) -> assertArrayEquals(q, stored.buckets().get(bucket), 0, "bucket " + bucket));
        LayerNullStore.MeanKs none = nulls.readMeanKs(tap1).orElseThrow();
        assertEquals(0, none.sampleSize());
        assertTrue(none.buckets().isEmpty());
    }
}
