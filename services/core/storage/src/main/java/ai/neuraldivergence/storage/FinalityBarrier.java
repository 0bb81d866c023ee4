package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * Orders flushes against the compaction pass that builds what is final. A flush decides which minutes are final by
 * the watermark it reads at its start, and its deltas become visible only when it commits; a pass that read a later
 * watermark (moved by another partition's flush meanwhile) could build an hour from a minute while such a flush is
 * still appending to it, and the hour would never hold that flush's observations (retention later drops the minute,
 * and with it the only copy). So a flush holds a shared lock from before it reads the watermark until it ends, and a
 * pass, having read its watermark, waits once for an exclusive one: every flush that read an earlier watermark has
 * then committed (its deltas are there to fold first), and every later one reads a watermark at least the pass's, so
 * it finds the pass's final minutes final and appends nothing to them.
 */
public final class FinalityBarrier {

    private static final long KEY = AdvisoryLocks.hash("finality: flushes before the builds");

    private FinalityBarrier() {
    }

    /** In a flush's transaction, before it reads the watermark: held until the transaction ends. */
    public static void enterFlush(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock_shared(?)")) {
            ps.setLong(1, KEY);
            ps.executeQuery().close();
        }
    }

    /**
     * Waits until every flush running now has ended, at most {@code timeout} (flushes that start meanwhile wait behind
     * it, and their own lock wait is bounded: it must be short).
     *
     * @return false when one has not ended by then: nothing may be built at this pass
     */
    public static boolean awaitFlushes(DataSource dataSource, Duration timeout) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("SET LOCAL lock_timeout = " + Math.max(1, timeout.toMillis()));
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                ps.setLong(1, KEY);
                ps.executeQuery().close();
            } catch (SQLException e) {
                if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                    c.rollback();
                    return false;
                }
                throw e;
            }
            c.commit();
            return true;
        } catch (SQLException e) {
            throw new StorageException("waiting for the flushes that read an earlier watermark", e);
        }
    }

    /** PostgreSQL's lock_not_available: the lock timeout passed. */
    private static final String LOCK_NOT_AVAILABLE = "55P03";
}
