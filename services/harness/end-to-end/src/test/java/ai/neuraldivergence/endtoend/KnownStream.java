package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.protobuf.Timestamp;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A stream of observations whose every stored distribution is known in advance: two taps (a conv tap of 8 channels,
 * a dense tap of 16 units), 12,000 observations over three minutes, 10 classes, half of them labelled, three
 * sources, and now and then a NaN or an infinity (data, counted per neuron). Produced over about 15 s, so that what
 * a test does to the aggregator lands mid-stream.
 */
final class KnownStream {

    final String topic;

    /** Batches of {@value #PER_BATCH} observations per tap: 600 (12,000 observations) unless said otherwise. */
    final int batches;
    /** How long the producer waits between batches: the stream takes about batches x this. */
    final long pauseMillis;

    KnownStream(String topic) {
        this(topic, 600, 25);
    }

    KnownStream(String topic, int batches, long pauseMillis) {
        this.topic = topic;
        this.batches = batches;
        this.pauseMillis = pauseMillis;
    }

    static final String MODEL = "crash-model";
    /** The start of the stream's three minutes: recent, so that retention keeps them. */
    static final Instant T0 = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.HOURS).minus(Duration.ofHours(1));
    static final int PER_BATCH = 20;
    static final String[] TAPS = {"conv", "dense"};
    static final int[] NEURONS = {8, 16};

    /**
     * Exactly representable values, so sums do not depend on the order they are added in; about one value in 250
     * is NaN, +Inf or -Inf.
     */
    static float value(int observation, int tap, int neuron) {
        switch ((observation * 7 + neuron * 3 + tap) % 251) {
            case 0:
                return Float.NaN;
            case 1:
                return Float.POSITIVE_INFINITY;
            case 2:
                return Float.NEGATIVE_INFINITY;
            default:
                return ((observation * 31 + neuron * 17 + tap * 5) % 64) / 8f - 2f;
        }
    }

    static List<Slice> slicesOf(int i) {
        List<Slice> s = new ArrayList<>(List.of(Slice.ALL, Slice.predictedClass(i % 10),
                Slice.tag("source", "s" + (i % 3))));
        if (i % 2 == 0) {
            s.add(Slice.trueLabel((i * 7) % 10));
        } else if (lateLabelled(i)) {
            s.add(Slice.trueLabel(lateLabel(i)));
        }
        return s;
    }

    /** A quarter of the observations get their true label later, as a LabelEvent. */
    static boolean lateLabelled(int i) {
        return i % 4 == 1;
    }

    static int lateLabel(int i) {
        return (i * 3) % 10;
    }

    String labelsTopic() {
        return topic + ".labels";
    }

    String deadLetterTopic() {
        return topic + ".dlq";
    }

    static Instant minuteOf(int i) {
        return T0.plusSeconds(60L * (i % 3));
    }

    /** A batch of one of the stream's taps (a conv tap reduced by max, a dense one), with no observation yet. */
    static ActivationBatch.Builder tapBatch(String model, int tap) {
        ActivationBatch.Builder batch = ActivationBatch.newBuilder().setModelId(model).setModelVersion("1")
                .setTap(TAPS[tap]).setTapIndex(tap).setNeuronCount(NEURONS[tap]);
        if (tap == 0) {
            batch.addTapShape(4).addTapShape(4).addTapShape(8).setReduction(Reduction.REDUCTION_MAX);
        } else {
            batch.addTapShape(16).setReduction(Reduction.REDUCTION_NONE);
        }
        return batch;
    }

    static ActivationBatch batch(int b, int tap) {
        ActivationBatch.Builder batch = tapBatch(MODEL, tap);
        for (int k = 0; k < PER_BATCH; k++) {
            int i = b * PER_BATCH + k;
            Observation.Builder o = Observation.newBuilder().setInstanceId("o-" + i).setPredictedClass(i % 10)
                    .putTags("source", "s" + (i % 3))
                    .setEventTime(Timestamp.newBuilder().setSeconds(minuteOf(i).getEpochSecond() + i % 60));
            if (i % 2 == 0) {
                o.setTrueLabel((i * 7) % 10);
            }
            batch.addObservations(o);
            for (int j = 0; j < NEURONS[tap]; j++) {
                batch.addActivations(value(i, tap, j));
            }
        }
        return batch.build();
    }

    ServiceProcess startAggregator(String jdbcUrl, String group, String log) throws Exception {
        return startAggregator(TestInfrastructure.shared().kafkaBootstrapServers(), jdbcUrl, group, log);
    }

    ServiceProcess startAggregator(String bootstrap, String jdbcUrl, String group, String log) throws Exception {
        return startAggregator(bootstrap, jdbcUrl, group, log, Map.of());
    }

    /** {@link #startAggregator}, with {@code environment} added (configuration a test shortens, say). */
    ServiceProcess startAggregator(String bootstrap, String jdbcUrl, String group, String log,
            Map<String, String> environment) throws Exception {
        Map<String, String> env = ServiceProcess.environment(bootstrap, jdbcUrl);
        env.putAll(environment);
        env.putAll(Map.of("ND_TOPICS_ACTIVATIONS", topic, "ND_TOPICS_LABELS", labelsTopic(),
                "ND_TOPICS_DEAD_LETTER", deadLetterTopic(), "ND_AGGREGATOR_CONSUMER_GROUP", group));
        return ServiceProcess.start("aggregator", env,
                // a killed member's partitions move on quickly
                List.of("-Dkafka.session.timeout.ms=6000", "-Dkafka.heartbeat.interval.ms=1000",
                        "-Dnd.aggregator.rollup-interval=1s", "-Dnd.aggregator.label-horizon=1d",
                        // the stream lies an hour or two back, and the aggregator's watermark is now once it has read
                        // everything: a lateness beyond that keeps its minutes open while the test runs (the test
                        // moves time past their finality itself, verifyAgainstWhatWasSent)
                        "-Dnd.aggregator.allowed-lateness=" + FINALITY.toMinutes() + "m"), log);
    }

    /** Creates the stream's topics with {@code partitions} partitions each (before anything is produced). */
    void createTopics(String bootstrap, int partitions) throws Exception {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, partitions, (short) 1),
                    new org.apache.kafka.clients.admin.NewTopic(labelsTopic(), partitions, (short) 1)))
                    .all().get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    void produce(String bootstrap, AtomicBoolean producing) {
        produce(bootstrap, producing, -1, null);
    }

    /**
     * {@link #produce(String, AtomicBoolean)}, waiting before batch {@code holdAt} until {@code resume} opens: what a
     * test does while the stream holds lands mid-stream however long it takes (a JVM starting on a loaded machine).
     */
    void produce(String bootstrap, AtomicBoolean producing, int holdAt, java.util.concurrent.CountDownLatch resume) {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap,
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName(), "acks", "all"))) {
            for (int b = 0; b < batches; b++) {
                if (b == holdAt) {
                    p.flush();
                    resume.await();
                }
                for (int tap = 0; tap < TAPS.length; tap++) {
                    // stamped as if captured right after the stream's three minutes: none is late
                    p.send(new ProducerRecord<>(topic, null, T0.plusSeconds(200).toEpochMilli(),
                            (MODEL + "/" + TAPS[tap] + "/" + (b % 12)).getBytes(), batch(b, tap).toByteArray()));
                }
                // the late labels of the batch five back
                if (b >= 5) {
                    sendLateLabels(p, b - 5);
                }
                // spread out (about 15 s by default) so that what a test does lands mid-stream
                Thread.sleep(pauseMillis);
            }
            for (int b = Math.max(0, batches - 5); b < batches; b++) {
                sendLateLabels(p, b);
            }
            p.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            producing.set(false);
        }
    }

    private void sendLateLabels(KafkaProducer<byte[], byte[]> p, int b) {
        for (int k = 0; k < PER_BATCH; k++) {
            int i = b * PER_BATCH + k;
            if (lateLabelled(i)) {
                p.send(new ProducerRecord<>(labelsTopic(), null, T0.plusSeconds(200).toEpochMilli(),
                        ("o-" + i).getBytes(), ai.neuraldivergence.proto.v1.LabelEvent.newBuilder().setModelId(MODEL)
                                .setInstanceId("o-" + i).setTrueLabel(lateLabel(i)).build().toByteArray()));
            }
        }
    }

    static long storedObservations(String jdbcUrl) {
        return storedInMinutes(jdbcUrl, "all");
    }

    /**
     * Observations stored in the dense tap's minutes (rows and unfolded deltas) of the slices matching
     * {@code slicePattern} (LIKE).
     */
    private static long storedInMinutes(String jdbcUrl, String slicePattern) {
        try (Connection c = DriverManager.getConnection(jdbcUrl, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD);
                PreparedStatement ps = c.prepareStatement("SELECT coalesce(sum(n), 0) FROM (SELECT observation_count "
                        + "AS n FROM tap_window WHERE model_id = ? AND tap = 'dense' AND slice LIKE ? AND granularity = "
                        + "'minute' UNION ALL SELECT u.n FROM window_delta, unnest(slices, slice_counts) AS u(s, n) WHERE "
                        + "model_id = ? AND tap = 'dense' AND u.s LIKE ? AND NOT folded) x")) {
            ps.setString(1, MODEL);
            ps.setString(2, slicePattern);
            ps.setString(3, MODEL);
            ps.setString(4, slicePattern);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (java.sql.SQLException e) {
            return 0; // before the first start has migrated the schema
        }
    }

    /** Observations the stream sends. */
    long observations() {
        return (long) batches * PER_BATCH;
    }

    /** Waits until every observation, and every label (given or late), is stored. */
    void awaitAll(String jdbcUrl) throws Exception {
        long observations = observations();
        long labelled = 0;
        for (int i = 0; i < observations; i++) {
            labelled += i % 2 == 0 || lateLabelled(i) ? 1 : 0;
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(120 + batches / 10).toNanos();
        long stored = 0;
        long labels = 0;
        while (System.nanoTime() < deadline) {
            stored = storedObservations(jdbcUrl);
            labels = storedInMinutes(jdbcUrl, "label=%");
            if (stored >= observations && labels >= labelled) {
                Thread.sleep(2500); // a double count would show up in the next flushes
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("stored " + stored + " of " + observations + " observations, " + labels + " of "
                + labelled + " labels");
    }

    /** How long the stream's minutes stay open to late deltas in the aggregators the tests start. */
    static final Duration FINALITY = Duration.ofHours(3);

    private static void compactPastFinality(javax.sql.DataSource ds) {
        Instant later = Instant.now().plus(FINALITY).plus(Duration.ofHours(2));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<?>> passes = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                passes.add(pool.submit(() -> new ai.neuraldivergence.storage.Compaction(ds, 200, FINALITY,
                        ai.neuraldivergence.storage.Compaction.Listener.NONE).run(later)));
            }
            for (java.util.concurrent.Future<?> p : passes) {
                p.get();
            }
        } catch (Exception e) {
            throw new AssertionError("compaction failed", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The hour row of a tap and slice once the roll-up has brought it to {@code count} observations. */
    static List<TapWindowStore.StoredWindow> awaitHour(TapWindowStore store, String tap, Slice slice, long count) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<TapWindowStore.StoredWindow> hour = List.of();
        while (System.nanoTime() < deadline) {
            hour = store.read(MODEL, "1", tap, slice, Granularity.HOUR, T0, T0.plusSeconds(3600));
            if (hour.size() == 1 && hour.get(0).distribution().observationCount() >= count) {
                return hour;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        assertEquals(1, hour.size(), tap + "|" + slice + " hour row");
        return hour;
    }

    /** Checks every stored row against the stream's content; returns the rows by tap, slice and minute. */
    Map<String, TapDistribution> verifyAgainstWhatWasSent(String jdbcUrl) {
        Map<String, double[]> sums = new HashMap<>();
        Map<String, long[]> counts = new HashMap<>();
        // per key and neuron: finite values, NaN, +Inf, -Inf
        Map<String, long[][]> values = new HashMap<>();
        for (int i = 0; i < batches * PER_BATCH; i++) {
            for (int tap = 0; tap < TAPS.length; tap++) {
                for (Slice s : slicesOf(i)) {
                    String key = TAPS[tap] + "|" + s.key() + "|" + minuteOf(i);
                    double[] sum = sums.computeIfAbsent(key, k -> new double[NEURONS[0] + NEURONS[1]]);
                    long[][] kinds = values.computeIfAbsent(key, k -> new long[4][NEURONS[0] + NEURONS[1]]);
                    counts.computeIfAbsent(key, k -> new long[1])[0]++;
                    for (int j = 0; j < NEURONS[tap]; j++) {
                        float v = value(i, tap, j);
                        int kind = Float.isNaN(v) ? 1 : v == Float.POSITIVE_INFINITY ? 2
                                : v == Float.NEGATIVE_INFINITY ? 3 : 0;
                        kinds[kind][j]++;
                        if (kind == 0) {
                            sum[j] += v;
                        }
                    }
                }
            }
        }
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(jdbcUrl);
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        TapWindowStore store = new TapWindowStore(ds);
        Map<String, TapDistribution> rows = new HashMap<>();
        for (String key : counts.keySet()) {
            String[] k = key.split("\\|");
            Instant minute = Instant.parse(k[2]);
            var stored = store.read(MODEL, "1", k[0], Slice.parse(k[1]), Granularity.MINUTE, minute,
                    minute.plusSeconds(60));
            assertEquals(1, stored.size(), key);
            TapDistribution d = stored.get(0).distribution();
            assertEquals(counts.get(key)[0], d.observationCount(), key);
            long[][] kinds = values.get(key);
            for (int j = 0; j < d.neuronCount(); j++) {
                assertEquals(kinds[0][j], d.neuron(j).count(), key + " neuron " + j);
                assertEquals(kinds[1][j], d.neuron(j).nanCount(), key + " NaN of neuron " + j);
                assertEquals(kinds[2][j], d.neuron(j).positiveInfinityCount(), key + " +Inf of neuron " + j);
                assertEquals(kinds[3][j], d.neuron(j).negativeInfinityCount(), key + " -Inf of neuron " + j);
                assertEquals(d.neuron(j).count(), d.neuron(j).sketchCount(), key + " sketch of neuron " + j);
                assertEquals(sums.get(key)[j], d.neuron(j).sum(), 1e-9, key + " sum of neuron " + j);
            }
            rows.put(key, d);
        }
        // the watermark moved past the stream's finality (the aggregators have stopped): every minute folded for the
        // last time and its hour built, by two compactions at once
        compactPastFinality(ds);
        // the hour row of each tap and slice (the stream's minutes share one hour) rolls up exactly its minutes
        Map<String, Long> perHour = new HashMap<>();
        counts.forEach((key, n) -> perHour.merge(key.substring(0, key.lastIndexOf('|')), n[0], Long::sum));
        for (Map.Entry<String, Long> e : perHour.entrySet()) {
            String[] k = e.getKey().split("\\|");
            var hour = awaitHour(store, k[0], Slice.parse(k[1]), e.getValue());
            assertEquals(e.getValue(), hour.get(0).distribution().observationCount(), e.getKey() + " hour");
            TapDistribution merged = new TapDistribution(hour.get(0).distribution().neuronCount(), 200);
            rows.entrySet().stream().filter(r -> r.getKey().startsWith(e.getKey() + "|"))
                    .forEach(r -> merged.merge(r.getValue()));
            assertSameAs(merged, hour.get(0).distribution(), e.getKey() + " hour = merge(minutes)");
        }
        return rows;
    }

    /**
     * Two distributions of the same observations: counts, range, zeros and non-finite counts exact, sums to 1e-9
     * relative, every sketch having seen its count, and the medians equal within the sketches' rank errors (KLL
     * compaction is randomized, so sketches of the same data differ).
     */
    static void assertSameAs(TapDistribution expected, TapDistribution actual, String what) {
        assertEquals(expected.observationCount(), actual.observationCount(), what);
        for (int n = 0; n < expected.neuronCount(); n++) {
            ai.neuraldivergence.domain.NeuronDistribution a = expected.neuron(n);
            ai.neuraldivergence.domain.NeuronDistribution b = actual.neuron(n);
            String neuron = what + " neuron " + n;
            assertEquals(a.count(), b.count(), neuron);
            assertEquals(b.count(), b.sketchCount(), neuron + " sketch");
            assertEquals(a.nanCount(), b.nanCount(), neuron);
            assertEquals(a.positiveInfinityCount(), b.positiveInfinityCount(), neuron);
            assertEquals(a.negativeInfinityCount(), b.negativeInfinityCount(), neuron);
            assertEquals(a.min(), b.min(), neuron);
            assertEquals(a.max(), b.max(), neuron);
            assertEquals(a.zeroCount(), b.zeroCount(), neuron);
            assertEquals(a.sum(), b.sum(), 1e-9 * Math.max(1, Math.abs(a.sum())), neuron);
            assertEquals(a.sumOfSquares(), b.sumOfSquares(), 1e-9 * Math.max(1, a.sumOfSquares()), neuron);
            if (a.count() > 0) {
                // at least half of b's values are at or below a's median, at most half below it (ties sit across)
                float median = (float) a.quantile(0.5);
                double error = a.rankError() + b.rankError() + 1e-9;
                double atOrBelow = b.rank(median);
                double below = 2 * b.midRank(median) - atOrBelow;
                org.junit.jupiter.api.Assertions.assertTrue(atOrBelow >= 0.5 - error && below <= 0.5 + error,
                        neuron + " median");
            }
        }
    }
}
