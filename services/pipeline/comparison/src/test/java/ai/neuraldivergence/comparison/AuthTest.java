package ai.neuraldivergence.comparison;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/** With tokens configured, every gRPC and JSON call needs one; health and metrics stay open. */
@QuarkusTest
@TestProfile(AuthTest.WithTokens.class)
@WithTestResource(MigratedInfrastructureResource.class)
class AuthTest {

    public static class WithTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.comparison.auth.tokens", "first-secret-token-01,second-secret-token-02");
        }
    }

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    private static ComparisonServiceGrpc.ComparisonServiceBlockingStub stub(ManagedChannel channel, String header) {
        ComparisonServiceGrpc.ComparisonServiceBlockingStub s = ComparisonServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS);
        if (header == null) {
            return s;
        }
        Metadata m = new Metadata();
        m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), header);
        return s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
    }

    @Test
    void grpcCallsNeedAValidBearerTokenButHealthDoesNot() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            GetCatalogRequest request = GetCatalogRequest.getDefaultInstance();
            StatusRuntimeException missing = assertThrows(StatusRuntimeException.class,
                    () -> stub(channel, null).getCatalog(request));
            assertEquals(Status.Code.UNAUTHENTICATED, missing.getStatus().getCode());
            assertEquals("this API requires 'authorization: Bearer <token>'", missing.getStatus().getDescription());
            StatusRuntimeException wrong = assertThrows(StatusRuntimeException.class,
                    () -> stub(channel, "Bearer first-secret-token-01X").getCatalog(request));
            assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
            assertEquals("the bearer token is not valid", wrong.getStatus().getDescription());
            // either configured token works
            stub(channel, "Bearer first-secret-token-01").getCatalog(request);
            stub(channel, "bearer second-secret-token-02").getCatalog(request);
            assertEquals("SERVING", HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus().name());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void jsonCallsNeedAValidBearerTokenButHealthAndMetricsDoNot() {
        given().get("/api/v1/catalog").then().statusCode(401).body("code", equalTo("UNAUTHENTICATED"));
        given().header("Authorization", "Bearer wrong").get("/api/v1/references").then().statusCode(401)
                .body("message", equalTo("the bearer token is not valid"));
        given().header("Authorization", "Bearer second-secret-token-02").get("/api/v1/catalog").then().statusCode(200);
        Management.given().get("/q/health/ready").then().statusCode(200);
        Management.given().get("/q/metrics").then().statusCode(200);
    }
}
