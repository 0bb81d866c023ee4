package ai.neuraldivergence.aggregator;

import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;
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
}
