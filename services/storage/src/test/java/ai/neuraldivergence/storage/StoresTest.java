package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The stores against a real PostgreSQL with the real migrations applied. */
class StoresTest {

    private static PGSimpleDataSource dataSource;

    @BeforeAll
    static void migrate() {
        dataSource = new PGSimpleDataSource();
        dataSource.setUrl(TestInfrastructure.shared().newDatabase("storage_test"));
        dataSource.setUser(TestInfrastructure.DB_USER);
        dataSource.setPassword(TestInfrastructure.DB_PASSWORD);
        Flyway.configure().dataSource(dataSource).load().migrate();
    }

    private static final TapDescriptor CONV1 =
            new TapDescriptor("mnist", "1", "conv1", 0, new int[] {28, 28, 8}, 8, Reduction.MAX);

    @Test
    void aTapKeepsTheLayoutItWasFirstSeenWith() throws SQLException {
        CatalogStore catalog = new CatalogStore(dataSource);
        try (Connection c = dataSource.getConnection()) {
            assertEquals(CONV1, catalog.register(c, CONV1));
            TapDescriptor other = new TapDescriptor("mnist", "1", "conv1", 0, new int[] {28, 28, 16}, 16,
                    Reduction.MAX);
            TapDescriptor stored = catalog.register(c, other);
            assertEquals(CONV1, stored);
            assertFalse(stored.sameLayout(other));
            catalog.register(c, new TapDescriptor("mnist", "1", "dense1", 4, new int[] {64}, 64, Reduction.NONE));
        }
        assertEquals(List.of("conv1", "dense1"),
                catalog.taps("mnist", "1").stream().map(TapDescriptor::tap).toList());
    }

    @Test
    void windowsMergeAndReadBackByRange() throws SQLException {
        CatalogStore catalog = new CatalogStore(dataSource);
        TapWindowStore windows = new TapWindowStore(dataSource);
        TapDescriptor tap = new TapDescriptor("merge-model", "v1", "dense", 0, new int[] {2}, 2, Reduction.NONE);
        Instant minute = Instant.parse("2026-11-28T10:15:00Z");
        WindowKey key = new WindowKey("merge-model", "v1", "dense", Slice.ALL, Granularity.MINUTE, minute);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            catalog.register(c, tap);
            assertEquals(2, windows.merge(c, key, delta(1f, 2f)).observationCount());
            assertEquals(3, windows.merge(c, key, delta(5f)).observationCount());
            windows.merge(c, new WindowKey("merge-model", "v1", "dense", Slice.ALL, Granularity.MINUTE,
                    minute.plusSeconds(60)), delta(9f));
            c.commit();
        }
        List<TapWindowStore.StoredWindow> read = windows.read("merge-model", "v1", "dense", Slice.ALL,
                Granularity.MINUTE, minute, minute.plusSeconds(60));
        assertEquals(1, read.size(), "[from, to) excludes the window starting at to");
        TapDistribution d = read.get(0).distribution();
        assertEquals(3, d.observationCount());
        assertEquals(3, d.neuron(0).count());
        assertEquals(8.0, d.neuron(0).sum());
        assertEquals(16.0, d.neuron(1).sum(), "neuron 1 holds twice neuron 0's values");
        assertEquals(2.0, d.neuron(0).quantile(0.5));

        CatalogStore.VersionCoverage coverage = catalog.versions("merge-model").get(0);
        assertEquals(minute, coverage.coverageFrom());
        assertEquals(minute.plusSeconds(120), coverage.coverageTo());
        assertEquals(4, coverage.observationCount());
    }

    private static TapDistribution delta(float... neuronZero) {
        TapDistribution d = new TapDistribution(2, 200);
        for (float v : neuronZero) {
            d.add(new float[] {v, 2 * v}, 0);
        }
        return d;
    }

    @Test
    void anOffsetMovesOnlyFromTheExactOffsetADeltaStartedAt() throws SQLException {
        OffsetStore offsets = new OffsetStore();
        try (Connection c = dataSource.getConnection()) {
            assertEquals(0, offsets.initialize(c, "g", "t", 0, 0));
            assertEquals(0, offsets.initialize(c, "g", "t", 0, 42), "an existing row is kept");
            assertTrue(offsets.advance(c, "g", "t", 0, 0, 10));
            // a stale owner that also read from 0 cannot commit on top
            assertFalse(offsets.advance(c, "g", "t", 0, 0, 7));
            assertEquals(10, offsets.nextOffset(c, "g", "t", 0).getAsLong());
            assertTrue(offsets.nextOffset(c, "g", "t", 1).isEmpty());
        }
    }
}
