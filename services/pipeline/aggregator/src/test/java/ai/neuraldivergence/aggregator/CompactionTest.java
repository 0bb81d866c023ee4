package ai.neuraldivergence.aggregator;

import ai.neuraldivergence.aggregator.ingest.PendingWindow;
import static ai.neuraldivergence.testkit.Sql.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.aggregator.ingest.FlushWriter;
import ai.neuraldivergence.aggregator.ingest.FlushWriters;
import ai.neuraldivergence.aggregator.ingest.TestDatabases;
import ai.neuraldivergence.aggregator.ingest.WindowAccumulator;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.Compaction;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.TapWindowStore;
import io.agroal.api.AgroalDataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The write path against a real PostgreSQL, with event time compressed (the test moves the watermark itself, through
 * the offsets a flush stores, so nothing waits an hour): flushes append deltas, two compactions run side by side at
 * every step, and a row trigger the test installs counts every write. Every minute row is written at most twice (at
 * completion, and at finality only when late deltas came), every hour and day row inserted once and never updated,
 * deltas never updated except their folded mark; and what is stored is exactly what was sent.
 */
class CompactionTest {

    private static final int NEURONS = 4;
    private static final Instant T0 = Instant.parse("2026-11-20T22:00:00Z");
    private static final Duration FINALITY = Duration.ofMinutes(10);
    private static final TopicPartition PARTITION = new TopicPartition("acts", 0);
    private static final String MODEL = "compact";
    private static final TapDescriptor TAP = new TapDescriptor(MODEL, "1", "dense", 0, new int[] {NEURONS}, NEURONS,
            Reduction.NONE);

    private static final String MINE = " AND window_start >= '2026-11-19'";

    private static AgroalDataSource ds;

    /** A fold or build that fails is this test's failure, not a key skipped quietly. */
    private static final Compaction.Listener FAIL_ON_FAILURE = new Compaction.Listener() {
        @Override
        public void built(Compaction.Built built) {
        }

        @Override
        public void failed(String what, RuntimeException cause) {
            throw new AssertionError(what, cause);
        }
    };

    @BeforeAll
    static void database() throws SQLException {
        ds = TestDatabases.pooled("compaction");
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            // the test's own account of every write, independent of the store's counters
            s.execute("CREATE TABLE write_log (tbl text, op text, granularity text, window_start timestamptz, "
                    + "slice text, other_columns_changed boolean)");
            s.execute("CREATE FUNCTION log_window_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO write_log VALUES ('tap_window', TG_OP, NEW.granularity, NEW.window_start, NEW.slice, "
                    + "false); RETURN NEW; END $$");
            s.execute("CREATE TRIGGER log_window_write AFTER INSERT OR UPDATE ON tap_window FOR EACH ROW EXECUTE "
                    + "FUNCTION log_window_write()");
            s.execute("CREATE FUNCTION log_delta_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO write_log VALUES ('window_delta', TG_OP, 'minute', NEW.window_start, "
                    + "array_to_string(NEW.slices, ','), TG_OP = 'UPDATE' AND (OLD.activations IS DISTINCT FROM "
                    + "NEW.activations OR OLD.slices IS DISTINCT FROM NEW.slices OR OLD.slice_counts IS DISTINCT FROM "
                    + "NEW.slice_counts OR "
                    + "OLD.observation_count IS DISTINCT FROM NEW.observation_count OR OLD.window_start IS DISTINCT "
                    + "FROM NEW.window_start OR NOT NEW.folded)); RETURN NEW; END $$");
            s.execute("CREATE TRIGGER log_delta_write AFTER INSERT OR UPDATE ON window_delta FOR EACH ROW EXECUTE "
                    + "FUNCTION log_delta_write()");
            s.execute("CREATE FUNCTION log_exemplar_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO write_log VALUES ('neuron_exemplars', TG_OP, 'minute', NEW.window_start, 'all', "
                    + "false); RETURN NEW; END $$");
            s.execute("CREATE TRIGGER log_exemplar_write AFTER INSERT OR UPDATE ON neuron_exemplars FOR EACH ROW "
                    + "EXECUTE FUNCTION log_exemplar_write()");
            s.execute("CREATE FUNCTION log_exemplar_delta_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO write_log VALUES ('exemplar_delta', TG_OP, 'minute', NEW.window_start, 'all', "
                    + "TG_OP = 'UPDATE' AND (OLD.exemplars IS DISTINCT FROM NEW.exemplars OR NOT NEW.folded)); "
                    + "RETURN NEW; END $$");
            s.execute("CREATE TRIGGER log_exemplar_delta_write AFTER INSERT OR UPDATE ON exemplar_delta FOR EACH ROW "
                    + "EXECUTE FUNCTION log_exemplar_delta_write()");
        }
    }

    @AfterAll
    static void close() {
        ds.close();
    }

    /** What was sent per minute key, in the order sent. */
    private final Map<WindowKey, List<float[]>> sent = new LinkedHashMap<>();
    private final Random random = new Random(20261201);
    private long offset;
    private long instance;

    @Test
    void eachWindowIsWrittenOnceAndHoldsExactlyWhatWasSent() throws Exception {
        FlushWriter writer = FlushWriters.of(ds, "g", 200, new FlushWriter.Finality(FINALITY, Set.of("acts"), FINALITY),
                new DeltaPartitions(ds));
        writer.storedOffsets(Map.of(PARTITION, 0L));
        List<Compaction> compactions = List.of(new Compaction(ds, 200, FINALITY, FAIL_ON_FAILURE),
                new Compaction(ds, 200, FINALITY, FAIL_ON_FAILURE));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        TapWindowStore store = new TapWindowStore(ds);
        Set<WindowKey> lateMinutes = new java.util.HashSet<>();
        try {
            // two and a half hours of traffic across midnight, a flush every 20 s of event time
            Instant end = T0.plus(Duration.ofMinutes(150));
            for (Instant t = T0; t.isBefore(end); t = t.plusSeconds(20)) {
                Map<WindowKey, List<float[]>> flush = observations(t, 3);
                if (t.getEpochSecond() % 600 == 0 && t.isAfter(T0.plusSeconds(600))) {
                    // a late delta for a minute complete (its row written) but not final: folded again at finality
                    Map<WindowKey, List<float[]>> late = observations(t.minus(Duration.ofMinutes(3)), 2);
                    late.forEach((k, rows) -> flush.computeIfAbsent(k, x -> new ArrayList<>()).addAll(rows));
                    lateMinutes.addAll(late.keySet());
                }
                assertInstanceOf(FlushWriter.Outcome.Committed.class, flush(writer, flush, t.plusSeconds(10)));
                if (t.equals(T0.plusSeconds(40))) {
                    // three flushes of three: readable before their minute completes (nothing folded yet)
                    assertEquals(9, store.read(MODEL, "1", "dense", Slice.ALL, Granularity.MINUTE, T0,
                            T0.plusSeconds(60)).get(0).distribution().observationCount());
                }
                Instant watermark = t.plusSeconds(10);
                List<Future<Compaction.Pass>> passes = new ArrayList<>();
                for (Compaction compaction : compactions) {
                    passes.add(pool.submit(() -> compaction.run(watermark)));
                }
                for (Future<Compaction.Pass> p : passes) {
                    p.get();
                }
            }
            // a delta for a final minute is dropped, not written
            Map<WindowKey, List<float[]>> tooLate = observations(T0, 1);
            FlushWriter.Outcome.Committed dropped = (FlushWriter.Outcome.Committed) flush(writer, tooLate,
                    end.plusSeconds(10));
            tooLate.forEach((k, rows) -> sent.get(k).subList(sent.get(k).size() - rows.size(),
                    sent.get(k).size()).clear());
            assertEquals(tooLate.size(), dropped.droppedFinal());
            // the watermark passes the next day's end: every minute final, every hour and day built
            Instant later = T0.plus(Duration.ofDays(2));
            flush(writer, Map.of(), later);
            for (Compaction compaction : compactions) {
                compaction.run(later);
            }
        } finally {
            pool.shutdownNow();
        }

        // every minute row holds exactly what was sent to it
        for (Map.Entry<WindowKey, List<float[]>> e : sent.entrySet()) {
            WindowKey k = e.getKey();
            List<TapWindowStore.StoredWindow> stored = store.read(MODEL, "1", "dense", k.slice(), Granularity.MINUTE,
                    k.windowStart(), k.windowEnd());
            assertEquals(1, stored.size(), k.toString());
            assertExact(e.getValue(), stored.get(0).distribution(), k.toString());
        }
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            // (the other test writes in October: only this test's days are looked at)
            assertEquals(0, count(s, "SELECT count(*) FROM window_delta WHERE NOT folded" + MINE), "all folded");
            // minutes: one insert each, one update only where late deltas came
            try (ResultSet rs = s.executeQuery("SELECT window_start, slice, count(*) FILTER (WHERE op = 'INSERT'), "
                    + "count(*) FILTER (WHERE op = 'UPDATE') FROM write_log WHERE tbl = 'tap_window' AND granularity "
                    + "= 'minute'" + MINE + " GROUP BY 1, 2")) {
                int minutes = 0;
                while (rs.next()) {
                    minutes++;
                    WindowKey k = new WindowKey(MODEL, "1", "dense", Slice.parse(rs.getString(2)), Granularity.MINUTE,
                            rs.getTimestamp(1).toInstant());
                    assertEquals(1, rs.getInt(3), k + " inserted once");
                    assertEquals(lateMinutes.contains(k) ? 1 : 0, rs.getInt(4), k + " written again only at finality "
                            + "after late deltas");
                }
                assertEquals(sent.size(), minutes);
            }
            assertEquals(0, count(s, "SELECT count(*) FROM write_log WHERE tbl = 'tap_window' AND granularity <> "
                    + "'minute' AND op = 'UPDATE'" + MINE), "no hour or day row is ever amended");
            assertEquals(count(s, "SELECT count(*) FROM tap_window WHERE granularity <> 'minute'" + MINE),
                    count(s, "SELECT count(*) FROM write_log WHERE tbl = 'tap_window' AND granularity <> 'minute'"
                            + MINE), "every hour and day row inserted once");
            assertEquals(0, count(s, "SELECT count(*) FROM write_log WHERE tbl = 'window_delta' AND "
                    + "other_columns_changed" + MINE), "a delta is only ever marked folded");
            assertEquals(count(s, "SELECT count(*) FROM window_delta WHERE true" + MINE), count(s, "SELECT count(*) "
                    + "FROM write_log WHERE tbl = 'window_delta' AND op = 'UPDATE'" + MINE),
                    "each delta marked folded once");
            // each observation's values stored once per flush, however many slices it entered
            assertEquals(sent.entrySet().stream().filter(e -> e.getKey().slice().equals(Slice.ALL))
                    .mapToLong(e -> e.getValue().size()).sum(),
                    count(s, "SELECT sum(observation_count) FROM window_delta WHERE true" + MINE));
            // exemplars the same way: one row per tap minute, written at completion and again only after late
            // candidates; their deltas only ever marked folded
            assertEquals(0, count(s, "SELECT count(*) FROM exemplar_delta WHERE NOT folded" + MINE));
            assertEquals(0, count(s, "SELECT count(*) FROM write_log WHERE tbl = 'exemplar_delta' AND "
                    + "other_columns_changed" + MINE));
            assertEquals(0, count(s, "SELECT count(*) FROM (SELECT window_start FROM write_log WHERE tbl = "
                    + "'neuron_exemplars'" + MINE + " GROUP BY 1 HAVING count(*) FILTER (WHERE op = 'INSERT') <> 1 OR "
                    + "count(*) FILTER (WHERE op = 'UPDATE') > 1) x"), "each minute's exemplars written at most twice");
        }
        // each minute's exemplars are its top 8 of everything sent, whichever flush brought them
        ai.neuraldivergence.storage.ExemplarStore exemplars = new ai.neuraldivergence.storage.ExemplarStore(ds);
        for (Map.Entry<WindowKey, List<float[]>> e : sent.entrySet()) {
            if (!e.getKey().slice().equals(Slice.ALL)) {
                continue;
            }
            ai.neuraldivergence.domain.TopExemplars stored = exemplars.read(MODEL, "1", "dense",
                    e.getKey().windowStart()).orElseThrow();
            for (int j = 0; j < NEURONS; j++) {
                final int neuron = j;
                double[] expected = e.getValue().stream().mapToDouble(r -> r[neuron]).filter(Double::isFinite)
                        .boxed().sorted(java.util.Comparator.reverseOrder()).limit(8).mapToDouble(Double::doubleValue)
                        .toArray();
                float[] got = stored.activations(j);
                assertEquals(expected.length, got.length, e.getKey() + " exemplars of " + j);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(expected[i], got[i], e.getKey() + " exemplar " + i + " of " + j);
                }
            }
        }
        // hours are the merge of their minutes, days of their hours
        for (Slice slice : List.of(Slice.ALL, Slice.predictedClass(1))) {
            Map<Instant, List<float[]>> perHour = new HashMap<>();
            Map<Instant, List<float[]>> perDay = new HashMap<>();
            sent.forEach((k, rows) -> {
                if (k.slice().equals(slice)) {
                    perHour.computeIfAbsent(Granularity.HOUR.windowStart(k.windowStart()), h -> new ArrayList<>())
                            .addAll(rows);
                    perDay.computeIfAbsent(Granularity.DAY.windowStart(k.windowStart()), h -> new ArrayList<>())
                            .addAll(rows);
                }
            });
            List<TapWindowStore.StoredWindow> storedHours = store.read(MODEL, "1", "dense", slice, Granularity.HOUR,
                    T0.minus(Duration.ofDays(1)), T0.plus(Duration.ofDays(2)));
            assertEquals(perHour.keySet().size(), storedHours.size(), slice + " hours");
            storedHours.forEach(h -> assertExact(perHour.get(h.windowStart()), h.distribution(), slice + " hour "
                    + h.windowStart()));
            List<TapWindowStore.StoredWindow> storedDays = store.read(MODEL, "1", "dense", slice, Granularity.DAY,
                    T0.minus(Duration.ofDays(1)), T0.plus(Duration.ofDays(2)));
            assertEquals(perDay.keySet().size(), storedDays.size(), slice + " days");
            storedDays.forEach(d -> assertExact(perDay.get(d.windowStart()), d.distribution(), slice + " day "
                    + d.windowStart()));
        }
    }

    @Test
    void partitionsAreRetiredOnlyWhenFinalAndFoldedAndAFlushIntoAMissingOneMakesIt() throws Exception {
        DeltaPartitions partitions = new DeltaPartitions(ds);
        Instant old = Instant.parse("2026-10-01T05:00:00Z");
        FlushWriter writer = FlushWriters.of(ds, "retire", 200, FlushWriter.Finality.NONE, partitions);
        TopicPartition tp = new TopicPartition("retire", 0);
        writer.storedOffsets(Map.of(tp, 0L));
        // the writer knows the hour's partition; it is dropped behind its back: the flush makes it again
        partitions.ensure(old, old);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE " + DeltaPartitions.partitionName(old));
        }
        Map<WindowKey, PendingWindow> windows = new LinkedHashMap<>();
        PendingWindow w = new PendingWindow(TAP, false);
        w.add(new float[] {1, 2, 3, 4}, "x");
        windows.put(new WindowKey(MODEL, "1", "dense", Slice.ALL, Granularity.MINUTE, old), w);
        assertInstanceOf(FlushWriter.Outcome.Committed.class, writer.flush(new WindowAccumulator.Drained(windows,
                Map.of()), Map.of(tp, new FlushWriter.OffsetRange(0, 1))));
        assertTrue(partitions.list().stream().anyMatch(p -> p.hour().equals(old)));

        // final, but holding an unfolded delta: kept and reported
        DeltaPartitions.Retired retired = partitions.retire(old.plus(Duration.ofDays(1)));
        assertTrue(retired.keptUnfolded().contains(DeltaPartitions.partitionName(old)), retired.toString());
        assertTrue(partitions.list().stream().anyMatch(p -> p.hour().equals(old)));
        // folded: detached and dropped
        new Compaction(ds, 200, Duration.ZERO, Compaction.Listener.NONE).run(old.plus(Duration.ofDays(1)));
        retired = partitions.retire(old.plus(Duration.ofDays(1)));
        assertTrue(retired.keptUnfolded().isEmpty(), retired.toString());
        assertTrue(partitions.list().stream().noneMatch(p -> p.hour().equals(old)));
        assertEquals(1, new TapWindowStore(ds).read(MODEL, "1", "dense", Slice.ALL, Granularity.MINUTE, old,
                old.plusSeconds(60)).get(0).distribution().observationCount(), "the minute row holds it");
        // a crash after a detach finished and before the drop: the table left behind is dropped at the next pass
        Instant crashed = old.plus(Duration.ofHours(1));
        partitions.ensure(crashed, crashed);
        String left = DeltaPartitions.partitionName(crashed);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("ALTER TABLE window_delta DETACH PARTITION " + left);
        }
        assertTrue(partitions.list().stream().noneMatch(p -> p.hour().equals(crashed)));
        assertEquals(1, partitions.retire(old.plus(Duration.ofDays(1))).dropped());
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            assertEquals(0, count(s, "SELECT count(*) FROM pg_class WHERE relname = '" + left + "'"), left);
        }
        // not final yet: kept whatever it holds
        Instant recent = old.plus(Duration.ofDays(1));
        partitions.ensure(recent, recent);
        partitions.retire(recent);
        assertTrue(partitions.list().stream().anyMatch(p -> p.hour().equals(recent)));
    }

    private FlushWriter.Outcome flush(FlushWriter writer, Map<WindowKey, List<float[]>> observations,
            Instant watermark) {
        Map<WindowKey, PendingWindow> windows = new LinkedHashMap<>();
        observations.forEach((k, rows) -> {
            PendingWindow w = new PendingWindow(TAP, k.slice().equals(Slice.ALL));
            rows.forEach(r -> w.add(r, "i" + (instance++)));
            windows.put(k, w);
        });
        long from = offset;
        offset++;
        return writer.flush(new WindowAccumulator.Drained(windows, Map.of()), Map.of(PARTITION,
                new FlushWriter.OffsetRange(from, offset, watermark)));
    }

    /** {@code n} observations at {@code t}, each in the "all" slice and its predicted class's (class 1 or 2). */
    private Map<WindowKey, List<float[]>> observations(Instant t, int n) {
        Map<WindowKey, List<float[]>> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            float[] row = new float[NEURONS];
            for (int j = 0; j < NEURONS; j++) {
                int draw = random.nextInt(20);
                row[j] = draw == 0 ? 0f : draw == 1 ? Float.NaN : (float) (random.nextGaussian() * (j + 1));
            }
            for (Slice slice : List.of(Slice.ALL, Slice.predictedClass(1 + random.nextInt(2)))) {
                WindowKey k = new WindowKey(MODEL, "1", "dense", slice, Granularity.MINUTE,
                        Granularity.MINUTE.windowStart(t));
                out.computeIfAbsent(k, x -> new ArrayList<>()).add(row);
                sent.computeIfAbsent(k, x -> new ArrayList<>()).add(row);
            }
        }
        return out;
    }

    /** Counts, sums (1e-9 relative), min, max, zero and NaN counts exactly those of the rows. */
    private static void assertExact(List<float[]> rows, TapDistribution d, String what) {
        assertEquals(rows.size(), d.observationCount(), what + " observations");
        for (int j = 0; j < NEURONS; j++) {
            long count = 0;
            long nan = 0;
            long zeros = 0;
            double sum = 0;
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (float[] r : rows) {
                if (Float.isNaN(r[j])) {
                    nan++;
                    continue;
                }
                count++;
                sum += r[j];
                zeros += r[j] == 0f ? 1 : 0;
                min = Math.min(min, r[j]);
                max = Math.max(max, r[j]);
            }
            assertEquals(count, d.neuron(j).count(), what + " count of " + j);
            assertEquals(nan, d.neuron(j).nanCount(), what + " NaN of " + j);
            assertEquals(zeros, d.neuron(j).zeroCount(), what + " zeros of " + j);
            assertEquals(sum, d.neuron(j).sum(), 1e-9 * Math.max(1, Math.abs(sum)), what + " sum of " + j);
            assertEquals(min, d.neuron(j).min(), what + " min of " + j);
            assertEquals(max, d.neuron(j).max(), what + " max of " + j);
        }
    }
}
