package ai.neuraldivergence.aggregator.bench;

import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.datasketches.kll.KllFloatsSketch;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What aggregation costs, in one run: (a) the raw KLL update rate in this JVM on a prepared array, (b) the
 * end-to-end rate of sketch updates from Kafka to committed PostgreSQL through the packaged aggregator at its
 * default settings, for a synthetic stream of 4 taps (1,024 neurons) and 10 uniformly drawn classes, every
 * observation labelled (3 slices each). Prints b/a, flush p95, bytes written per second and the median bytes per
 * stored distribution. Run it with deploy/benchmark-aggregation.sh.
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
        int port = 18081;
        // metrics are served on the management interface, a port of its own
        int managementPort = 19081;
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", jar.toString()).redirectErrorStream(true)
                .redirectOutput(jar.toAbsolutePath().getParent().getParent().resolve("aggregation-benchmark.log")
                        .toFile());
        pb.environment().putAll(Map.of("KAFKA_BOOTSTRAP_SERVERS", bootstrap, "QUARKUS_DATASOURCE_JDBC_URL", jdbc,
                "QUARKUS_DATASOURCE_USERNAME", args[3], "QUARKUS_DATASOURCE_PASSWORD", args[4],
                "QUARKUS_HTTP_PORT", Integer.toString(port), "QUARKUS_MANAGEMENT_PORT",
                Integer.toString(managementPort), "ND_TOPICS_ACTIVATIONS", "bench.activations"));
        Process aggregator = pb.start();
        try {
            Instant first = null;
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            long stored = 0;
            while (stored < OBSERVATIONS && System.nanoTime() < deadline) {
                stored = storedObservations(jdbc, args[3], args[4]);
                if (stored > 0 && first == null) {
                    first = Instant.now();
                }
                Thread.sleep(stored > 0 ? 20 : 200);
            }
            Instant last = Instant.now();
            if (stored < OBSERVATIONS) {
                throw new IllegalStateException("only " + stored + " observations stored in 10 minutes");
            }
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + managementPort + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            // from the first commit to the last: the first flush's own duration is added back from its metric
            double seconds = Duration.between(first, last).toNanos() / 1e9 + metric(metrics,
                    "nd_aggregator_flush_seconds\\{quantile=\"0.5\"\\}");
            double rate = updates / seconds;
            double bytes = metric(metrics, "nd_aggregator_bytes_written_total");
            System.out.printf(Locale.ROOT, "(b) Kafka to committed PostgreSQL: %,d observations x %d neurons x 3 "
                    + "slices = %.1f M sketch updates in %.1f s: %.2f M/s%n", OBSERVATIONS, neurons, updates / 1e6,
                    seconds, rate / 1e6);
            System.out.printf(Locale.ROOT, "b/a = %.3f (target >= 0.25)%n", rate / raw);
            System.out.printf(Locale.ROOT, "flush p95 %.0f ms, p50 %.0f ms; %.1f MB/s of distributions written "
                    + "(minutes, hours and days)%n",
                    1000 * metric(metrics, "nd_aggregator_flush_seconds\\{quantile=\"0.95\"\\}"),
                    1000 * metric(metrics, "nd_aggregator_flush_seconds\\{quantile=\"0.5\"\\}"),
                    bytes / seconds / 1e6);
            System.out.printf(Locale.ROOT, "median bytes per stored distribution (one neuron, slice and minute): "
                    + "%.0f%n", medianBytesPerDistribution(jdbc, args[3], args[4]));
        } finally {
            aggregator.destroy();
            aggregator.waitFor();
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

    private static long storedObservations(String jdbc, String user, String password) {
        try (Connection c = DriverManager.getConnection(jdbc, user, password); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT coalesce(sum(observation_count), 0) FROM tap_window WHERE "
                        + "model_id = 'bench' AND tap = 'tap3' AND slice = 'all' AND granularity = 'minute'")) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            return 0; // not migrated yet
        }
    }

    private static double medianBytesPerDistribution(String jdbc, String user, String password) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbc, user, password); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                        + "octet_length(w.distributions)::float8 / t.neuron_count) FROM tap_window w JOIN tap t "
                        + "USING (model_id, model_version, tap) WHERE w.model_id = 'bench' "
                        + "AND w.granularity = 'minute'")) {
            rs.next();
            return rs.getDouble(1);
        }
    }

    private static double metric(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+-]+)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }
}
