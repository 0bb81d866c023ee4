package ai.neuraldivergence.inference;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.testkit.InfrastructureTestResource;
import ai.neuraldivergence.testkit.TestInfrastructure;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/** Observations posted over HTTP arrive on Kafka as valid ActivationBatch records, one per tap. */
@QuarkusTest
@WithTestResource(InfrastructureTestResource.class)
class ObservationCaptureTest {

    /** A minute ago, to the second: inside the allowed lateness. */
    private static final Instant GIVEN = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(60);

    private static String body(String model, String conv1Activations) {
        return body(model, conv1Activations, GIVEN.toString(), "img-1");
    }

    private static String body(String model, String conv1Activations, String eventTime, String instanceId) {
        return """
            {"modelId": "%s", "modelVersion": "7",
             "taps": [{"name": "conv1", "index": 0, "shape": [4, 4, 2], "reduction": "mean"},
                      {"name": "dense1", "index": 1, "shape": [3]}],
             "observations": [
               {"instanceId": "%s", "eventTime": "%s", "predictedClass": 3, "confidence": 0.9,
                "trueLabel": 5, "tags": {"source": "prod"}, "pairId": "p-1", "pairRole": "attacked",
                "activations": {"conv1": %s, "dense1": [0, 1, 2]}},
               {"predictedClass": 1, "activations": {"conv1": [5, 6], "dense1": [3, 4, 5]}}
             ]}
            """.formatted(model, instanceId, eventTime, conv1Activations);
    }

    @Test
    void observationsArePublishedAsOneBatchPerTap() {
        String model = "cap-" + UUID.randomUUID();
        List<String> ids = given().contentType(ContentType.JSON).body(body(model, "[0.5, 1.5]"))
                .post("/v1/observations").then().statusCode(202).body("accepted", equalTo(2))
                .extract().jsonPath().getList("instanceIds", String.class);
        assertEquals("img-1", ids.get(0));
        assertEquals(36, ids.get(1).length(), "a generated UUID when none is given");

        List<ActivationBatch> batches = consume(model, 2);
        ActivationBatch conv = batches.stream().filter(b -> b.getTap().equals("conv1")).findFirst().orElseThrow();
        assertEquals("7", conv.getModelVersion());
        assertEquals(List.of(4, 4, 2), conv.getTapShapeList());
        assertEquals(2, conv.getNeuronCount());
        assertEquals(Reduction.REDUCTION_MEAN, conv.getReduction());
        assertEquals(List.of(0.5f, 1.5f, 5f, 6f), conv.getActivationsList());
        assertEquals(5, conv.getObservations(0).getTrueLabel());
        assertEquals(PairRole.PAIR_ROLE_ATTACKED, conv.getObservations(0).getPairRole());
        assertEquals("prod", conv.getObservations(0).getTagsMap().get("source"));
        long given = GIVEN.getEpochSecond();
        assertEquals(given, conv.getObservations(0).getEventTime().getSeconds());
        long now = java.time.Instant.now().getEpochSecond();
        assertEquals(now, conv.getObservations(1).getEventTime().getSeconds(), 120, "now when not given");
        ActivationBatch dense = batches.stream().filter(b -> b.getTap().equals("dense1")).findFirst().orElseThrow();
        assertEquals(Reduction.REDUCTION_NONE, dense.getReduction());
        assertEquals(1, dense.getTapIndex());
        batches.forEach(b -> assertEquals(ai.neuraldivergence.proto.v1.BatchOrigin.BATCH_ORIGIN_RECORDED,
                b.getOrigin()));
    }

    /** The model this service serves owns its layout and its traffic: it is never recorded from outside. */
    @Test
    void theServedModelCannotBeRecorded() {
        given().contentType(ContentType.JSON).body(body("mnist-cnn", "[0.5, 1.5]")).post("/v1/observations").then()
                .statusCode(403).body("message", equalTo("model mnist-cnn is served here: its observations come "
                        + "from its own predictions (/v1/predict), not from /v1/observations"));
    }

    @Test
    void nonFiniteActivationsAreDataSpelledAsProtobufJsonSpellsThem() {
        String model = "nonfinite-" + UUID.randomUUID();
        given().contentType(ContentType.JSON).body(body(model, "[\"NaN\", \"-Infinity\"]")).post("/v1/observations")
                .then().statusCode(202).body("accepted", equalTo(2));
        ActivationBatch conv = consume(model, 2).stream().filter(b -> b.getTap().equals("conv1")).findFirst()
                .orElseThrow();
        assertTrue(Float.isNaN(conv.getActivations(0)));
        assertEquals(Float.NEGATIVE_INFINITY, conv.getActivations(1));
    }

    @Test
    void badInputGetsA400ThatSaysWhatWasExpected() {
        given().contentType(ContentType.JSON).body(body("m", "[0.5]")).post("/v1/observations").then()
                .statusCode(400)
                .body("message", equalTo("observations[0].activations['conv1'] must be 2 numbers "
                        + "(one per neuron), got 1"));
        given().contentType(ContentType.JSON).body(body("m", "[\"x\", 1]")).post("/v1/observations").then()
                .statusCode(400).body("message", containsString("malformed JSON"));
        given().contentType(ContentType.JSON).body(body("m", "[null, 1]")).post("/v1/observations").then()
                .statusCode(400).body("message", containsString("null"));
        given().contentType(ContentType.JSON).body(body("", "[1, 2]")).post("/v1/observations").then()
                .statusCode(400).body("message", equalTo("taps[0] ('conv1'): modelId must be 1..128 characters "
                        + "without control characters, got none"));
        // the event-time window: no later than now + 5 minutes, no earlier than now - the allowed lateness
        given().contentType(ContentType.JSON).body(body("m", "[1, 2]", "+295000-01-01T00:00:00Z", "a"))
                .post("/v1/observations").then().statusCode(400)
                .body("message", equalTo("observations[0].eventTime must lie in 0001-01-01..9999-12-31, got "
                        + "+295000-01-01T00:00:00Z"));
        given().contentType(ContentType.JSON).body(body("m", "[1, 2]", "3000-01-01T00:00:00Z", "a"))
                .post("/v1/observations").then().statusCode(400)
                .body("message", startsWith("observations[0].eventTime 3000-01-01T00:00:00Z is more than 5m after"));
        given().contentType(ContentType.JSON).body(body("m", "[1, 2]", Instant.now().minusSeconds(3600).toString(),
                "a")).post("/v1/observations").then().statusCode(400)
                .body("message", containsString("the allowed lateness"));
        given().contentType(ContentType.JSON).body(body("m", "[1, 2]", GIVEN.toString(), "a\\u0000b"))
                .post("/v1/observations").then().statusCode(400)
                .body("message", startsWith("observations[0].instanceId must be 1..128 characters without control"));
        given().contentType(ContentType.JSON).body(body("m", "[1, 2]", GIVEN.toString(), "x".repeat(129)))
                .post("/v1/observations").then().statusCode(400)
                .body("message", endsWith("got 129"));
        // a probability out of [0, 1] was stored and shown as one
        given().contentType(ContentType.JSON).body(body("m", "[1, 2]").replace("\"confidence\": 0.9",
                "\"confidence\": 3")).post("/v1/observations").then().statusCode(400)
                .body("message", equalTo("observations[0].confidence must lie in [0, 1], got 3.0"));
        given().contentType(ContentType.JSON).body("{\"modelId\": \"m\"}").post("/v1/observations").then()
                .statusCode(400).body("message", equalTo("taps must list 1..256 taps"));
        given().contentType(ContentType.JSON).body("{").post("/v1/observations").then().statusCode(400);
    }

    @Test
    void healthMetricsAndOpenApiAreServed() {
        // readiness does not ask Kafka (CaptureOutageTest: ready while Kafka is away)
        Management.given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body(org.hamcrest.Matchers.not(containsString("Kafka")));
        Management.given().get("/q/metrics").then().statusCode(200)
                .body(containsString("nd_capture_observations_shed_total"));
        given().get("/q/openapi").then().statusCode(200).body(containsString("/v1/observations"));
    }

    @Test
    void aTapWiderThanABlockIsSentAsOneRecordPerBlockOnConsecutivePartitions() {
        String model = "cap-wide-" + UUID.randomUUID();
        int neurons = 2_500;
        StringBuilder first = new StringBuilder("[");
        StringBuilder second = new StringBuilder("[");
        for (int n = 0; n < neurons; n++) {
            first.append(n == 0 ? "" : ",").append(n);
            second.append(n == 0 ? "" : ",").append(-n);
        }
        String body = """
            {"modelId": "%s", "modelVersion": "1", "taps": [{"name": "wide", "index": 0, "shape": [%d]}],
             "observations": [{"instanceId": "w-1", "predictedClass": 1, "activations": {"wide": %s]}},
                              {"instanceId": "w-2", "predictedClass": 2, "activations": {"wide": %s]}}]}
            """.formatted(model, neurons, first, second);
        given().contentType(ContentType.JSON).body(body).post("/v1/observations").then().statusCode(202)
                .body("accepted", equalTo(2));

        List<ConsumerRecord<byte[], byte[]>> records = consumeRecords(model, 3);
        Map<Integer, Integer> partitionOfBlock = new java.util.HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            ActivationBatch b = parse(r);
            int block = b.getNeuronOffset() / 1024;
            assertEquals(model + "/wide/" + block, new String(r.key(), java.nio.charset.StandardCharsets.UTF_8));
            assertEquals(1024, b.getBlockSize(), "the block size is declared");
            assertEquals(neurons, b.getNeuronCount(), "the whole tap's layout");
            int width = Math.min(1024, neurons - b.getNeuronOffset());
            assertEquals(2 * width, b.getActivationsCount(), "only the block's neurons");
            assertEquals((float) b.getNeuronOffset(), b.getActivations(0));
            assertEquals((float) -(b.getNeuronOffset() + width - 1), b.getActivations(2 * width - 1));
            partitionOfBlock.put(block, r.partition());
        }
        assertEquals(java.util.Set.of(0, 1, 2), partitionOfBlock.keySet());
        // the topic has 2 partitions: consecutive blocks go to consecutive partitions
        assertEquals((partitionOfBlock.get(0) + 1) % 2, (int) partitionOfBlock.get(1));
        assertEquals(partitionOfBlock.get(0), partitionOfBlock.get(2));
    }

    private static ActivationBatch parse(ConsumerRecord<byte[], byte[]> r) {
        try {
            return ActivationBatch.parseFrom(r.value());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    private static List<ConsumerRecord<byte[], byte[]>> consumeRecords(String model, int count) {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                "bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "group.id", "test-" + UUID.randomUUID(), "auto.offset.reset", "earliest",
                "key.deserializer", ByteArrayDeserializer.class.getName(),
                "value.deserializer", ByteArrayDeserializer.class.getName()))) {
            c.subscribe(List.of("nd.activations"));
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (parse(r).getModelId().equals(model)) {
                        out.add(r);
                    }
                }
            }
            assertEquals(count, out.size(), "records of " + model);
            return out;
        }
    }

    private static List<ActivationBatch> consume(String model, int count) {
        return consumeRecords(model, count).stream().map(ObservationCaptureTest::parse).toList();
    }
}
