package ai.neuraldivergence.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Statements a test runs to look at the database or to probe what a login may do. */
public final class Sql {

    /** Where a connection comes from: a data source, or a driver URL and a login. */
    @FunctionalInterface
    public interface Connector {
        Connection connect() throws SQLException;
    }

    private Sql() {
    }

    /**
     * Runs {@code sql} in a transaction that is rolled back whatever happens, so that nothing it would change stays;
     * returns the SQLSTATE it failed with, or null when it succeeded.
     */
    public static String attempt(Connector connector, String sql) throws SQLException {
        try (Connection c = connector.connect()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.execute();
                return null;
            } catch (SQLException e) {
                return e.getSQLState();
            } finally {
                c.rollback();
            }
        }
    }

    /**
     * How many statements of this database whose text is like {@code queryLike} (a LIKE pattern) wait on a lock: a
     * read a test holds with a lock of its own, to act while it runs.
     */
    public static int waitingOnALock(Connection watch, String queryLike) throws SQLException {
        try (PreparedStatement ps = watch.prepareStatement("SELECT count(*) FROM pg_stat_activity "
                + "WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ?")) {
            ps.setString(1, queryLike);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /**
     * Waits until {@code count} statements like {@code queryLike} wait on a lock ({@link #waitingOnALock}), failing
     * with an AssertionError after {@code timeout}.
     */
    public static void awaitWaitingOnALock(Connection watch, String queryLike, int count, java.time.Duration timeout)
            throws SQLException, InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        int waiting;
        while ((waiting = waitingOnALock(watch, queryLike)) != count) {
            if (System.nanoTime() > until) {
                throw new AssertionError(waiting + " statements like " + queryLike + " wait on a lock after " + timeout
                        + ", expected " + count);
            }
            Thread.sleep(100);
        }
    }

    /** The first column of the first row of {@code sql}, a {@code count(*)} or the like. */
    public static long count(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
