package ai.neuraldivergence.comparison;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Path;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Each token may do what its scopes say, on every gRPC method and JSON route (found by reflection, so one added
 * later is checked too) and on the watch socket: {@code write} creates and deletes references and
 * monitors, {@code read} does everything else; health and metrics need nothing. Writes are logged by token name;
 * tokens never reach the log.
 */
@QuarkusTest
@TestProfile(ComparisonScopesTest.ScopedTokens.class)
@WithTestResource(MigratedInfrastructureResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ComparisonScopesTest {

    static final String READER = "reader-token-0123456789";
    static final String WRITER = "writer-token-0123456789";
    static final String ADMIN = "admin-token-0123456789";
    static final String WRONG = "wrong-token-0123456789";
    /** Every line the service logs; by process, since the file handler appends to what an earlier run left. */
    static final java.nio.file.Path LOG = java.nio.file.Path.of("target",
            "comparison-scopes-" + ProcessHandle.current().pid() + ".log");

    public static class ScopedTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.comparison.auth.tokens",
                    "reader:" + READER + "=read, writer:" + WRITER + "=write, admin:" + ADMIN,
                    "quarkus.log.file.enabled", "true",
                    "quarkus.log.file.path", LOG.toString());
        }
    }

    /** The scope table, stated here independently of the service's rules. */
    private static final Set<String> WRITE_METHODS = Set.of("CreateReference", "DeleteReference",
            "SealReference", "CreateMonitor", "UpdateMonitor", "DeleteMonitor");
    private static final Set<String> WRITE_ROUTES = Set.of("POST /api/v1/references",
            "POST /api/v1/references/seal", "DELETE /api/v1/references/{model_id}/{name}", "POST /api/v1/monitors",
            "PUT /api/v1/monitors/{name}", "DELETE /api/v1/monitors/{name}");
    /** Not product data, but a token was needed before scopes: any valid one still is. */
    private static final Set<String> ANY_TOKEN_ROUTES = Set.of("GET /api/v1/ui-settings");
    private static final Map<String, String> SCOPED = new LinkedHashMap<>();

    static {
        SCOPED.put("reader", READER);
        SCOPED.put("writer", WRITER);
        SCOPED.put("admin", ADMIN);
    }

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    private ManagedChannel channel;

    @BeforeEach
    void open() {
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    @AfterEach
    void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    /** What a token named {@code name} must get from a call needing {@code scope} (null: any valid token). */
    private static boolean allowed(String name, String scope) {
        return scope == null || "admin".equals(name) || ("read".equals(scope) ? "reader" : "writer").equals(name);
    }

    @Test
    @Order(1)
    void everyGrpcMethodNeedsItsScope() throws Exception {
        List<String> checked = new ArrayList<>();
        for (MethodDescriptor<?, ?> method : ComparisonServiceGrpc.getServiceDescriptor().getMethods()) {
            String name = method.getBareMethodName();
            String scope = WRITE_METHODS.contains(name) ? "write" : "read";
            assertEquals(Status.Code.UNAUTHENTICATED, call(method, null).getCode(), name + " without a token");
            assertEquals(Status.Code.UNAUTHENTICATED, call(method, WRONG).getCode(), name + " with a wrong token");
            for (Map.Entry<String, String> token : SCOPED.entrySet()) {
                Status status = call(method, token.getValue());
                String what = name + " with the " + token.getKey() + " token";
                if (allowed(token.getKey(), scope)) {
                    assertNotEquals(Status.Code.UNAUTHENTICATED, status.getCode(), what + ": " + status);
                    assertNotEquals(Status.Code.PERMISSION_DENIED, status.getCode(), what + ": " + status);
                } else {
                    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), what + ": " + status);
                    assertEquals("token '" + token.getKey() + "' lacks the '" + scope + "' scope, which " + name
                            + " needs", status.getDescription());
                }
            }
            checked.add(name);
        }
        assertTrue(checked.containsAll(WRITE_METHODS), checked.toString());
        assertTrue(checked.size() > WRITE_METHODS.size(), checked.toString());
    }

    /**
     * One call with the method's empty request: a refusal closes the call at once; an admitted call is answered
     * (often INVALID_ARGUMENT, which is fine) or, for Watch, streams until the deadline.
     */
    @SuppressWarnings("unchecked")
    private Status call(MethodDescriptor<?, ?> method, String token) throws Exception {
        MethodDescriptor<Object, Object> m = (MethodDescriptor<Object, Object>) method;
        Object request = ((MethodDescriptor.PrototypeMarshaller<?>) m.getRequestMarshaller()).getMessagePrototype();
        ClientCall<Object, Object> call = channel.newCall(m, CallOptions.DEFAULT.withDeadlineAfter(3,
                TimeUnit.SECONDS));
        CompletableFuture<Status> closed = new CompletableFuture<>();
        Metadata headers = new Metadata();
        if (token != null) {
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        }
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, headers);
        call.request(Integer.MAX_VALUE);
        call.sendMessage(request);
        call.halfClose();
        return closed.get(60, TimeUnit.SECONDS);
    }

    @Test
    @Order(2)
    void everyJsonRouteNeedsItsScope() {
        List<String> checked = new ArrayList<>();
        for (String route : routes()) {
            String verb = route.substring(0, route.indexOf(' '));
            String template = route.substring(route.indexOf(' ') + 1);
            String path = template.replaceAll("\\{[^}]+}", "x");
            String scope = WRITE_ROUTES.contains(route) ? "write" : ANY_TOKEN_ROUTES.contains(route) ? null : "read";
            assertEquals(401, request(verb, path, null).statusCode(), route + " without a token");
            assertEquals(401, request(verb, path, WRONG).statusCode(), route + " with a wrong token");
            for (Map.Entry<String, String> token : SCOPED.entrySet()) {
                var response = request(verb, path, token.getValue());
                String what = route + " with the " + token.getKey() + " token: " + response.asString();
                if (allowed(token.getKey(), scope)) {
                    assertNotEquals(401, response.statusCode(), what);
                    assertNotEquals(403, response.statusCode(), what);
                } else {
                    assertEquals(403, response.statusCode(), what);
                    assertEquals("PERMISSION_DENIED", response.jsonPath().getString("code"), what);
                    assertEquals("token '" + token.getKey() + "' lacks the '" + scope + "' scope, which " + verb
                            + " " + path + " needs", response.jsonPath().getString("message"));
                }
            }
            checked.add(route);
        }
        assertTrue(checked.containsAll(WRITE_ROUTES), checked.toString());
        assertTrue(checked.containsAll(ANY_TOKEN_ROUTES), checked.toString());
        assertTrue(checked.contains("GET /api/v1/catalog"), checked.toString());
    }

    /**
     * Every JSON route: each RPC's from its google.api.http option in the proto (the mirror serves exactly those),
     * and the UI's settings.
     */
    private static List<String> routes() {
        List<String> out = new ArrayList<>();
        for (var m : ai.neuraldivergence.proto.v1.ComparisonProto.getDescriptor()
                .findServiceByName("ComparisonService").getMethods()) {
            if (m.getOptions().hasExtension(com.google.api.AnnotationsProto.http)) {
                var rule = m.getOptions().getExtension(com.google.api.AnnotationsProto.http);
                out.add(switch (rule.getPatternCase()) {
                    case GET -> "GET " + rule.getGet();
                    case POST -> "POST " + rule.getPost();
                    case DELETE -> "DELETE " + rule.getDelete();
                    case PUT -> "PUT " + rule.getPut();
                    default -> throw new IllegalStateException(m.getName() + ": " + rule);
                });
            }
        }
        for (Method handler : ai.neuraldivergence.comparison.api.UiSettingsResource.class.getDeclaredMethods()) {
            String verb = httpMethod(handler);
            if (verb != null) {
                out.add(verb + " " + ai.neuraldivergence.comparison.api.UiSettingsResource.class
                        .getAnnotation(Path.class).value());
            }
        }
        return out;
    }

    private static String httpMethod(Method handler) {
        for (Annotation a : handler.getAnnotations()) {
            HttpMethod verb = a.annotationType().getAnnotation(HttpMethod.class);
            if (verb != null) {
                return verb.value();
            }
        }
        return null;
    }

    private static io.restassured.response.Response request(String verb, String path, String token) {
        RequestSpecification r = given().contentType("application/json");
        if (token != null) {
            r = r.header("Authorization", "Bearer " + token);
        }
        if ("POST".equals(verb) || "PUT".equals(verb)) {
            r = r.body("{}");
        }
        return r.request(verb, path);
    }

    @Test
    @Order(3)
    void theWatchSocketNeedsRead() {
        for (String[] protocols : new String[][] {{"nd.v1"}, {"nd.v1", "bearer." + WRONG}}) {
            assertEquals(401, refusedUpgrade(protocols), String.join(",", protocols));
        }
        assertEquals(403, refusedUpgrade("nd.v1", "bearer." + WRITER));
        for (String token : List.of(READER, ADMIN)) {
            WebSocket ws = socket("nd.v1", "bearer." + token).join();
            assertEquals("nd.v1", ws.getSubprotocol());
            ws.abort();
        }
    }

    private CompletableFuture<WebSocket> socket(String first, String... more) {
        return HttpClient.newHttpClient().newWebSocketBuilder().subprotocols(first, more)
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/api/v1/watch"), new WebSocket.Listener() { });
    }

    private int refusedUpgrade(String... protocols) {
        CompletionException e = assertThrows(CompletionException.class,
                () -> socket(protocols[0], java.util.Arrays.copyOfRange(protocols, 1, protocols.length)).join());
        return assertInstanceOf(WebSocketHandshakeException.class, e.getCause()).getResponse().statusCode();
    }

    @Test
    @Order(4)
    void healthAndMetricsNeedNoToken() {
        Management.given().get("/q/health/ready").then().statusCode(200);
        Management.given().get("/q/health/live").then().statusCode(200);
        Management.given().get("/q/metrics").then().statusCode(200);
        // only there: the API port, open to clients, does not serve them (gRPC health is part of the gRPC API)
        given().get("/q/health/ready").then().statusCode(404);
        given().get("/q/metrics").then().statusCode(404);
        assertEquals("SERVING", HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus().name());
    }

    @Test
    @Order(5)
    void writesAreLoggedByTokenNameAndNoTokenIsEverLogged() throws Exception {
        DriftFixture.seed(owner, "scopes");
        Metadata writer = new Metadata();
        writer.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + WRITER);
        ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(writer))
                .createReference(CreateReferenceRequest.newBuilder().setModelId("scopes").setModelVersion("v2")
                        .setName("calm").setRange(DriftFixture.minutes(0, 10).getTimeRange()).build());
        given().header("Authorization", "Bearer " + ADMIN).delete("/api/v1/references/scopes/calm").then()
                .statusCode(200);

        String created = "reference calm of model scopes created by token 'writer'";
        String deleted = "reference calm of model scopes deleted by token 'admin'";
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        String log = Files.readString(LOG);
        while (!(log.contains(created) && log.contains(deleted)) && System.nanoTime() < deadline) {
            Thread.sleep(200);
            log = Files.readString(LOG);
        }
        assertTrue(log.contains(created), log);
        assertTrue(log.contains(deleted), log);
        // the log holds everything since start: the earlier tests presented every token, right and wrong
        for (String token : List.of(READER, WRITER, ADMIN, WRONG)) {
            assertFalse(log.contains(token), "a token in the log");
        }
    }
}
