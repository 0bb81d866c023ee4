package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.testkit.TestInfrastructure;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A rolling update stops a comparison replica with SIGTERM while it answers calls. The packaged service, with its
 * shipped settings: readiness turns 503 at once while it goes on serving (the delay in which Kubernetes takes it out
 * of the Service's endpoints), and a call in flight when the signal came, held in the database past that delay,
 * still gets its answer before the process exits. Without the shutdown settings the call failed UNAVAILABLE the
 * moment the signal came.
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
                awaitWaiting(watch, 20);

                long signalled = System.nanoTime();
                comparison.signal("TERM");
                comparison.awaitReadiness(503);
                // past the delay the service no longer listens for new calls; the one in flight must still be held
                Thread.sleep(Math.max(0, DELAY.plusSeconds(3).toMillis()
                        - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled)));
                assertTrue(comparison.process().isAlive(), "the service exited with a call in flight; see "
                        + comparison.log());
                assertEquals(1, waiting(watch), "the call's statement still waits on the lock");
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

    /** Waits until one catalog read waits on the lock, failing after {@code seconds}. */
    private static void awaitWaiting(Connection watch, int seconds) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (waiting(watch) != 1) {
            assertTrue(System.nanoTime() < until, "no catalog read waits on the lock after " + seconds + " s");
            Thread.sleep(100);
        }
    }

    private static int waiting(Connection watch) throws Exception {
        try (PreparedStatement ps = watch.prepareStatement("SELECT count(*) FROM pg_stat_activity "
                + "WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ?")) {
            ps.setString(1, CATALOG_READ);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
