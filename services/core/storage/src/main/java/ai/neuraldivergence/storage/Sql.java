package ai.neuraldivergence.storage;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/** The JDBC steps every store repeats: parameters bound by their Java type, rows read into values. */
final class Sql {

    /** Reads the current row into a value. */
    @FunctionalInterface
    interface Row<T> {
        T read(ResultSet rs) throws SQLException;
    }

    private Sql() {
    }

    /**
     * Binds {@code values} to the parameters from the first on, each by its type: String, Integer, Long, Double, Boolean,
     * byte[], Instant or Timestamp (a timestamp). A parameter that may be null is bound by its own typed setter: a
     * null here says nothing of the type the statement expects, so it is refused.
     */
    static void bind(PreparedStatement ps, Object... values) throws SQLException {
        bindFrom(ps, 1, values);
    }

    /** {@link #bind}, from parameter {@code first} on. */
    static void bindFrom(PreparedStatement ps, int first, Object... values) throws SQLException {
        for (int i = 0; i < values.length; i++) {
            int p = first + i;
            Object v = values[i];
            if (v instanceof String s) {
                ps.setString(p, s);
            } else if (v instanceof Integer n) {
                ps.setInt(p, n);
            } else if (v instanceof Long n) {
                ps.setLong(p, n);
            } else if (v instanceof Double d) {
                ps.setDouble(p, d);
            } else if (v instanceof Boolean b) {
                ps.setBoolean(p, b);
            } else if (v instanceof byte[] b) {
                ps.setBytes(p, b);
            } else if (v instanceof Instant t) {
                ps.setTimestamp(p, Timestamp.from(t));
            } else if (v instanceof Timestamp t) {
                ps.setTimestamp(p, t);
            } else {
                throw new IllegalArgumentException("parameter " + p + ": no setter for "
                        + (v == null ? "null" : v.getClass().getName()));
            }
        }
    }

    /** Runs a bound query and reads every row it returns, in order. */
    static <T> List<T> list(PreparedStatement ps, Row<T> row) throws SQLException {
        List<T> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(row.read(rs));
            }
        }
        return out;
    }

    /** Runs a bound query that returns one row (an aggregate, a test) and reads it. */
    static <T> T one(PreparedStatement ps, Row<T> row) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            return row.read(rs);
        }
    }

    /** Runs a bound query that returns at most one row (a key's row) and reads it; null when there is none. */
    static <T> T first(PreparedStatement ps, Row<T> row) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? row.read(rs) : null;
        }
    }

    /**
     * Runs a bound query and merges every row it returns, in order, into {@code start} (into the first row when
     * {@code start} is null); null when there is neither. One decoded row at a time beside the sum: a stored row
     * can be megabytes.
     */
    static <T> T mergeInto(T start, PreparedStatement ps, Row<T> row, BiConsumer<T, T> merge) throws SQLException {
        T sum = start;
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                T next = row.read(rs);
                if (sum == null) {
                    sum = next;
                } else {
                    merge.accept(sum, next);
                }
            }
        }
        return sum;
    }
}
