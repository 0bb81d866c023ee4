package ai.neuraldivergence.inference;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.datasets.NpmImages;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Kafka unreachable, shed policy: predictions keep being answered, and every capture that did not fit the bounded
 * queue is shed and counted, exactly.
 */
@QuarkusTest
@TestProfile(CaptureOutageTest.KafkaDown.class)
class CaptureOutageTest {

    public static class KafkaDown implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kafka.bootstrap.servers", "127.0.0.1:" + closedPort(),
                    "nd.capture.queue-capacity", "2",
                    "nd.capture.policy", "shed",
                    "nd.capture.ack-timeout", "3s",
                    "nd.inference.limits.labels-deadline", "2s");
        }

        private static int closedPort() {
            try (ServerSocket s = new ServerSocket(0)) {
                return s.getLocalPort();
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Inject
    MeterRegistry registry;

    /** Accepted means delivered: with Kafka away, recorded observations get a 503 saying so, and are counted. */
    @Test
    void observationsKafkaDoesNotTakeAreRefusedWithA503AndCounted() throws Exception {
        double failedBefore = registry.counter("nd.capture.observations.failed").count();
        String body = """
                {"modelId": "outage", "modelVersion": "1", "taps": [{"name": "dense", "index": 0, "shape": [2]}],
                 "observations": [{"predictedClass": 1, "activations": {"dense": [0.5, 1.5]}}]}""";
        long started = System.nanoTime();
        given().contentType(ContentType.JSON).body(body).post("/v1/observations").then().statusCode(503)
                .body("message", org.hamcrest.Matchers.anyOf(
                        org.hamcrest.Matchers.containsString("not recorded"),
                        org.hamcrest.Matchers.containsString("did not acknowledge")));
        double seconds = (System.nanoTime() - started) / 1e9;
        assertTrue(seconds < 15, "answered within the acknowledgement timeout and the delivery timeout, took "
                + seconds + " s");
        // counted when the outcome is settled: at once when withdrawn, at the delivery timeout when sent
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (registry.counter("nd.capture.observations.failed").count() == failedBefore
                && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(1.0, registry.counter("nd.capture.observations.failed").count() - failedBefore, 0.0);
    }

    /**
     * Labels while Kafka was never reachable (the producer waits for the cluster's metadata): a request of 1,000
     * labels answers 503 by its one deadline (before, each label's send waited 5 s for the metadata on the request's
     * thread: 1,000 x 5 s), and its labels are counted.
     */
    @Test
    void labelsKafkaDoesNotTakeAnswer503ByTheirDeadlineAndAreCounted() {
        double before = registry.counter("nd.inference.labels.unavailable").count();
        StringBuilder body = new StringBuilder("{\"labels\": [");
        for (int i = 0; i < 1_000; i++) {
            body.append(i == 0 ? "" : ",").append("{\"instanceId\": \"outage-").append(i)
                    .append("\", \"trueLabel\": ").append(i % 10).append('}');
        }
        long started = System.nanoTime();
        given().contentType(ContentType.JSON).body(body.append("]}").toString()).post("/v1/labels").then()
                .statusCode(503).body("message", org.hamcrest.Matchers.containsString("Kafka"));
        double seconds = (System.nanoTime() - started) / 1e9;
        // a margin for a loaded machine and this test JVM's cold start: before, 1,000 x 5 s
        assertTrue(seconds < 2 + 15, "answered by the 2 s deadline (and a margin), took " + seconds + " s");
        assertEquals(1_000.0, registry.counter("nd.inference.labels.unavailable").count() - before, 0.0);
    }

    @Test
    void everyShedObservationIsCounted() throws Exception {
        float[] digit = NpmImages.mnist().image(0);
        double shedBefore = registry.counter("nd.capture.observations.shed").count();
        double capturedBefore = registry.counter("nd.capture.observations.captured").count();
        int requests = 12;
        int perRequest = 2;
        int shed = 0;
        for (int i = 0; i < requests; i++) {
            List<String> capture = given().contentType(ContentType.JSON)
                    .body(Map.of("instances", List.of(Map.of("pixels", digit), Map.of("pixels", digit))))
                    .post("/v1/predict").then().statusCode(200).extract().jsonPath()
                    .getList("predictions.capture", String.class);
            shed += (int) capture.stream().filter("shed"::equals).count();
        }
        // the publisher holds one request while it waits for Kafka, the queue two more: the rest is shed
        assertTrue(shed >= (requests - 3) * perRequest, "shed " + shed);
        assertEquals(shed, registry.counter("nd.capture.observations.shed").count() - shedBefore, 0.0);
        assertEquals(requests * perRequest - shed,
                registry.counter("nd.capture.observations.captured").count() - capturedBefore, 0.0);
        // and the service stays ready: Kubernetes keeps sending it traffic while Kafka is away
        Management.given().get("/q/health/ready").then().statusCode(200).body("status",
                org.hamcrest.Matchers.equalTo("UP"));
    }
}
