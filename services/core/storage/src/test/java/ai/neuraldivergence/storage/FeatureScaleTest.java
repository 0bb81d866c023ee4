package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RawRows;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The layer statistic's neuron scales in the catalog: a layout keeps the scales of its first registration, whatever
 * a later version declares (and a version not registered yet is told them); windows are folded through them; and a
 * layout registered before the scales existed keeps scales of 1, through which its stored sums were made.
 */
class FeatureScaleTest {

    private static final float[] DECLARED = {0.5f, 2f, 40f};

    private static TapDescriptor dense(String version, float[] scales) {
        return new TapDescriptor("scaled", version, "dense", 0, new int[] {3}, 3, Reduction.NONE, 3, scales);
    }

    @Test
    void aLayoutKeepsTheScalesOfItsFirstRegistrationAndFoldsThroughThem() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.create("feature_scale_test");
        CatalogStore catalog = new CatalogStore(ds);
        TapDescriptor second = dense("2", new float[] {1f, 1f, 1f});
        assertNull(catalog.withRegisteredScales(second).featureScales(), "nothing registered: as declared (1)");
        try (Connection c = ds.getConnection()) {
            assertArrayEquals(DECLARED, catalog.register(c, dense("1", DECLARED)).featureScales());
            assertArrayEquals(DECLARED, catalog.withRegisteredScales(second).featureScales(),
                    "a version not registered yet is told its layout's scales");
            assertArrayEquals(DECLARED, catalog.register(c, second).featureScales(), "first wins");
            // another layout of the same tap (another width) has scales of its own
            TapDescriptor wider = new TapDescriptor("scaled", "3", "dense", 0, new int[] {4}, 4, Reduction.NONE);
            assertNull(catalog.register(c, wider).featureScales());
        }
        for (String version : List.of("1", "2")) {
            assertArrayEquals(DECLARED, catalog.taps("scaled", version).get(0).featureScales(), version);
            assertArrayEquals(DECLARED, catalog.find("scaled", version, "dense").orElseThrow().featureScales());
        }
        // a fold of raw rows into a new window of slice all sums through them
        Instant minute = Granularity.MINUTE.windowStart(Instant.now());
        TapWindowStore windows = new TapWindowStore(ds);
        try (Connection c = ds.getConnection()) {
            windows.merge(c, new WindowKey("scaled", "2", "dense", Slice.ALL, Granularity.MINUTE, minute),
                    new RawRows(3, List.of(new float[] {1, 2, 3}, new float[] {4, 5, 6})));
        }
        TapDistribution stored = windows.read("scaled", "2", "dense", Slice.ALL, Granularity.MINUTE, minute,
                minute.plusSeconds(60)).get(0).distribution();
        assertEquals(2, stored.features().count());
        assertArrayEquals(DECLARED, stored.featureScales());
    }

    @Test
    void aLayoutRegisteredBeforeTheUpgradeKeepsScalesOfOne() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.upTo("feature_scale_upgrade_test", "18");
        try (Connection c = ds.getConnection(); var s = c.createStatement()) {
            s.execute("INSERT INTO model_version (model_id, model_version) VALUES ('scaled', '1')");
            s.execute("INSERT INTO tap (model_id, model_version, tap, tap_index, neuron_count, shape, reduction, "
                    + "block_size) VALUES ('scaled', '1', 'dense', 0, 3, '{3}', 'none', 3)");
        }
        Flyway.configure().dataSource(ds).load().migrate();
        CatalogStore catalog = new CatalogStore(ds);
        assertNull(catalog.find("scaled", "1", "dense").orElseThrow().featureScales());
        try (Connection c = ds.getConnection()) {
            assertNull(catalog.register(c, dense("2", DECLARED)).featureScales(),
                    "its sums went through scales of 1: a new version's declaration does not change them");
        }
    }
}
