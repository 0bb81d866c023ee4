package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A server that stops answering mid-transaction (SIGSTOP: the connection stays open, nothing comes back, as with a
 * frozen host or a half-open connection) fails a bounded transaction's statement on the client's side, instead of
 * holding its thread forever. A server of the test's own: the shared one must not freeze under the other tests.
 */
class FrozenServerTest {

    @Test
    // without the bound the read never returns: fail the test rather than hang the build
    @Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aStatementFailsWhenTheServerStopsAnswering() throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
            Path dataDirectory;
            try (Connection c = pg.getPostgresDatabase().getConnection()) {
                dataDirectory = dataDirectory(c);
            }
            // a plain read through a bounding data source: what the aggregator's stores do on the consumer thread
            try (Connection c = ReadTimeout.bounding(pg.getPostgresDatabase(), Duration.ofSeconds(2))
                    .getConnection()) {
                failsWhileFrozen(c, dataDirectory);
            }
            // a bounded transaction, whatever data source its connection came from: a flush, a fold
            try (Connection c = pg.getPostgresDatabase().getConnection()) {
                c.setAutoCommit(false);
                Transactions.bounded(c, Duration.ofSeconds(2));
                failsWhileFrozen(c, dataDirectory);
            }
        }
    }

    private static void failsWhileFrozen(Connection c, Path dataDirectory) throws Exception {
        // the whole server, the connection's own backend included (listed after it started)
        List<Long> server = processes(dataDirectory);
        signal("STOP", server);
        long started = System.nanoTime();
        try {
            assertThrows(SQLException.class, () -> {
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT 1");
                }
            });
        } finally {
            signal("CONT", server);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        assertTrue(seconds >= 1.5 && seconds < 30, "failed after the read timeout: " + seconds + " s");
        assertTrue(c.isClosed(), "the connection is given up, not returned to a pool half-read");
    }

    private static Path dataDirectory(Connection c) throws Exception {
        try (Statement st = c.createStatement(); var rs = st.executeQuery("SHOW data_directory")) {
            rs.next();
            return Path.of(rs.getString(1));
        }
    }

    /** The postmaster (the first line of its pid file) and every process it started. */
    private static List<Long> processes(Path dataDirectory) throws Exception {
        long postmaster = Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
        List<Long> out = new ArrayList<>();
        out.add(postmaster);
        ProcessHandle.of(postmaster).orElseThrow().descendants().forEach(p -> out.add(p.pid()));
        return out;
    }

    private static void signal(String name, List<Long> pids) throws Exception {
        List<String> command = new ArrayList<>(List.of("kill", "-" + name));
        pids.forEach(p -> command.add(Long.toString(p)));
        new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
