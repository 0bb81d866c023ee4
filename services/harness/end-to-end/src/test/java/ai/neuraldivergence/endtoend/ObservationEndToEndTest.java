package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.DistributionShapes;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.DistributionSummary;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The walking skeleton: an observation posted to the inference service is published as an ActivationBatch to a
 * real Kafka, aggregated into a KLL sketch stored in a real PostgreSQL, and read back by a gRPC call to the
 * comparison service: three packaged services, each in its own JVM, wired only by configuration.
 */
class ObservationEndToEndTest {

    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final List<ServiceProcess> SERVICES = new ArrayList<>();
    private static ServiceProcess inference;
    private static ServiceProcess comparison;
    private static String db;

    @BeforeAll
    static void startPlatform() throws Exception {
        TestInfrastructure infrastructure = TestInfrastructure.shared();
        db = infrastructure.newDatabase("e2e");
        Map<String, String> env = ServiceProcess.environment(db);
        env.putAll(ServiceProcess.model(System.getProperty("nd.model.path")));
        // the aggregator first: it owns the schema the comparison service reads
        ServiceProcess aggregator = start("aggregator", env);
        inference = start("inference", env);
        aggregator.awaitReady(STARTUP);
        comparison = start("comparison", ServiceProcess.asComparison(env));
        inference.awaitReady(STARTUP);
        comparison.awaitReady(STARTUP);
    }

    private static ServiceProcess start(String module, Map<String, String> env) throws Exception {
        ServiceProcess p = ServiceProcess.start(module, env);
        SERVICES.add(p);
        return p;
    }

    @AfterAll
    static void stopPlatform() {
        SERVICES.forEach(ServiceProcess::close);
    }

    @Test
    void anObservationFlowsFromInferenceThroughKafkaAndPostgresToAComparisonQuery() throws Exception {
        Instant eventTime = Instant.now().minusSeconds(5);
        post(eventTime, new float[] {0.1f, 0.2f, 3.5f, 0f});
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port()).usePlaintext()
                .build();
        try {
            var api = ComparisonServiceGrpc.newBlockingStub(channel);
            DistributionSummary neuron2 = awaitCount(api, eventTime, 1);
            assertEquals(1, neuron2.getCount());
            assertEquals(3.5, neuron2.getQuantiles(0).getValue(), 1e-6, "the median of one value is that value");
            assertEquals(3.5, neuron2.getMax(), 1e-6);

            // a second observation lands in the same stored sketch
            post(eventTime, new float[] {0f, 0f, 1.5f, 0f});
            neuron2 = awaitCount(api, eventTime, 2);
            assertEquals(1.5, neuron2.getMin(), 1e-6);
            assertEquals(2.5, neuron2.getMean(), 1e-6);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        // and it read them as its own role, not as the schema's owner (its pool keeps the connection it used)
        try (Connection c = asOwner();
                PreparedStatement ps = c.prepareStatement("SELECT DISTINCT usename FROM pg_stat_activity "
                        + "WHERE datname = current_database() AND pid <> pg_backend_pid()");
                ResultSet rs = ps.executeQuery()) {
            List<String> users = new ArrayList<>();
            while (rs.next()) {
                users.add(rs.getString(1));
            }
            assertTrue(users.contains(TestInfrastructure.COMPARISON_DB_USER), users.toString());
        }
    }

    @Test
    void anObservationIsVisibleToCompareBeforeItsMinuteCompletes() throws Exception {
        // stamped two minutes ahead (within the clock skew accepted): its minute cannot complete while the test runs
        Instant eventTime = Instant.now().plusSeconds(120);
        post("e2e-early", eventTime, new float[] {0f, 0f, 2.5f, 0f});
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port()).usePlaintext()
                .build();
        try {
            DistributionSummary neuron2 = awaitCount(ComparisonServiceGrpc.newBlockingStub(channel), "e2e-early",
                    eventTime, 1);
            assertEquals(2.5, neuron2.getMax(), 1e-6);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        // read from its delta: the minute has no row yet
        try (Connection c = asOwner();
                PreparedStatement ps = c.prepareStatement("SELECT (SELECT count(*) FROM tap_window WHERE model_id = "
                        + "'e2e-early'), (SELECT count(*) FROM window_delta WHERE model_id = 'e2e-early' AND NOT "
                        + "folded)");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertEquals(0, rs.getLong(1), "no row: its minute is not complete");
            assertEquals(1, rs.getLong(2), "one unfolded delta, which the comparison read");
        }
    }

    @Test
    void aPredictionOfARealDigitIsCapturedAggregatedAndQueryable() throws Exception {
        ai.neuraldivergence.datasets.ImageSet digits = ai.neuraldivergence.datasets.NpmImages.mnist()
                .split(0.8, 1234).test();
        StringBuilder pixels = new StringBuilder();
        for (float v : digits.image(0)) {
            pixels.append(pixels.length() == 0 ? "" : ",").append(v);
        }
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(inference.baseUrl() + "/v1/predict"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"instances\": [{\"pixels\": [" + pixels
                                + "], \"tags\": {\"source\": \"e2e\"}}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(true, r.body().contains("\"predictedClass\":" + digits.label(0)), r.body());
        Instant now = Instant.now();
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port()).usePlaintext()
                .build();
        try {
            var api = ComparisonServiceGrpc.newBlockingStub(channel);
            DistributionShapesRequest request = DistributionShapesRequest.newBuilder()
                    .setModelId("mnist-cnn").setTap("conv2").addNeurons(31)
                    .setA(Selection.newBuilder().setTimeRange(TimeRange.newBuilder()
                            .setFrom(Timestamp.newBuilder().setSeconds(now.getEpochSecond() - 300))
                            .setTo(Timestamp.newBuilder().setSeconds(now.getEpochSecond() + 300)))
                            .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setTag(
                                    ai.neuraldivergence.proto.v1.Tag.newBuilder().setKey("source")
                                            .setValue("e2e"))))
                    .build();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long count = 0;
            while (count == 0 && System.nanoTime() < deadline) {
                try {
                    count = api.withDeadlineAfter(10, TimeUnit.SECONDS).getDistributionShapes(request)
                            .getNeurons(0).getA().getCount();
                } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                        throw e;
                    }
                }
                Thread.sleep(200);
            }
            assertEquals(1, count, "conv2's last channel holds the one captured digit");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A connection to the platform's database as the schema's owner, to look at what is stored. */
    private static Connection asOwner() throws java.sql.SQLException {
        return DriverManager.getConnection(db, TestInfrastructure.DB_USER, TestInfrastructure.DB_PASSWORD);
    }

    private static void post(Instant eventTime, float[] dense1) throws Exception {
        post("e2e-model", eventTime, dense1);
    }

    private static void post(String model, Instant eventTime, float[] dense1) throws Exception {
        String body = """
            {"modelId": "%s", "modelVersion": "1",
             "taps": [{"name": "dense1", "index": 0, "shape": [4]}],
             "observations": [{"eventTime": "%s", "predictedClass": 2, "confidence": 0.8,
                               "activations": {"dense1": [%s, %s, %s, %s]}}]}
            """.formatted(model, eventTime, dense1[0], dense1[1], dense1[2], dense1[3]);
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(inference.baseUrl() + "/v1/observations"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, r.statusCode(), r.body());
    }

    /** Neuron 2's distribution over the observation's minute, once it holds {@code count} values. */
    private static DistributionSummary awaitCount(ComparisonServiceGrpc.ComparisonServiceBlockingStub api,
            Instant eventTime, long count) throws InterruptedException {
        return awaitCount(api, "e2e-model", eventTime, count);
    }

    private static DistributionSummary awaitCount(ComparisonServiceGrpc.ComparisonServiceBlockingStub api,
            String model, Instant eventTime, long count) throws InterruptedException {
        Instant from = eventTime.minusSeconds(120);
        Instant to = eventTime.plusSeconds(120);
        DistributionShapesRequest request = DistributionShapesRequest.newBuilder()
                .setModelId(model).setTap("dense1").addNeurons(2).addRanks(0.5)
                .setA(Selection.newBuilder().setTimeRange(TimeRange.newBuilder()
                        .setFrom(Timestamp.newBuilder().setSeconds(from.getEpochSecond()))
                        .setTo(Timestamp.newBuilder().setSeconds(to.getEpochSecond()))))
                .build();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String last = "nothing stored yet";
        while (System.nanoTime() < deadline) {
            try {
                DistributionShapes shapes = api.withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getDistributionShapes(request);
                DistributionSummary a = shapes.getNeurons(0).getA();
                if (a.getCount() == count) {
                    return a;
                }
                last = "count " + a.getCount();
            } catch (StatusRuntimeException e) {
                // NOT_FOUND until the aggregator has committed the model's first window
                if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                    throw e;
                }
                last = e.getStatus().toString();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("neuron 2 never reached " + count + " observations: " + last
                + "; service logs in target/e2e-logs");
    }
}
