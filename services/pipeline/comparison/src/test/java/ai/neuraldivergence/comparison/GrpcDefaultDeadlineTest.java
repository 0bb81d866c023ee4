package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * A gRPC call that brings no deadline is bounded by nd.comparison.grpc.default-deadline (here 1 ms, which no call
 * meets): its statements are cancelled in the database and it answers DEADLINE_EXCEEDED. Before, such a call (from
 * grpcurl, or a script) ran its statements unbounded. A client's own deadline applies instead.
 */
@QuarkusTest
@TestProfile(GrpcDefaultDeadlineTest.Tiny.class)
@WithTestResource(MigratedInfrastructureResource.class)
class GrpcDefaultDeadlineTest {

    public static class Tiny implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.comparison.grpc.default-deadline", "1ms");
        }
    }

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    @Test
    void aCallWithoutADeadlineIsBoundedByTheDefaultOne() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> ComparisonServiceGrpc.newBlockingStub(channel)
                            .getCatalog(GetCatalogRequest.getDefaultInstance()));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e.getStatus().toString());
            // the client's deadline, when it sets one, is the bound
            ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .getCatalog(GetCatalogRequest.getDefaultInstance());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
