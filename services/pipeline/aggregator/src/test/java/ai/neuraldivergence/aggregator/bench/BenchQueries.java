package ai.neuraldivergence.aggregator.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The benchmarks' one-row reads of what the aggregator stored, each on a connection of its own. */
final class BenchQueries {

    /** Reads the one row a query returns. */
    @FunctionalInterface
    interface Row<T> {
        T read(ResultSet rs) throws SQLException;
    }

    private BenchQueries() {
    }

    /** Runs {@code sql}, which returns one row, and reads that row. */
    static <T> T one(String jdbc, String user, String password, String sql, Row<T> row) throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbc, user, password); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return row.read(rs);
        }
    }
}
