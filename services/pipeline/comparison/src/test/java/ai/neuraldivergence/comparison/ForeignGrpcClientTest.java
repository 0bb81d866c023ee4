package ai.neuraldivergence.comparison;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.ForeignGrpcClient;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * A gRPC client that is not ours (Debian's python3-grpcio) finds the API through server reflection and asks the
 * standard health service, as grpcurl, Kubernetes probes and other languages' clients do.
 */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class ForeignGrpcClientTest {

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    @Test
    void reflectionListsTheComparisonServiceAndEveryMethod() throws Exception {
        String out = ForeignGrpcClient.probe(port, "neuraldivergence.v1.ComparisonService");
        assertTrue(out.contains("\"neuraldivergence.v1.ComparisonService\""), out);
        assertTrue(out.contains("\"grpc.health.v1.Health\""), out);
        for (String method : new String[] {"GetCatalog", "Compare", "GetLayerOverview", "GetClassMatrix",
            "InspectInstance", "InspectPair", "GetNeuronExemplars", "GetDriftTimeline", "ListMonitors", "Watch",
            "GetDistributionShapes", "ListReferences", "CreateReference", "DeleteReference"}) {
            assertTrue(out.contains("\"" + method + "\""), method + " missing from " + out);
        }
        assertTrue(out.contains("\"health\": \"SERVING\""), out);
    }

    @Test
    void httpHealthAndMetricsAreServed() throws IOException {
        Management.given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body(containsString("Database connections health check"));
        Management.given().get("/q/health/live").then().statusCode(200);
        Management.given().get("/q/metrics").then().statusCode(200).body(containsString("jvm_memory_used_bytes"));
    }
}
