package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.Catalog;
import com.google.common.util.concurrent.ListenableFuture;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
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
    }

    /** Waits until {@code count} catalog reads wait on a lock, failing after {@code seconds}. */
    private static void awaitWaiting(Connection watch, int count, int seconds) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int waiting;
        do {
            waiting = waiting(watch);
            if (waiting == count) {
                return;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < until);
        assertEquals(count, waiting, "catalog reads waiting on the lock after " + seconds + " s");
    }

    private static int waiting(Connection watch) throws SQLException {
        try (var ps = watch.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                + "AND wait_event_type = 'Lock' AND query LIKE ?")) {
            ps.setString(1, CATALOG_READ);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
