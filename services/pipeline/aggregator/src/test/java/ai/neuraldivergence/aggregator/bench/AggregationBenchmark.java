package ai.neuraldivergence.aggregator.bench;

import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.datasketches.kll.KllFloatsSketch;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What aggregation costs, in one run: (a) the raw KLL update rate in this JVM on a prepared array, (b) the
 * end-to-end rate of sketch updates from Kafka to committed PostgreSQL through the packaged aggregator at its
 * default settings, for a synthetic stream of 4 taps (1,024 neurons) and 10 uniformly drawn classes, every
 * observation labelled (3 slices each). Committed is what a reader sees: a minute's row plus its unfolded deltas
 * (a flush appends deltas; a minute is folded into its row once the watermark passes its end, which for the
 * stream's last minute is up to a minute of wall time later, so the folds are timed apart). Prints b/a, flush p95,
 * delta bytes written per second and the median bytes per stored distribution. Run it with
 * deploy/benchmark-aggregation.sh.
 *
 * <pre>AggregationBenchmark AGGREGATOR_JAR BOOTSTRAP JDBC_URL USER PASSWORD</pre>
 */
public final class AggregationBenchmark {

    static final int[] NEURONS = {64, 128, 256, 576};
    static final int OBSERVATIONS = 24_000;
    static final int PER_BATCH = 100;

    public static void main(String[] args) throws Exception {
        Path jar = Path.of(args[0]);
        String bootstrap = args[1];
        String jdbc = args[2];
        double raw = rawKllRate();
        System.out.printf(Locale.ROOT, "(a) raw KLL updates, k=200, 1,000 sketches round-robin, one core: %.1f M/s%n",
                raw / 1e6);

        int neurons = java.util.Arrays.stream(NEURONS).sum();
        produce(bootstrap);
        long updates = (long) OBSERVATIONS * neurons * 3;
        PackagedAggregator aggregator = PackagedAggregator.start(jar, "512m", bootstrap, jdbc, args[3], args[4],
                Map.of("ND_TOPICS_ACTIVATIONS", "bench.activations"),
                jar.toAbsolutePath().getParent().getParent().resolve("aggregation-benchmark.log"));
        try {
            Instant first = null;
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            long stored = 0;
            while (stored < OBSERVATIONS && System.nanoTime() < deadline) {
                stored = storedObservations(jdbc, args[3], args[4], true);
                if (stored > 0 && first == null) {
                    first = Instant.now();
                }
                Thread.sleep(stored > 0 ? 20 : 200);
            }
            Instant last = Instant.now();
            if (stored < OBSERVATIONS) {
                throw new IllegalStateException("only " + stored + " observations stored in 10 minutes");
            }
            String metrics = aggregator.metrics();
            // the stream's last minute folds once the watermark passes its end: up to a minute after the last commit
            long folded = 0;
            long foldDeadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (folded < OBSERVATIONS && System.nanoTime() < foldDeadline) {
                folded = storedObservations(jdbc, args[3], args[4], false);
                Thread.sleep(200);
            }
            Instant foldedAt = Instant.now();
            // from the first commit to the last: the first flush's own duration is added back from its metric
            double seconds = Duration.between(first, last).toNanos() / 1e9 + metric(metrics,
                    "nd_aggregator_flush_seconds\\{quantile=\"0.5\"\\}");
            double rate = updates / seconds;
            double bytes = metric(metrics, "nd_aggregator_bytes_written_total");
            System.out.printf(Locale.ROOT, "(b) Kafka to committed PostgreSQL (rows plus unfolded deltas, as a "
                    + "reader sees them): %,d observations x %d neurons x 3 slices = %.1f M sketch updates in %.1f s: "
                    + "%.2f M/s%n", OBSERVATIONS, neurons, updates / 1e6,
                    seconds, rate / 1e6);
            System.out.printf(Locale.ROOT, "b/a = %.3f (target >= 0.25)%n", rate / raw);
            System.out.printf(Locale.ROOT, "folded into minute rows %.1f s after the last commit: %,d of %,d "
                    + "observations%s%n", Duration.between(last, foldedAt).toMillis() / 1000.0, folded, OBSERVATIONS,
                    folded < OBSERVATIONS ? String.format(Locale.ROOT, "; %,d wait in late deltas of minutes already "
                            + "folded, for their final fold (the stream's event times lie up to 2 minutes behind its "
                            + "records' timestamps, which move the watermark)", lateObservations(jdbc, args[3],
                                    args[4])) : "");
            System.out.printf(Locale.ROOT, "flush p95 %.0f ms, p50 %.0f ms; %.1f MB/s of deltas written%n",
                    1000 * metric(metrics, "nd_aggregator_flush_seconds\\{quantile=\"0.95\"\\}"),
                    1000 * metric(metrics, "nd_aggregator_flush_seconds\\{quantile=\"0.5\"\\}"),
                    bytes / seconds / 1e6);
            System.out.printf(Locale.ROOT, "median bytes per stored distribution (one neuron, slice and minute): "
                    + "%.0f%n", medianBytesPerDistribution(jdbc, args[3], args[4]));
        } finally {
            aggregator.close();
        }
    }

    static double rawKllRate() {
        Random random = new Random(1);
        float[] values = new float[20_000_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.max(0, random.nextGaussian());
        }
        double best = 0;
        for (int round = 0; round < 3; round++) {
            KllFloatsSketch[] sketches = new KllFloatsSketch[1000];
            for (int i = 0; i < sketches.length; i++) {
                sketches[i] = KllFloatsSketch.newHeapInstance(NeuronDistribution.DEFAULT_K);
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < values.length; i++) {
                sketches[i % 1000].update(values[i]);
            }
            best = Math.max(best, values.length / ((System.nanoTime() - t0) / 1e9));
        }
        return best;
    }

    private static void produce(String bootstrap) throws Exception {
        Random random = new Random(2);
        Instant now = Instant.now();
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap,
                "key.serializer", ByteArraySerializer.class.getName(), "value.serializer",
                ByteArraySerializer.class.getName(), "linger.ms", 20, "batch.size", 1 << 20,
                "max.request.size", 16 << 20))) {
            for (int b = 0; b < OBSERVATIONS / PER_BATCH; b++) {
                List<Observation> observations = new ArrayList<>();
                for (int i = 0; i < PER_BATCH; i++) {
                    int c = random.nextInt(10);
                    observations.add(Observation.newBuilder().setInstanceId("b" + b + "-" + i).setPredictedClass(c)
                            .setTrueLabel(c).setEventTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond()
                                    - 120 + (b * 120L) / (OBSERVATIONS / PER_BATCH))).build());
                }
                for (int t = 0; t < NEURONS.length; t++) {
                    ActivationBatch.Builder batch = ActivationBatch.newBuilder().setModelId("bench").setModelVersion("1")
                            .setTap("tap" + t).setTapIndex(t).addTapShape(NEURONS[t]).setNeuronCount(NEURONS[t])
                            .setReduction(Reduction.REDUCTION_NONE).addAllObservations(observations);
                    // declared neuron scales, as the inference service sends its manifest's: the layer statistic's
                    // map divides each neuron by its own
                    for (int k = 0; k < NEURONS[t]; k++) {
                        batch.addNeuronScales(0.5f + (k % 7) * 0.25f);
                    }
                    for (int k = 0; k < PER_BATCH * NEURONS[t]; k++) {
                        batch.addActivations((float) Math.max(0, random.nextGaussian()));
                    }
                    p.send(new ProducerRecord<>("bench.activations", ("tap" + t).getBytes(),
                            batch.build().toByteArray()));
                }
            }
        }
        System.out.printf(Locale.ROOT, "produced %,d observations of %d taps to bench.activations%n", OBSERVATIONS,
                NEURONS.length);
    }

    /** Observations of the last tap in its minute rows, and with {@code visible} in its unfolded deltas too. */
    private static long storedObservations(String jdbc, String user, String password, boolean visible) {
        try (Connection c = DriverManager.getConnection(jdbc, user, password); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT coalesce(sum(observation_count), 0) FROM tap_window WHERE "
                        + "model_id = 'bench' AND tap = 'tap3' AND slice = 'all' AND granularity = 'minute'"
                        + (visible ? " UNION ALL SELECT coalesce(sum(observation_count), 0) FROM window_delta "
                                + "WHERE model_id = 'bench' AND tap = 'tap3' AND 'all' = ANY(slices) AND NOT folded" : ""))) {
            long total = 0;
            while (rs.next()) {
                total += rs.getLong(1);
            }
            return total;
        } catch (java.sql.SQLException e) {
            return 0; // not migrated yet
        }
    }

    /** Observations of the last tap in unfolded deltas of minutes that have their row already. */
    private static long lateObservations(String jdbc, String user, String password) throws Exception {
        return BenchQueries.one(jdbc, user, password, "SELECT coalesce(sum(d.observation_count), 0) FROM "
                + "window_delta d WHERE d.model_id = 'bench' AND d.tap = 'tap3' AND 'all' = ANY(d.slices) AND NOT "
                + "d.folded AND EXISTS (SELECT 1 FROM tap_window w WHERE w.model_id = d.model_id AND w.tap = d.tap AND "
                + "w.slice = 'all' AND w.granularity = 'minute' AND w.window_start = d.window_start)",
                rs -> rs.getLong(1));
    }

    private static double medianBytesPerDistribution(String jdbc, String user, String password) throws Exception {
        return BenchQueries.one(jdbc, user, password, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                + "octet_length(w.distributions)::float8 / t.neuron_count) FROM tap_window w JOIN tap t "
                + "USING (model_id, model_version, tap) WHERE w.model_id = 'bench' AND w.granularity = 'minute'",
                rs -> rs.getDouble(1));
    }

    private static double metric(String metrics, String name) {
        return PackagedAggregator.metric(metrics, name);
    }
}
