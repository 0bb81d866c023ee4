package ai.neuraldivergence.inference;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.datasets.NpmImages;
import ai.neuraldivergence.inference.model.ModelRunner;
import ai.neuraldivergence.inference.model.ServedModel;
import ai.neuraldivergence.inference.service.InputImages;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.BatchOrigin;
import ai.neuraldivergence.proto.v1.CaptureStatus;
import ai.neuraldivergence.proto.v1.InferenceServiceGrpc;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.PredictInstance;
import ai.neuraldivergence.proto.v1.PredictRequest;
import ai.neuraldivergence.proto.v1.PredictResponse;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.testkit.InfrastructureTestResource;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Predictions through the real model, and exactly what reaches Kafka for them. */
@QuarkusTest
@WithTestResource(InfrastructureTestResource.class)
class PredictCaptureTest {

    private static ImageSet heldOut;

    @Inject
    ServedModel model;

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    @BeforeAll
    static void digits() throws Exception {
        heldOut = NpmImages.mnist().split(0.8, 1234).test();
    }

    private static Map<String, Object> instance(int i, String id) {
        Map<String, Object> m = new HashMap<>();
        m.put("pixels", heldOut.image(i));
        m.put("instanceId", id);
        return m;
    }

    @Test
    void kafkaHoldsExactlyThePredictedObservationsInTapAndNeuronOrder() throws Exception {
        String run = UUID.randomUUID().toString();
        List<Map<String, Object>> instances = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            instances.add(instance(i, run + "-" + i));
        }
        instances.get(0).put("trueLabel", heldOut.label(0));
        instances.get(1).put("pairId", "pair-" + run);
        instances.get(1).put("pairRole", "attacked");
        instances.get(2).put("tags", Map.of("source", "canary"));
        Map<String, Object> body = Map.of("instances", instances, "tags", Map.of("source", "prod", "run", run));

        List<Map<String, Object>> predictions = given().contentType(ContentType.JSON)
                .body(new ObjectMapper().writeValueAsString(body)).post("/v1/predict").then().statusCode(200)
                .body("modelId", equalTo("mnist-cnn")).extract().jsonPath().getList("predictions");
        assertEquals(3, predictions.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(run + "-" + i, predictions.get(i).get("instanceId"));
            assertEquals(heldOut.label(i), predictions.get(i).get("predictedClass"), "digit " + i);
            assertEquals("queued", predictions.get(i).get("capture"));
        }

        List<ActivationBatch> batches = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : ai.neuraldivergence.testkit.TopicRecords.await("nd.activations",
                r -> new String(r.value(), java.nio.charset.StandardCharsets.ISO_8859_1).contains(run), 5)) {
            batches.add(ActivationBatch.parseFrom(r.value()));
        }
        assertEquals(5, batches.size(), "one batch per tap, nothing more");
        batches.sort((a, b) -> Integer.compare(a.getTapIndex(), b.getTapIndex()));
        assertEquals(List.of("conv1", "pool1", "conv2", "pool2", "dense1"),
                batches.stream().map(ActivationBatch::getTap).toList());
        assertEquals(List.of(16, 16, 32, 32, 128), batches.stream().map(ActivationBatch::getNeuronCount).toList());
        assertEquals(Reduction.REDUCTION_MAX, batches.get(0).getReduction());
        assertEquals(Reduction.REDUCTION_NONE, batches.get(4).getReduction());
        assertEquals(List.of(28, 28, 16), batches.get(0).getTapShapeList());
        batches.forEach(b -> assertEquals(BatchOrigin.BATCH_ORIGIN_SERVED, b.getOrigin(), b.getTap()));
        // the manifest's neuron scales, as the taps are captured (conv1 reduced by max), for the layer statistic
        for (ActivationBatch b : batches) {
            float[] declared = model.spec().taps().get(b.getTapIndex()).featureScales();
            assertEquals(b.getNeuronCount(), declared.length, b.getTap());
            for (int j = 0; j < declared.length; j++) {
                assertEquals(declared[j], b.getNeuronScales(j), b.getTap());
                assertTrue(declared[j] > 0, b.getTap());
            }
        }

        float[] x = new float[3 * ImageSet.PIXELS];
        heldOut.copyImages(0, 3, x, 0);
        ModelRunner.Output expected = model.runner().predict(x, 3);
        for (ActivationBatch b : batches) {
            assertEquals(3, b.getObservationsCount());
            float[] actual = new float[b.getActivationsCount()];
            for (int i = 0; i < actual.length; i++) {
                actual[i] = b.getActivations(i);
            }
            assertArrayEquals(expected.taps().get(b.getTap()), actual, 1e-6f, b.getTap());
            Observation o0 = b.getObservations(0);
            Observation o1 = b.getObservations(1);
            Observation o2 = b.getObservations(2);
            assertEquals(run + "-0", o0.getInstanceId());
            assertEquals(heldOut.label(0), o0.getTrueLabel());
            assertEquals(heldOut.label(0), o0.getPredictedClass());
            assertEquals("prod", o0.getTagsMap().get("source"));
            assertEquals(PairRole.PAIR_ROLE_ATTACKED, o1.getPairRole());
            assertEquals("pair-" + run, o1.getPairId());
            assertEquals("canary", o2.getTagsMap().get("source"), "an instance's tag wins over the request's");
            assertEquals(run, o2.getTagsMap().get("run"));
        }
    }

    @Test
    void aPngUploadIsClassified() {
        int i = 5;
        byte[] png = InputImages.png(heldOut.image(i), 28, 28);
        given().contentType("image/png").body(png).queryParam("tag", "source=upload").post("/v1/predict").then()
                .statusCode(200).body("predictions[0].predictedClass", equalTo(heldOut.label(i)));
        given().contentType("image/png").body("not an image".getBytes()).post("/v1/predict").then().statusCode(400)
                .body("message", equalTo("the upload is not a PNG image (too short for a PNG header)"));
    }

    @Test
    void badInputGetsA400ThatSaysWhatWasExpected() {
        given().contentType(ContentType.JSON).body("{\"instances\": [{\"pixels\": [0.5, 0.5]}]}")
                .post("/v1/predict").then().statusCode(400)
                .body("message", equalTo("instance 0: expected 784 pixel values ([28, 28, 1], row-major), got 2"));
        float[] bright = new float[784];
        bright[7] = 2f;
        given().contentType(ContentType.JSON).body(Map.of("instances", List.of(Map.of("pixels", bright))))
                .post("/v1/predict").then().statusCode(400)
                .body("message", equalTo("instance 0: pixel values must lie in [0, 1], got 2.0"));
        given().contentType(ContentType.JSON).body("{\"instances\": []}").post("/v1/predict").then()
                .statusCode(400).body("message", equalTo("instances must hold 1..256 inputs"));
        given().contentType(ContentType.JSON).body("{\"instances\": [{\"pixels\": \"abc\"}]}").post("/v1/predict")
                .then().statusCode(400).body("message", containsString("malformed JSON"));
        List<Map<String, Object>> many = new ArrayList<>();
        for (int i = 0; i < 257; i++) {
            many.add(Map.of("pixels", new float[784]));
        }
        given().contentType(ContentType.JSON).body(Map.of("instances", many)).post("/v1/predict").then()
                .statusCode(400).body("message", equalTo("at most 256 instances per request, got 257"));
        given().contentType(ContentType.JSON)
                .body(Map.of("instances", List.of(Map.of("pixels", new float[784], "pairRole", "benign"))))
                .post("/v1/predict").then().statusCode(400)
                .body("message", equalTo("instances[0]: pairId and pairRole come together"));
        // every field an observation carries is checked as the aggregator will, before anything is queued
        given().contentType(ContentType.JSON).body(Map.of("instances", List.of(Map.of("pixels", new float[784],
                "instanceId", "a\u0000b")))).post("/v1/predict").then().statusCode(400)
                .body("message", equalTo("instances[0].instanceId must be 1..128 characters without control "
                        + "characters, got \"a\\u0000b\""));
        given().contentType(ContentType.JSON).body(Map.of("instances", List.of(Map.of("pixels", new float[784],
                "tags", Map.of("source", "p\u0007"))))).post("/v1/predict").then().statusCode(400)
                .body("message", equalTo("instances[0].tags[\"source\"]: values take up to 256 characters without "
                        + "control characters"));
        given().contentType(ContentType.JSON).body(Map.of("instances", List.of(Map.of("pixels", new float[784],
                "pairId", "x".repeat(129), "pairRole", "benign")))).post("/v1/predict").then().statusCode(400)
                .body("message", startsWith("instances[0].pairId must be 1..128 characters"));
        given().contentType(ContentType.JSON).body("{\"instances\": [{\"pixels\": [null" + ", 0".repeat(783)
                + "]}]}").post("/v1/predict").then().statusCode(400).body("message", containsString("null"));
    }

    @Test
    void grpcPredictAndItsInvalidArguments() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            var api = InferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            PredictInstance.Builder digit = PredictInstance.newBuilder();
            for (float v : heldOut.image(9)) {
                digit.addPixels(v);
            }
            PredictResponse r = api.predict(PredictRequest.newBuilder().addInstances(digit).build());
            assertEquals(heldOut.label(9), r.getPredictions(0).getPredictedClass());
            assertEquals(10, r.getPredictions(0).getProbabilitiesCount());
            assertEquals(CaptureStatus.CAPTURE_STATUS_QUEUED, r.getPredictions(0).getCapture());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> api.predict(
                    PredictRequest.newBuilder().addInstances(PredictInstance.newBuilder().addPixels(1f)).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals("instance 0: expected 784 pixel values ([28, 28, 1], row-major), got 1",
                    e.getStatus().getDescription());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void lateLabelsArePublishedAsLabelEvents() throws Exception {
        String id = "late-" + UUID.randomUUID();
        given().contentType(ContentType.JSON).body(Map.of("labels", List.of(Map.of("instanceId", id,
                "trueLabel", 4)))).post("/v1/labels").then().statusCode(202).body("accepted", equalTo(1));
        List<ConsumerRecord<byte[], byte[]>> records = ai.neuraldivergence.testkit.TopicRecords.await("nd.labels",
                r -> Arrays.equals(r.key(), id.getBytes()), 1);
        LabelEvent e = LabelEvent.parseFrom(records.get(0).value());
        assertEquals(4, e.getTrueLabel());
        assertEquals("mnist-cnn", e.getModelId());
        // labels for the observations of a model a client sends through /v1/observations name it
        String foreign = "late-" + UUID.randomUUID();
        given().contentType(ContentType.JSON).body(Map.of("modelId", "client-model", "labels", List.of(Map.of(
                "instanceId", foreign, "trueLabel", 2)))).post("/v1/labels").then().statusCode(202);
        LabelEvent named = LabelEvent.parseFrom(ai.neuraldivergence.testkit.TopicRecords.await("nd.labels",
                r -> Arrays.equals(r.key(), foreign.getBytes()), 1).get(0).value());
        assertEquals("client-model", named.getModelId());
        assertEquals(2, named.getTrueLabel());
        given().contentType(ContentType.JSON).body(Map.of("modelId", "m\u0000", "labels", List.of(Map.of(
                "instanceId", foreign, "trueLabel", 2)))).post("/v1/labels").then().statusCode(400)
                .body("message", startsWith("modelId must be 1..128 characters without control characters"));
        // and over gRPC
        String viaGrpc = "late-" + UUID.randomUUID();
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            InferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).recordLabels(
                    ai.neuraldivergence.proto.v1.RecordLabelsRequest.newBuilder().setModelId("client-model")
                            .addLabels(ai.neuraldivergence.proto.v1.LabelRecord.newBuilder().setInstanceId(viaGrpc)
                                    .setTrueLabel(5)).build());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertEquals("client-model", LabelEvent.parseFrom(ai.neuraldivergence.testkit.TopicRecords.await(
                "nd.labels", r -> Arrays.equals(r.key(), viaGrpc.getBytes()), 1).get(0).value()).getModelId());
        given().contentType(ContentType.JSON).body(Map.of("labels", List.of(Map.of("instanceId", id,
                "trueLabel", -1)))).post("/v1/labels").then().statusCode(400)
                .body("message", equalTo("labels[0].trueLabel must be >= 0, got -1"));
        // a NUL in an instance id would fail the aggregator's flush (PostgreSQL text refuses it)
        given().contentType(ContentType.JSON).body(Map.of("labels", List.of(Map.of("instanceId", "x\u0000",
                "trueLabel", 1)))).post("/v1/labels").then().statusCode(400)
                .body("message", startsWith("labels[0].instanceId must be 1..128 characters without control"));
    }

    @Test
    void aForeignGrpcClientFindsPredictThroughReflectionAndHealth() throws Exception {
        String out = ai.neuraldivergence.testkit.ForeignGrpcClient.probe(port,
                "neuraldivergence.v1.InferenceService");
        assertTrue(out.contains("\"methods\": [\"Predict\", \"RecordLabels\"]"), out);
        assertTrue(out.contains("\"health\": \"SERVING\""), out);
    }

    @Test
    void predictionsAreMeasured() {
        Management.given().get("/q/metrics").then().statusCode(200)
                .body(containsString("nd_inference_predict_seconds_bucket"))
                .body(containsString("nd_capture_queue_depth"));
        assertTrue(true);
    }
}
