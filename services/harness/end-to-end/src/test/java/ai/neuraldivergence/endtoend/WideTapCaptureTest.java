package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerDrift;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Production-size taps are captured completely (one record per block of 1,024 neurons): 256 observations of a
 * 4,096- and a 16,384-neuron tap posted to {@code /v1/observations} in one request (within the default body limit),
 * and 256 predictions of the synthetic wide
 * model (a 16,384-channel tap reduced in-graph) captured by the packaged inference service at its 256 MB heap.
 * Every observation is stored, and every record Kafka holds is under the producer's {@code max.request.size}: a
 * batch of 256 observations of 16,384 neurons is 16 MB, split into records that fit. Such taps have their layer
 * statistic: block 0's records carry each observation's projections, and the stored tap's feature sums are the whole
 * observations'.
 */
class WideTapCaptureTest {

    private static final String TOPIC = "wide.activations";
    private static final int OBSERVATIONS = 256;
    private static final int MAX_REQUEST_SIZE = 1_048_576;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void everyObservationOfAWideTapIsStoredAndEveryRecordFits() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String db = infra.newDatabase("wide");
        Path wideModel = Path.of(System.getProperty("nd.services.dir", "../..")).resolve(
                "tooling/model-builder/target/wide-16384/saved_model").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(wideModel.resolve("saved_model.pb")), wideModel + " is built by the model "
                + "builder (./mvnw verify builds it)");
        Map<String, String> env = ServiceProcess.isolated(db, "wide");
        env.putAll(ServiceProcess.model(wideModel.toString()));
        String obsModel = "wide-obs-" + UUID.randomUUID().toString().substring(0, 8);
        try (ServiceProcess aggregator = ServiceProcess.start("aggregator", env, List.of(), "wide-aggregator");
                ServiceProcess inference = ServiceProcess.start("inference", env, List.of(), "wide-inference")) {
            aggregator.awaitReady(Duration.ofSeconds(120));
            inference.awaitReady(Duration.ofSeconds(180));

            // 256 observations of both taps in one request: about 21 MB of JSON, 5.2 million activations
            HttpResponse<String> recorded = HTTP.send(HttpRequest.newBuilder(URI.create(inference.baseUrl()
                    + "/v1/observations")).header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                    .POST(HttpRequest.BodyPublishers.ofString(observations(obsModel))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(202, recorded.statusCode(), recorded.body());
            assertTrue(recorded.body().contains("\"accepted\":" + OBSERVATIONS), recorded.body());

            // 256 predictions of the wide model, eight requests of 32 inputs of 7 x 7 x 512
            Random random = new Random(16_384);
            for (int r = 0; r < OBSERVATIONS / 32; r++) {
                HttpResponse<String> predicted = HTTP.send(HttpRequest.newBuilder(URI.create(inference.baseUrl()
                        + "/v1/predict")).header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                        .POST(HttpRequest.BodyPublishers.ofString(predictions(random, 32))).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, predicted.statusCode(), predicted.body());
                assertEquals(32, predicted.body().split("\"capture\":\"queued\"", -1).length - 1, predicted.body());
            }

            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(db);
            ds.setUser(TestInfrastructure.DB_USER);
            ds.setPassword(TestInfrastructure.DB_PASSWORD);
            TapWindowStore store = new TapWindowStore(ds);
            TapDistribution wide4 = awaitStored(store, obsModel, "1", "t4096", 4_096);
            TapDistribution wide16 = awaitStored(store, obsModel, "1", "t16384", 16_384);
            // the layer statistic of a tap stored in blocks: block 0 summed the projections the inference service
            // sent with it, which are those of the whole observations (a dense map at 4,096, a sparse one beyond)
            assertLayerSums(wide4, obsModel, "t4096", 4_096);
            assertLayerSums(wide16, obsModel, "t16384", 16_384);
            // every neuron saw every observation, each value once
            double sum = 0;
            for (int i = 0; i < OBSERVATIONS; i++) {
                sum += value(i, 16_383);
            }
            assertEquals(OBSERVATIONS, wide16.neuron(16_383).count());
            assertEquals(sum, wide16.neuron(16_383).sum(), 1e-9);
            String version = modelVersion(wideModel);
            TapDistribution captured = awaitStored(store, "wide-16384", version, "wide", 16_384);
            assertTrue(captured.neuron(0).max() >= 0 && captured.neuron(0).count() == OBSERVATIONS);
            assertNotNull(captured.features(), "predictions of a served wide tap have their layer sums");
            assertEquals(OBSERVATIONS, captured.features().count() + captured.features().nonFinite());
        }

        // what Kafka holds: every record under the producer's limit, and every observation in one of them for each
        // block of 1,024 neurons (capture sends a wider tap one record per block)
        Map<String, Integer> expected = new HashMap<>();
        for (String[] tap : new String[][] {{obsModel + "/t4096", "4"}, {obsModel + "/t16384", "16"},
                {"wide-16384/wide", "16"}}) {
            for (int block = 0; block < Integer.parseInt(tap[1]); block++) {
                expected.put(tap[0] + "#" + block * 1024, OBSERVATIONS);
            }
        }
        int total = expected.values().stream().mapToInt(Integer::intValue).sum();
        Map<String, Integer> seen = new HashMap<>();
        int records = 0;
        int largest = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                "bootstrap.servers", infra.kafkaBootstrapServers(), "group.id", "wide-" + UUID.randomUUID(),
                "auto.offset.reset", "earliest", "key.deserializer", ByteArrayDeserializer.class.getName(),
                "value.deserializer", ByteArrayDeserializer.class.getName()))) {
            c.subscribe(List.of(TOPIC));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (seen.values().stream().mapToInt(Integer::intValue).sum() < total
                    && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    records++;
                    largest = Math.max(largest, r.serializedValueSize());
                    assertTrue(r.serializedKeySize() + r.serializedValueSize() < MAX_REQUEST_SIZE, "record of "
                            + r.serializedValueSize() + " bytes");
                    ActivationBatch b = ActivationBatch.parseFrom(r.value());
                    seen.merge(b.getModelId() + "/" + b.getTap() + "#" + b.getNeuronOffset(),
                            b.getObservationsCount(), Integer::sum);
                }
            }
        }
        assertEquals(expected, seen);
        // 256 x 16,384 floats (16.8 MB) cannot travel in fewer than 17 records of at most 1 MB: both wide taps were
        // split, and no record was refused on the way (every observation arrived)
        assertTrue(records >= 2 * 17, records + " records, the largest " + largest + " bytes");
        System.out.printf("wide taps: %d records, the largest %d bytes%n", records, largest);
    }

    /**
     * The stored tap's layer feature sums are its observations' through the whole tap's map, and the layer statistic
     * reads them (available, and no drift of the tap against itself).
     */
    private static void assertLayerSums(TapDistribution stored, String model, String tap, int neurons) {
        assertNotNull(stored.features(), model + "/" + tap + " has no layer feature sums");
        assertEquals(neurons, stored.featureNeurons());
        RandomFeatureMap map = FeatureMaps.of(LayerFeatures.seed(model, tap, 0, neurons).orElseThrow(), neurons,
                null);
        FeatureSums expected = new FeatureSums(map.bandwidths());
        double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
        for (int i = 0; i < OBSERVATIONS; i++) {
            float[] row = new float[neurons];
            for (int n = 0; n < neurons; n++) {
                row[n] = value(i, n);
            }
            expected.add(map, row, scratch);
        }
        assertEquals(expected.count(), stored.features().count());
        double[] e = expected.sums();
        double[] a = stored.features().sums();
        for (int i = 0; i < e.length; i++) {
            // projections travel as floats: each of 256 angles is off by float rounding at most
            assertEquals(e[i], a[i], 1e-2, tap + " sum " + i);
        }
        TapDescriptor layout = new TapDescriptor(model, "1", tap, 0, new int[] {neurons}, neurons,
                ai.neuraldivergence.domain.Reduction.NONE, 1_024, null);
        LayerDrift same = LayerDrift.of(layout, stored, stored, 0.01, LayerDrift.DEFAULT_MINIMUM_EFFECT);
        assertTrue(same.available() && !same.drifted(), same.toString());
    }

    static float value(int observation, int neuron) {
        return ((observation * 31 + neuron * 7) % 100) / 8f;
    }

    private static String observations(String model) {
        StringBuilder json = new StringBuilder(24_000_000);
        json.append("{\"modelId\": \"").append(model).append("\", \"modelVersion\": \"1\", \"taps\": [")
                .append("{\"name\": \"t4096\", \"index\": 0, \"shape\": [4096]},")
                .append("{\"name\": \"t16384\", \"index\": 1, \"shape\": [16384]}], \"observations\": [");
        for (int i = 0; i < OBSERVATIONS; i++) {
            json.append(i == 0 ? "" : ",").append("{\"predictedClass\": ").append(i % 10)
                    .append(", \"activations\": {\"t4096\": [");
            for (int n = 0; n < 4_096; n++) {
                json.append(n == 0 ? "" : ",").append(value(i, n));
            }
            json.append("], \"t16384\": [");
            for (int n = 0; n < 16_384; n++) {
                json.append(n == 0 ? "" : ",").append(value(i, n));
            }
            json.append("]}}");
        }
        return json.append("]}").toString();
    }

    private static String predictions(Random random, int count) {
        StringBuilder json = new StringBuilder(count * 25_088 * 6).append("{\"instances\": [");
        for (int i = 0; i < count; i++) {
            json.append(i == 0 ? "" : ",").append("{\"pixels\": [");
            for (int p = 0; p < 7 * 7 * 512; p++) {
                json.append(p == 0 ? "" : ",").append(random.nextInt(100) / 100f);
            }
            json.append("]}");
        }
        return json.append("]}").toString();
    }

    private static String modelVersion(Path savedModel) throws Exception {
        String manifest = Files.readString(savedModel.getParent().resolve("manifest.json"));
        int at = manifest.indexOf("\"modelVersion\"");
        int start = manifest.indexOf('"', manifest.indexOf(':', at) + 1) + 1;
        return manifest.substring(start, manifest.indexOf('"', start));
    }

    /** The tap's minutes merged, once they hold every observation. */
    private static TapDistribution awaitStored(TapWindowStore store, String model, String version, String tap,
            int neurons) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        TapDistribution merged = new TapDistribution(neurons, 200);
        while (System.nanoTime() < deadline) {
            merged = new TapDistribution(neurons, 200);
            for (var w : store.read(model, version, tap, Slice.ALL, Granularity.MINUTE,
                    Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofHours(1)))) {
                merged.merge(w.distribution());
            }
            if (merged.observationCount() >= OBSERVATIONS) {
                break;
            }
            Thread.sleep(500);
        }
        assertEquals(OBSERVATIONS, merged.observationCount(), model + "/" + tap);
        return merged;
    }
}
