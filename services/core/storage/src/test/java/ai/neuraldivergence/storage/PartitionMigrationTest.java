package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TopExemplars;
import ai.neuraldivergence.domain.WindowKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * An installation upgraded to time partitions while it holds data: every old table is attached whole as the first
 * range of its partitioned table (nothing copied), stays readable and writable there, later rows go to partitions of
 * their own, and the old table is retired like a partition once what it holds has expired.
 */
class PartitionMigrationTest {

    @Test
    void rowsStoredBeforePartitioningStayWhereTheyAreUntilTheyExpire() throws Exception {
        PGSimpleDataSource ds = MigratedDatabase.upTo("partition_migration_test", "12");
        Instant now = Instant.now();
        Instant old = Granularity.HOUR.windowStart(now.minus(Duration.ofDays(3)));
        Instant recentMinute = Granularity.MINUTE.windowStart(now.minus(Duration.ofMinutes(2)));
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("INSERT INTO model_version (model_id, model_version) VALUES ('m', 'v1')");
            s.execute("INSERT INTO tap (model_id, model_version, tap, tap_index, neuron_count, shape, reduction) "
                    + "VALUES ('m', 'v1', 'dense', 0, 1, '{1}', 'none')");
            insertWindow(c, "minute", old, 3);
            insertWindow(c, "hour", old, 3);
            insertWindow(c, "day", Granularity.DAY.windowStart(old), 3);
            insertWindow(c, "minute", recentMinute, 2);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO neuron_exemplars (model_id, model_version, "
                    + "tap, window_start, exemplars) VALUES ('m', 'v1', 'dense', ?, ?)")) {
                ps.setTimestamp(1, Timestamp.from(old));
                TopExemplars top = new TopExemplars(1, 8);
                top.offer(0, 5f, "i-old");
                ps.setBytes(2, top.encode());
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO recent_observation (model_id, model_version, "
                    + "instance_id, tap, event_time, predicted_class, activations) VALUES ('m', 'v1', 'i-1', 'dense', "
                    + "?, 1, ?)")) {
                ps.setTimestamp(1, Timestamp.from(now.minus(Duration.ofMinutes(5))));
                ps.setBytes(2, RecentObservationStore.encode(new float[] {7f}));
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO captured_input (model_id, model_version, "
                    + "instance_id, event_time, png) VALUES ('m', 'v1', 'i-1', ?, '\\x01')")) {
                ps.setTimestamp(1, Timestamp.from(now.minus(Duration.ofMinutes(5))));
                ps.executeUpdate();
            }
            s.execute("INSERT INTO late_label (model_id, instance_id, true_label) VALUES ('m', 'i-2', 4)");
        }

        Flyway.configure().dataSource(ds).load().migrate();

        for (String table : List.of("tap_window", "neuron_exemplars", "recent_observation", "captured_input",
                "late_label")) {
            assertTrue(isPartition(ds, table + "_unpartitioned"), table + ": the old table attached as it is");
        }
        TapWindowStore windows = new TapWindowStore(ds);
        assertEquals(3, read(windows, Granularity.MINUTE, old));
        assertEquals(3, read(windows, Granularity.HOUR, old));
        assertEquals(3, read(windows, Granularity.DAY, Granularity.DAY.windowStart(old)));
        assertEquals("i-old", new ExemplarStore(ds).read("m", "v1", "dense", old).orElseThrow().ids(0)[0]);
        RecentObservationStore recent = new RecentObservationStore(ds);
        assertEquals(7f, recent.find("m", "i-1").get(0).activations()[0]);
        assertTrue(recent.input("m", "i-1").isPresent());
        try (Connection c = ds.getConnection()) {
            assertEquals(4, new LateLabelStore(ds).label(c, "m", "i-2").getAsInt());
        }

        // writes: into the old table for a minute before the cutover (a late fold), into a partition of their own
        // after it (tap_window's cutover is the next month boundary)
        Instant cutover = new TimePartitions(ds, PartitionLayout.windows()).floor();
        assertEquals(PartitionLayout.Width.MONTH.floor(cutover), cutover, "a month boundary");
        assertTrue(cutover.isAfter(now));
        Instant later = cutover.plus(Duration.ofHours(2));
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            windows.merge(c, key(Granularity.MINUTE, recentMinute), one(1));
            c.commit();
        }
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            windows.merge(c, key(Granularity.MINUTE, later), one(1));
            c.commit();
        }
        assertEquals(3, read(windows, Granularity.MINUTE, recentMinute));
        assertEquals("tap_window_unpartitioned", holder(ds, recentMinute));
        assertEquals(PartitionLayout.windows().path(later, "minute").get(2).name(), holder(ds, later));

        // retirement: the old table stays while it holds rows; emptied (the batched deletes of before) and past
        // finality by more than a day, it is dropped, and its range is then free for partitions of their own
        WindowRetention retention = new WindowRetention(ds);
        WindowRetention.Spans spans = new WindowRetention.Spans(Duration.ofHours(12), Duration.ofDays(35),
                Duration.ofDays(400));
        Instant farFinal = cutover.plus(Duration.ofDays(3));
        assertFalse(retention.run(farFinal, farFinal, spans).windows().dropped().contains(
                "tap_window_unpartitioned"), "holds rows");
        assertTrue(isPartition(ds, "tap_window_unpartitioned"));
        // the batched deletes empty it: a minute once its hour is there, an hour once its day is
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            windows.merge(c, key(Granularity.HOUR, Granularity.HOUR.windowStart(recentMinute)), one(1));
            windows.merge(c, key(Granularity.DAY, Granularity.DAY.windowStart(recentMinute)), one(1));
            c.commit();
        }
        Instant farFuture = cutover.plus(Duration.ofDays(3650));
        for (Granularity g : Granularity.values()) {
            windows.deleteOlderThan(g, farFuture, 100, 1 << 20);
        }
        new ExemplarStore(ds).deleteOlderThan(farFuture);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            assertEquals(0, TimePartitions.count(c, "tap_window_unpartitioned"));
            assertEquals(0, TimePartitions.count(c, "neuron_exemplars_unpartitioned"));
        }
        WindowRetention.Pass pass = new WindowRetention(ds).run(farFinal, farFinal, spans);
        assertTrue(pass.windows().dropped().contains("tap_window_unpartitioned"), pass.toString());
        assertTrue(pass.exemplars().dropped().contains("neuron_exemplars_unpartitioned"), pass.toString());
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            new TapWindowStore(ds).merge(c, key(Granularity.MINUTE, old), one(1));
            c.commit();
        }
        assertEquals(1, read(new TapWindowStore(ds), Granularity.MINUTE, old), "a partition of its own now");

        // the recent store's old table goes whole with the ttl, counted
        RecentObservationStore.Evicted evicted = recent.evict(now.plus(Duration.ofHours(1)), 1_000_000, 1_000_000);
        assertEquals(1, evicted.observationsExpired());
        assertEquals(1, evicted.inputsExpired());
        assertFalse(exists(ds, "recent_observation_unpartitioned"));
        assertEquals(1, new LateLabelStore(ds).expire(now.plus(Duration.ofHours(1))).dropped().size());
    }

    private static void insertWindow(Connection c, String granularity, Instant start, int observations)
            throws Exception {
        TapDistribution d = new TapDistribution(1, 200);
        for (int i = 0; i < observations; i++) {
            d.add(new float[] {i}, 0);
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tap_window (model_id, model_version, tap, "
                + "granularity, slice, window_start, observation_count, distributions) VALUES ('m', 'v1', 'dense', ?, "
                + "'all', ?, ?, ?)")) {
            ps.setString(1, granularity);
            ps.setTimestamp(2, Timestamp.from(start));
            ps.setLong(3, observations);
            ps.setBytes(4, DistributionCodec.encode(d));
            ps.executeUpdate();
        }
    }

    private static WindowKey key(Granularity g, Instant start) {
        return new WindowKey("m", "v1", "dense", Slice.ALL, g, start);
    }

    private static ai.neuraldivergence.domain.TapDelta one(float value) {
        TapDistribution d = new TapDistribution(1, 200);
        d.add(new float[] {value}, 0);
        return d;
    }

    private static long read(TapWindowStore windows, Granularity g, Instant start) {
        return windows.read("m", "v1", "dense", Slice.ALL, g, start, start.plusSeconds(1)).stream()
                .mapToLong(w -> w.distribution().observationCount()).sum();
    }

    private static String holder(PGSimpleDataSource ds, Instant minute) throws Exception {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT tableoid::regclass::text FROM tap_window WHERE "
                        + "granularity = 'minute' AND window_start = ?")) {
            ps.setTimestamp(1, Timestamp.from(minute));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    private static boolean isPartition(PGSimpleDataSource ds, String table) throws Exception {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT relispartition FROM pg_class WHERE relname = ?")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private static boolean exists(PGSimpleDataSource ds, String table) throws Exception {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?)")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1) != null;
            }
        }
    }
}
