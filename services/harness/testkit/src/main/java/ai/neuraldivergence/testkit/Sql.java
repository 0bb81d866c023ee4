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

    /** The first column of the first row of {@code sql}, a {@code count(*)} or the like. */
    public static long count(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
