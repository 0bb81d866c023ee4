package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/**
 * Which failures of a flush mean its connection is gone: then the connection is aborted, not rolled back (a rollback
 * after a COPY that failed mid-stream waits for ever in pgjdbc).
 */
class FlushRollbackTest {

    @Test
    void anIoErrorOrAConnectionStateMeansTheConnectionIsGoneAndAStatementErrorDoesNot() {
        // how the recent-observation COPY reports a socket that failed under it
        assertTrue(FlushWriter.connectionLost(new SQLException("copying recent observations",
                new IOException("Broken pipe"))));
        assertTrue(FlushWriter.connectionLost(new IllegalStateException(new SQLException("I/O error", "08006"))));
        assertFalse(FlushWriter.connectionLost(new SQLException("duplicate key", "23505")));
        assertFalse(FlushWriter.connectionLost(new SQLException("lock timeout", "55P03")));
        assertFalse(FlushWriter.connectionLost(new IllegalStateException("before the flush commit")));
    }
}
