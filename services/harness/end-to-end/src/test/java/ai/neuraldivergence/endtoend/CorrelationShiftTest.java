package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.LayerDrift;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TapDivergence;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The layer statistic through Kafka, the aggregator's stored feature sums and calibration samples, and Compare: a
 * change in how a layer's neurons move together that no neuron's marginal shows. 16 neurons with N(0, 1) marginals;
 * in ten "shift" taps (ten seeds) neurons 0 and 1 are correlated +0.8 in the first minute and -0.8 in the second; in
 * ten "null" taps both minutes are drawn alike. 2,000 observations a side. With the null resampled from the hour's
 * calibration sample, the layer is drifted in at least 9 shift taps and in no null tap, and no neuron of any tap is
 * drifted. The minimum effect is set to almost nothing: what is tested is the null (the analytic bound alone, 0.0022
 * at α = 0.01, would not call the flip's MMD² of about 0.0015 drifted).
 *
 * <p>Then the neurons' declared scales (a model "corr-units", whose batches declare {@code neuron_scales}): half the
 * neurons are measured in units a hundred times larger, which would drown four flipped pairs among the others; with
 * their scales declared the flip is drifted and an unchanged tap is not. A second version declaring other scales for
 * the same layout sums through the first one's map (the scales a layout was first registered with stay its own):
 * its verdicts and bandwidths are the first version's.
 *
 * <p>Every slice keeps feature sums and its members of the sample: the slice predicted class 0, which holds every
 * observation here, reads the slice all's MMD² through the same map, with a null resampled from the same members.
 */
class CorrelationShiftTest {

    private static final String PREFIX = "corr";
    private static final String MODEL = "corr";
    private static final int NEURONS = 16;
    private static final int PAIRS = 1;
    private static final int PER_MINUTE = 2_000;
    private static final int PER_RECORD = 100;
    private static final int SEEDS = 10;
    private static final Instant M0 = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MINUTES)
            .minus(Duration.ofMinutes(10));
    private static final Instant M1 = M0.plusSeconds(60);

    private static String tap(boolean shift, int seed) {
        return (shift ? "shift-" : "null-") + seed;
    }

    @Test
    void aFlippedCorrelationDriftsTheLayerAndNoNeuron() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String db = infra.newDatabase("correlation");
        Map<String, String> env = ServiceProcess.isolated(db, PREFIX);
        env.put("ND_AGGREGATOR_CONSUMER_GROUP", PREFIX);
        env.put("ND_ALLOWED_LATENESS", "1h");
        try (ServiceProcess aggregator = ServiceProcess.start("aggregator", env, java.util.List.of(),
                "aggregator-correlation")) {
            // the aggregator migrates the schema the comparison service's role is made in
            aggregator.awaitReady(Duration.ofSeconds(120));
            try (ServiceProcess comparison = ServiceProcess.start("comparison", ServiceProcess.asComparison(env),
                    java.util.List.of(), "comparison-correlation")) {
                comparison.awaitReady(Duration.ofSeconds(120));
                check(comparison);
                checkDeclaredScales(comparison);
            }
        }
    }

    private static void check(ServiceProcess comparison) throws Exception {
        produce(TestInfrastructure.shared().kafkaBootstrapServers());
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port()).usePlaintext()
                .build();
        try {
            ComparisonServiceGrpc.ComparisonServiceBlockingStub api = ComparisonServiceGrpc.newBlockingStub(channel);
            CompareResponse r = awaitEveryObservation(api);
            int caught = 0;
            int falseAlarms = 0;
            for (TapDivergence t : r.getTapsList()) {
                LayerDrift layer = t.getSummary().getLayer();
                String what = t.getSummary().getTap() + ": " + layer;
                assertTrue(layer.getAvailable(), what);
            assertTrue(layer.getNullResampled(), "the null comes from the hour's calibration sample: " + what);
                assertEquals(PER_MINUTE, layer.getCountA(), what);
                assertEquals(0, t.getSummary().getDriftedShare(), "no neuron's marginal changed: " + what);
                assertEquals(layer.getMinimumEffect() + layer.getNullQuantile(), layer.getThreshold(), 1e-12, what);
                System.out.printf("%s: MMD² %.5f, threshold %.5f (resampled null %.5f), bandwidth %.2f, drifted %s%n",
                        t.getSummary().getTap(), layer.getMmd(), layer.getThreshold(), layer.getNullQuantile(),
                        layer.getBandwidth(), layer.getDrifted());
                if (t.getSummary().getTap().startsWith("shift-")) {
                    caught += layer.getDrifted() ? 1 : 0;
                } else {
                    falseAlarms += layer.getDrifted() ? 1 : 0;
                }
            }
            assertTrue(caught >= 9, "the layer drifted in " + caught + " of " + SEEDS + " shifted taps");
            assertEquals(0, falseAlarms, "null taps called drifted");
            checkSlice(api, layers(r));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Every slice keeps feature sums and its members of the calibration sample: here the slice predicted class 0
     * holds every observation, so its layer statistic is the slice all's, through the same map, and its null is
     * resampled from the same members.
     */
    private static void checkSlice(ComparisonServiceGrpc.ComparisonServiceBlockingStub api,
            Map<String, LayerDrift> ofAll) {
        ai.neuraldivergence.proto.v1.Slice class0 = ai.neuraldivergence.proto.v1.Slice.newBuilder()
                .setPredictedClass(0).build();
        CompareResponse sliced = api.withDeadlineAfter(60, TimeUnit.SECONDS).compare(CompareRequest.newBuilder()
                .setModelId(MODEL).setA(range(M0).toBuilder().setSlice(class0)).setB(range(M1).toBuilder()
                        .setSlice(class0)).setLayerDriftThreshold(1e-9).build());
        assertEquals(2 * SEEDS, sliced.getTapsCount());
        for (TapDivergence t : sliced.getTapsList()) {
            LayerDrift layer = t.getSummary().getLayer();
            LayerDrift all = ofAll.get(t.getSummary().getTap());
            String what = t.getSummary().getTap() + ", predicted class 0: " + layer;
            assertTrue(layer.getAvailable(), what);
            assertEquals(PER_MINUTE, layer.getCountA(), what);
            assertEquals(all.getMmd(), layer.getMmd(), 1e-9, what);
            assertEquals(all.getBandwidth(), layer.getBandwidth(), what);
            // the slice's null is resampled from the hour sample's members in the slice: here every member, drawn
            // with another seed, so within the resample's noise of the slice all's (the analytic bound is 7 times it)
            assertTrue(layer.getNullResampled(), "resampled from the sample's members in the slice; " + what);
            double ratio = layer.getNullQuantile() / all.getNullQuantile();
            assertTrue(ratio > 0.5 && ratio < 2, "the slice all's null " + all.getNullQuantile() + "; " + what);
        }
    }

    private static final String UNITS_MODEL = "corr-units";
    private static final int UNITS_PER_MINUTE = 1_000;

    /** Neurons 0-7 in their own unit, 8-15 a hundred times larger: what the corr-units batches declare. */
    private static float[] units() {
        float[] u = new float[NEURONS];
        for (int j = 0; j < NEURONS; j++) {
            u[j] = j < 8 ? 1f : 100f;
        }
        return u;
    }

    private static void checkDeclaredScales(ServiceProcess comparison) throws Exception {
        produceUnits(TestInfrastructure.shared().kafkaBootstrapServers());
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port()).usePlaintext()
                .build();
        try {
            ComparisonServiceGrpc.ComparisonServiceBlockingStub api = ComparisonServiceGrpc.newBlockingStub(channel);
            Map<String, LayerDrift> first = layers(awaitEveryObservation(api, UNITS_MODEL, "1", 2, UNITS_PER_MINUTE));
            Map<String, LayerDrift> second = layers(awaitEveryObservation(api, UNITS_MODEL, "2", 2,
                    UNITS_PER_MINUTE));
            for (Map<String, LayerDrift> version : List.of(first, second)) {
                LayerDrift shifted = version.get("shift");
                LayerDrift unchanged = version.get("null");
                System.out.printf("declared scales: shift %s / null %s%n", shifted, unchanged);
                assertTrue(shifted.getAvailable() && unchanged.getAvailable(), shifted + " / " + unchanged);
                assertTrue(shifted.getDrifted(), "four flipped pairs beside neurons in a larger unit: " + shifted);
                assertTrue(!unchanged.getDrifted(), "nothing changed: " + unchanged);
            }
            // version 2 declared scales of 1: had they been used, the large-unit neurons would set the bandwidth
            assertEquals(first.get("shift").getBandwidth(), second.get("shift").getBandwidth(),
                    "the second version sums through the first version's map");
            assertEquals(first.get("null").getBandwidth(), second.get("null").getBandwidth());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static Map<String, LayerDrift> layers(CompareResponse r) {
        Map<String, LayerDrift> out = new java.util.HashMap<>();
        r.getTapsList().forEach(t -> out.put(t.getSummary().getTap(), t.getSummary().getLayer()));
        return out;
    }

    /**
     * corr-units: taps "shift" (four pairs +0.8 in the first minute, -0.8 in the second) and "null", neurons 8-15 in
     * a unit a hundred times larger. Version 1 declares those scales; version 2, the same layout, declares 1.
     */
    private static void produceUnits(String bootstrap) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
            float[] u = units();
            for (String version : new String[] {"1", "2"}) {
                for (String tap : new String[] {"shift", "null"}) {
                    Random random = new Random((version + tap).hashCode());
                    for (int minute = 0; minute < 2; minute++) {
                        double rho = tap.equals("shift") && minute == 1 ? -0.8 : 0.8;
                        for (int start = 0; start < UNITS_PER_MINUTE; start += PER_RECORD) {
                            ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(UNITS_MODEL)
                                    .setModelVersion(version).setTap(tap).setTapIndex(tap.equals("shift") ? 0 : 1)
                                    .addTapShape(NEURONS).setNeuronCount(NEURONS)
                                    .setReduction(Reduction.REDUCTION_NONE);
                            for (int j = 0; j < NEURONS; j++) {
                                b.addNeuronScales(version.equals("1") ? u[j] : 1f);
                            }
                            for (int i = start; i < start + PER_RECORD; i++) {
                                Instant at = (minute == 0 ? M0 : M1).plusMillis(i * 59_000L / UNITS_PER_MINUTE);
                                b.addObservations(Observation.newBuilder().setInstanceId(version + tap + "-" + minute
                                        + "-" + i).setPredictedClass(0).setConfidence(0.9f)
                                        .setEventTime(Timestamp.newBuilder().setSeconds(at.getEpochSecond())
                                                .setNanos(at.getNano())));
                                float[] row = observation(random, rho, 4);
                                for (int j = 0; j < NEURONS; j++) {
                                    b.addActivations(row[j] * u[j]);
                                }
                            }
                            long stamp = (minute == 0 ? M0 : M1).plusSeconds(61).toEpochMilli();
                            producer.send(new ProducerRecord<>(PREFIX + ".activations", null, stamp,
                                    (UNITS_MODEL + "/" + tap).getBytes(), b.build().toByteArray()));
                        }
                    }
                }
            }
        }
    }

    private static CompareResponse awaitEveryObservation(ComparisonServiceGrpc.ComparisonServiceBlockingStub api)
            throws InterruptedException {
        return awaitEveryObservation(api, MODEL, "", 2 * SEEDS, PER_MINUTE);
    }

    /** Compares the minutes until every tap holds all of both (the aggregator may still be folding). */
    private static CompareResponse awaitEveryObservation(ComparisonServiceGrpc.ComparisonServiceBlockingStub api,
            String model, String version, int taps, int perMinute) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                CompareResponse r = api.withDeadlineAfter(60, TimeUnit.SECONDS).compare(CompareRequest.newBuilder()
                        .setModelId(model).setModelVersion(version).setA(range(M0)).setB(range(M1))
                        .setLayerDriftThreshold(1e-9).build());
                if (r.getTapsCount() == taps && r.getTapsList().stream().allMatch(t -> t.getSummary()
                        .getCountA() == perMinute && t.getSummary().getCountB() == perMinute)) {
                    return r;
                }
                last = r.getTapsCount() + " taps";
            } catch (io.grpc.StatusRuntimeException notYet) {
                // a tap without observations on a side yet is a failed precondition
                last = notYet.getStatus().toString();
            }
            Thread.sleep(1_000);
        }
        throw new AssertionError("Compare never held every observation: " + last);
    }

    private static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        p.put("acks", "all");
        p.put("linger.ms", "20");
        return new KafkaProducer<>(p);
    }

    private static void produce(String bootstrap) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
            int index = 0;
            for (boolean shift : new boolean[] {true, false}) {
                for (int seed = 0; seed < SEEDS; seed++) {
                    Random random = new Random(1_000L * seed + (shift ? 1 : 2));
                    for (int minute = 0; minute < 2; minute++) {
                        double rho = shift && minute == 1 ? -0.8 : 0.8;
                        for (int start = 0; start < PER_MINUTE; start += PER_RECORD) {
                            ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId(MODEL)
                                    .setModelVersion("1").setTap(tap(shift, seed)).setTapIndex(index)
                                    .addTapShape(NEURONS).setNeuronCount(NEURONS)
                                    .setReduction(Reduction.REDUCTION_NONE);
                            for (int i = start; i < start + PER_RECORD; i++) {
                                Instant at = (minute == 0 ? M0 : M1).plusMillis(i * 59_000L / PER_MINUTE);
                                b.addObservations(Observation.newBuilder().setInstanceId(tap(shift, seed) + "-"
                                        + minute + "-" + i).setPredictedClass(0).setConfidence(0.9f)
                                        .setEventTime(Timestamp.newBuilder().setSeconds(at.getEpochSecond())
                                                .setNanos(at.getNano())));
                                for (float v : observation(random, rho, PAIRS)) {
                                    b.addActivations(v);
                                }
                            }
                            long stamp = (minute == 0 ? M0 : M1).plusSeconds(61).toEpochMilli();
                            producer.send(new ProducerRecord<>(PREFIX + ".activations", null, stamp,
                                    (MODEL + "/" + tap(shift, seed)).getBytes(), b.build().toByteArray()));
                        }
                    }
                    index++;
                }
            }
        }
    }

    /** 16 N(0, 1) neurons, the first {@code pairs} pairs (0 and 1, 2 and 3, ...) correlated {@code rho}. */
    private static float[] observation(Random r, double rho, int pairs) {
        float[] row = new float[NEURONS];
        for (int j = 0; j < NEURONS; j++) {
            row[j] = (float) r.nextGaussian();
        }
        for (int k = 0; k < pairs; k++) {
            row[2 * k + 1] = (float) (rho * row[2 * k] + Math.sqrt(1 - rho * rho) * row[2 * k + 1]);
        }
        return row;
    }

    private static Selection range(Instant from) {
        return Ranges.range(from, Duration.ofSeconds(60));
    }
}
