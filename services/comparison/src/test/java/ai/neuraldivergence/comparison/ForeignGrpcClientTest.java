package ai.neuraldivergence.comparison;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.TestPrerequisites;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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
        Path python = TestPrerequisites.requirePythonModule("grpc", "python3-grpcio");
        Process p = new ProcessBuilder(python.toString(), "src/test/python/grpc_probe.py", "127.0.0.1:" + port,
                "neuraldivergence.v1.ComparisonService").redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe timed out");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
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
        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body(containsString("Database connections health check"));
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200).body(containsString("jvm_memory_used_bytes"));
    }
}
