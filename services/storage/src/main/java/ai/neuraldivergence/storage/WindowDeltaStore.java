package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RawRows;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.WindowKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Minute deltas: what each flush adds to a minute window, appended and never rewritten (only marked folded when a
 * fold has merged it into the minute's row). Every method runs in the caller's transaction.
 */
public final class WindowDeltaStore {

    /** A delta to append: one minute window's rows from one flush. */
    public record Append(WindowKey key, RawRows rows) {
    }

    /** A stored delta. */
    public record Delta(long id, RawRows rows) {
    }

    /** A minute with unfolded deltas. */
    public record Pending(WindowKey key) {
    }

    /** SQLState of an insert whose row no partition takes (PostgreSQL reports it as a check violation). */
    private static final String NO_PARTITION = "23514";

    /**
     * Appends deltas in one batch and returns their ids, in order.
     *
     * @throws MissingPartitionException when a delta's minute has no partition (the caller creates it and retries)
     */
    public long[] append(Connection c, List<Append> deltas) throws SQLException {
        long[] ids = new long[deltas.size()];
        if (deltas.isEmpty()) {
            return ids;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO window_delta (model_id, model_version, tap, slice, "
                + "window_start, observation_count, activations) VALUES (?, ?, ?, ?, ?, ?, ?)",
                new String[] {"delta_id"})) {
            int sent = 0;
            int batched = 0;
            long bytes = 0;
            for (Append d : deltas) {
                WindowKey k = d.key();
                if (k.granularity() != Granularity.MINUTE) {
                    throw new IllegalArgumentException("deltas are kept per minute, not per " + k.granularity().word());
                }
                ps.setString(1, k.modelId());
                ps.setString(2, k.modelVersion());
                ps.setString(3, k.tap());
                ps.setString(4, k.slice().key());
                ps.setTimestamp(5, Timestamp.from(k.windowStart()));
                ps.setInt(6, d.rows().rows().size());
                byte[] encoded = RawRows.encode(d.rows().neuronCount(), d.rows().rows());
                ps.setBinaryStream(7, new java.io.ByteArrayInputStream(encoded), encoded.length);
                ps.addBatch();
                batched++;
                bytes += encoded.length;
                // an observation's row is held once in memory, but encoded once per slice it enters: a batch is sent
                // every few MB, so that the encodings of a wide tap's slices never pile up on the heap
                if (bytes >= BATCH_BYTES) {
                    sent = send(ps, ids, sent, batched);
                    batched = 0;
                    bytes = 0;
                }
            }
            if (batched > 0) {
                send(ps, ids, sent, batched);
            }
        }
        return ids;
    }

    /** Encoded bytes per batch of inserts. */
    private static final long BATCH_BYTES = 4L << 20;

    private static int send(PreparedStatement ps, long[] ids, int sent, int batched) throws SQLException {
        try {
            ps.executeBatch();
        } catch (SQLException e) {
            throw missingPartition(e);
        }
        try (ResultSet rs = ps.getGeneratedKeys()) {
            for (int i = 0; i < batched && rs.next(); i++) {
                ids[sent + i] = rs.getLong(1);
            }
        }
        return sent + batched;
    }

    static SQLException missingPartition(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && NO_PARTITION.equals(sql.getSQLState())
                    && String.valueOf(sql.getMessage()).contains("no partition")) {
                return new MissingPartitionException(sql);
            }
            if (t instanceof SQLException sql && sql.getNextException() != null
                    && NO_PARTITION.equals(sql.getNextException().getSQLState())) {
                return new MissingPartitionException(sql.getNextException());
            }
        }
        return e;
    }

    /** An insert found no partition for its minute. */
    public static final class MissingPartitionException extends SQLException {
        public MissingPartitionException(SQLException cause) {
            super(cause.getMessage(), cause.getSQLState(), cause);
        }
    }

    /** The unfolded deltas of one minute window, oldest first. */
    public List<Delta> unfolded(Connection c, WindowKey key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT delta_id, activations FROM window_delta WHERE "
                + "model_id = ? AND model_version = ? AND tap = ? AND slice = ? AND window_start = ? AND NOT folded "
                + "ORDER BY delta_id")) {
            ps.setString(1, key.modelId());
            ps.setString(2, key.modelVersion());
            ps.setString(3, key.tap());
            ps.setString(4, key.slice().key());
            ps.setTimestamp(5, Timestamp.from(key.windowStart()));
            List<Delta> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Delta(rs.getLong(1), RawRows.decode(rs.getBytes(2))));
                }
            }
            return out;
        }
    }

    /** Marks exactly these deltas of one minute folded (their minute's row holds them now). */
    public void markFolded(Connection c, Instant windowStart, long[] ids) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE window_delta SET folded = true WHERE window_start = ? "
                + "AND delta_id = ANY(?)")) {
            ps.setTimestamp(1, Timestamp.from(windowStart));
            ps.setArray(2, c.createArrayOf("bigint", java.util.Arrays.stream(ids).boxed().toArray()));
            int marked = ps.executeUpdate();
            if (marked != ids.length) {
                throw new SQLException("marked " + marked + " of " + ids.length + " deltas of " + windowStart
                        + " folded");
            }
        }
    }

    /**
     * Up to {@code limit} minutes to fold, oldest first: complete ones (started before {@code completeBefore}) that
     * have no row yet, and final ones (started before {@code finalBefore}) that have unfolded deltas. A complete
     * minute that already has its row waits for finality: its late deltas are folded once, then.
     */
    public List<Pending> toFold(Connection c, Instant completeBefore, Instant finalBefore, int limit)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT d.model_id, d.model_version, d.tap, d.slice, "
                + "d.window_start FROM window_delta d WHERE NOT d.folded AND "
                + "d.window_start < ? AND (d.window_start < ? OR NOT EXISTS (SELECT 1 FROM tap_window w WHERE "
                + "w.model_id = d.model_id AND w.model_version = d.model_version AND w.tap = d.tap AND "
                + "w.granularity = 'minute' AND w.slice = d.slice AND w.window_start = d.window_start)) "
                + "ORDER BY 5 LIMIT ?")) {
            ps.setTimestamp(1, Timestamp.from(completeBefore));
            ps.setTimestamp(2, Timestamp.from(finalBefore));
            ps.setInt(3, limit);
            List<Pending> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Pending(new WindowKey(rs.getString(1), rs.getString(2), rs.getString(3),
                            Slice.parse(rs.getString(4)), Granularity.MINUTE, rs.getTimestamp(5).toInstant())));
                }
            }
            return out;
        }
    }

    /** The minute of the oldest unfolded delta; null when every delta is folded. */
    public Instant oldestUnfolded(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT min(window_start) FROM window_delta WHERE NOT folded");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            Timestamp t = rs.getTimestamp(1);
            return t == null ? null : t.toInstant();
        }
    }
}
