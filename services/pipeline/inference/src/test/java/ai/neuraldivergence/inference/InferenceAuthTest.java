package ai.neuraldivergence.inference;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.inference.service.InputImages;
import ai.neuraldivergence.proto.v1.InferenceServiceGrpc;
import ai.neuraldivergence.proto.v1.PredictInstance;
import ai.neuraldivergence.proto.v1.PredictRequest;
import ai.neuraldivergence.testkit.InfrastructureTestResource;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import io.restassured.specification.RequestSpecification;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * With scoped tokens configured, every REST endpoint and every gRPC method of InferenceService needs a valid token
 * with its scope, and observations tagged {@code reference} need the reference scope besides, whichever way they
 * arrive. Health, metrics, OpenAPI, gRPC health and reflection, and CORS preflights stay open; tokens are never
 * logged.
 */
@QuarkusTest
@TestProfile(InferenceAuthTest.WithTokens.class)
@WithTestResource(InfrastructureTestResource.class)
class InferenceAuthTest {

    static final String PREDICTOR = "predictor-tok-5d1c8a7e93";
    static final String RECORDER = "recorder-tok-0b6f2e4a71";
    static final String REPLAY = "replay-tok-c93e7d5a18f2";
    static final String ADMIN = "admin-tok-4e8b1f6c2d09";
    /** Confined to one model (nd.inference.auth.models), with every scope but reference. */
    static final String TEAM = "team-tok-7a3e9c1b5d20";
    static final String TEAM_MODEL = "auth-team";
    static final List<String> TOKENS = List.of(PREDICTOR, RECORDER, REPLAY, ADMIN, TEAM);

    /** Each token's name and scopes, as configured below. */
    record Holder(String name, String token, Set<String> scopes) {
    }

    static final List<Holder> HOLDERS = List.of(
            new Holder("predictor", PREDICTOR, Set.of("predict")),
            new Holder("recorder", RECORDER, Set.of("record")),
            new Holder("replay", REPLAY, Set.of("record", "reference", "predict")),
            new Holder("admin", ADMIN, Set.of("predict", "record", "reference")));

    public static class WithTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.inference.auth.tokens", "predictor:" + PREDICTOR + "=predict,recorder:" + RECORDER
                            + "=record,replay:" + REPLAY + "=record+reference+predict,admin:" + ADMIN
                            + ",team:" + TEAM + "=predict+record",
                    "nd.inference.auth.models", "team=" + TEAM_MODEL,
                    // refusals are logged at DEBUG, by name: the log test sees them
                    "quarkus.log.category.\"ai.neuraldivergence.inference.auth\".level", "DEBUG");
        }
    }

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    /** One REST endpoint: what it is called in messages, the scope it needs, a valid request, its success. */
    record Endpoint(String what, String scope, Function<RequestSpecification, io.restassured.response.Response> call,
            int ok) {
    }

    private static String observations(String model, String tags) {
        return """
            {"modelId": "%s", "modelVersion": "1", "taps": [{"name": "dense", "index": 0, "shape": [2]}],
             "observations": [{"predictedClass": 1, "tags": %s, "activations": {"dense": [0.5, 1.5]}}]}
            """.formatted(model, tags);
    }

    private static Map<String, Object> predictBody(Map<String, String> tags) {
        return Map.of("instances", List.of(Map.of("pixels", new float[784])), "tags", tags);
    }

    private static final byte[] PNG = InputImages.png(new float[784], 28, 28);

    static final List<Endpoint> ENDPOINTS = List.of(
            new Endpoint("GET /v1/model", "predict", r -> r.get("/v1/model"), 200),
            new Endpoint("POST /v1/predict", "predict", r -> r.contentType(ContentType.JSON)
                    .body(predictBody(Map.of("source", "auth"))).post("/v1/predict"), 200),
            new Endpoint("POST /v1/predict", "predict", r -> r.contentType("image/png").body(PNG)
                    .queryParam("tag", "source=auth").post("/v1/predict"), 200),
            new Endpoint("POST /v1/observations", "record", r -> r.contentType(ContentType.JSON)
                    .body(observations("auth-" + UUID.randomUUID(), "{\"source\": \"auth\"}"))
                    .post("/v1/observations"), 202),
            new Endpoint("POST /v1/labels", "record", r -> r.contentType(ContentType.JSON)
                    .body(Map.of("labels", List.of(Map.of("instanceId", "auth-1", "trueLabel", 3))))
                    .post("/v1/labels"), 202));

    private static RequestSpecification as(String authorization) {
        RequestSpecification r = given();
        return authorization == null ? r : r.header("Authorization", authorization);
    }

    @Test
    void everyRestEndpointNeedsAValidTokenWithItsScope() {
        for (Endpoint e : ENDPOINTS) {
            e.call().apply(as(null)).then().statusCode(401).header("WWW-Authenticate", "Bearer")
                    .body("status", equalTo(401)).body("error", equalTo("Unauthorized"))
                    .body("message", equalTo("this API requires 'authorization: Bearer <token>'"));
            e.call().apply(as("Bearer " + ADMIN + "x")).then().statusCode(401)
                    .body("message", equalTo("the bearer token is not valid"));
            e.call().apply(as("Basic " + ADMIN)).then().statusCode(401)
                    .body("message", equalTo("the bearer token is not valid"));
            for (Holder h : HOLDERS) {
                ValidatableResponse answer = e.call().apply(as("Bearer " + h.token())).then();
                if (h.scopes().contains(e.scope())) {
                    answer.statusCode(e.ok());
                } else {
                    answer.statusCode(403).body("status", equalTo(403)).body("error", equalTo("Forbidden"))
                            .body("message", equalTo("token '" + h.name() + "' lacks the '" + e.scope()
                                    + "' scope, which " + e.what() + " needs"));
                }
            }
        }
        // the token is checked before the body is read: a bad body without a token is still a 401
        given().contentType(ContentType.JSON).body("{").post("/v1/observations").then().statusCode(401);
        // the scheme's name is case-insensitive
        as("bearer " + RECORDER).contentType(ContentType.JSON)
                .body(Map.of("labels", List.of(Map.of("instanceId", "auth-2", "trueLabel", 1))))
                .post("/v1/labels").then().statusCode(202);
    }

    private static final String NEEDS_REFERENCE = "lacks the 'reference' scope, which an observation tagged "
            + "'reference' needs";

    @Test
    void referenceTaggedObservationsNeedTheReferenceScopeHoweverTheyArrive() {
        String model = "auth-ref-" + UUID.randomUUID();
        String tagged = observations(model, "{\"reference\": \"train\"}");
        as("Bearer " + RECORDER).contentType(ContentType.JSON).body(tagged).post("/v1/observations").then()
                .statusCode(403).body("message", equalTo("token 'recorder' " + NEEDS_REFERENCE));
        as("Bearer " + REPLAY).contentType(ContentType.JSON).body(tagged).post("/v1/observations").then()
                .statusCode(202).body("accepted", equalTo(1));

        // request-level tags and an instance's own
        Map<String, Object> requestTagged = predictBody(Map.of("reference", "train"));
        Map<String, Object> instanceTagged = Map.of("instances", List.of(Map.of("pixels", new float[784]),
                Map.of("pixels", new float[784], "tags", Map.of("reference", "train"))));
        for (Map<String, Object> body : List.of(requestTagged, instanceTagged)) {
            as("Bearer " + PREDICTOR).contentType(ContentType.JSON).body(body).post("/v1/predict").then()
                    .statusCode(403).body("message", equalTo("token 'predictor' " + NEEDS_REFERENCE));
            as("Bearer " + REPLAY).contentType(ContentType.JSON).body(body).post("/v1/predict").then()
                    .statusCode(200).body("predictions[0].capture", equalTo("queued"));
        }

        as("Bearer " + PREDICTOR).contentType("image/png").body(PNG).queryParam("tag", "reference=x")
                .post("/v1/predict").then().statusCode(403)
                .body("message", equalTo("token 'predictor' " + NEEDS_REFERENCE));
        as("Bearer " + REPLAY).contentType("image/png").body(PNG).queryParam("tag", "reference=x")
                .post("/v1/predict").then().statusCode(200);
    }

    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);

    /** The scope each method needs; a method missing here needs every scope (the server fails closed). */
    private static final Map<String, String> METHOD_SCOPES = Map.of("Predict", "predict", "RecordLabels", "record");

    /** Calls any method with an empty request, whatever its kind, and returns how the call closed. */
    private static <Q, R> Status call(ManagedChannel channel, MethodDescriptor<Q, R> method, String authorization)
            throws Exception {
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<Q, R> c = channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS));
        Metadata headers = new Metadata();
        if (authorization != null) {
            headers.put(AUTHORIZATION, authorization);
        }
        c.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, headers);
        c.request(16);
        c.sendMessage(method.parseRequest(new ByteArrayInputStream(new byte[0])));
        c.halfClose();
        return closed.get(60, TimeUnit.SECONDS);
    }

    @Test
    void everyGrpcMethodNeedsAValidTokenWithItsScope() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            List<String> seen = new ArrayList<>();
            for (MethodDescriptor<?, ?> m : InferenceServiceGrpc.getServiceDescriptor().getMethods()) {
                String name = m.getFullMethodName();
                seen.add(m.getBareMethodName());
                Status none = call(channel, m, null);
                assertEquals(Status.Code.UNAUTHENTICATED, none.getCode(), name);
                assertEquals("this API requires 'authorization: Bearer <token>'", none.getDescription());
                Status wrong = call(channel, m, "Bearer " + ADMIN + "x");
                assertEquals(Status.Code.UNAUTHENTICATED, wrong.getCode(), name);
                assertEquals("the bearer token is not valid", wrong.getDescription());
                String scope = METHOD_SCOPES.get(m.getBareMethodName());
                for (Holder h : HOLDERS) {
                    Status s = call(channel, m, "Bearer " + h.token());
                    boolean allowed = scope == null ? h.scopes().size() == 3 : h.scopes().contains(scope);
                    if (allowed) {
                        // an empty request may be invalid; it got past the token check
                        assertNotEquals(Status.Code.UNAUTHENTICATED, s.getCode(), name + " " + h.name());
                        assertNotEquals(Status.Code.PERMISSION_DENIED, s.getCode(), name + " " + h.name());
                    } else {
                        assertEquals(Status.Code.PERMISSION_DENIED, s.getCode(), name + " " + h.name());
                        if (scope != null) {
                            assertEquals("token '" + h.name() + "' lacks the '" + scope + "' scope, which " + name
                                    + " needs", s.getDescription());
                        }
                    }
                }
            }
            assertTrue(seen.containsAll(METHOD_SCOPES.keySet()), seen.toString());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static InferenceServiceGrpc.InferenceServiceBlockingStub stub(ManagedChannel channel, String token) {
        Metadata m = new Metadata();
        m.put(AUTHORIZATION, "Bearer " + token);
        return InferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
    }

    @Test
    void grpcPredictWithAReferenceTagNeedsTheReferenceScope() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            PredictInstance.Builder blank = PredictInstance.newBuilder();
            for (int i = 0; i < 784; i++) {
                blank.addPixels(0f);
            }
            PredictRequest requestTagged = PredictRequest.newBuilder().addInstances(blank)
                    .putTags("reference", "train").build();
            PredictRequest instanceTagged = PredictRequest.newBuilder()
                    .addInstances(blank.clone().putTags("reference", "train")).build();
            for (PredictRequest r : List.of(requestTagged, instanceTagged)) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> stub(channel, PREDICTOR).predict(r));
                assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
                assertEquals("token 'predictor' " + NEEDS_REFERENCE, e.getStatus().getDescription());
                assertEquals(1, stub(channel, REPLAY).predict(r).getPredictionsCount());
            }
            // untagged, the predict scope is enough
            assertEquals(1, stub(channel, PREDICTOR).predict(PredictRequest.newBuilder().addInstances(blank)
                    .putTags("source", "auth").build()).getPredictionsCount());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aTokenConfinedToAModelReachesThatModelAlone() throws Exception {
        String served = as("Bearer " + ADMIN).get("/v1/model").then().statusCode(200).extract().path("modelId");
        String other = "auth-other-" + UUID.randomUUID();
        as("Bearer " + TEAM).contentType(ContentType.JSON).body(observations(TEAM_MODEL, "{}"))
                .post("/v1/observations").then().statusCode(202).body("accepted", equalTo(1));
        as("Bearer " + TEAM).contentType(ContentType.JSON).body(observations(other, "{}"))
                .post("/v1/observations").then().statusCode(403)
                .body("message", equalTo("token 'team' is not granted model '" + other + "'"));
        as("Bearer " + TEAM).contentType(ContentType.JSON).body(Map.of("modelId", TEAM_MODEL, "labels",
                List.of(Map.of("instanceId", "team-1", "trueLabel", 3)))).post("/v1/labels").then().statusCode(202);
        // labels without a model are the served model's, which it is not granted; nor are its predictions
        String refusal = "token 'team' is not granted model '" + served + "'";
        as("Bearer " + TEAM).contentType(ContentType.JSON).body(Map.of("labels",
                List.of(Map.of("instanceId", "team-1", "trueLabel", 3)))).post("/v1/labels").then().statusCode(403)
                .body("message", equalTo(refusal));
        as("Bearer " + TEAM).contentType(ContentType.JSON).body(predictBody(Map.of())).post("/v1/predict").then()
                .statusCode(403).body("message", equalTo(refusal));
        as("Bearer " + TEAM).contentType("image/png").body(PNG).post("/v1/predict").then().statusCode(403);
        as("Bearer " + TEAM).get("/v1/model").then().statusCode(403);
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            PredictInstance.Builder blank = PredictInstance.newBuilder();
            for (int i = 0; i < 784; i++) {
                blank.addPixels(0f);
            }
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> stub(channel, TEAM).predict(PredictRequest.newBuilder().addInstances(blank).build()));
            assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
            assertEquals(refusal, e.getStatus().getDescription());
            ai.neuraldivergence.proto.v1.RecordLabelsRequest.Builder labels =
                    ai.neuraldivergence.proto.v1.RecordLabelsRequest.newBuilder().addLabels(
                            ai.neuraldivergence.proto.v1.LabelRecord.newBuilder().setInstanceId("team-2")
                                    .setTrueLabel(1));
            assertEquals(1, stub(channel, TEAM).recordLabels(labels.setModelId(TEAM_MODEL).build())
                    .getAccepted());
            StatusRuntimeException served2 = assertThrows(StatusRuntimeException.class,
                    () -> stub(channel, TEAM).recordLabels(labels.setModelId("").build()));
            assertEquals(Status.Code.PERMISSION_DENIED, served2.getStatus().getCode());
            // an unconfined token still reaches every model
            assertEquals(1, stub(channel, ADMIN).predict(PredictRequest.newBuilder().addInstances(blank).build())
                    .getPredictionsCount());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void healthMetricsOpenApiReflectionAndCorsPreflightsNeedNoToken() throws Exception {
        Management.given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
        Management.given().get("/q/metrics").then().statusCode(200).body(containsString("nd_capture_queue_depth"));
        // health and metrics only on the management port, which a network policy can open to Prometheus alone; the
        // API's description stays with the API
        given().get("/q/health/ready").then().statusCode(404);
        given().get("/q/metrics").then().statusCode(404);
        given().get("/q/openapi").then().statusCode(200).body(containsString("/v1/predict"));
        Management.given().get("/q/openapi").then().statusCode(404);
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            assertEquals("SERVING", HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus().name());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        String out = ai.neuraldivergence.testkit.ForeignGrpcClient.probe(port, "neuraldivergence.v1.InferenceService");
        assertTrue(out.contains("\"methods\": [\"Predict\", \"RecordLabels\"]"), out);

        // the web UI uploads digits cross-origin: the preflight passes without a token and allows sending one
        String origin = "http://localhost:8082";
        given().header("Origin", origin).header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type").options("/v1/predict")
                .then().statusCode(200).header("Access-Control-Allow-Origin", origin)
                .header("Access-Control-Allow-Headers", containsString("authorization"));
        // and a refusal carries CORS headers, so the UI can read why
        given().header("Origin", origin).contentType("image/png").body(PNG).post("/v1/predict").then()
                .statusCode(401).header("Access-Control-Allow-Origin", origin);
        as("Bearer " + PREDICTOR).header("Origin", origin).contentType("image/png").body(PNG)
                .post("/v1/predict").then().statusCode(200).header("Access-Control-Allow-Origin", origin);
    }

    @Test
    void tokensNeverReachTheLog() throws Exception {
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                Object[] params = record.getParameters();
                lines.add(record.getLoggerName() + " " + record.getMessage() + " "
                        + (params == null ? "" : java.util.Arrays.toString(params)) + " "
                        + (record.getThrown() == null ? "" : record.getThrown().toString()));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        capture.setLevel(Level.ALL);
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try {
            // refused and accepted calls of every kind, with near misses that contain a real token
            everyRestEndpointNeedsAValidTokenWithItsScope();
            referenceTaggedObservationsNeedTheReferenceScopeHoweverTheyArrive();
            everyGrpcMethodNeedsAValidTokenWithItsScope();
            grpcPredictWithAReferenceTagNeedsTheReferenceScope();
        } finally {
            root.removeHandler(capture);
        }
        // the handler saw the refusals (logged by name), so it would have seen a token
        assertTrue(lines.stream().anyMatch(l -> l.contains("refused")), "refusals are logged: " + lines.size());
        for (String line : lines) {
            for (String token : TOKENS) {
                assertFalse(line.contains(token), "a token in the log: " + line);
            }
        }
    }
}
