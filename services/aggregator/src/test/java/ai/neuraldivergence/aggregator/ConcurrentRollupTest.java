package ai.neuraldivergence.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.aggregator.ingest.MinuteRollup;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Two roll-up jobs at once over a backlog of 60 days with two minutes in one hour of each, against a real
 * PostgreSQL, one minute per transaction: the jobs walk the backlog side by side, each taking one of a day's two
 * minutes, so that they keep creating the same new hour and day at the same moment (a day row that exists already
 * serializes them: creation is where an update can be lost). Every hour and day must hold exactly the merge of its
 * minutes (counts, range, zeros and non-finite counts exact, sums to 1e-9 relative, every sketch having seen
 * exactly its count), none overwritten by the other.
 */
class ConcurrentRollupTest {

    private static final int NEURONS = 64;
    private static final Instant FIRST = Instant.parse("2026-09-01T10:10:00Z");
    private static final int DAYS = 60;
    private static final int MINUTES = DAYS * 2;
    private static final List<Slice> SLICES = List.of(Slice.ALL, Slice.predictedClass(3));

    @Test
    void twoJobsOverOneBacklogLoseNothing() throws Exception {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(TestInfrastructure.shared().newDatabase("rollup"));
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        Flyway.configure().dataSource(ds).load().migrate();
        TapDescriptor tap = new TapDescriptor("rollup-model", "1", "dense", 0, new int[] {NEURONS}, NEURONS,
                Reduction.NONE);
        TapWindowStore store = new TapWindowStore(ds);
        Map<WindowKey, TapDistribution> minutes = new HashMap<>();
        Random random = new Random(20261201);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(ds).register(c, tap);
            for (int m = 0; m < MINUTES; m++) {
                Instant start = FIRST.plus(Duration.ofDays(m / 2)).plus(Duration.ofMinutes(30L * (m % 2)));
                for (Slice slice : SLICES) {
                    TapDistribution d = new TapDistribution(NEURONS, 200);
                    float[] row = new float[NEURONS];
                    for (int o = 0; o < 30 + random.nextInt(40); o++) {
                        for (int n = 0; n < NEURONS; n++) {
                            int draw = random.nextInt(50);
                            row[n] = draw == 0 ? Float.NaN : draw == 1 ? 0f : (float) random.nextGaussian();
                        }
                        d.add(row, 0);
                    }
                    WindowKey key = new WindowKey(tap.modelId(), "1", "dense", slice, Granularity.MINUTE, start);
                    store.merge(c, key, d);
                    minutes.put(key, d);
                }
            }
            c.commit();
        }

        // one stored minute per transaction, on pooled connections as in the service: the two jobs walk the
        // backlog side by side
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<Long>> jobs = new ArrayList<>();
        AgroalDataSource pooled = AgroalDataSource.from(new AgroalDataSourceConfigurationSupplier()
                .connectionPoolConfiguration(p -> p.maxSize(4).connectionFactoryConfiguration(f -> f
                        .jdbcUrl(ds.getUrl()).principal(new NamePrincipal(TestInfrastructure.DB_USER))
                        .credential(new SimplePassword(TestInfrastructure.DB_PASSWORD)))));
        for (int j = 0; j < 2; j++) {
            MinuteRollup rollup = new MinuteRollup(pooled, 1, (n, changed) -> { });
            jobs.add(pool.submit(() -> {
                go.await();
                return rollup.rollUp(Instant.parse("2026-12-31T00:00:00Z"));
            }));
        }
        go.countDown();
        long first = jobs.get(0).get();
        long second = jobs.get(1).get();
        pool.shutdown();
        pooled.close();
        assertEquals(MINUTES * SLICES.size(), first + second, "every minute rolled up once");
        assertTrue(first > 0 && second > 0, "both jobs rolled up minutes: " + first + " and " + second);
        assertEquals(0, unrolled(ds), "every minute marked");

        for (Granularity g : new Granularity[] {Granularity.HOUR, Granularity.DAY}) {
            Map<WindowKey, TapDistribution> expected = new HashMap<>();
            minutes.forEach((k, d) -> expected.computeIfAbsent(new WindowKey(k.modelId(), k.modelVersion(), k.tap(),
                    k.slice(), g, g.windowStart(k.windowStart())), x -> new TapDistribution(NEURONS, 200)).merge(d));
            assertEquals(DAYS * SLICES.size(), expected.size());
            for (Map.Entry<WindowKey, TapDistribution> e : expected.entrySet()) {
                WindowKey k = e.getKey();
                var stored = store.read(k.modelId(), "1", "dense", k.slice(), g, k.windowStart(),
                        k.windowStart().plusSeconds(1));
                assertEquals(1, stored.size(), k.toString());
                assertSame(e.getValue(), stored.get(0).distribution(), k.toString());
            }
        }
    }

    /** hour = merge(minutes): exact where the arithmetic is, the sketches within their rank error. */
    static void assertSame(TapDistribution expected, TapDistribution stored, String what) {
        assertEquals(expected.observationCount(), stored.observationCount(), what);
        for (int n = 0; n < NEURONS; n++) {
            NeuronDistribution a = expected.neuron(n);
            NeuronDistribution b = stored.neuron(n);
            assertEquals(a.count(), b.count(), what + " neuron " + n);
            assertEquals(a.count(), b.sketchCount(), what + " sketch of neuron " + n);
            assertEquals(a.nanCount(), b.nanCount(), what);
            assertEquals(a.zeroCount(), b.zeroCount(), what);
            assertEquals(a.min(), b.min(), what);
            assertEquals(a.max(), b.max(), what);
            assertEquals(a.sum(), b.sum(), 1e-9 * Math.max(1, Math.abs(a.sum())), what);
            assertEquals(a.sumOfSquares(), b.sumOfSquares(), 1e-9 * a.sumOfSquares(), what);
            // b's median is a's, within both sketches' rank errors: at least half of b's values are at or below
            // it, at most half below it (ties, such as the zeros, sit across it)
            double error = a.rankError() + b.rankError() + 1e-9;
            float median = (float) a.quantile(0.5);
            double atOrBelow = b.rank(median);
            double below = 2 * b.midRank(median) - atOrBelow;
            assertTrue(atOrBelow >= 0.5 - error && below <= 0.5 + error, what + " median " + atOrBelow + " " + below);
            if (a.rankError() == 0 && b.rankError() == 0) {
                for (double r : new double[] {0.1, 0.25, 0.5, 0.75, 0.9}) {
                    assertEquals(a.quantile(r), b.quantile(r), what + " exact quantile " + r);
                }
            }
        }
    }

    private static long unrolled(PGSimpleDataSource ds) throws Exception {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM tap_window WHERE granularity = "
                        + "'minute' AND NOT rolled_up");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
