package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.ListReferencesResponse;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.ReferenceState;
import ai.neuraldivergence.testkit.TestInfrastructure;
import ai.neuraldivergence.testkit.TopicRecords;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * A sealed reference never changes. Against the packaged services with two inference instances (as the chart runs
 * them): the served model version's layout is stored before its first prediction; an interrupted replay leaves "training" building (listed with its age); the replay command deletes it,
 * builds it through one instance and seals it. Afterwards reference-tagged requests get 409 naming the reference from
 * both instances (the second learns the seal from the seal topic), a tagged record written straight into Kafka is
 * dead-lettered with {@code reference-sealed}, and the reference's count and every stored row stay as they were; its
 * calibration sample holds the rebuilt reference's observations only, and an aggregator computes its layer nulls in
 * the background, after which Compare against it reads a resampled null and no tap is calibrating; the mean KS's
 * null is stored beside each, resampled from the members' neuron values where the tap is stored as one block. A reference
 * frozen from a time range is sealed at creation and refused alike; deleting it clears its seal.
 */
class SealedReferenceTest {

    private static final String TOKEN = "sealed-reference-test-token";
    private static final String ACTIVATIONS = "sealed.activations";
    private static final String DEAD_LETTERS = "sealed.activations.dlq";
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final int REPLAYED = 256;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void aSealedReferenceNeverChanges() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String db = infra.newDatabase("sealed");
        Map<String, String> env = ServiceProcess.isolated(db, "sealed");
        env.putAll(ServiceProcess.model(System.getProperty("nd.model.path")));
        env.put("ND_INFERENCE_AUTH_TOKENS", "replay:" + TOKEN);
        env.put("ND_COMPARISON_AUTH_TOKENS", "replay:" + TOKEN);
        try (Services services = new Services()) {
            ServiceProcess aggregator = services.start("aggregator", env, "sealed-aggregator");
            ServiceProcess first = services.start("inference", env, "sealed-inference-1");
            ServiceProcess second = services.start("inference", env, "sealed-inference-2");
            aggregator.awaitReady(STARTUP);
            ServiceProcess comparison = services.startComparison(env, "sealed-comparison");
            first.awaitReady(STARTUP);
            second.awaitReady(STARTUP);
            comparison.awaitReady(STARTUP);
            String model = field(get(first, "/v1/model").body(), "modelId");
            String version = field(get(first, "/v1/model").body(), "modelVersion");

            // before any prediction, the served model version's layout is stored: inference declared it at start
            assertEquals(5, awaitDeclaredTaps(comparison, model, version));

            // an interrupted replay: some training digits tagged, never sealed
            assertEquals(200, predict(first, "training", 3).statusCode());
            Reference interrupted = awaitReference(comparison, model, "training",
                    r -> r.getObservationCount() == 3);
            assertEquals(ReferenceState.REFERENCE_STATE_BUILDING, interrupted.getState());

            // the run command's replay deletes it, builds it anew through one instance and seals it
            Process replay = replay(first, comparison);
            String output = new String(replay.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(replay.waitFor(120, TimeUnit.SECONDS), output);
            assertEquals(0, replay.exitValue(), output);
            assertTrue(output.contains("was left building"), output);
            assertTrue(output.contains("is sealed with " + REPLAYED + " observations"), output);
            Reference training = reference(comparison, model, "training");
            assertEquals(ReferenceState.REFERENCE_STATE_SEALED, training.getState());
            assertEquals(REPLAYED, training.getObservationCount(), "the interrupted replay's observations are gone");
            assertEquals(REPLAYED, training.getExpectedObservations());
            assertEquals(0, training.getShortfall());
            assertEquals(version, training.getModelVersion());
            assertTrue(training.hasSealedAt());
            Map<String, String> rows = storedRows(db, "training");
            assertTrue(rows.size() >= 5, rows.toString());
            // its calibration sample holds the replayed observations only: the deleted one's went with it
            Map<String, Long> samples = sampleSizes(db, "training");
            assertEquals(5, samples.size(), samples.toString());
            assertTrue(samples.values().stream().allMatch(n -> n == REPLAYED), samples.toString());

            // both instances refuse tagged requests for it; the second one learnt the seal from the seal topic
            for (ServiceProcess instance : List.of(first, second)) {
                HttpResponse<String> refused = awaitStatus(() -> predict(instance, "training", 1), 409);
                assertTrue(refused.body().contains("reference 'training' of model " + model + " version " + version
                        + " is sealed"), refused.body());
            }
            // untagged traffic flows as before (it also gives the frozen reference below a time range)
            assertEquals(200, predict(first, null, 40).statusCode());

            // after the seal an aggregator computes the reference's layer nulls in the background: comparisons
            // against it then read a null resampled from its calibration sample, and stop saying calibrating
            ai.neuraldivergence.proto.v1.CompareResponse compared = awaitLayerNullsStored(comparison, model, version);
            assertTrue(compared.getTapsList().stream().anyMatch(t -> t.getSummary().getLayer().getNullResampled()),
                    compared.toString());
            // and, stored with each, the mean KS's null (calibrated KS monitors'): resampled from the sampled
            // members' neuron values where the tap is stored as one block (all 256 keep them), none for a wider one
            Map<String, String> meanKs = meanKsNulls(db, "training");
            assertEquals(5, meanKs.size(), meanKs.toString());
            assertTrue(meanKs.values().stream().anyMatch(v -> v.equals("one block: 256 values, 256 resampled, "
                    + "bucket 16")), meanKs.toString());
            assertTrue(meanKs.values().stream().allMatch(v -> v.equals("one block: 256 values, 256 resampled, "
                    + "bucket 16") || v.equals("several blocks: 0 values, 0 resampled, no bucket")), meanKs.toString());

            // a tagged record written straight into Kafka is dead-lettered, and nothing changes
            Map<String, String> layout = tapLayout(get(first, "/v1/model").body());
            sendStraightToKafka(infra, model, version, layout, "training");
            awaitSealedDeadLetter("training");
            awaitRecentObservation(db, "straight-untagged");
            assertEquals(rows, storedRows(db, "training"), "every stored row of the sealed reference is unchanged");
            assertEquals(REPLAYED, reference(comparison, model, "training").getObservationCount());

            // a reference frozen from a time range is sealed when created, and refused alike
            awaitStatus(() -> createFrozen(comparison, model, version), 201);
            Reference frozen = reference(comparison, model, "frozen");
            assertEquals(ReferenceState.REFERENCE_STATE_SEALED, frozen.getState());
            Map<String, String> frozenRows = storedRows(db, "frozen");
            HttpResponse<String> refused = awaitStatus(() -> predict(second, "frozen", 1), 409);
            assertTrue(refused.body().contains("reference 'frozen'"), refused.body());
            sendStraightToKafka(infra, model, version, layout, "frozen");
            awaitSealedDeadLetter("frozen");
            assertEquals(frozenRows, storedRows(db, "frozen"));

            // deleting it clears its seal: the name may be built again
            HttpResponse<String> deleted = send(comparison, HttpRequest.newBuilder(uri(comparison,
                    "/api/v1/references/" + model + "/frozen")).DELETE());
            assertEquals(200, deleted.statusCode(), deleted.body());
            awaitStatus(() -> predict(second, "frozen", 1), 200);
        }
    }

    /**
     * Compare of "training" against the last minutes, once no tap's layer statistic is calibrating any more (the
     * stored nulls are read within seconds of their computing; the aggregator looks for due ones every 15 s).
     */
    private static ai.neuraldivergence.proto.v1.CompareResponse awaitLayerNullsStored(ServiceProcess comparison,
            String model, String version) throws Exception {
        Instant now = Instant.now();
        String json = "{\"modelId\":\"" + model + "\",\"modelVersion\":\"" + version + "\",\"a\":{\"reference\":"
                + "\"training\"},\"b\":{\"timeRange\":{\"from\":\"" + now.minus(Duration.ofMinutes(10)) + "\",\"to\":\""
                + now.plus(Duration.ofMinutes(5)) + "\"}}}";
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = send(comparison, HttpRequest.newBuilder(uri(comparison, "/api/v1/compare"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)));
            last = r.body();
            if (r.statusCode() == 200) {
                ai.neuraldivergence.proto.v1.CompareResponse.Builder out = ai.neuraldivergence.proto.v1
                        .CompareResponse.newBuilder();
                JsonFormat.parser().merge(r.body(), out);
                boolean layers = out.getTapsList().stream().anyMatch(t -> t.getSummary().getLayer().getAvailable());
                if (layers && out.getTapsList().stream().noneMatch(t -> t.getSummary().getLayer().getCalibrating())) {
                    return out.build();
                }
            }
            Thread.sleep(1_000);
        }
        throw new AssertionError("the layer nulls of reference training were not stored within 2 minutes: " + last);
    }

    /** The replay command as the run command starts it: its own process, the token in its environment. */
    private static Process replay(ServiceProcess inference, ServiceProcess comparison) throws IOException {
        Path traffic = Path.of(System.getProperty("nd.services.dir", "../..")).resolve("tooling/traffic/target");
        String jar;
        try (var files = Files.list(traffic)) {
            jar = files.map(Path::toString).filter(f -> f.matches(".*/nd-traffic-[^/]*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("the traffic module is not packaged in " + traffic));
        }
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", traffic.resolve("lib") + "/*" + java.io.File.pathSeparator + jar,
                "ai.neuraldivergence.traffic.TrafficCommand", "replay-reference", "--inference", inference.baseUrl(),
                "--comparison", comparison.baseUrl(), "--name", "training", "--limit", Integer.toString(REPLAYED))
                .redirectErrorStream(true);
        pb.environment().put("ND_TOKEN", TOKEN);
        return pb.start();
    }

    private static HttpResponse<String> predict(ServiceProcess inference, String reference, int count)
            throws IOException, InterruptedException {
        StringBuilder body = new StringBuilder("{\"instances\":[");
        for (int i = 0; i < count; i++) {
            body.append(i == 0 ? "" : ",").append("{\"pixels\":[");
            for (int p = 0; p < 784; p++) {
                body.append(p == 0 ? "" : ",").append((p * 7 + i) % 10 / 10.0);
            }
            body.append("],\"trueLabel\":").append(i % 10).append('}');
        }
        body.append("]").append(reference == null ? "" : ",\"tags\":{\"reference\":\"" + reference + "\"}")
                .append('}');
        return send(inference, HttpRequest.newBuilder(uri(inference, "/v1/predict"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        body.toString())));
    }

    private static HttpResponse<String> createFrozen(ServiceProcess comparison, String model, String version)
            throws IOException, InterruptedException {
        Instant now = Instant.now();
        String json = "{\"name\":\"frozen\",\"modelId\":\"" + model + "\",\"modelVersion\":\"" + version
                + "\",\"range\":{\"from\":\"" + now.minus(Duration.ofMinutes(10)) + "\",\"to\":\""
                + now.plus(Duration.ofMinutes(2)) + "\"}}";
        return send(comparison, HttpRequest.newBuilder(uri(comparison, "/api/v1/references"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    private static HttpResponse<String> get(ServiceProcess service, String path) throws IOException,
            InterruptedException {
        return send(service, HttpRequest.newBuilder(uri(service, path)).GET());
    }

    private static HttpResponse<String> send(ServiceProcess service, HttpRequest.Builder request)
            throws IOException, InterruptedException {
        return HTTP.send(request.header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static URI uri(ServiceProcess service, String path) {
        return URI.create(service.baseUrl() + path);
    }

    private interface Call {
        HttpResponse<String> call() throws Exception;
    }

    /** Repeats a call until it answers {@code status}: what another instance learns, it learns within seconds. */
    private static HttpResponse<String> awaitStatus(Call call, int status) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        HttpResponse<String> last;
        do {
            last = call.call();
            if (last.statusCode() == status) {
                return last;
            }
            Thread.sleep(500);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("expected " + status + ", still " + last.statusCode() + ": " + last.body());
    }

    private static Reference reference(ServiceProcess comparison, String model, String name) throws Exception {
        HttpResponse<String> r = get(comparison, "/api/v1/references?model_id=" + model);
        assertEquals(200, r.statusCode(), r.body());
        ListReferencesResponse.Builder list = ListReferencesResponse.newBuilder();
        JsonFormat.parser().merge(r.body(), list);
        return list.getReferencesList().stream().filter(x -> x.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no reference " + name + " in " + r.body()));
    }

    private static Reference awaitReference(ServiceProcess comparison, String model, String name,
            java.util.function.Predicate<Reference> done) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        AssertionError last = null;
        while (System.nanoTime() < deadline) {
            try {
                Reference r = reference(comparison, model, name);
                if (done.test(r)) {
                    return r;
                }
            } catch (AssertionError e) {
                last = e;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("reference " + name + " did not get there", last);
    }

    /** The taps the catalog lists for a model version, once it lists any. */
    private static int awaitDeclaredTaps(ServiceProcess comparison, String model, String version) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get(comparison, "/api/v1/catalog?model_id=" + model);
            if (r.statusCode() == 200) {
                ai.neuraldivergence.proto.v1.Catalog.Builder catalog = ai.neuraldivergence.proto.v1.Catalog
                        .newBuilder();
                JsonFormat.parser().merge(r.body(), catalog);
                var taps = catalog.getModelsList().stream().flatMap(m -> m.getVersionsList().stream())
                        .filter(v -> v.getModelVersion().equals(version)).mapToInt(v -> v.getTapsCount()).max();
                if (taps.isPresent() && taps.getAsInt() > 0) {
                    return taps.getAsInt();
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the served model version " + version + " is not in the catalog");
    }

    /** Every stored row of a reference: tap and slice, with its count, seal and a digest of its distributions. */
    /** Waits until the aggregator has stored an observation of {@code instance}: it was aggregated, not refused. */
    private static void awaitRecentObservation(String db, String instance) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                    TestInfrastructure.DB_PASSWORD); java.sql.PreparedStatement ps = c.prepareStatement(
                            "SELECT count(*) FROM recent_observation WHERE instance_id = ?")) {
                ps.setString(1, instance);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        return;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("observation " + instance + " was not aggregated within 60 s");
            }
            Thread.sleep(200);
        }
    }

    private static Map<String, String> storedRows(String db, String name) throws Exception {
        Map<String, String> out = new java.util.TreeMap<>();
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT tap, slice, observation_count, md5(distributions), "
                        + "sealed_at, updated_at FROM reference_distribution WHERE name = '" + name + "'")) {
            while (rs.next()) {
                out.put(rs.getString(1) + "/" + rs.getString(2), rs.getLong(3) + " " + rs.getString(4) + " "
                        + rs.getTimestamp(5) + " " + rs.getTimestamp(6));
            }
        }
        return out;
    }

    /**
     * Per tap of a reference: whether it is stored as one block, how many of its sampled members keep neuron values,
     * and its stored mean-KS null's sample size and first bucket.
     */
    private static Map<String, String> meanKsNulls(String db, String name) throws Exception {
        Map<String, String> out = new java.util.TreeMap<>();
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD); java.sql.PreparedStatement ps = c.prepareStatement("SELECT n.tap, "
                        + "t.neuron_count <= t.block_size, (SELECT count(*) FROM calibration_sample s WHERE "
                        + "s.reference = n.reference AND s.tap = n.tap AND s.activations IS NOT NULL), n.sample_size, "
                        + "n.quantiles[1] FROM layer_null n JOIN tap t USING (model_id, model_version, tap) WHERE "
                        + "n.reference = ? AND n.statistic = 'mean_ks' AND n.computed_at IS NOT NULL")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    double bucket = rs.getDouble(5);
                    out.put(rs.getString(1), (rs.getBoolean(2) ? "one block" : "several blocks") + ": "
                            + rs.getLong(3) + " values, " + rs.getInt(4) + " resampled, "
                            + (rs.wasNull() ? "no bucket" : "bucket " + (int) bucket));
                }
            }
        }
        return out;
    }

    /** Per tap, the observations in a reference's calibration sample. */
    private static Map<String, Long> sampleSizes(String db, String name) throws Exception {
        Map<String, Long> out = new java.util.TreeMap<>();
        try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                TestInfrastructure.DB_PASSWORD); java.sql.PreparedStatement ps = c.prepareStatement("SELECT tap, "
                        + "count(*) FROM calibration_sample WHERE reference = ? GROUP BY tap")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        return out;
    }

    private static final Pattern TAP = Pattern.compile("\\{\"name\":\"([^\"]+)\",\"index\":(\\d+),\"shape\":\\["
            + "([0-9,]+)\\],\"reduction\":\"(\\w+)\"}");

    /** The served model's first rank-2 tap as GET /v1/model lists it: name, index, neurons. */
    private static Map<String, String> tapLayout(String model) {
        Matcher m = TAP.matcher(model);
        while (m.find()) {
            if (!m.group(3).contains(",")) {
                return Map.of("name", m.group(1), "index", m.group(2), "neurons", m.group(3), "reduction",
                        m.group(4));
            }
        }
        throw new AssertionError("no rank-2 tap in " + model);
    }

    private static void sendStraightToKafka(TestInfrastructure infra, String model, String version,
            Map<String, String> tap, String reference) throws Exception {
        int neurons = Integer.parseInt(tap.get("neurons"));
        ActivationBatch.Builder batch = ActivationBatch.newBuilder().setModelId(model).setModelVersion(version)
                .setTap(tap.get("name")).setTapIndex(Integer.parseInt(tap.get("index"))).addTapShape(neurons)
                .setNeuronCount(neurons).setReduction(Reduction.REDUCTION_NONE);
        Instant now = Instant.now();
        batch.addObservations(Observation.newBuilder().setInstanceId("straight-" + reference)
                .setEventTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond())).setPredictedClass(1)
                .putTags("reference", reference));
        // beside it in the same record, as the inference service merges concurrent requests, an untagged one: only
        // the sealed reference's observation is dead-lettered
        batch.addObservations(Observation.newBuilder().setInstanceId("straight-untagged")
                .setEventTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond())).setPredictedClass(1));
        for (int j = 0; j < 2 * neurons; j++) {
            batch.addActivations(100f);
        }
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                "bootstrap.servers", infra.kafkaBootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName()))) {
            producer.send(new ProducerRecord<>(ACTIVATIONS, (model + "/" + tap.get("name")).getBytes(
                    StandardCharsets.UTF_8), batch.build().toByteArray())).get(30, TimeUnit.SECONDS);
        }
    }

    private static void awaitSealedDeadLetter(String reference) {
        TopicRecords.await(DEAD_LETTERS, r -> {
            var error = r.headers().lastHeader("nd-error");
            String reason = error == null ? "" : new String(error.value(), StandardCharsets.UTF_8);
            if (!reason.startsWith("reference-sealed: reference '" + reference + "'")) {
                return false;
            }
            try {
                // the dead letter holds the sealed reference's observations, and only those
                List<String> instances = ActivationBatch.parseFrom(r.value()).getObservationsList().stream()
                        .map(Observation::getInstanceId).toList();
                if (instances.stream().noneMatch(i -> i.startsWith("straight-"))) {
                    return false; // one of the replay's, refused after the seal
                }
                assertEquals(List.of("straight-" + reference), instances, reason);
                return true;
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError("the dead letter is not an ActivationBatch", e);
            }
        }, 1);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + name + " in " + json);
        }
        return m.group(1);
    }
}
