package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import ai.neuraldivergence.testkit.TopicRecords;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Nothing lost, whatever one client sends: a steady stream of observations of one model flows through the packaged
 * inference service while poison of every kind is injected, through inference (each refused with a 400 naming the
 * field) and straight into Kafka (each dead-lettered with its reason, found by its {@code nd-source-*} headers):
 * event times beyond PostgreSQL's and protobuf's ranges and far in the future, NUL and other control characters in
 * every string field of observations and labels, oversized ids and tags, a neuron count over the limit, bytes that
 * are no record, and a record the database refuses (a constraint it violates, injected). NaN and infinities are
 * data, not poison. At the end the model holds exactly what was sent plus those observations, and the catalog of
 * every model still answers.
 */
class PoisonRecordTest {

    private static final String MODEL = "steady";
    private static final int NEURONS = 16;
    private static final int REQUESTS = 50;
    private static final int PER_REQUEST = 20;
    private static final int NON_FINITE = 10;
    private static final String ACTIVATIONS = "poison.activations";
    private static final String LABELS = "poison.labels";
    private static final String DEAD_LETTERS = "poison.activations.dlq";
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** Exactly representable: sums do not depend on the order they are added in. */
    static float value(int observation, int neuron) {
        return ((observation * 13 + neuron * 7) % 32) / 4f;
    }

    @Test
    void poisonOfEveryKindCostsNothingButItself() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String db = infra.newDatabase("poison");
        Map<String, String> env = ServiceProcess.isolated(db, "poison");
        env.putAll(ServiceProcess.model(System.getProperty("nd.model.path")));
        try (Services services = new Services()) {
            ServiceProcess aggregator = services.start("aggregator", env, "poison-aggregator");
            ServiceProcess inference = services.start("inference", env, "poison-inference");
            aggregator.awaitReady(STARTUP);
            ServiceProcess comparison = services.startComparison(env, "poison-comparison");
            inference.awaitReady(STARTUP);
            comparison.awaitReady(STARTUP);
            // a record the database refuses: what validation cannot foresee (a constraint it violates)
            try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                    TestInfrastructure.DB_PASSWORD); Statement s = c.createStatement()) {
                s.execute("ALTER TABLE recent_observation ADD CONSTRAINT poison_test CHECK "
                        + "(instance_id <> 'poison-flush')");
            }

            List<Refusal> refusals = edgePoison();
            Map<String, KafkaPoison> sentToKafka = new LinkedHashMap<>();
            int refused = 0;
            try (KafkaProducer<byte[], byte[]> producer = producer(infra)) {
                List<KafkaPoison> kafkaPoison = KafkaPoison.everyKind(ACTIVATIONS, LABELS, MODEL, "dense", NEURONS,
                        "poison-flush");
                for (int r = 0; r < REQUESTS; r++) {
                    HttpResponse<String> ok = post(inference, "/v1/observations", steady(r));
                    assertEquals(202, ok.statusCode(), ok.body());
                    assertTrue(ok.body().contains("\"accepted\":" + PER_REQUEST), ok.body());
                    // one poisoned request to the edge and one poisoned record to Kafka between steady requests
                    if (r < refusals.size()) {
                        Refusal p = refusals.get(r);
                        HttpResponse<String> no = post(inference, p.path(), p.body());
                        assertEquals(400, no.statusCode(), p.what() + ": " + no.body());
                        assertTrue(no.body().contains(p.field()), p.what() + " names " + p.field() + ": "
                                + no.body());
                        refused++;
                    }
                    if (r < kafkaPoison.size()) {
                        KafkaPoison p = kafkaPoison.get(r);
                        RecordMetadata at = producer.send(new ProducerRecord<>(p.topic(),
                                p.key().getBytes(StandardCharsets.UTF_8), p.value())).get(30, TimeUnit.SECONDS);
                        sentToKafka.put(p.topic() + "/" + at.partition() + "/" + at.offset(), p);
                    }
                    Thread.sleep(200);
                }
                // as data, not poison: NaN and infinities, through the edge and straight into Kafka
                HttpResponse<String> nan = post(inference, "/v1/observations", nonFinite());
                assertEquals(202, nan.statusCode(), nan.body());
                producer.send(new ProducerRecord<>(ACTIVATIONS, MODEL.getBytes(StandardCharsets.UTF_8),
                        nonFiniteBatch().toByteArray())).get(30, TimeUnit.SECONDS);
            }
            assertEquals(refusals.size(), refused);

            // every record sent straight to Kafka is dead-lettered, with its reason, once found by its origin
            List<ConsumerRecord<byte[], byte[]>> letters = TopicRecords.await(DEAD_LETTERS, r -> true,
                    sentToKafka.size());
            Map<String, String> reasons = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> letter : letters) {
                reasons.put(header(letter, "nd-source-topic") + "/" + header(letter, "nd-source-partition") + "/"
                        + header(letter, "nd-source-offset"), header(letter, "nd-error"));
            }
            for (Map.Entry<String, KafkaPoison> e : sentToKafka.entrySet()) {
                String reason = reasons.get(e.getKey());
                assertTrue(reason != null, e.getValue().what() + " (" + e.getKey() + ") is dead-lettered");
                assertTrue(reason.contains(e.getValue().reason()), e.getValue().what() + ": " + reason);
            }
            assertEquals(sentToKafka.size(), letters.size(), "one dead letter per poisoned record");

            // the model holds exactly the steady stream and the non-finite observations
            long expected = (long) REQUESTS * PER_REQUEST + 2 * NON_FINITE;
            TapDistribution stored = awaitStored(db, expected);
            assertEquals(expected, stored.observationCount());
            double sum = 0;
            for (int i = 0; i < REQUESTS * PER_REQUEST; i++) {
                sum += value(i, 0);
            }
            NeuronDistribution first = stored.neuron(0);
            assertEquals(expected, first.count(), "neuron 0 is finite in every observation");
            assertEquals(sum + 2 * NON_FINITE * 1.0, first.sum(), 1e-9);
            assertEquals(2 * NON_FINITE, stored.neuron(3).nanCount());
            assertEquals(2 * NON_FINITE, stored.neuron(4).positiveInfinityCount());
            assertEquals(2 * NON_FINITE, stored.neuron(5).negativeInfinityCount());
            assertEquals(REQUESTS * PER_REQUEST, stored.neuron(3).count(), "count is the finite values");

            // and the catalog of every model answers, over gRPC and over the JSON mirror the UI calls first
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port())
                    .usePlaintext().build();
            try {
                Catalog catalog = ComparisonServiceGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(30, TimeUnit.SECONDS).getCatalog(GetCatalogRequest.getDefaultInstance());
                List<String> models = catalog.getModelsList().stream().map(m -> m.getModelId()).toList();
                // the served model is there too: inference declared its layout at start (no observations)
                assertEquals(java.util.Set.of("mnist-cnn", MODEL), java.util.Set.copyOf(models),
                        "no poisoned model was stored");
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            HttpResponse<String> json = HTTP.send(HttpRequest.newBuilder(URI.create(comparison.baseUrl()
                    + "/api/v1/catalog")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, json.statusCode(), json.body());
            assertTrue(json.body().contains("\"modelId\":\"" + MODEL + "\""), json.body());
        }
    }

    // ---------------------------------------------------------------- the steady stream and the non-finite data

    private static String steady(int request) {
        StringBuilder observations = new StringBuilder();
        for (int k = 0; k < PER_REQUEST; k++) {
            int i = request * PER_REQUEST + k;
            StringBuilder values = new StringBuilder();
            for (int n = 0; n < NEURONS; n++) {
                values.append(n == 0 ? "" : ",").append(value(i, n));
            }
            observations.append(k == 0 ? "" : ",").append("{\"instanceId\": \"s-").append(i)
                    .append("\", \"predictedClass\": ").append(i % 10).append(", \"tags\": {\"source\": \"prod\"}, ")
                    .append("\"activations\": {\"dense\": [").append(values).append("]}}");
        }
        return request("[" + observations + "]");
    }

    private static String request(String observations) {
        return "{\"modelId\": \"" + MODEL + "\", \"modelVersion\": \"1\", \"taps\": [{\"name\": \"dense\", "
                + "\"index\": 0, \"shape\": [" + NEURONS + "]}], \"observations\": " + observations + "}";
    }

    /** Neuron 0 holds 1, neuron 3 NaN, 4 +Inf, 5 -Inf, the rest 0.5: as protobuf's JSON spells them. */
    private static String nonFinite() {
        StringBuilder observations = new StringBuilder();
        for (int k = 0; k < NON_FINITE; k++) {
            StringBuilder values = new StringBuilder("1");
            for (int n = 1; n < NEURONS; n++) {
                values.append(',').append(switch (n) {
                    case 3 -> "\"NaN\"";
                    case 4 -> "\"Infinity\"";
                    case 5 -> "\"-Infinity\"";
                    default -> "0.5";
                });
            }
            observations.append(k == 0 ? "" : ",").append("{\"instanceId\": \"nan-").append(k)
                    .append("\", \"predictedClass\": 1, \"activations\": {\"dense\": [").append(values).append("]}}");
        }
        return request("[" + observations + "]");
    }

    private static ActivationBatch nonFiniteBatch() {
        ActivationBatch.Builder b = KafkaPoison.header(MODEL, "dense", NEURONS);
        for (int k = 0; k < NON_FINITE; k++) {
            b.addObservations(KafkaPoison.observation("kafka-nan-" + k));
            for (int n = 0; n < NEURONS; n++) {
                b.addActivations(switch (n) {
                    case 0 -> 1f;
                    case 3 -> Float.NaN;
                    case 4 -> Float.POSITIVE_INFINITY;
                    case 5 -> Float.NEGATIVE_INFINITY;
                    default -> 0.5f;
                });
            }
        }
        return b.build();
    }

    // ---------------------------------------------------------------- poison through the edge

    record Refusal(String what, String path, String body, String field) {
    }

    /** Requests the inference service must refuse with a 400 naming the field, before anything is queued. */
    private static List<Refusal> edgePoison() {
        List<Refusal> out = new ArrayList<>();
        out.add(observationRefusal("an event time beyond PostgreSQL and protobuf", o -> o.replace("$TIME",
                "+295000-01-01T00:00:00Z"), "observations[0].eventTime"));
        out.add(observationRefusal("an event time far in the future", o -> o.replace("$TIME", "3000-01-01T00:00:00Z"),
                "observations[0].eventTime"));
        out.add(observationRefusal("an event time past the allowed lateness", o -> o.replace("$TIME",
                Instant.now().minusSeconds(7200).toString()), "the allowed lateness"));
        out.add(observationRefusal("NUL in the instance id", o -> o.replace("$ID", "a\\u0000b"),
                "observations[0].instanceId"));
        out.add(observationRefusal("a control character in the instance id", o -> o.replace("$ID", "a\\u0007b"),
                "observations[0].instanceId"));
        out.add(observationRefusal("an oversized instance id", o -> o.replace("$ID", "x".repeat(129)),
                "observations[0].instanceId"));
        out.add(observationRefusal("NUL in a tag key", o -> o.replace("$TAGS", "{\"k\\u0000\": \"v\"}"),
                "observations[0].tags"));
        out.add(observationRefusal("NUL in a tag value", o -> o.replace("$TAGS", "{\"source\": \"p\\u0000\"}"),
                "observations[0].tags[\\\"source\\\"]"));
        out.add(observationRefusal("an oversized tag value", o -> o.replace("$TAGS", "{\"source\": \""
                + "v".repeat(257) + "\"}"), "observations[0].tags[\\\"source\\\"]"));
        StringBuilder many = new StringBuilder("{");
        for (int i = 0; i < 33; i++) {
            many.append(i == 0 ? "" : ",").append("\"t").append(i).append("\": \"v\"");
        }
        out.add(observationRefusal("33 tags", o -> o.replace("$TAGS", many + "}"), "observations[0].tags"));
        out.add(observationRefusal("NUL in the pair id", o -> o.replace("\"$PAIR\"",
                "\"p\\u0000\", \"pairRole\": \"benign\""), "observations[0].pairId"));
        out.add(observationRefusal("NUL in the model id", o -> o.replace("\"" + MODEL + "\"", "\"m\\u0000\""),
                "modelId"));
        out.add(observationRefusal("a newline in the model version", o -> o.replace("\"modelVersion\": \"1\"",
                "\"modelVersion\": \"1\\n\""), "modelVersion"));
        out.add(observationRefusal("NUL in the tap name", o -> o.replace("\"dense\"", "\"de\\u0000nse\""),
                "tap must be"));
        out.add(observationRefusal("a neuron count over the limit", o -> o.replace("[" + NEURONS + "]", "[16385]"),
                "neuronCount must be 1..16384"));
        out.add(new Refusal("NUL in a late label's instance id", "/v1/labels",
                "{\"labels\": [{\"instanceId\": \"x\\u0000\", \"trueLabel\": 1}]}", "labels[0].instanceId"));
        out.add(new Refusal("an oversized late label's instance id", "/v1/labels",
                "{\"labels\": [{\"instanceId\": \"" + "x".repeat(129) + "\", \"trueLabel\": 1}]}",
                "labels[0].instanceId"));
        String pixels = "[" + "0,".repeat(783) + "0]";
        out.add(new Refusal("NUL in a prediction's tag", "/v1/predict", "{\"instances\": [{\"pixels\": " + pixels
                + ", \"tags\": {\"source\": \"\\u0000\"}}]}", "instances[0].tags"));
        out.add(new Refusal("NUL in a prediction's instance id", "/v1/predict", "{\"instances\": [{\"pixels\": "
                + pixels + ", \"instanceId\": \"\\u0000\"}]}", "instances[0].instanceId"));
        return out;
    }

    /**
     * One observation posted with {@code poison} applied to the whole request; what the poison left alone takes
     * valid defaults (an id, the event time now, no tags, no pair).
     */
    private static Refusal observationRefusal(String what, UnaryOperator<String> poison, String field) {
        String observation = "{\"instanceId\": \"$ID\", \"eventTime\": \"$TIME\", \"predictedClass\": 1, "
                + "\"tags\": $TAGS, \"pairId\": \"$PAIR\", \"activations\": {\"dense\": ["
                + "1,".repeat(NEURONS - 1) + "1]}}";
        String body = poison.apply(request("[" + observation + "]")).replace("$ID", "poisoned")
                .replace("$TIME", Instant.now().toString()).replace("$TAGS", "{}")
                .replace(", \"pairId\": \"$PAIR\"", "");
        return new Refusal(what, "/v1/observations", body, field);
    }

    // ---------------------------------------------------------------- plumbing

    private static KafkaProducer<byte[], byte[]> producer(TestInfrastructure infra) {
        return new KafkaProducer<>(Map.of("bootstrap.servers", infra.kafkaBootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName(), "acks", "all"));
    }

    private static HttpResponse<String> post(ServiceProcess service, String path, String json) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(service.baseUrl() + path))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        return r.headers().lastHeader(name) == null ? null
                : new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    /** The model's minutes merged, once their count reached {@code expected} and stayed there. */
    private static TapDistribution awaitStored(String db, long expected) throws Exception {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(db);
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        TapWindowStore store = new TapWindowStore(ds);
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        TapDistribution merged = null;
        while (System.nanoTime() < deadline) {
            merged = new TapDistribution(NEURONS, 200);
            for (var w : store.read(MODEL, "1", "dense", Slice.ALL, Granularity.MINUTE,
                    Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofHours(1)))) {
                merged.merge(w.distribution());
            }
            if (merged.observationCount() >= expected) {
                Thread.sleep(2500); // a double count would show in the next flushes
                break;
            }
            Thread.sleep(250);
        }
        merged = new TapDistribution(NEURONS, 200);
        for (var w : store.read(MODEL, "1", "dense", Slice.ALL, Granularity.MINUTE,
                Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofHours(1)))) {
            merged.merge(w.distribution());
        }
        return merged;
    }
}
