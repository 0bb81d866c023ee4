package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RawRows;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * An installation upgraded while deltas wait unfolded: those written one row per slice (raw rows of one slice) stay
 * readable after the migration to one row per tap minute, and are folded like the new ones.
 */
class DeltaLayoutMigrationTest {

    private static final Slice CLASS_3 = Slice.predictedClass(3);

    @Test
    void deltasWrittenPerSliceAreReadAndFoldedAfterTheUpgrade() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.upTo("delta_layout_test", "11");
        Instant minute = Granularity.MINUTE.windowStart(Instant.now());
        new DeltaPartitions(ds).ensure(minute, minute.plusSeconds(60));
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("INSERT INTO window_delta (model_id, model_version, tap, "
                        + "slice, window_start, observation_count, activations) VALUES ('m', 'v1', 'dense', ?, ?, "
                        + "?, ?)")) {
            // as the previous layout wrote them: the same observations once per slice
            for (Slice slice : List.of(Slice.ALL, CLASS_3)) {
                ps.setString(1, slice.key());
                ps.setTimestamp(2, Timestamp.from(minute));
                ps.setInt(3, 2);
                ps.setBytes(4, RawRows.encode(2, List.of(new float[] {1, 2}, new float[] {3, 4})));
                ps.executeUpdate();
            }
            try (var s = c.createStatement()) {
                s.execute("INSERT INTO model_version (model_id, model_version) VALUES ('m', 'v1')");
                s.execute("INSERT INTO tap (model_id, model_version, tap, tap_index, neuron_count, shape, reduction) "
                        + "VALUES ('m', 'v1', 'dense', 0, 2, '{2}', 'none')");
            }
        }
        Flyway.configure().dataSource(ds).load().migrate();

        TapWindowStore windows = new TapWindowStore(ds);
        TapDistribution before = read(windows, CLASS_3, minute);
        assertEquals(2, before.observationCount());
        assertEquals(2, new CatalogStore(ds).versions("m").get(0).observationCount(), "each observation once");

        Compaction compaction = new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE);
        assertEquals(1, compaction.run(minute.plus(Duration.ofMinutes(2))).folded(), "one tap minute");
        TapDistribution after = read(windows, CLASS_3, minute);
        assertEquals(2, after.observationCount());
        assertEquals(2, read(windows, Slice.ALL, minute).observationCount());
        for (int n = 0; n < 2; n++) {
            assertArrayEquals(new double[] {before.neuron(n).sum(), before.neuron(n).min(), before.neuron(n).max()},
                    new double[] {after.neuron(n).sum(), after.neuron(n).min(), after.neuron(n).max()});
        }
        try (Connection c = ds.getConnection(); var s = c.createStatement();
                var rs = s.executeQuery("SELECT count(*) FROM window_delta WHERE NOT folded")) {
            rs.next();
            assertEquals(0, rs.getLong(1), "both folded");
        }
    }

    private static TapDistribution read(TapWindowStore windows, Slice slice, Instant minute) {
        List<TapWindowStore.StoredWindow> read = windows.read("m", "v1", "dense", slice, Granularity.MINUTE, minute,
                minute.plusSeconds(60));
        assertEquals(1, read.size());
        return read.get(0).distribution();
    }
}
