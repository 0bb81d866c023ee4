package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.NeuronDivergence;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.testkit.TestInfrastructure;
import ai.neuraldivergence.testkit.TestPrerequisites;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.apache.datasketches.kll.KllSketch;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The comparison service against an independent implementation: observations drawn from known distributions go
 * through Kafka and the packaged aggregator into PostgreSQL; the comparison service's KS, Wasserstein-1, JS and PSI
 * then agree with SciPy's on the raw samples within the error bound the service reports, and that bound is no
 * wider than the sketches' published error for their k.
 */
class ComparisonCorrectnessTest {

    private static final String MODEL = "correctness";
    private static final int NEURONS = 8;
    private static final int PER_SIDE = 50_000;
    private static final int PER_BATCH = 500;
    // two five-minute ranges an hour ago: side A, then side B
    private static final Instant A_FROM = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(1));
    private static final Instant B_FROM = A_FROM.plus(Duration.ofMinutes(10));

    /** Neuron n's distribution on each side. */
    private static DoubleSupplier[] sides(Random r, boolean b) {
        return new DoubleSupplier[] {
            // a half-sigma shift: KS about 0.20, drifted
            () -> r.nextGaussian() + (b ? 0.5 : 0),
            // a second sample of the same distribution: not drifted
            r::nextGaussian,
            // exponential, scale 1 against 1.3
            () -> -Math.log(1 - r.nextDouble()) * (b ? 1.3 : 1),
            // a ReLU: zeros, then a shifted half-normal
            () -> Math.max(0, r.nextGaussian() + (b ? 0.3 : 0)),
            // uniform, shifted by 0.1
            () -> r.nextDouble() + (b ? 0.1 : 0),
            // bimodal against unimodal with the same mean
            () -> b ? r.nextGaussian() : (r.nextBoolean() ? -2 : 2) + 0.5 * r.nextGaussian(),
            // the same mean, twice the spread
            () -> r.nextGaussian() * (b ? 2 : 1),
            // log-normal, shifted in log space
            () -> Math.exp(0.5 * r.nextGaussian() + (b ? 0.2 : 0)),
        };
    }

    @Test
    void everyMetricAgreesWithSciPyWithinTheReportedBound() throws Exception {
        Path python = TestPrerequisites.requirePythonModule("scipy", "python3-scipy");
        Path dir = Files.createTempDirectory("nd-correctness");
        String topic = "correctness.activations";
        Map<String, String> env = ServiceProcess.environment(TestInfrastructure.shared().newDatabase("correctness"));
        env.putAll(Map.of("ND_TOPICS_ACTIVATIONS", topic, "ND_TOPICS_LABELS", topic + ".labels",
                "ND_TOPICS_INPUTS", topic + ".inputs", "ND_AGGREGATOR_CONSUMER_GROUP", "correctness",
                // both sides lie an hour or two back, sent to an aggregator whose watermark is now: a lateness
                // beyond that keeps their minutes open to them (past finality they would be dropped as final)
                "ND_ALLOWED_LATENESS", "3h"));
        try (ServiceProcess aggregator = ServiceProcess.start("aggregator", env)) {
            aggregator.awaitReady(Duration.ofSeconds(120));
            try (ServiceProcess comparison = ServiceProcess.start("comparison",
                    ServiceProcess.asComparison(env))) {
                produce(topic, A_FROM, false, dir.resolve("a.bin"));
                produce(topic, B_FROM, true, dir.resolve("b.bin"));
                comparison.awaitReady(Duration.ofSeconds(120));
                ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port())
                        .usePlaintext().maxInboundMessageSize(16 << 20).build();
                try {
                    NeuronDivergence[] service = awaitComparison(ComparisonServiceGrpc.newBlockingStub(channel));
                    check(service, sciPy(python, dir, service));
                } finally {
                    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
        }
    }

    private static void check(NeuronDivergence[] service, List<Map<String, Double>> scipy) {
        // the published single-sided rank error of one KLL sketch at k = 200 (about 1.33 %)
        double published = KllSketch.getNormalizedRankError(200, false);
        List<String> report = new ArrayList<>();
        for (int n = 0; n < NEURONS; n++) {
            NeuronDivergence d = service[n];
            Map<String, Double> s = scipy.get(n);
            report.add(String.format("neuron %d: KS %.4f vs %.4f (+-%.4f), W1 %.4f vs %.4f (+-%.4f), JS %.5f vs %.5f "
                    + "(+-%.5f), PSI %.5f vs %.5f (+-%.5f)", n, d.getKs(), s.get("ks"), d.getKsErrorBound(),
                    d.getWasserstein(), s.get("wasserstein"), d.getWassersteinErrorBound(), d.getJensenShannon(),
                    s.get("jensen_shannon"), d.getJensenShannonErrorBound(), d.getPsi(), s.get("psi"),
                    d.getPsiErrorBound()));
            assertEquals(PER_SIDE, d.getCountA());
            assertEquals(PER_SIDE, d.getCountB());
            assertTrue(d.getKsErrorBound() > 0 && d.getKsErrorBound() <= 2 * published + 1e-12,
                    "KS bound " + d.getKsErrorBound() + " vs two sketches' published error " + 2 * published);
            assertEquals(s.get("ks"), d.getKs(), d.getKsErrorBound(), report.get(n));
            assertEquals(s.get("wasserstein"), d.getWasserstein(), d.getWassersteinErrorBound(), report.get(n));
            assertEquals(s.get("jensen_shannon"), d.getJensenShannon(), d.getJensenShannonErrorBound(),
                    report.get(n));
            assertEquals(s.get("psi"), d.getPsi(), d.getPsiErrorBound(), report.get(n));
        }
        System.out.println(String.join("\n", report));
        assertTrue(service[0].getDrifted(), "N(0,1) vs N(0.5,1) is drifted at the default threshold: " + report.get(0));
        assertFalse(service[1].getDrifted(), "two samples of N(0,1) are not: " + report.get(1));
    }

    /** Sends one side's observations, spread over five minutes, and keeps the raw samples for SciPy. */
    private static void produce(String topic, Instant from, boolean b, Path raw) throws IOException {
        Random random = new Random(b ? 2 : 1);
        DoubleSupplier[] draw = sides(random, b);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                "bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName(), "acks", "all"));
                DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(
                        Files.newOutputStream(raw)))) {
            ByteBuffer le = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            for (int start = 0; start < PER_SIDE; start += PER_BATCH) {
                ActivationBatch.Builder batch = ActivationBatch.newBuilder().setModelId(MODEL).setModelVersion("1")
                        .setTap("dense").setTapIndex(0).addTapShape(NEURONS).setNeuronCount(NEURONS)
                        .setReduction(Reduction.REDUCTION_NONE);
                Instant eventTime = from.plusSeconds(300L * start / PER_SIDE);
                for (int i = start; i < start + PER_BATCH; i++) {
                    batch.addObservations(Observation.newBuilder().setInstanceId((b ? "b-" : "a-") + i)
                            .setPredictedClass(i % 10).setTrueLabel(i % 10)
                            .setEventTime(Timestamp.newBuilder().setSeconds(eventTime.getEpochSecond())));
                    for (int n = 0; n < NEURONS; n++) {
                        float v = (float) draw[n].getAsDouble();
                        batch.addActivations(v);
                        le.clear();
                        le.putFloat(v);
                        out.write(le.array());
                    }
                }
                producer.send(new ProducerRecord<>(topic, null, eventTime.plusSeconds(5).toEpochMilli(),
                        (MODEL + "/dense").getBytes(), batch.build().toByteArray()));
            }
        }
    }

    private static NeuronDivergence[] awaitComparison(ComparisonServiceGrpc.ComparisonServiceBlockingStub api)
            throws InterruptedException {
        CompareRequest request = CompareRequest.newBuilder().setModelId(MODEL).setTap("dense")
                .setA(range(A_FROM)).setB(range(B_FROM)).setIncludeBinEdges(true).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                CompareResponse r = api.withDeadlineAfter(30, TimeUnit.SECONDS).compare(request);
                var summary = r.getTaps(0).getSummary();
                if (summary.getCountA() == PER_SIDE && summary.getCountB() == PER_SIDE) {
                    return r.getTaps(0).getNeuronsList().toArray(new NeuronDivergence[0]);
                }
                last = summary.getCountA() + " / " + summary.getCountB() + " observations";
            } catch (io.grpc.StatusRuntimeException e) {
                last = e.getStatus().toString();
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the comparison never saw both sides complete: " + last);
    }

    private static Selection range(Instant from) {
        return Ranges.range(from, Duration.ofSeconds(300));
    }

    private static List<Map<String, Double>> sciPy(Path python, Path dir, NeuronDivergence[] service)
            throws Exception {
        StringBuilder edges = new StringBuilder("{");
        for (int n = 0; n < NEURONS; n++) {
            edges.append(n == 0 ? "" : ",").append('"').append(n).append("\": ")
                    .append(service[n].getBinEdgesList());
        }
        Files.writeString(dir.resolve("edges.json"), edges.append('}'));
        Path script = dir.resolve("scipy_metrics.py");
        try (InputStream in = ComparisonCorrectnessTest.class.getResourceAsStream("/scipy_metrics.py")) {
            Files.copy(in, script);
        }
        Process p = new ProcessBuilder(python.toString(), script.toString(), dir.resolve("a.bin").toString(),
                dir.resolve("b.bin").toString(), Integer.toString(NEURONS), dir.resolve("edges.json").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String json = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, "SciPy failed: " + json);
        return parse(json);
    }

    /** Reads the script's output: a JSON array of flat objects of numbers. */
    static List<Map<String, Double>> parse(String json) {
        List<Map<String, Double>> out = new ArrayList<>();
        for (String object : json.trim().replaceAll("^\\[\\s*\\{|\\}\\s*\\]$", "").split("\\}\\s*,\\s*\\{")) {
            Map<String, Double> m = new java.util.HashMap<>();
            for (String pair : object.split(",")) {
                String[] kv = pair.split(":");
                m.put(kv[0].trim().replace("\"", ""), Double.parseDouble(kv[1].trim()));
            }
            out.add(m);
        }
        return out;
    }
}
