package ai.neuraldivergence.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.aggregator.ingest.RetentionJob;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.InfrastructureTestResource;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Windows past their granularity's retention (defaults: minutes 12 hours, hours 35 days, days 400 days) go. */
@QuarkusTest
@WithTestResource(InfrastructureTestResource.class)
@io.quarkus.test.junit.TestProfile(RetentionTest.NoRollupJob.class)
class RetentionTest {

    /**
     * The compaction job would build the test's old minute's hour (which must stay unbuilt) while the test runs:
     * here it runs once at start and then waits an hour.
     */
    public static final class NoRollupJob implements io.quarkus.test.junit.QuarkusTestProfile {
        @Override
        public java.util.Map<String, String> getConfigOverrides() {
            return java.util.Map.of("nd.aggregator.rollup-interval", "1h");
        }
    }

    @Inject
    AgroalDataSource dataSource;

    @Inject
    RetentionJob retention;

    @Test
    void expiredWindowsAreDeletedPerGranularityAndRecentOnesKept() throws Exception {
        String model = "ret-" + UUID.randomUUID();
        Instant now = Instant.parse("2026-11-28T12:00:00Z");
        TapWindowStore store = new TapWindowStore(dataSource);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(dataSource).register(c, new TapDescriptor(model, "1", "t", 0, new int[] {1}, 1,
                    Reduction.NONE));
            for (Granularity g : Granularity.values()) {
                for (Duration age : new Duration[] {Duration.ofHours(1), Duration.ofDays(3), Duration.ofDays(40),
                    Duration.ofDays(500)}) {
                    TapDistribution d = new TapDistribution(1, 200);
                    d.add(new float[] {1f}, 0);
                    // the oldest minute lies in an hour that was never built (its hour row, 2 hours later, is another)
                    Instant start = g == Granularity.MINUTE && age.equals(Duration.ofDays(500))
                            ? now.minus(age).minus(Duration.ofHours(2)) : now.minus(age);
                    store.merge(c, new WindowKey(model, "1", "t", Slice.ALL, g, g.windowStart(start)), d);
                }
            }
            c.commit();
        }
        retention.enforce(now);
        // minutes: 1 hour kept, and the 500-day-old one, whose hour was never built (it would be lost);
        // hours: 1 hour and 3 days kept (the older ones are in their days); days: all but 500 days kept
        assertEquals(2, count(store, model, Granularity.MINUTE));
        assertEquals(2, count(store, model, Granularity.HOUR));
        assertEquals(3, count(store, model, Granularity.DAY));
        assertEquals(0, retention.enforce(now), "nothing left to delete");
        try (Connection c = dataSource.getConnection()) {
            TapDistribution d = new TapDistribution(1, 200);
            d.add(new float[] {1f}, 0);
            store.merge(c, new WindowKey(model, "1", "t", Slice.ALL, Granularity.HOUR,
                    Granularity.HOUR.windowStart(now.minus(Duration.ofDays(500)).minus(Duration.ofHours(2)))), d);
        }
        // its hour built at last, it goes; the hour stays until its day is built
        assertEquals(1, retention.enforce(now), "its hour built at last, it goes");
        assertEquals(1, count(store, model, Granularity.MINUTE));
    }

    private static int count(TapWindowStore store, String model, Granularity g) {
        return store.read(model, "1", "t", Slice.ALL, g, Instant.EPOCH, Instant.parse("2100-01-01T00:00:00Z")).size();
    }
}
