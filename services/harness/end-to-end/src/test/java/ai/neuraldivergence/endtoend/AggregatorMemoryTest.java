package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.protobuf.Timestamp;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Memory bounded in bytes, not counts: the packaged aggregator at a 256 MB heap takes 10,000 observations of a tap at
 * the default neuron limit (16,384 neurons: 655 MB of activations, more than twice the heap), spread over 10 predicted
 * classes, 10 labels, 64 values of each of the four slice tag keys and both pair roles (one observation in ten is a
 * pair member, as attack tests are a minority of traffic; every pair member is kept whole in the recent-observation
 * store), so that an observation enters seven or eight slices and a minute has some 280 of them. No
 * OutOfMemoryError, the byte-budget gauge never above its budget, every count exact. Then an Error in the consumer
 * thread (a real OutOfMemoryError: the same aggregator restarted with a budget far above its heap) turns liveness
 * DOWN, so that Kubernetes restarts it. The wide tap's calibration sample is kept through the same flushes, exact.
 */
class AggregatorMemoryTest {

    private static final String TOPIC = "memory.activations";
    private static final String MODEL = "memory-model";
    private static final int NEURONS = 16_384;
    private static final int OBSERVATIONS = 10_000;
    private static final int PER_RECORD = 10;
    /**
     * Minutes the observations are spread over, in order, 500 a minute: about what one flush at the default budget
     * takes, so that each minute's rows are written about once (a minute's rows are rewritten whole at every flush
     * that adds to it until the storage issue appends deltas instead).
     */
    private static final int MINUTES = 20;
    /** The aggregator's default calibration sample per hour. */
    private static final int SAMPLE = 2_000;
    /** Minutes back from now: on time for the lateness the test sets (30 min, so that no roll-up runs meanwhile). */
    private static final Instant T0 = Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(Duration.ofMinutes(21));
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static float value(int observation, int neuron) {
        return ((observation * 31 + neuron * 7) % 64) / 8f - 2f;
    }

    static Instant eventTime(int i) {
        // in order: each minute's observations together, as live traffic arrives
        return T0.plusSeconds(60L * i / (OBSERVATIONS / MINUTES)).plusMillis(i % 1000);
    }

    static boolean paired(int i) {
        return i % 10 < 2;
    }

    static List<Slice> slicesOf(int i) {
        List<Slice> slices = new ArrayList<>(List.of(Slice.ALL, Slice.predictedClass(i % 10),
                Slice.trueLabel((i * 7) % 10), Slice.tag("source", "s" + i % 64), Slice.tag("attack",
                        "a" + (i / 7) % 64), Slice.tag("eps", "e" + (i / 3) % 64), Slice.tag("dataset",
                                "d" + (i / 11) % 64)));
        if (paired(i)) {
            slices.add(Slice.pairRole(i % 2 == 0 ? PairRole.BENIGN : PairRole.ATTACKED));
        }
        return slices;
    }

    @Test
    void wideTrafficInManySlicesStaysWithinTheBudgetAndAnErrorTurnsLivenessDown() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String db = infra.newDatabase("memory");
        produce(infra.kafkaBootstrapServers());

        long budget;
        AtomicLong highest = new AtomicLong();
        try (ServiceProcess aggregator = start(db, "memory-group", "aggregator-memory", List.of())) {
            aggregator.awaitReady(Duration.ofSeconds(120));
            budget = (long) gauge(aggregator, "nd_aggregator_pending_bytes_budget");
            assertEquals(32L << 20, budget, "the default budget");
            AtomicBoolean watching = new AtomicBoolean(true);
            Thread watcher = new Thread(() -> {
                while (watching.get()) {
                    try {
                        highest.accumulateAndGet((long) gauge(aggregator, "nd_aggregator_pending_bytes"), Math::max);
                        Thread.sleep(100);
                    } catch (Exception e) {
                        return;
                    }
                }
            }, "budget-watcher");
            watcher.start();
            try {
                awaitStored(db, OBSERVATIONS);
            } finally {
                watching.set(false);
                watcher.join();
            }
            assertTrue(aggregator.isAlive(), "no OutOfMemoryError ended it");
            assertEquals(200, status(aggregator, "/q/health/live"));
        }
        System.out.printf("memory: pending bytes at most %d of a %d budget%n", highest.get(), budget);
        assertTrue(highest.get() > 0, "the gauge moved");
        assertTrue(highest.get() <= budget, "the gauge " + highest.get() + " stayed within " + budget);

        // every count exact: each slice's minute rows, and the every-observation rows neuron by neuron
        Map<String, Long> expected = new HashMap<>();
        for (int i = 0; i < OBSERVATIONS; i++) {
            for (Slice s : slicesOf(i)) {
                expected.merge(s.key() + "|" + Granularity.MINUTE.windowStart(eventTime(i)), 1L, Long::sum);
            }
        }
        assertEquals(expected, storedCounts(db));
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(db);
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        TapWindowStore store = new TapWindowStore(ds);
        double[] sums = new double[NEURONS];
        for (int i = 0; i < OBSERVATIONS; i++) {
            for (int n = 0; n < NEURONS; n += 4_095) {
                sums[n] += value(i, n);
            }
        }
        // minute by minute: a decoded minute of 16,384 neurons is tens of megabytes
        TapDistribution all = new TapDistribution(NEURONS, 200);
        for (int m = 0; m < MINUTES; m++) {
            Instant minute = T0.plusSeconds(60L * m);
            for (var w : store.read(MODEL, "1", "wide", Slice.ALL, Granularity.MINUTE, minute,
                    minute.plusSeconds(60))) {
                all.merge(w.distribution());
            }
        }
        for (int n = 0; n < NEURONS; n += 4_095) {
            assertEquals(OBSERVATIONS, all.neuron(n).count(), "neuron " + n);
            assertEquals(sums[n], all.neuron(n).sum(), 1e-9, "neuron " + n);
        }
        assertHourSamples(db);

        // an Error in the consumer thread: a budget far above the heap and no flush for an hour (nor for the count
        // of windows: the tap's 16 blocks make 16 windows of every slice and minute), so that the delta the consumer
        // thread fills runs the heap out (a heap of 128 MB, far under the 655 MB of the stream, so that it does at
        // once rather than after a long struggle of the collector)
        try (ServiceProcess starved = start(db, "memory-starved", "aggregator-memory-starved",
                List.of("-Xmx128m", "-Dnd.aggregator.max-pending-bytes=4G", "-Dnd.aggregator.flush-interval=1h",
                        "-Dnd.aggregator.max-windows-per-flush=1000000"))) {
            starved.awaitReady(Duration.ofSeconds(120));
            long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
            int live = 200;
            // while the heap is exhausted a probe may itself fail (500: Kubernetes counts that as DOWN too); once
            // the consumer thread has died its delta is garbage, and the check answers 503 naming the Error
            while (System.nanoTime() < deadline && live != 503) {
                Thread.sleep(500);
                live = status(starved, "/q/health/live");
            }
            int answered = live;
            assertEquals(503, live, () -> "liveness DOWN once the consumer thread died of an Error (answered "
                    + answered + ", process alive " + starved.isAlive() + "); its log ends:\n" + starved.logTail(60));
            HttpResponse<String> body = HTTP.send(HttpRequest.newBuilder(URI.create(starved.managementUrl()
                    + "/q/health/live")).build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(body.body().contains("OutOfMemoryError"), body.body());
        }
    }

    /**
     * The wide tap's calibration sample, kept through the same flushes: each hour's members are exactly that hour's
     * {@link #SAMPLE} smallest ranks (its every observation when it has fewer), each with the layer map's 128
     * projections (the aggregator projects a whole-tap batch itself), all finite.
     */
    private static void assertHourSamples(String db) throws Exception {
        Map<Instant, java.util.TreeMap<Long, String>> ranked = new HashMap<>();
        for (int i = 0; i < OBSERVATIONS; i++) {
            Instant minute = Granularity.MINUTE.windowStart(eventTime(i));
            ranked.computeIfAbsent(Granularity.HOUR.windowStart(minute), h -> new java.util.TreeMap<>())
                    .put(CalibrationSampleStore.rank(MODEL, "m-" + i, minute), "m-" + i);
        }
        Map<Instant, java.util.Set<String>> expected = new HashMap<>();
        ranked.forEach((hour, byRank) -> expected.put(hour, byRank.values().stream().limit(SAMPLE)
                .collect(java.util.stream.Collectors.toSet())));
        Map<Instant, java.util.Set<String>> stored = new HashMap<>();
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD);
                PreparedStatement ps = c.prepareStatement("SELECT window_start, instance_id, projections FROM "
                        + "calibration_sample WHERE model_id = ? AND tap = 'wide' AND reference = ''")) {
            ps.setString(1, MODEL);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String id = rs.getString(2);
                    java.nio.FloatBuffer p = java.nio.ByteBuffer.wrap(rs.getBytes(3))
                            .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                    assertEquals(128, p.remaining(), "projections of " + id);
                    for (int d = 0; d < 128; d++) {
                        assertTrue(Float.isFinite(p.get(d)), "projection " + d + " of " + id);
                    }
                    stored.computeIfAbsent(rs.getTimestamp(1).toInstant(), h -> new java.util.HashSet<>()).add(id);
                }
            }
        }
        assertEquals(expected, stored, "each hour's sample holds its smallest ranks");
    }

    private static ServiceProcess start(String db, String group, String log, List<String> options)
            throws Exception {
        List<String> jvm = new ArrayList<>(options);
        jvm.add("-Dnd.aggregator.allowed-lateness=30m");
        Map<String, String> env = ServiceProcess.isolated(db, "memory");
        env.put("ND_AGGREGATOR_CONSUMER_GROUP", group);
        return ServiceProcess.start("aggregator", env, jvm, log);
    }

    private static void produce(String bootstrap) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap,
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName(), "acks", "all", "linger.ms", 20))) {
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (int r = 0; r < OBSERVATIONS / PER_RECORD; r++) {
                ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(MODEL).setModelVersion("1")
                        .setTap("wide").setTapIndex(0).addTapShape(NEURONS).setNeuronCount(NEURONS)
                        .setReduction(Reduction.REDUCTION_NONE);
                for (int k = 0; k < PER_RECORD; k++) {
                    int i = r * PER_RECORD + k;
                    Instant t = eventTime(i);
                    Observation.Builder o = Observation.newBuilder().setInstanceId("m-" + i)
                            .setPredictedClass(i % 10).setTrueLabel((i * 7) % 10);
                    if (paired(i)) {
                        o.setPairId("p-" + i / 2).setPairRole(i % 2 == 0
                                ? ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_BENIGN
                                : ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_ATTACKED);
                    }
                    b.addObservations(o.putTags("source", "s" + i % 64).putTags("attack", "a" + (i / 7) % 64)
                            .putTags("eps", "e" + (i / 3) % 64).putTags("dataset", "d" + (i / 11) % 64)
                            .setEventTime(Timestamp.newBuilder().setSeconds(t.getEpochSecond())
                                    .setNanos(t.getNano())));
                    for (int n = 0; n < NEURONS; n++) {
                        b.addActivations(value(i, n));
                    }
                }
                // stamped as captured a few seconds after the record's observations
                sent.add(p.send(new ProducerRecord<>(TOPIC, null, eventTime(r * PER_RECORD).plusSeconds(5)
                        .toEpochMilli(), (MODEL + "/wide").getBytes(), b.build().toByteArray())));
            }
            for (var f : sent) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
    }

    private static void awaitStored(String db, long observations) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(6).toNanos();
        long stored = 0;
        while (System.nanoTime() < deadline) {
            stored = storedCounts(db).entrySet().stream().filter(e -> e.getKey().startsWith("all|"))
                    .mapToLong(Map.Entry::getValue).sum();
            if (stored >= observations) {
                Thread.sleep(3000); // a double count would show in the next flushes
                return;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("stored " + stored + " of " + observations + " observations");
    }

    /**
     * Observation counts of the model's minutes (their rows and unfolded deltas), by slice and minute: the tap's
     * blocks' minimum (0 while one of its 16 blocks has none), as every reader counts a tap.
     */
    private static Map<String, Long> storedCounts(String db) throws Exception {
        Map<String, Long> out = new HashMap<>();
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD);
                PreparedStatement ps = c.prepareStatement("SELECT slice, window_start, CASE WHEN count(*) < ? THEN 0 "
                        + "ELSE min(n) END FROM (SELECT slice, window_start, block, sum(n) AS n FROM (SELECT slice, "
                        + "window_start, block, observation_count AS n FROM tap_window WHERE model_id = ? AND "
                        + "granularity = 'minute' UNION ALL SELECT u.s, window_start, block, u.n FROM window_delta, "
                        + "unnest(slices, slice_counts) AS u(s, n) WHERE model_id = ? AND NOT folded) x GROUP BY 1, 2, "
                        + "3) b GROUP BY 1, 2")) {
            ps.setInt(1, (NEURONS + 1023) / 1024);
            ps.setString(2, MODEL);
            ps.setString(3, MODEL);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1) + "|" + rs.getTimestamp(2).toInstant(), rs.getLong(3));
                }
            }
        } catch (java.sql.SQLException e) {
            return Map.of(); // before the aggregator migrated the schema
        }
        return out;
    }

    /** A gauge's value, waiting up to 30 s for it to be exported (a service just ready may not have scraped yet). */
    private static double gauge(ServiceProcess p, String name) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String last = "";
        do {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(p.managementUrl() + "/q/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            for (String line : r.body().split("\n")) {
                if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            last = r.statusCode() + " " + r.body().substring(0, Math.min(200, r.body().length()));
            Thread.sleep(500);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(name + " not in /q/metrics: " + last);
    }

    private static int status(ServiceProcess p, String path) throws Exception {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(p.managementUrl() + path))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
