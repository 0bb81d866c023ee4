package ai.neuraldivergence.comparison;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A real gRPC channel to the service under test, opened before each test and closed after it. */
abstract class GrpcApiTest {

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    ManagedChannel channel;
    ComparisonServiceGrpc.ComparisonServiceBlockingStub api;

    @BeforeEach
    void connect() {
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        api = ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    @AfterEach
    void disconnect() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
