package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapMinute;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Minute deltas: what each flush adds to a tap minute, every slice together (each observation once, with the slices
 * it is in), appended and never rewritten (only marked folded when a fold has merged it into the minute's rows).
 * Every method runs in the caller's transaction.
 */
public final class WindowDeltaStore {

    private final DataSource dataSource;

    /** A store whose methods run in the caller's transaction. */
    public WindowDeltaStore() {
        this(null);
    }

    /** A store that can also {@link #deltas fetch deltas} by id on connections of its own. */
    public WindowDeltaStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** A delta to append: one tap minute's rows from one flush. */
    public record Append(TapMinute minute, SlicedRows rows) {
    }

    /** A stored delta. */
    public record Delta(long id, SlicedRows rows) {
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
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO window_delta (model_id, model_version, tap, "
                + "window_start, observation_count, slices, slice_counts, activations, block) VALUES (?, ?, ?, ?, ?, "
                + "?, ?, ?, ?)",
                new String[] {"delta_id"})) {
            int sent = 0;
            int batched = 0;
            long bytes = 0;
            for (Append d : deltas) {
                TapMinute k = d.minute();
                Sql.bind(ps, k.modelId(), k.modelVersion(), k.tap(), k.windowStart(), d.rows().observationCount());
                ps.setArray(6, c.createArrayOf("text", d.rows().slices().stream().map(Slice::key).toArray()));
                ps.setArray(7, c.createArrayOf("integer", java.util.Arrays.stream(d.rows().sliceCounts()).boxed()
                        .toArray()));
                byte[] encoded = d.rows().encode();
                ps.setBinaryStream(8, new java.io.ByteArrayInputStream(encoded), encoded.length);
                ps.setInt(9, k.block());
                ps.addBatch();
                batched++;
                bytes += encoded.length;
                // a batch is sent every few MB, so that the encodings of a wide model's taps never pile up on the
                // heap
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

    /** The exception as a {@link MissingPartitionException} when it says a row found no partition; else as it is. */
    public static SQLException missingPartition(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && noPartition(sql)) {
                return new MissingPartitionException(sql);
            }
            if (t instanceof SQLException sql && sql.getNextException() != null && noPartition(sql.getNextException())) {
                return new MissingPartitionException(sql.getNextException());
            }
        }
        return e;
    }

    /**
     * Whether PostgreSQL found no partition for a row: a check violation raised by its tuple routing (the routine
     * names it whatever the server's message language; the English message where the routine is not sent).
     */
    private static boolean noPartition(SQLException sql) {
        if (!NO_PARTITION.equals(sql.getSQLState())) {
            return false;
        }
        if (sql instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null
                && p.getServerErrorMessage().getRoutine() != null) {
            return "ExecFindPartition".equals(p.getServerErrorMessage().getRoutine());
        }
        return String.valueOf(sql.getMessage()).contains("no partition");
    }

    /** An insert found no partition for its minute. */
    public static final class MissingPartitionException extends SQLException {
        public MissingPartitionException(SQLException cause) {
            super(cause.getMessage(), cause.getSQLState(), cause);
        }
    }

    /**
     * Locks one tap minute until the caller's transaction ends (see {@link AdvisoryLocks}): its folds, in any
     * instance, run one at a time.
     */
    public void lock(Connection c, TapMinute minute) throws SQLException {
        AdvisoryLocks.lock(c, "window_delta", List.of(minute.modelId() + '\u0000' + minute.modelVersion() + '\u0000'
                + minute.tap() + '\u0000' + minute.windowStart() + '\u0000' + minute.block()));
    }

    /**
     * The unfolded deltas of one tap minute after delta {@code afterId} up to delta {@code lastId}, oldest first, as
     * many as fit in {@code maxBytes} of stored activations (at least one): a fold takes a busy minute a part at a
     * time rather than all of it at once (about 120 deltas a block-minute at the default flush interval). Read through
     * a cursor, so that what is past the bound is never fetched; the caller's transaction must not be in auto-commit.
     */
    public List<Delta> unfolded(Connection c, TapMinute minute, long afterId, long lastId, long maxBytes)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT delta_id, activations, slices FROM window_delta WHERE "
                + "model_id = ? AND model_version = ? AND tap = ? AND window_start = ? AND block = ? AND NOT folded "
                + "AND delta_id > ? AND delta_id <= ? ORDER BY delta_id")) {
            Sql.bind(ps, minute.modelId(), minute.modelVersion(), minute.tap(), minute.windowStart(), minute.block(),
                    afterId, lastId);
            // a fetch of one: what is read past the bound stays with the server
            ps.setFetchSize(1);
            List<Delta> out = new ArrayList<>();
            long bytes = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (bytes < maxBytes && rs.next()) {
                    byte[] activations = rs.getBytes(2);
                    bytes += activations.length;
                    out.add(new Delta(rs.getLong(1), SlicedRows.decode(activations, slices(rs.getArray(3)))));
                }
            }
            return out;
        }
    }

    /**
     * What a fold of one tap minute finds at its start: the last of its unfolded deltas (0: none), and whether they
     * all carry their observations' projections or none does (then one feature map covers them all; told by each
     * delta's first byte, its encoding, {@link SlicedRows#PROJECTED_VERSION}, not its rows). The fold then reads
     * exactly these deltas, a part at a time: one committed meanwhile waits for the next fold.
     */
    public record Unfolded(long lastId, boolean alikeProjected) {
    }

    /** {@link Unfolded} of {@code minute}, in the caller's transaction (which holds the minute's lock). */
    public Unfolded unfolded(Connection c, TapMinute minute) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(max(delta_id), 0), count(DISTINCT "
                + "substring(activations FROM 1 FOR 1) = ?) <= 1 FROM window_delta WHERE model_id = ? AND "
                + "model_version = ? AND tap = ? AND window_start = ? AND block = ? AND NOT folded")) {
            Sql.bind(ps, new byte[] {SlicedRows.PROJECTED_VERSION}, minute.modelId(), minute.modelVersion(),
                    minute.tap(), minute.windowStart(), minute.block());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Unfolded(rs.getLong(1), rs.getBoolean(2));
            }
        }
    }

    /** A stored {@code slices} column. */
    static List<Slice> slices(java.sql.Array column) throws SQLException {
        Object[] keys = (Object[]) column.getArray();
        List<Slice> out = new ArrayList<>(keys.length);
        for (Object key : keys) {
            out.add(Slice.parse((String) key));
        }
        return out;
    }

    /** Marks exactly these deltas of one minute folded (their minute's rows hold them now). */
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
     * Up to {@code limit} tap minutes to fold, oldest first: complete ones (started before {@code completeBefore})
     * that have no row yet, and final ones (started before {@code finalBefore}) that have unfolded deltas. A complete
     * minute that already has its rows waits for finality: its late deltas are folded once, then. Only minutes after
     * {@code after} (null: from the first) in the listing's order: a pass pages past minutes it could not fold.
     */
    public List<TapMinute> toFold(Connection c, Instant completeBefore, Instant finalBefore, TapMinute after,
            int limit) throws SQLException {
        return dueForFold(c, "window_delta", "tap_window", " AND r.granularity = 'minute'", completeBefore,
                finalBefore, after, limit, TapMinute::new);
    }

    /** Makes the key of a tap block's minute. */
    @FunctionalInterface
    interface MinuteKey<T> {
        T of(String modelId, String modelVersion, String tap, Instant minute, int block);
    }

    /**
     * {@link #toFold} for any deltas folded into minute rows by the same rule (the exemplars' too): the minutes of
     * {@code deltas} due for a fold into {@code rows}; {@code minuteRows}, appended to the match of a row {@code r},
     * picks a table's minute rows out of its coarser ones.
     */
    static <T> List<T> dueForFold(Connection c, String deltas, String rows, String minuteRows, Instant completeBefore,
            Instant finalBefore, TapMinute after, int limit, MinuteKey<T> key) throws SQLException {
        String past = after == null ? "" : " AND (d.window_start, d.model_id, d.model_version, d.tap, d.block) > "
                + "(?, ?, ?, ?, ?)";
        try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT d.model_id, d.model_version, d.tap, "
                + "d.window_start, d.block FROM " + deltas + " d WHERE NOT d.folded AND d.window_start < ? AND "
                + "(d.window_start < ? OR NOT EXISTS (SELECT 1 FROM " + rows + " r WHERE r.model_id = d.model_id "
                + "AND r.model_version = d.model_version AND r.tap = d.tap AND r.block = d.block"
                + minuteRows + " AND r.window_start = d.window_start))" + past + " ORDER BY 4, 1, 2, 3, 5 LIMIT ?")) {
            if (after == null) {
                Sql.bind(ps, completeBefore, finalBefore, limit);
            } else {
                Sql.bind(ps, completeBefore, finalBefore, after.windowStart(), after.modelId(), after.modelVersion(),
                        after.tap(), after.block(), limit);
            }
            return Sql.list(ps, rs -> key.of(rs.getString(1), rs.getString(2), rs.getString(3),
                    rs.getTimestamp(4).toInstant(), rs.getInt(5)));
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

    /**
     * A delta fetched by its id: whether it is folded into its minute's rows by now, and its rows (null when they
     * were not asked for).
     */
    public record FetchedDelta(long id, boolean folded, SlicedRows rows) {
    }

    /**
     * The deltas of one tap minute with these ids (those still stored), folded or not; the rows only of those in
     * {@code withRows} (the others' bytes are not read).
     */
    public List<FetchedDelta> deltas(ai.neuraldivergence.domain.TapMinute minute, java.util.Collection<Long> ids,
            java.util.Collection<Long> withRows) {
        if (dataSource == null) {
            throw new IllegalStateException("a delta store without a data source reads nothing");
        }
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT delta_id, folded, CASE WHEN delta_id = ANY(?) "
                        + "THEN activations END, slices FROM window_delta WHERE window_start = ? AND delta_id = ANY(?) "
                        + "AND model_id = ? AND model_version = ? AND tap = ? AND block = ?")) {
            ps.setArray(1, c.createArrayOf("bigint", withRows.toArray()));
            ps.setTimestamp(2, Timestamp.from(minute.windowStart()));
            ps.setArray(3, c.createArrayOf("bigint", ids.toArray()));
            Sql.bindFrom(ps, 4, minute.modelId(), minute.modelVersion(), minute.tap(), minute.block());
            List<FetchedDelta> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byte[] bytes = rs.getBytes(3);
                    out.add(new FetchedDelta(rs.getLong(1), rs.getBoolean(2), bytes == null ? null
                            : SlicedRows.decode(bytes, slices(rs.getArray(4)))));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading deltas of " + minute.tap(), e);
        }
    }
}
