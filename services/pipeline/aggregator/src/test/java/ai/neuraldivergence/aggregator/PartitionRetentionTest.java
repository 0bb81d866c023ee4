package ai.neuraldivergence.aggregator;

import ai.neuraldivergence.aggregator.ingest.PendingWindow;
import static ai.neuraldivergence.testkit.Sql.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.aggregator.ingest.FlushWriter;
import ai.neuraldivergence.aggregator.ingest.FlushWriters;
import ai.neuraldivergence.aggregator.ingest.TestDatabases;
import ai.neuraldivergence.aggregator.ingest.WindowAccumulator;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RangePlan;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.storage.Compaction;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.PartitionLayout;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.TimePartitions;
import ai.neuraldivergence.storage.WindowRetention;
import io.agroal.api.AgroalDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Retention by dropping partitions, against a real PostgreSQL: an expired partition goes only once its range is
 * final and what it holds is folded and rolled up (one that is not is kept and reported); a retirement under a
 * running 24-hour read neither disturbs the read nor holds up the flushes beside it; a flush whose partition is
 * missing makes it and commits; a range across a retired boundary widens to the coarser windows, as with rows
 * deleted before.
 */
class PartitionRetentionTest {

    private static final WindowRetention.Spans SPANS = new WindowRetention.Spans(Duration.ofHours(12),
            Duration.ofDays(35), Duration.ofDays(400));
    private static final String MODEL = "retire";
    private static final TapDescriptor TAP = new TapDescriptor(MODEL, "1", "dense", 0, new int[] {2}, 2,
            Reduction.NONE);

    private static AgroalDataSource ds;
    private long offset;
    private long instance;

    @BeforeAll
    static void database() throws SQLException {
        ds = TestDatabases.pooled("partition_retention");
    }

    @AfterAll
    static void close() {
        ds.close();
    }

    @Test
    void anExpiredPartitionGoesOnlyWhenFinalFoldedAndRolledUp() throws Exception {
        // each test in a month of its own: a month's partitions are retired together
        Instant hour = Instant.parse("2026-07-05T10:00:00Z");
        FlushWriter writer = writer("ret-a");
        // 3 observations in each of two minutes of the hour
        flush(writer, "ret-a", hour.plusSeconds(60), 3, null);
        flush(writer, "ret-a", hour.plusSeconds(600), 3, null);
        String minutes = PartitionLayout.windows().path(hour, "minute").get(2).name();
        String hours = PartitionLayout.windows().path(hour, "hour").get(2).name();
        String month = PartitionLayout.windows().path(hour, "day").get(0).name();
        WindowRetention retention = new WindowRetention(ds);
        Instant longAfter = hour.plus(Duration.ofDays(2));

        // complete, not final: folded, but the hour is not built; past the minutes' retention by the clock, and
        // still kept, unreported: not final yet
        Compaction compaction = new Compaction(ds, 200, Duration.ofHours(2), Compaction.Listener.NONE);
        compaction.run(hour.plus(Duration.ofMinutes(30)));
        WindowRetention.Pass pass = retention.run(longAfter, hour.plus(Duration.ofMinutes(30)), SPANS);
        assertFalse(pass.windows().dropped().contains(minutes));
        assertFalse(pass.windows().held().contains(minutes));
        // final by the watermark, but the hour not built: held, and reported
        pass = retention.run(longAfter, hour.plus(Duration.ofHours(3)), SPANS);
        assertTrue(pass.windows().held().contains(minutes), pass.toString());
        assertTrue(exists(minutes));
        // a delta of the hour not folded (injected: the write path would drop one for a final minute): held
        compaction.run(hour.plus(Duration.ofHours(4)));
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            assertEquals(1, count(s, "SELECT count(*) FROM tap_window WHERE model_id = 'ret-a' AND granularity = "
                    + "'hour'"), "the hour built");
            s.execute("UPDATE window_delta SET folded = false WHERE model_id = 'ret-a' AND window_start = '"
                    + hour.plusSeconds(60) + "'");
        }
        pass = retention.run(longAfter, hour.plus(Duration.ofHours(4)), SPANS);
        assertTrue(pass.windows().held().contains(minutes), "an unfolded delta holds it: " + pass);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("UPDATE window_delta SET folded = true WHERE model_id = 'ret-a'");
        }
        pass = retention.run(longAfter, hour.plus(Duration.ofHours(4)), SPANS);
        assertTrue(pass.windows().dropped().contains(minutes), pass.toString());
        assertFalse(exists(minutes));
        assertEquals(6, read(Granularity.HOUR, hour), "the hour holds its minutes");

        // hours: past their retention and final, held until their day is built
        Instant monthsAfter = hour.plus(Duration.ofDays(40));
        pass = retention.run(monthsAfter, hour.plus(Duration.ofDays(2)), SPANS);
        assertTrue(pass.windows().held().contains(hours), pass.toString());
        compaction.run(hour.plus(Duration.ofDays(2)));
        assertEquals(6, read(Granularity.DAY, Granularity.DAY.windowStart(hour)), "the day built");
        pass = retention.run(monthsAfter, hour.plus(Duration.ofDays(2)), SPANS);
        assertTrue(pass.windows().dropped().contains(hours), pass.toString());
        assertEquals(6, read(Granularity.DAY, Granularity.DAY.windowStart(hour)));
        // the month (its day rows) after the day retention
        assertTrue(exists(month));
        pass = retention.run(hour.plus(Duration.ofDays(430)), hour.plus(Duration.ofDays(430)), SPANS);
        assertTrue(pass.windows().dropped().contains(month), pass.toString());
        assertEquals(0, read(Granularity.DAY, Granularity.DAY.windowStart(hour)));
        // and the delta partitions: final and folded
        DeltaPartitions.Retired deltas = new DeltaPartitions(ds).retire(hour.plus(Duration.ofDays(2)));
        assertTrue(deltas.keptUnfolded().isEmpty(), deltas.toString());
        assertFalse(exists(DeltaPartitions.partitionName(hour)));
    }

    @Test
    void aRetirementUnderARunning24HourReadHoldsUpNeitherTheReadNorTheFlushes() throws Exception {
        Instant now = Instant.now();
        Instant day = Granularity.HOUR.windowStart(now.minus(Duration.ofHours(26)));
        // 26 hours of minutes: one observation every 20 minutes, folded; hours built for all but the last 2
        FlushWriter writer = writer("ret-b");
        int observations = 0;
        for (Instant t = day; t.isBefore(now.minus(Duration.ofMinutes(5))); t = t.plus(Duration.ofMinutes(20))) {
            flush(writer, "ret-b", t, 1, null);
            observations++;
        }
        Compaction compaction = new Compaction(ds, 200, Duration.ofMinutes(90), Compaction.Listener.NONE);
        compaction.run(now);
        String expired = PartitionLayout.windows().path(day, "minute").get(2).name();
        // the oldest hour's recent rows and deltas expire with it: observations and inputs kept 1 h
        RecentObservationStore recent = new RecentObservationStore(ds);

        // before: flush durations with nothing else going on
        List<Long> before = timedFlushes(writer, "ret-b", now, 40);
        // a 24-hour read holds its snapshot (as a Compare reading minutes, hours and unfolded deltas does) while
        // the expired partitions are detached and dropped; the flushes go on meanwhile
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Connection reader = ds.getConnection()) {
            reader.setAutoCommit(false);
            try (Statement s = reader.createStatement()) {
                s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            }
            long first = readRange(reader, now.minus(Duration.ofHours(26)), now);
            Future<WindowRetention.Pass> retiring = pool.submit(() -> new WindowRetention(ds).run(now, now, SPANS));
            Future<RecentObservationStore.Evicted> evicting = pool.submit(() -> recent.evict(now.minus(
                    Duration.ofHours(1)), Long.MAX_VALUE, Long.MAX_VALUE));
            List<Long> during = timedFlushes(writer, "ret-b", now, 40);
            // the detach waits for the read (CONCURRENTLY): it cannot be done while the read holds its snapshot
            assertFalse(retiring.isDone(), "the detach waits for the running read");
            assertEquals(first, readRange(reader, now.minus(Duration.ofHours(26)), now),
                    "the read sees what it saw, whatever is retired meanwhile");
            reader.commit();
            WindowRetention.Pass pass = retiring.get(60, TimeUnit.SECONDS);
            assertTrue(pass.windows().dropped().contains(expired), pass.toString());
            evicting.get(60, TimeUnit.SECONDS);
            long p95Before = p95(before);
            long p95During = p95(during);
            System.out.printf("flush p95 before the retirement %d ms, during it %d ms%n", p95Before, p95During);
            // a flush blocked by the detach would wait for the read (seconds); the slack covers a loaded machine's
            // jitter on flushes of a few milliseconds
            assertTrue(p95During <= Math.max(p95Before * 12 / 10, p95Before + 50),
                    "flush p95 " + p95During + " ms during the retirement, " + p95Before + " ms before");
        } finally {
            pool.shutdownNow();
        }
        assertFalse(exists(expired));
        assertTrue(observations > 70);
    }

    @Test
    void aFlushIntoAMissingPartitionMakesItAndCommits() throws Exception {
        Instant t = Instant.parse("2026-08-07T08:05:00Z");
        FlushWriter writer = writer("ret-c");
        TimePartitions recentPartitions = new TimePartitions(ds, PartitionLayout.of("recent_observation"));
        TimePartitions labels = new TimePartitions(ds, PartitionLayout.of("late_label"));
        // the writer has made (and knows) the partitions; they are dropped behind its back
        flush(writer, "ret-c", t, 1, null);
        labels.ensure(Instant.now(), Instant.now().plus(Duration.ofMinutes(10)));
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE " + recentPartitions.layout().path(t, "").get(0).name());
            s.execute("DROP TABLE " + labels.layout().path(Instant.now(), "").get(0).name());
        }
        LabelEvent label = LabelEvent.newBuilder().setModelId("ret-c").setInstanceId("late-1").setTrueLabel(3)
                .build();
        FlushWriter.Outcome outcome = flush(writer, "ret-c", t.plusSeconds(1), 1, label);
        assertInstanceOf(FlushWriter.Outcome.Committed.class, outcome);
        RecentObservationStore recent = new RecentObservationStore(ds);
        assertEquals(1, recent.find("ret-c", "ret-c-" + (instance - 1)).size(), "kept in the partition made again");
        try (Connection c = ds.getConnection()) {
            assertEquals(3, new ai.neuraldivergence.storage.LateLabelStore(ds).label(c, "ret-c", "late-1")
                    .getAsInt());
        }
        // a fold whose minute partition was dropped makes it too
        String minutes = PartitionLayout.windows().path(t, "minute").get(2).name();
        new TapWindowStore(ds).partitions().ensure(t, "minute");
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE " + minutes);
        }
        Compaction compaction = new Compaction(ds, 200, Duration.ofHours(1), new Compaction.Listener() {
            @Override
            public void built(Compaction.Built built) {
            }

            @Override
            public void failed(String what, RuntimeException cause) {
                throw new AssertionError(what, cause);
            }
        });
        assertTrue(compaction.run(t.plus(Duration.ofMinutes(5))).folded() > 0);
        assertEquals(2, read("ret-c", Granularity.MINUTE, Granularity.MINUTE.windowStart(t)));
    }

    @Test
    void aRangeAcrossARetiredBoundaryWidensToTheHour() throws Exception {
        Instant hour = Instant.parse("2026-09-09T14:00:00Z");
        FlushWriter writer = writer("ret-d");
        for (int m = 0; m < 60; m += 10) {
            flush(writer, "ret-d", hour.plus(Duration.ofMinutes(m)), 2, null);
        }
        // the next hour's minutes stay (a later partition)
        flush(writer, "ret-d", hour.plus(Duration.ofMinutes(75)), 2, null);
        new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE).run(hour.plus(Duration.ofHours(2)));
        TapWindowStore windows = new TapWindowStore(ds);
        Instant from = hour.plus(Duration.ofMinutes(20));
        Instant to = hour.plus(Duration.ofMinutes(80));
        assertEquals(10, readPlan(windows, from, to), "minutes 20-50 of the first hour and minute 75");
        // 13 hours on, the first hour's minutes are past their 12 hours, the second's not yet
        new WindowRetention(ds).run(hour.plus(Duration.ofHours(13)), hour.plus(Duration.ofHours(2)), SPANS);
        assertFalse(exists(PartitionLayout.windows().path(hour, "minute").get(2).name()));
        // the first hour's minutes are gone: the range widens to the whole hour (12 observations) and keeps the
        // later hour's minutes
        assertEquals(14, readPlan(windows, from, to));
    }

    @Test
    void aDetachLeftPendingOrATableLeftDetachedIsSettledAtTheNextPass() throws Exception {
        Instant hour = Instant.parse("2026-06-10T10:00:00Z");
        Instant unbuilt = hour.plus(Duration.ofHours(5));
        FlushWriter writer = writer("ret-e");
        flush(writer, "ret-e", hour.plusSeconds(60), 2, null);
        flush(writer, "ret-e", unbuilt.plusSeconds(60), 2, null);
        // the first hour built (its partitions may go), the later one's minutes folded but its hour not built
        new Compaction(ds, 200, Duration.ofMinutes(5), Compaction.Listener.NONE).run(hour.plus(Duration.ofHours(2)));
        new Compaction(ds, 200, Duration.ofHours(2), Compaction.Listener.NONE).run(unbuilt.plus(Duration.ofHours(1)));
        String minutes = PartitionLayout.windows().path(hour, "minute").get(2).name();
        String parent = PartitionLayout.windows().path(hour, "minute").get(1).name();
        String held = PartitionLayout.windows().path(unbuilt, "minute").get(2).name();
        // a detach interrupted: a read holds its snapshot and the detach gives up waiting for it, left pending
        try (Connection reader = ds.getConnection()) {
            reader.setAutoCommit(false);
            try (Statement s = reader.createStatement()) {
                s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
                count(s, "SELECT count(*) FROM tap_window WHERE model_id = 'ret-e'");
            }
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                s.execute("SET lock_timeout = '500ms'");
                assertThrows(SQLException.class, () -> s.execute("ALTER TABLE " + parent + " DETACH PARTITION "
                        + minutes + " CONCURRENTLY"));
            }
            reader.commit();
        }
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            assertEquals(1, count(s, "SELECT count(*) FROM pg_inherits WHERE inhrelid = '" + minutes
                    + "'::regclass AND inhdetachpending"), "left pending");
            // a crash between a detach and its drop: the later hour's minutes (which must stay) left detached
            s.execute("ALTER TABLE " + PartitionLayout.windows().path(unbuilt, "minute").get(1).name()
                    + " DETACH PARTITION " + held);
        }
        WindowRetention.Pass pass = new WindowRetention(ds).run(unbuilt.plus(Duration.ofDays(1)),
                unbuilt.plus(Duration.ofHours(2)), SPANS);
        assertTrue(pass.windows().dropped().contains(minutes), "the pending detach finished and dropped: " + pass);
        assertFalse(exists(minutes));
        assertTrue(pass.windows().held().contains(held), "attached again and reported: " + pass);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            assertEquals(1, count(s, "SELECT count(*) FROM pg_class WHERE relname = '" + held
                    + "' AND relispartition"));
        }
        assertEquals(2, read("ret-e", Granularity.MINUTE, Granularity.MINUTE.windowStart(unbuilt.plusSeconds(60))),
                "its rows readable again");
        assertEquals(2, read("ret-e", Granularity.HOUR, hour), "the hour holds the dropped minutes");
    }

    private long readPlan(TapWindowStore windows, Instant from, Instant to) {
        var tap = new ai.neuraldivergence.domain.TapDescriptor("ret-d", "1", "dense", 0, new int[] {2}, 2,
                ai.neuraldivergence.domain.Reduction.NONE);
        List<RangePlan.Segment> plan = new ai.neuraldivergence.storage.WindowRollups(ds, windows).plan(tap, Slice.ALL,
                from, to);
        return windows.readMerged(tap, Slice.ALL, plan, 200).observationCount();
    }

    private FlushWriter writer(String topic) {
        FlushWriter writer = FlushWriters.of(ds, "g-" + topic, 200, new FlushWriter.Finality(Duration.ofDays(3650),
                Set.of(), Duration.ofHours(1)), new DeltaPartitions(ds));
        writer.storedOffsets(Map.of(new TopicPartition(topic, 0), 0L));
        return writer;
    }

    /** {@code n} observations of {@code model} at {@code t}, kept in the recent store too, and a label if given. */
    private FlushWriter.Outcome flush(FlushWriter writer, String model, Instant t, int n, LabelEvent label) {
        TapDescriptor tap = new TapDescriptor(model, "1", "dense", 0, new int[] {2}, 2, Reduction.NONE);
        Map<WindowKey, PendingWindow> windows = new LinkedHashMap<>();
        PendingWindow w = new PendingWindow(tap, true);
        List<RecentObservationStore.Recent> recent = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] row = {i, 1f};
            String id = model + "-" + (instance++);
            w.add(row, id);
            recent.add(new RecentObservationStore.Recent(model, "1", id, "dense", t, 1, 0.5f, 1, Map.of(), null,
                    null, row));
        }
        windows.put(new WindowKey(model, "1", "dense", Slice.ALL, Granularity.MINUTE,
                Granularity.MINUTE.windowStart(t)), w);
        long from = offset++;
        return writer.flush(new WindowAccumulator.Drained(windows, Map.of(), recent,
                label == null ? List.of() : List.of(label), List.of(), List.of(), Set.of(), List.of()),
                Map.of(new TopicPartition(model, 0), new FlushWriter.OffsetRange(from, from + 1)));
    }

    private List<Long> timedFlushes(FlushWriter writer, String model, Instant t, int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            assertInstanceOf(FlushWriter.Outcome.Committed.class, flush(writer, model, t, 5, null));
            out.add((System.nanoTime() - start) / 1_000_000);
        }
        return out;
    }

    private static long p95(List<Long> millis) {
        List<Long> sorted = millis.stream().sorted().toList();
        return sorted.get((int) Math.ceil(0.95 * sorted.size()) - 1);
    }

    /** What a 24-hour read takes in: minute and hour rows and unfolded deltas of the range, as counts. */
    private static long readRange(Connection c, Instant from, Instant to) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT (SELECT coalesce(sum(observation_count), 0) FROM "
                + "tap_window WHERE model_id = 'ret-b' AND window_start >= ? AND window_start < ?) + (SELECT "
                + "coalesce(sum(observation_count), 0) FROM window_delta WHERE model_id = 'ret-b' AND NOT folded AND "
                + "window_start >= ? AND window_start < ?) + (SELECT count(*) FROM recent_observation WHERE model_id "
                + "= 'ret-b' AND event_time >= ? AND event_time < ?)")) {
            for (int i = 0; i < 3; i++) {
                ps.setTimestamp(2 * i + 1, Timestamp.from(from));
                ps.setTimestamp(2 * i + 2, Timestamp.from(to));
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static long read(Granularity g, Instant start) {
        return read("ret-a", g, start);
    }

    private static long read(String model, Granularity g, Instant start) {
        return new TapWindowStore(ds).read(model, "1", "dense", Slice.ALL, g, start, start.plusSeconds(1)).stream()
                .mapToLong(w -> w.distribution().observationCount()).sum();
    }

    private static boolean exists(String table) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT to_regclass('" + table + "') IS NOT NULL")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
