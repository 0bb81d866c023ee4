package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.FrozenServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A server that stops answering mid-transaction (SIGSTOP: the connection stays open, nothing comes back, as with a
 * frozen host or a half-open connection) fails a bounded statement on the client's side, instead of holding its
 * thread forever. A server of the test's own: the shared one must not freeze under the other tests.
 */
class FrozenServerTest {

    @Test
    // without the bound the read never returns: fail the test rather than hang the build
    @Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aStatementFailsWhenTheServerStopsAnswering() throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
            // a plain read through a bounding data source: what the aggregator's stores do on the consumer thread
            try (Connection c = ReadTimeout.bounding(pg.getPostgresDatabase(), Duration.ofSeconds(2))
                    .getConnection()) {
                failsWhileFrozen(c, pg);
            }
            // a bounded transaction, whatever data source its connection came from: a flush, a fold
            try (Connection c = pg.getPostgresDatabase().getConnection()) {
                c.setAutoCommit(false);
                Transactions.bounded(c, Duration.ofSeconds(2));
                failsWhileFrozen(c, pg);
            }
        }
    }

    private static void failsWhileFrozen(Connection c, EmbeddedPostgres pg) throws Exception {
        long started;
        try (FrozenServer frozen = FrozenServer.freeze(pg)) {
            started = System.nanoTime();
            assertThrows(SQLException.class, () -> {
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT 1");
                }
            });
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        assertTrue(seconds >= 1.5 && seconds < 30, "failed after the read timeout: " + seconds + " s");
        assertTrue(c.isClosed(), "the connection is given up, not returned to a pool half-read");
    }
}
