package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;
import java.time.Duration;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Health and metrics are served on Quarkus' management interface, a port apart from the API's (a free one in tests:
 * Quarkus writes the port it bound back into {@code quarkus.management.port}).
 */
final class Management {

    private Management() {
    }

    /** A request to the management interface, e.g. {@code Management.given().get("/q/metrics")}. */
    static RequestSpecification given() {
        return RestAssured.given().port(ConfigProvider.getConfig().getValue("quarkus.management.port", Integer.class));
    }

    /** Waits up to a minute for the metrics to show {@code text} (a gauge's line, e.g.). */
    static void awaitMetric(String text) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!given().get("/q/metrics").asString().contains(text)) {
            assertTrue(System.nanoTime() < deadline, "never saw " + text);
            Thread.sleep(200);
        }
    }
}
