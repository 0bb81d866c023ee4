package ai.neuraldivergence.comparison;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.CatalogModel;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A token confined to one model (nd.comparison.auth.models) reaches that model's data alone, on every path: a
 * request naming another model is refused with PERMISSION_DENIED (gRPC) or 403 (JSON), lists across models leave the
 * others out, a monitor of another model can be neither changed, deleted nor read by name, and a watch, over gRPC
 * or the socket, is sent the granted model's events alone. A token named in no grant still reaches every model.
 */
@QuarkusTest
@TestProfile(ModelGrantsTest.Confined.class)
@WithTestResource(MigratedInfrastructureResource.class)
class ModelGrantsTest {

    static final String TEAM = "team-token-0123456789";
    static final String OPS = "ops-token-0123456789";

    public static class Confined implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.comparison.auth.tokens", "team:" + TEAM + ", ops:" + OPS,
                    "nd.comparison.auth.models", "team=grant-a");
        }
    }

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    @Inject
    @SchemaOwner
    DataSource owner;

    private static boolean seeded;

    @BeforeAll
    static void reset() {
        seeded = false;
    }

    private synchronized void seed() throws Exception {
        if (!seeded) {
            DriftFixture.seed(owner, "grant-a");
            DriftFixture.seed(owner, "grant-b");
            seeded = true;
        }
    }

    private ComparisonServiceGrpc.ComparisonServiceBlockingStub stub(ManagedChannel channel, String token) {
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        return ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
    }

    private static List<String> models(Catalog catalog) {
        return catalog.getModelsList().stream().map(CatalogModel::getModelId).filter(m -> m.startsWith("grant-"))
                .sorted().toList();
    }

    @Test
    void aConfinedTokenSeesItsModelAloneAndIsRefusedAnother() throws Exception {
        seed();
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            GetCatalogRequest all = GetCatalogRequest.getDefaultInstance();
            assertEquals(List.of("grant-a", "grant-b"), models(stub(channel, OPS).getCatalog(all)));
            assertEquals(List.of("grant-a"), models(stub(channel, TEAM).getCatalog(all)), "the others left out");
            CompareRequest other = CompareRequest.newBuilder().setModelId("grant-b").setModelVersion("v2")
                    .setA(DriftFixture.minutes(0, 10)).setB(DriftFixture.minutes(10, 20)).build();
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> stub(channel, TEAM).compare(other));
            assertEquals(Status.Code.PERMISSION_DENIED, refused.getStatus().getCode());
            assertEquals("token 'team' is not granted model 'grant-b'", refused.getStatus().getDescription());
            // the same question of its own model is answered, and the unconfined token is answered both
            assertTrue(stub(channel, TEAM).compare(other.toBuilder().setModelId("grant-a").build()).getTapsCount() > 0);
            assertTrue(stub(channel, OPS).compare(other).getTapsCount() > 0);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        given().header("Authorization", "Bearer " + TEAM).get("/api/v1/catalog?model_id=grant-b").then()
                .statusCode(403).body("code", equalTo("PERMISSION_DENIED"));
        given().header("Authorization", "Bearer " + TEAM).get("/api/v1/catalog").then().statusCode(200)
                .body("models.modelId", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasItem("grant-b")));
        // a reference of another model can be neither made nor deleted
        given().header("Authorization", "Bearer " + TEAM).contentType("application/json")
                .body("{\"name\": \"r\", \"modelId\": \"grant-b\", \"modelVersion\": \"v2\"}")
                .post("/api/v1/references").then().statusCode(403);
        given().header("Authorization", "Bearer " + TEAM).delete("/api/v1/references/grant-b/r").then()
                .statusCode(403);
    }

    @Test
    void aMonitorOfAnotherModelCanBeNeitherChangedNorDeletedNorRead() {
        given().header("Authorization", "Bearer " + OPS).contentType("application/json")
                .body("{\"monitor\": {\"name\": \"ops-watch\", \"modelId\": \"grant-b\", \"tap\": \"dense1\"}}")
                .post("/api/v1/monitors").then().statusCode(201);
        given().header("Authorization", "Bearer " + TEAM).contentType("application/json")
                .body("{\"monitor\": {\"name\": \"team-watch\", \"modelId\": \"grant-b\", \"tap\": \"dense1\"}}")
                .post("/api/v1/monitors").then().statusCode(403);
        given().header("Authorization", "Bearer " + TEAM).contentType("application/json")
                .body("{\"monitor\": {\"name\": \"team-watch\", \"modelId\": \"grant-a\", \"tap\": \"dense1\"}}")
                .post("/api/v1/monitors").then().statusCode(201);
        // moved to the granted model by name: refused on the stored monitor's model, not the new one's
        given().header("Authorization", "Bearer " + TEAM).contentType("application/json")
                .body("{\"monitor\": {\"modelId\": \"grant-a\", \"tap\": \"conv1\"}}")
                .put("/api/v1/monitors/ops-watch").then().statusCode(403)
                .body("message", equalTo("monitor 'ops-watch' watches a model this token is not granted"));
        given().header("Authorization", "Bearer " + TEAM).delete("/api/v1/monitors/ops-watch").then().statusCode(403);
        // named, not its model: a confined token learns nothing of models it is not granted
        given().header("Authorization", "Bearer " + TEAM).get("/api/v1/monitors/ops-watch/history").then()
                .statusCode(403).body("message", equalTo("monitor 'ops-watch' watches a model this token is not "
                        + "granted"));
        given().header("Authorization", "Bearer " + TEAM).get("/api/v1/monitors").then().statusCode(200)
                .body("monitors.name", equalTo(List.of("team-watch")));
        // untouched, and the unconfined token still sees and deletes it
        given().header("Authorization", "Bearer " + OPS).get("/api/v1/monitors/ops-watch/history").then()
                .statusCode(200).body("monitor.tap", equalTo("dense1"));
        given().header("Authorization", "Bearer " + OPS).delete("/api/v1/monitors/ops-watch").then().statusCode(200);
        given().header("Authorization", "Bearer " + TEAM).delete("/api/v1/monitors/team-watch").then()
                .statusCode(200);
    }

    /** Collects a socket's texts. */
    static final class Texts implements WebSocket.Listener {
        final List<String> texts = new CopyOnWriteArrayList<>();

        @Override
        public java.util.concurrent.CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            texts.add(data.toString());
            ws.request(1);
            return null;
        }
    }

    /** The confined token's gRPC watch, open until {@code context} is cancelled: the events it is sent. */
    private static List<WatchEvent> watch(ManagedChannel channel, Context.CancellableContext context,
            WatchRequest request) {
        List<WatchEvent> received = new CopyOnWriteArrayList<>();
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TEAM);
        var async = ComparisonServiceGrpc.newStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
        context.run(() -> async.watch(request, new StreamObserver<>() {
            @Override
            public void onNext(WatchEvent e) {
                received.add(e);
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        }));
        return received;
    }

    private static WindowUpdate update(String model) {
        return WindowUpdate.newBuilder().setModelId(model).setModelVersion("1").setTap("dense1")
                .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setAll(true)).setObservationCount(1).build();
    }

    @Test
    void aConfinedWatchIsSentItsModelsEventsAlone() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        Context.CancellableContext context = Context.current().withCancellation();
        try (KafkaProducer<byte[], byte[]> p = WindowUpdates.producer()) {
            WindowUpdates.send(p, update("warmup")).get();
            Management.awaitMetric("nd_comparison_cache_following 1.0");
            List<WatchEvent> grpc = watch(channel, context, WatchRequest.getDefaultInstance());
            Texts socket = new Texts();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("nd.v1", "bearer." + TEAM)
                    .buildAsync(URI.create("ws://127.0.0.1:" + port + "/api/v1/watch"), socket).join();
            ws.sendText("{}", true).join();
            // the socket's watch asking for another model by name is refused, naming the token
            Texts asking = new Texts();
            WebSocket other = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("nd.v1", "bearer." + TEAM)
                    .buildAsync(URI.create("ws://127.0.0.1:" + port + "/api/v1/watch"), asking).join();
            other.sendText("{\"modelId\": \"grant-b\"}", true).join();
            Management.awaitMetric("nd_comparison_watch_subscribers 2.0");
            for (int i = 0; i < 3; i++) {
                WindowUpdates.send(p, update("grant-b"));
                WindowUpdates.send(p, update("grant-a"));
            }
            p.flush();
            WindowUpdates.assertReceives(grpc, 3, "the gRPC watch got the granted model's three events");
            WindowUpdates.assertReceives(socket.texts, 3, "the socket got the granted model's three events");
            assertTrue(grpc.stream().allMatch(e -> e.getWindowUpdate().getModelId().equals("grant-a")),
                    grpc.toString());
            assertTrue(socket.texts.stream().allMatch(t -> t.contains("\"modelId\":\"grant-a\"")),
                    socket.texts.toString());
            assertEquals(1, asking.texts.size(), asking.texts.toString());
            assertTrue(asking.texts.get(0).contains("PERMISSION_DENIED"), asking.texts.get(0));
            ws.abort();
            other.abort();
        } finally {
            context.cancel(null);
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A transition as the evaluating replica stores it, written here directly (generation given). */
    private void storeTransition(String monitor, long generation, double value) throws Exception {
        try (var c = owner.getConnection(); var ps = c.prepareStatement("INSERT INTO monitor_transition (monitor, "
                + "generation, tap, state, previous_state, since, value, threshold_applied, slice) VALUES (?, ?, "
                + "'dense1', 'drifting', 'ok', now(), ?, 0.1, 'all')")) {
            ps.setString(1, monitor);
            ps.setLong(2, generation);
            ps.setDouble(3, value);
            ps.executeUpdate();
        }
    }

    private long generation(String monitor) throws Exception {
        try (var c = owner.getConnection();
                var ps = c.prepareStatement("SELECT generation FROM monitor WHERE name = ?")) {
            ps.setString(1, monitor);
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /**
     * A transition stored while a monitor watched another model and pushed after it was moved (pushes follow within
     * a second) is announced under the definition that recorded it, not the monitor's current one: the granted
     * model's watchers never see the other model's transition as their own.
     */
    @Test
    void aTransitionOfAMonitorsEarlierModelNeverReachesTheNewModelsWatchers() throws Exception {
        given().header("Authorization", "Bearer " + OPS).contentType("application/json")
                .body("{\"monitor\": {\"name\": \"moving\", \"modelId\": \"grant-b\", \"tap\": \"dense1\"}}")
                .post("/api/v1/monitors").then().statusCode(201);
        long before = generation("moving");
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        Context.CancellableContext context = Context.current().withCancellation();
        try {
            List<WatchEvent> received = watch(channel, context, WatchRequest.newBuilder().setModelId("grant-a")
                    .setIncludeMonitors(true).build());
            Management.awaitMetric("nd_comparison_watch_subscribers 1.0");
            given().header("Authorization", "Bearer " + OPS).contentType("application/json")
                    .body("{\"monitor\": {\"modelId\": \"grant-a\", \"tap\": \"dense1\"}}")
                    .put("/api/v1/monitors/moving").then().statusCode(200);
            long after = generation("moving");
            assertTrue(after > before, "a change of model starts the monitor over");
            // stored under the earlier generation, pushed after the move; then one of the new generation
            storeTransition("moving", before, 0.77);
            storeTransition("moving", after, 0.42);
            WindowUpdates.assertReceives(received, 1, "the new generation's transition reached the watcher");
            Thread.sleep(2_000);
            assertEquals(1, received.size(), received.toString());
            assertEquals(0.42, received.get(0).getMonitorTransition().getMonitor().getCurrentValue(), 1e-9);
        } finally {
            context.cancel(null);
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        given().header("Authorization", "Bearer " + OPS).delete("/api/v1/monitors/moving").then().statusCode(200);
    }
}
