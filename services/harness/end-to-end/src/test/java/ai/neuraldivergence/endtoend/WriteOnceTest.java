package ai.neuraldivergence.endtoend;

import static ai.neuraldivergence.testkit.Sql.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.protobuf.Timestamp;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Each window written once, under crashes, with real Kafka and PostgreSQL. Two aggregator instances share a stream
 * of 22 minutes of event time (crossing an hour boundary) played in about 90 s: event times and record timestamps
 * lie in the near future and run 15 times faster than the clock, so that minutes complete and become final (a
 * finality of 4 minutes here), an hour is built and its delta partition retired while the test runs, with nothing
 * waiting an hour; a quarter of the labels arrive 2.5 minutes late, on nd.labels. Both instances are killed with
 * SIGKILL at once three times: in the middle of a fold, of an hour's build and of a delta partition's detach (each
 * held open by the test, a sleeping trigger or a lock, until the kill). Row triggers the test installs count every
 * write; the store's own counters are not used.
 *
 * <p>Then every minute row was inserted once and written again at most once (at finality, only after late deltas),
 * the hour row was inserted once and never updated, deltas were only ever marked folded, the retired partition is
 * gone, and every minute and the hour hold exactly what was sent: counts, sums, min, max, zeros and non-finite counts
 * per neuron, per tap, slice and minute.
 */
class WriteOnceTest {

    private static final String TOPIC = "write-once.activations";
    private static final String LABELS = TOPIC + ".labels";
    private static final String MODEL = "write-once-model";
    private static final String[] TAPS = KnownStream.TAPS;
    private static final int[] NEURONS = KnownStream.NEURONS;
    private static final int PER_BATCH = 20;
    private static final int PARTITIONS = 4;
    /** Two batches of each tap a minute of event time. */
    private static final int PER_MINUTE = 2 * PER_BATCH;
    private static final int MINUTES = 22;
    /** How long one batch of event time (30 s) takes to produce: the stream takes about 90 s. */
    private static final long PAUSE_MILLIS = 2_000;

    /**
     * The first hour boundary at least 17 minutes ahead: the stream runs from 14 minutes before it to 8 after, all
     * of it in the future while the test runs, so that a partition read to its end (the watermark then moves to now)
     * never makes a minute of the stream final before its time.
     */
    private static final Instant HOUR_END = Instant.now().plus(Duration.ofMinutes(17)).truncatedTo(ChronoUnit.HOURS)
            .plus(Duration.ofHours(1));
    private static final Instant T0 = HOUR_END.minus(Duration.ofMinutes(14));
    private static final Instant HOUR = HOUR_END.minus(Duration.ofHours(1));
    /** How long after its end a minute stays open to late deltas (lateness, label horizon and recent ttl). */
    private static final String FINALITY = "4m";
    /** Late labels come this many batches (of 30 s) after their observations: after most minutes completed. */
    private static final int LABEL_DELAY_BATCHES = 5;
    /** The minute whose fold the test holds open, in the stream's third minute. */
    private static final Instant FOLD_TRAP = T0.plus(Duration.ofMinutes(2));

    @Test
    void killedMidFoldMidBuildAndMidDetachEveryWindowIsWrittenOnceAndHoldsWhatWasSent() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String bootstrap = infra.kafkaBootstrapServers();
        createTopics(bootstrap);
        String db = infra.newDatabase("write_once");
        List<ServiceProcess> instances = new ArrayList<>();
        Thread producer = null;
        AtomicBoolean producing = new AtomicBoolean(true);
        try (Connection blocker = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD)) {
            instances.add(start(db, 0));
            instances.get(0).awaitReady(Duration.ofSeconds(120));
            // the schema is migrated: the test's account of every write, and its traps
            installTriggers(db);
            instances.add(start(db, 1));
            instances.get(1).awaitReady(Duration.ofSeconds(120));

            producer = new Thread(() -> produce(bootstrap, producing), "write-once-producer");
            producer.start();
            // mid-fold: the fold of FOLD_TRAP's dense/all row sleeps in its trigger
            killAllWhenActive(db, instances, "fold", "query LIKE 'INSERT INTO tap_window%' AND wait_event = 'PgSleep'");
            restart(db, instances);
            // mid-build: the build of the hour's dense/all row sleeps likewise
            killAllWhenActive(db, instances, "hour build",
                    "query LIKE 'INSERT INTO tap_window%DO NOTHING%' AND wait_event = 'PgSleep'");
            // the hour's delta partition is final now, and is retired after the build: a reader of it, in a
            // transaction the test ends, makes its detach wait (a detach waits for every transaction using the table)
            blocker.setAutoCommit(false);
            try (Statement s = blocker.createStatement()) {
                s.executeQuery("SELECT count(*) FROM window_delta WHERE window_start >= '" + HOUR
                        + "' AND window_start < '" + HOUR_END + "'").close();
            }
            restart(db, instances);
            // mid-detach: the hour's delta partition is past finality and folded; its detach waits for the blocker
            killAllWhenActive(db, instances, "detach", "query LIKE '%DETACH PARTITION%' AND state = 'active'");
            blocker.rollback();
            restart(db, instances);

            producer.join(Duration.ofSeconds(180).toMillis());
            assertFalse(producing.get(), "the stream was produced");
            awaitStored(db);
            awaitRetired(db);
        } finally {
            producing.set(false);
            if (producer != null) {
                producer.join(10_000);
            }
            instances.forEach(ServiceProcess::close);
        }

        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD); Statement s = c.createStatement()) {
            assertEquals(0, count(s, "SELECT count(*) FROM (SELECT tap, slice, window_start FROM write_log WHERE "
                    + "tbl = 'tap_window' AND granularity = 'minute' GROUP BY 1, 2, 3 HAVING count(*) FILTER (WHERE "
                    + "op = 'INSERT') <> 1 OR count(*) FILTER (WHERE op = 'UPDATE') > 1) x"),
                    "every minute row inserted once and written again at most once");
            assertTrue(count(s, "SELECT count(*) FROM write_log WHERE tbl = 'tap_window' AND granularity = 'minute' "
                    + "AND op = 'UPDATE' AND slice LIKE 'label=%'") > 0, "late labels wrote some minutes again: "
                    + text(s, "SELECT string_agg(tbl || ' ' || op || ' ' || granularity || ' ' || n, '; ') FROM "
                            + "(SELECT tbl, op, granularity, count(*) n FROM write_log GROUP BY 1, 2, 3) x") + " | "
                    + text(s, "SELECT string_agg(window_start || ' ' || n, '; ') FROM (SELECT window_start, count(*) n "
                            + "FROM window_delta GROUP BY 1 ORDER BY 1) x"));
            assertEquals(0, count(s, "SELECT count(*) FROM write_log WHERE tbl = 'tap_window' AND granularity <> "
                    + "'minute' AND op = 'UPDATE'"), "no hour row is ever amended");
            assertEquals(count(s, "SELECT count(*) FROM tap_window WHERE granularity = 'hour'"), count(s,
                    "SELECT count(*) FROM write_log WHERE tbl = 'tap_window' AND granularity = 'hour'"),
                    "every hour row inserted once");
            assertTrue(count(s, "SELECT count(*) FROM tap_window WHERE granularity = 'hour' AND window_start = '"
                    + HOUR + "'") > 0, "the hour was built");
            assertEquals(0, count(s, "SELECT count(*) FROM write_log WHERE tbl = 'window_delta' AND "
                    + "other_columns_changed"), "a delta is only ever marked folded");
            assertEquals(0, count(s, "SELECT count(*) FROM (SELECT delta_id FROM write_log WHERE tbl = "
                    + "'window_delta' AND op = 'UPDATE' GROUP BY 1 HAVING count(*) > 1) x"), "and only once");
        }
        verifyAgainstWhatWasSent(db);
    }

    private static ServiceProcess start(String db, int n) throws Exception {
        Map<String, String> env = ServiceProcess.environment(db);
        env.putAll(Map.of("ND_TOPICS_ACTIVATIONS", TOPIC, "ND_TOPICS_LABELS", LABELS,
                "ND_TOPICS_DEAD_LETTER", TOPIC + ".dlq", "ND_AGGREGATOR_CONSUMER_GROUP", "write-once"));
        return ServiceProcess.start("aggregator", env,
                List.of("-Dkafka.session.timeout.ms=6000", "-Dkafka.heartbeat.interval.ms=1000",
                        "-Dnd.aggregator.rollup-interval=1s", "-Dnd.aggregator.allowed-lateness=" + FINALITY,
                        "-Dnd.aggregator.label-horizon=" + FINALITY, "-Dnd.aggregator.recent.ttl=" + FINALITY),
                "aggregator-write-once-" + n);
    }

    private static void restart(String db, List<ServiceProcess> instances) throws Exception {
        for (int i = 0; i < instances.size(); i++) {
            instances.set(i, start(db, i));
        }
        for (ServiceProcess p : instances) {
            p.awaitReady(Duration.ofSeconds(120));
        }
    }

    /** Waits for a backend of the aggregators in the given state, then kills every instance at once. */
    private static void killAllWhenActive(String db, List<ServiceProcess> instances, String what, String condition)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD); Statement s = c.createStatement()) {
            while (count(s, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
                    + "pg_backend_pid() AND " + condition) == 0) {
                assertTrue(System.nanoTime() < deadline, "no " + what + " seen in 150 s");
                Thread.sleep(50);
            }
        }
        for (ServiceProcess p : instances) {
            p.kill();
        }
    }

    private static void installTriggers(String db) throws Exception {
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE write_log (tbl text, op text, tap text, granularity text, slice text, "
                    + "window_start timestamptz, delta_id bigint, other_columns_changed boolean)");
            s.execute("CREATE FUNCTION log_window_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO write_log VALUES ('tap_window', TG_OP, NEW.tap, NEW.granularity, NEW.slice, "
                    + "NEW.window_start, NULL, false); RETURN NEW; END $$");
            s.execute("CREATE TRIGGER log_window_write AFTER INSERT OR UPDATE ON tap_window FOR EACH ROW EXECUTE "
                    + "FUNCTION log_window_write()");
            s.execute("CREATE FUNCTION log_delta_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO write_log VALUES ('window_delta', TG_OP, NEW.tap, 'minute', NULL, NEW.window_start, "
                    + "NEW.delta_id, TG_OP = 'UPDATE' AND (OLD.activations IS DISTINCT FROM NEW.activations OR "
                    + "OLD.slices IS DISTINCT FROM NEW.slices OR OLD.slice_counts IS DISTINCT FROM NEW.slice_counts OR "
                    + "OLD.observation_count IS DISTINCT FROM NEW.observation_count OR NOT NEW.folded)); RETURN NEW; "
                    + "END $$");
            s.execute("CREATE TRIGGER log_delta_write AFTER INSERT OR UPDATE ON window_delta FOR EACH ROW EXECUTE "
                    + "FUNCTION log_delta_write()");
            // the traps: the first fold of one minute row and the first build of the hour's row sleep until killed
            // (a trap fires once: its row is deleted in the transaction that springs it, and comes back only if
            // that transaction is rolled back, as a kill does; then the retry sleeps again, briefly)
            s.execute("CREATE TABLE trap (name text PRIMARY KEY)");
            s.execute("INSERT INTO trap VALUES ('fold'), ('build')");
            s.execute("CREATE FUNCTION spring_trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "IF NEW.tap = 'dense' AND NEW.slice = 'all' AND ((NEW.granularity = 'minute' AND "
                    + "NEW.window_start = '" + FOLD_TRAP + "' AND EXISTS (SELECT 1 FROM trap WHERE name = 'fold')) "
                    + "OR (NEW.granularity = 'hour' AND EXISTS (SELECT 1 FROM trap WHERE name = 'build'))) THEN "
                    + "DELETE FROM trap WHERE name = CASE NEW.granularity WHEN 'hour' THEN 'build' ELSE 'fold' END; "
                    + "PERFORM pg_sleep(3); END IF; RETURN NEW; END $$");
            s.execute("CREATE TRIGGER spring_trap BEFORE INSERT ON tap_window FOR EACH ROW EXECUTE FUNCTION "
                    + "spring_trap()");
        }
    }

    private static void createTopics(String bootstrap) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            // records stamped up to 90 minutes ahead: the broker takes them (its default refuses more than 1 h)
            Map<String, String> future = Map.of("message.timestamp.after.max.ms",
                    Long.toString(Duration.ofHours(3).toMillis()));
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1).configs(future),
                    new NewTopic(LABELS, PARTITIONS, (short) 1).configs(future)))
                    .all().get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** Observation {@code i}'s event time: 40 a minute, from T0. */
    private static Instant eventTime(int i) {
        return T0.plusSeconds(60L * (i / PER_MINUTE) + i % PER_MINUTE);
    }

    /** The record timestamp of batch {@code b}: just after its last observation. */
    private static Instant recordTime(int b) {
        return eventTime(b * PER_BATCH + PER_BATCH - 1).plusSeconds(5);
    }

    private static boolean labelledInRecord(int i) {
        return i % 2 == 0;
    }

    private static boolean labelledLate(int i) {
        return i % 4 == 1;
    }

    private static int label(int i) {
        return labelledInRecord(i) ? (i * 7) % 10 : (i * 3) % 10;
    }

    private static List<Slice> slicesOf(int i) {
        List<Slice> s = new ArrayList<>(List.of(Slice.ALL, Slice.predictedClass(i % 10),
                Slice.tag("source", "s" + (i % 3))));
        if (labelledInRecord(i) || labelledLate(i)) {
            s.add(Slice.trueLabel(label(i)));
        }
        return s;
    }

    /** Observations {@code [from, to)} of one tap. */
    private static ActivationBatch batch(int from, int to, int tap) {
        ActivationBatch.Builder batch = KnownStream.tapBatch(MODEL, tap);
        for (int i = from; i < to; i++) {
            Observation.Builder o = Observation.newBuilder().setInstanceId("w-" + i).setPredictedClass(i % 10)
                    .putTags("source", "s" + (i % 3)).setEventTime(Timestamp.newBuilder()
                            .setSeconds(eventTime(i).getEpochSecond()));
            if (labelledInRecord(i)) {
                o.setTrueLabel(label(i));
            }
            batch.addObservations(o);
            for (int j = 0; j < NEURONS[tap]; j++) {
                batch.addActivations(KnownStream.value(i, tap, j));
            }
        }
        return batch.build();
    }

    private static void produce(String bootstrap, AtomicBoolean producing) {
        int batches = MINUTES * PER_MINUTE / PER_BATCH;
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap,
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName(), "acks", "all"))) {
            for (int b = 0; b < batches && producing.get(); b++) {
                long stamp = recordTime(b).toEpochMilli();
                // a quarter of the batch to each partition: every partition's watermark moves with the stream (one
                // that gets nothing for minutes would hold the group's back, in a stream stamped in the future)
                for (int tap = 0; tap < TAPS.length; tap++) {
                    for (int q = 0; q < PARTITIONS; q++) {
                        int from = b * PER_BATCH + q * PER_BATCH / PARTITIONS;
                        p.send(new ProducerRecord<>(TOPIC, q, stamp, (MODEL + "/" + TAPS[tap]).getBytes(),
                                batch(from, from + PER_BATCH / PARTITIONS, tap).toByteArray()));
                    }
                }
                // the late labels of a batch 2.5 minutes back, stamped now
                if (b >= LABEL_DELAY_BATCHES) {
                    sendLateLabels(p, b - LABEL_DELAY_BATCHES, stamp);
                }
                p.flush();
                Thread.sleep(PAUSE_MILLIS);
            }
            for (int b = Math.max(0, batches - LABEL_DELAY_BATCHES); b < batches; b++) {
                sendLateLabels(p, b, recordTime(batches - 1).toEpochMilli());
            }
            p.flush();
            producing.set(false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sendLateLabels(KafkaProducer<byte[], byte[]> p, int b, long stamp) {
        for (int k = 0; k < PER_BATCH; k++) {
            int i = b * PER_BATCH + k;
            if (labelledLate(i)) {
                // every partition gets labels as the stream goes (one that gets none is read to its end, which counts
                // as now: in the past for this stream, and holding the group's watermark there)
                p.send(new ProducerRecord<>(LABELS, (i / 4) % PARTITIONS, stamp, ("w-" + i).getBytes(),
                        LabelEvent.newBuilder().setModelId(MODEL).setInstanceId("w-" + i).setTrueLabel(label(i))
                                .build().toByteArray()));
            }
        }
    }

    /** What was sent, per tap, slice and minute, as the rows it must equal. */
    private static Map<String, TapDistribution> sent() {
        Map<String, TapDistribution> out = new HashMap<>();
        for (int i = 0; i < MINUTES * PER_MINUTE; i++) {
            Instant minute = Granularity.MINUTE.windowStart(eventTime(i));
            for (int tap = 0; tap < TAPS.length; tap++) {
                float[] row = new float[NEURONS[tap]];
                for (int j = 0; j < row.length; j++) {
                    row[j] = KnownStream.value(i, tap, j);
                }
                int t = tap;
                for (Slice s : slicesOf(i)) {
                    out.computeIfAbsent(TAPS[tap] + "|" + s.key() + "|" + minute,
                            k -> new TapDistribution(NEURONS[t], 200)).addAll(List.of(row));
                }
            }
        }
        return out;
    }

    /** Waits until every observation and label is stored (rows and unfolded deltas, as a reader sees them). */
    private static void awaitStored(String db) throws Exception {
        TapWindowStore store = new TapWindowStore(dataSource(db));
        long labels = 0;
        for (int i = 0; i < MINUTES * PER_MINUTE; i++) {
            labels += labelledInRecord(i) || labelledLate(i) ? 1 : 0;
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        long stored = 0;
        long labelled = 0;
        while (System.nanoTime() < deadline) {
            stored = 0;
            labelled = 0;
            for (Slice s : store.slicesIn(MODEL, "1", "dense", T0, T0.plus(Duration.ofMinutes(MINUTES)))) {
                long n = store.read(MODEL, "1", "dense", s, Granularity.MINUTE, T0,
                        T0.plus(Duration.ofMinutes(MINUTES))).stream()
                        .mapToLong(w -> w.distribution().observationCount()).sum();
                if (s.equals(Slice.ALL)) {
                    stored = n;
                } else if (s.key().startsWith("label=")) {
                    labelled += n;
                }
            }
            if (stored >= MINUTES * PER_MINUTE && labelled >= labels) {
                Thread.sleep(2_500); // a double count would show in the next flushes
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("stored " + stored + " of " + MINUTES * PER_MINUTE + " observations, " + labelled
                + " of " + labels + " labels");
    }

    /** Waits until the hour's delta partition is detached and dropped (its detach was interrupted by the kill). */
    private static void awaitRetired(String db) throws Exception {
        String name = DeltaPartitions.partitionName(HOUR);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD); Statement s = c.createStatement()) {
            while (count(s, "SELECT count(*) FROM pg_class WHERE relname = '" + name + "'") > 0) {
                assertTrue(System.nanoTime() < deadline, name + " still exists");
                Thread.sleep(500);
            }
        }
    }

    private static void verifyAgainstWhatWasSent(String db) {
        TapWindowStore store = new TapWindowStore(dataSource(db));
        Map<String, TapDistribution> sent = sent();
        Map<String, TapDistribution> hour = new HashMap<>();
        for (Map.Entry<String, TapDistribution> e : sent.entrySet()) {
            String[] k = e.getKey().split("\\|");
            Instant minute = Instant.parse(k[2]);
            var stored = store.read(MODEL, "1", k[0], Slice.parse(k[1]), Granularity.MINUTE, minute,
                    minute.plusSeconds(60));
            assertEquals(1, stored.size(), e.getKey());
            KnownStream.assertSameAs(e.getValue(), stored.get(0).distribution(), e.getKey());
            if (minute.isBefore(HOUR_END)) {
                hour.computeIfAbsent(k[0] + "|" + k[1], x -> new TapDistribution(e.getValue().neuronCount(), 200))
                        .merge(e.getValue());
            }
        }
        // the hour, built once from its final minutes (their deltas dropped with their partition since)
        for (Map.Entry<String, TapDistribution> e : hour.entrySet()) {
            String[] k = e.getKey().split("\\|");
            var built = store.read(MODEL, "1", k[0], Slice.parse(k[1]), Granularity.HOUR, HOUR, HOUR_END);
            for (int wait = 0; built.isEmpty() && wait < 60; wait++) {
                // every hour key is built before its partition is retired, but a build that met a lock is retried
                sleep(500);
                built = store.read(MODEL, "1", k[0], Slice.parse(k[1]), Granularity.HOUR, HOUR, HOUR_END);
            }
            assertEquals(1, built.size(), e.getKey() + " hour");
            KnownStream.assertSameAs(e.getValue(), built.get(0).distribution(), e.getKey() + " hour");
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static PGSimpleDataSource dataSource(String db) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(db);
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        return ds;
    }

    private static String text(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
