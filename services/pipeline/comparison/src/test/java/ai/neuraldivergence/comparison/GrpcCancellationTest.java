package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.testkit.Sql;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A call whose client goes away (a closed tab, Ctrl-C in the CLI) stops its statement in the database at once,
 * instead of holding a worker and a pooled connection until its deadline. The call's read is held in the database
 * by a lock the test takes on a table the catalog reads.
 */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class GrpcCancellationTest extends GrpcApiTest {

    /** The catalog's coverage statement, told apart from the service's background reads by its text. */
    private static final String CATALOG_READ = "%coalesce(max(t.observations), 0)%";

    @Inject
    @SchemaOwner
    DataSource owner;

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aCallItsClientCancelsStopsItsStatementInTheDatabase() throws Exception {
        double cancels = answered("CANCELLED");
        try (Connection lock = owner.getConnection(); Connection watch = owner.getConnection()) {
            lock.setAutoCommit(false);
            try (Statement s = lock.createStatement()) {
                s.execute("LOCK TABLE model_version IN ACCESS EXCLUSIVE MODE");
            }
            ListenableFuture<Catalog> call = ComparisonServiceGrpc.newFutureStub(channel)
                    .withDeadlineAfter(5, TimeUnit.MINUTES).getCatalog(GetCatalogRequest.getDefaultInstance());
            awaitWaiting(watch, 1, 20);
            call.cancel(true);
            assertThrows(CancellationException.class, call::get);
            // the service's statement is gone while the lock is still held: cancelled, not done
            awaitWaiting(watch, 0, 10);
            lock.rollback();
        }
        awaitCountedOnce("CANCELLED", cancels + 1);
    }

    /**
     * A client whose own deadline passes resets the call too, as a cancel does: the service stops the statement, and
     * its gRPC metrics count the call once (the reset, as CANCELLED), not a second time with an answer nobody reads.
     */
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aCallPastItsClientsDeadlineIsStoppedAndCountedOnce() throws Exception {
        double deadlines = answered("DEADLINE_EXCEEDED");
        double cancels = answered("CANCELLED");
        try (Connection lock = owner.getConnection(); Connection watch = owner.getConnection()) {
            lock.setAutoCommit(false);
            try (Statement s = lock.createStatement()) {
                s.execute("LOCK TABLE model_version IN ACCESS EXCLUSIVE MODE");
            }
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ComparisonServiceGrpc
                    .newBlockingStub(channel).withDeadlineAfter(2500, TimeUnit.MILLISECONDS)
                    .getCatalog(GetCatalogRequest.getDefaultInstance()));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
            awaitWaiting(watch, 0, 10);
            lock.rollback();
        }
        awaitCountedOnce("CANCELLED", cancels + 1);
        assertEquals(deadlines, answered("DEADLINE_EXCEEDED"), "GetCatalog calls answered DEADLINE_EXCEEDED");
    }

    /**
     * Waits up to 10 s for the service to have counted {@code count} GetCatalog calls answered {@code code}, then a
     * second more for a count that should not come.
     */
    private static void awaitCountedOnce(String code, double count) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (answered(code) < count && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        Thread.sleep(1_000);
        assertEquals(count, answered(code), "GetCatalog calls answered " + code);
    }

    /** How many GetCatalog calls the service answered with {@code code}, by its gRPC server metrics. */
    private static double answered(String code) {
        double total = 0;
        for (String line : Management.given().get("/q/metrics").asString().lines().toList()) {
            if (line.startsWith("grpc_server_processing_duration_seconds_count{")
                    && line.contains("method=\"GetCatalog\"") && line.contains("statusCode=\"" + code + "\"")) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return total;
    }

    /** Waits until {@code count} catalog reads wait on a lock, failing after {@code seconds}. */
    private static void awaitWaiting(Connection watch, int count, int seconds) throws Exception {
        Sql.awaitWaitingOnALock(watch, CATALOG_READ, count, java.time.Duration.ofSeconds(seconds));
    }
}
