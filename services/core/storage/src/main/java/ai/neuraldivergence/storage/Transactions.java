package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;

/** Work done in one transaction: committed, or rolled back whatever it throws. */
public final class Transactions {

    /** Work done in one transaction; whatever it throws rolls it back. */
    interface Work<T> {
        T run(Connection c) throws Exception;
    }

    private Transactions() {
    }

    /**
     * Runs {@code work} in one transaction and commits it; rolls back and throws a {@link StorageException} saying
     * {@code what} failed when it throws (a runtime exception passes as it is).
     */
    static <T> T run(DataSource dataSource, String what, Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T out = work.run(c);
                c.commit();
                return out;
            } catch (Exception e) {
                c.rollback();
                if (e instanceof RuntimeException r) {
                    throw r;
                }
                throw new StorageException(what + (e instanceof SQLException ? "" : ": " + e.getMessage()), e);
            }
        } catch (SQLException e) {
            throw new StorageException(what, e);
        }
    }

    /**
     * Bounds the caller's transaction: a lock not granted within 10 s fails it, a session idle in it for 60 s is ended
     * by the server, so that an instance frozen mid-transaction holds nothing for long, and a server that does not
     * answer within {@link ReadTimeout#DEFAULT} fails it on this side, whatever data source the connection came from.
     */
    public static void bounded(Connection c) throws SQLException {
        bounded(c, ReadTimeout.DEFAULT);
    }

    static void bounded(Connection c, Duration readTimeout) throws SQLException {
        ReadTimeout.bound(c, Math.toIntExact(readTimeout.toMillis()));
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL lock_timeout = '10s'");
            st.execute("SET LOCAL idle_in_transaction_session_timeout = '60s'");
        }
    }
}
