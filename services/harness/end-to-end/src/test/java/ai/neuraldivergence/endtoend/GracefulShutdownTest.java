package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.testkit.Sql;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A rolling update stops a comparison replica with SIGTERM while it answers calls. The packaged service, with its
 * shipped settings: readiness turns 503 at once while it goes on serving (the delay in which Kubernetes takes it out
 * of the Service's endpoints), and a call in flight when the signal came, held in the database past that delay,
 * still gets its answer before the process exits. Without the shutdown settings the call failed UNAVAILABLE the
 * moment the signal came. A watch stream open then ends when the delay is over, UNAVAILABLE, so that its client
 * subscribes to another replica (open, it held the shutdown for its whole timeout and was then cut).
 */
class GracefulShutdownTest {

    /** The catalog's coverage statement, told apart from the service's background reads by its text. */
    private static final String CATALOG_READ = "%coalesce(max(t.observations), 0)%";
    /** The shipped quarkus.shutdown.delay. */
    private static final Duration DELAY = Duration.ofSeconds(5);

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aCallInFlightWhenTheReplicaIsStoppedGetsItsAnswer() throws Exception {
        TestInfrastructure infra = TestInfrastructure.shared();
        String jdbc = infra.newDatabase("shutdown");
        // the aggregator owns the schema; the comparison service here runs without one
        Flyway.configure().dataSource(jdbc, TestInfrastructure.DB_USER, TestInfrastructure.DB_PASSWORD).load()
                .migrate();
        java.util.Map<String, String> env = ServiceProcess.environment(jdbc);
        env.put("ND_TOPICS_WINDOW_UPDATES", "shutdown.window-updates");
        // the delay the chart and application.properties ship (other tests stop their services without one)
        env.put("QUARKUS_SHUTDOWN_DELAY", DELAY.toSeconds() + "s");
        try (ServiceProcess comparison = ServiceProcess.start("comparison", ServiceProcess.asComparison(env),
                List.of(), "comparison-shutdown");
                Connection lock = DriverManager.getConnection(jdbc, TestInfrastructure.DB_USER,
                        TestInfrastructure.DB_PASSWORD);
                Connection watch = DriverManager.getConnection(jdbc, TestInfrastructure.DB_USER,
                        TestInfrastructure.DB_PASSWORD)) {
            comparison.awaitReady(Duration.ofSeconds(120));
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", comparison.port()).usePlaintext()
                    .build();
            try {
                lock.setAutoCommit(false);
                try (Statement s = lock.createStatement()) {
                    s.execute("LOCK TABLE model_version IN ACCESS EXCLUSIVE MODE");
                }
                ListenableFuture<Catalog> call = ComparisonServiceGrpc.newFutureStub(channel)
                        .withDeadlineAfter(2, TimeUnit.MINUTES).getCatalog(GetCatalogRequest.getDefaultInstance());
                Sql.awaitWaitingOnALock(watch, CATALOG_READ, 1, Duration.ofSeconds(20));
                CompletableFuture<Status> watchEnd = new CompletableFuture<>();
                ComparisonServiceGrpc.newStub(channel).watch(WatchRequest.newBuilder().setModelId("any").build(),
                        new StreamObserver<>() {
                            @Override
                            public void onNext(WatchEvent e) {
                            }

                            @Override
                            public void onError(Throwable t) {
                                watchEnd.complete(Status.fromThrowable(t));
                            }

                            @Override
                            public void onCompleted() {
                                watchEnd.complete(Status.OK);
                            }
                        });
                awaitMetric(comparison, "nd_comparison_watch_subscribers 1.0");

                long signalled = System.nanoTime();
                comparison.signal("TERM");
                comparison.awaitReadiness(503);
                // during the delay the replica is still in its Service: a subscription made again could land here
                assertFalse(watchEnd.isDone(), "the stream ended before the delay was over: " + watchEnd);
                Status ended = watchEnd.get(DELAY.toSeconds() + 5, TimeUnit.SECONDS);
                assertEquals(Status.Code.UNAVAILABLE, ended.getCode(), ended.toString());
                assertTrue(ended.getDescription().contains("subscribe again"), ended.toString());
                // past the delay the service is stopping (connections close as their calls end); the call in flight
                // must still be held, and answered
                Thread.sleep(Math.max(0, DELAY.plusSeconds(3).toMillis()
                        - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled)));
                assertTrue(comparison.process().isAlive(), "the service exited with a call in flight; see "
                        + comparison.log());
                assertEquals(1, Sql.waitingOnALock(watch, CATALOG_READ), "the call's statement still waits");
                lock.rollback();

                Catalog catalog = call.get(60, TimeUnit.SECONDS);
                assertEquals(0, catalog.getModelsCount(), "an empty database's catalog: " + catalog);
                assertTrue(comparison.process().waitFor(60, TimeUnit.SECONDS),
                        "the service did not exit once its last call was answered; see " + comparison.log());
            } finally {
                channel.shutdownNow();
            }
        }
    }

    /** Waits up to 30 s for the service's metrics to show {@code line}. */
    private static void awaitMetric(ServiceProcess service, String line) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(service.managementUrl()
                + "/q/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body().contains(line)) {
            assertTrue(System.nanoTime() < until, "the metrics never showed " + line);
            Thread.sleep(100);
        }
    }
}
