package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.domain.TopExemplars;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Each neuron's top exemplar observations, per tap block and minute: one row per tap block and minute, written when
 * the minute completes (and again at finality if late candidates came), from the deltas flushes append meanwhile. A
 * reader takes a minute as its row plus its unfolded deltas.
 */
public final class ExemplarStore {

    /** A tap block's minute. */
    public record Key(String modelId, String modelVersion, String tap, Instant minute, int block) {

        /** A minute of a tap stored as one block. */
        public Key(String modelId, String modelVersion, String tap, Instant minute) {
            this(modelId, modelVersion, tap, minute, 0);
        }
    }

    /** Candidates one flush appends for a tap's minute. */
    public record Append(Key key, TopExemplars candidates) {
    }

    private final TimePartitions partitions;
    private final DataSource dataSource;

    public ExemplarStore(DataSource dataSource) {
        this.dataSource = dataSource;
        this.partitions = new TimePartitions(dataSource, PartitionLayout.of("neuron_exemplars"));
    }

    /** The partitions rows are written into, made on demand by the writes below. */
    public TimePartitions partitions() {
        return partitions;
    }

    /**
     * Merges {@code delta} into the stored exemplars of a tap's minute, inside the caller's transaction; the key is
     * locked first, whether the row exists yet or not (see {@link AdvisoryLocks}).
     */
    public void merge(Connection c, String modelId, String modelVersion, String tap, Instant minute,
            TopExemplars delta) throws SQLException {
        merge(c, new Key(modelId, modelVersion, tap, minute), delta);
    }

    /** {@link #merge} into one block's row. */
    public void merge(Connection c, Key key, TopExemplars delta) throws SQLException {
        partitions.ensure(key.minute(), "");
        AdvisoryLocks.lock(c, "neuron_exemplars", List.of(lockKey(key)));
        TopExemplars merged = readRow(c, key, true);
        if (merged == null) {
            merged = delta;
        } else {
            merged.merge(delta);
        }
        write(c, key, merged);
    }

    public Optional<TopExemplars> read(String modelId, String modelVersion, String tap, Instant minute) {
        return read(new Key(modelId, modelVersion, tap, minute));
    }

    /** One block's exemplars of a minute: its row and its unfolded deltas. */
    public Optional<TopExemplars> read(Key key) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT exemplars FROM neuron_exemplars WHERE model_id = ? "
                        + "AND model_version = ? AND tap = ? AND window_start = ? AND block = ? UNION ALL SELECT "
                        + "exemplars FROM exemplar_delta WHERE model_id = ? AND model_version = ? AND tap = ? AND "
                        + "window_start = ? AND block = ? AND NOT folded")) {
            bind(ps, key);
            Sql.bindFrom(ps, 6, key.modelId(), key.modelVersion(), key.tap(), key.minute(), key.block());
            return Optional.ofNullable(mergeAll(ps));
        } catch (SQLException e) {
            throw new StorageException("reading exemplars of " + key.tap(), e);
        }
    }

    private static TopExemplars mergeAll(PreparedStatement ps) throws SQLException {
        return Sql.mergeInto(null, ps, rs -> TopExemplars.decode(rs.getBytes(1)), TopExemplars::merge);
    }

    /** Appends one flush's exemplar candidates, inside the caller's transaction (nothing is read or locked). */
    public void append(Connection c, List<Append> deltas) throws SQLException {
        if (deltas.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO exemplar_delta (model_id, model_version, tap, "
                + "window_start, block, exemplars) VALUES (?, ?, ?, ?, ?, ?)")) {
            for (Append d : deltas) {
                bind(ps, d.key());
                ps.setBytes(6, d.candidates().encode());
                ps.addBatch();
            }
            try {
                ps.executeBatch();
            } catch (SQLException e) {
                throw WindowDeltaStore.missingPartition(e);
            }
        }
    }

    /**
     * Up to {@code limit} tap minutes whose exemplar deltas are due for a fold: complete ones without a row yet, and
     * final ones with unfolded deltas, after {@code after} (as {@link WindowDeltaStore#toFold}).
     */
    public List<Key> toFold(Connection c, Instant completeBefore, Instant finalBefore, Key after, int limit)
            throws SQLException {
        return WindowDeltaStore.dueForFold(c, "exemplar_delta", "neuron_exemplars", "", completeBefore, finalBefore,
                after == null ? null : new TapMinute(after.modelId(), after.modelVersion(), after.tap(),
                        after.minute(), after.block()), limit, Key::new);
    }

    /**
     * Folds a tap minute's unfolded exemplar deltas into its row, inside the caller's transaction, under the key's
     * lock; marks exactly the deltas it read. False when there was nothing to fold, or the row exists and the minute
     * is not final (late candidates wait for finality).
     */
    public boolean fold(Connection c, Key key, boolean isFinal) throws SQLException {
        partitions.ensure(key.minute(), "");
        AdvisoryLocks.lock(c, "neuron_exemplars", List.of(lockKey(key)));
        TopExemplars row = readRow(c, key, false);
        if (row != null && !isFinal) {
            return false;
        }
        List<Long> ids = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT delta_id, exemplars FROM exemplar_delta WHERE "
                + "model_id = ? AND model_version = ? AND tap = ? AND window_start = ? AND block = ? AND NOT folded")) {
            bind(ps, key);
            row = Sql.mergeInto(row, ps, rs -> {
                ids.add(rs.getLong(1));
                return TopExemplars.decode(rs.getBytes(2));
            }, TopExemplars::merge);
        }
        if (ids.isEmpty()) {
            return false;
        }
        write(c, key, row);
        try (PreparedStatement ps = c.prepareStatement("UPDATE exemplar_delta SET folded = true WHERE window_start = ? "
                + "AND delta_id = ANY(?)")) {
            ps.setTimestamp(1, Timestamp.from(key.minute()));
            ps.setArray(2, c.createArrayOf("bigint", ids.toArray()));
            ps.executeUpdate();
        }
        return true;
    }

    /** A block's minute row, locked {@code forUpdate} or read under the key's advisory lock alone; null if none. */
    private static TopExemplars readRow(Connection c, Key key, boolean forUpdate) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT exemplars FROM neuron_exemplars WHERE model_id = ? "
                + "AND model_version = ? AND tap = ? AND window_start = ? AND block = ?"
                + (forUpdate ? " FOR UPDATE" : ""))) {
            bind(ps, key);
            return Sql.first(ps, rs -> TopExemplars.decode(rs.getBytes(1)));
        }
    }

    private static void write(Connection c, Key key, TopExemplars exemplars) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO neuron_exemplars (model_id, model_version, tap, "
                + "window_start, block, exemplars) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (model_id, model_version, "
                + "tap, window_start, block) DO UPDATE SET exemplars = excluded.exemplars")) {
            bind(ps, key);
            ps.setBytes(6, exemplars.encode());
            ps.executeUpdate();
        }
    }

    private static String lockKey(Key key) {
        return key.modelId() + '\u0000' + key.modelVersion() + '\u0000' + key.tap() + '\u0000' + key.minute()
                + '\u0000' + key.block();
    }

    /**
     * The exemplars of one block of a tap over the tap's last {@code span} of stored minutes (any block's), merged:
     * each of the block's neurons' observations that excited it most in that time. Empty when the block has none in
     * that span, though other blocks of the tap have (the caller says the block is missing then).
     */
    public Optional<TopExemplars> readLatest(String modelId, String modelVersion, String tap, int block,
            java.time.Duration span) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("WITH k AS (SELECT ?::text AS m, ?::text AS v, ?::text "
                        + "AS t, ?::integer AS b), stored AS (SELECT e.window_start, e.block, e.exemplars FROM "
                        + "neuron_exemplars e, k WHERE e.model_id = k.m AND e.model_version = k.v AND e.tap = k.t "
                        + "UNION ALL SELECT d.window_start, d.block, d.exemplars FROM exemplar_delta d, k WHERE "
                        + "d.model_id = k.m AND d.model_version = k.v AND d.tap = k.t AND NOT d.folded) SELECT "
                        + "exemplars FROM stored, k WHERE block = k.b AND window_start > (SELECT max(window_start) "
                        + "FROM stored) - ?::interval")) {
            Sql.bind(ps, modelId, modelVersion, tap, block, span.toSeconds() + " seconds");
            return Optional.ofNullable(mergeAll(ps));
        } catch (SQLException e) {
            throw new StorageException("reading exemplars of " + tap, e);
        }
    }

    /**
     * Deletes exemplars stored before partitioning ({@code neuron_exemplars_unpartitioned}, while it is there) of
     * minutes that started before {@code before}, in short batches; returns the rows. Partitions of their own are
     * retired by dropping them ({@link WindowRetention}).
     */
    public long deleteOlderThan(Instant before) {
        return LegacyTables.drain(dataSource, "neuron_exemplars",
                legacy -> "DELETE FROM " + legacy + " WHERE ctid IN (SELECT ctid FROM " + legacy
                        + " WHERE window_start < ? LIMIT 200)",
                ps -> ps.setTimestamp(1, Timestamp.from(before)), "deleting expired exemplars");
    }

    private static void bind(PreparedStatement ps, Key key) throws SQLException {
        Sql.bind(ps, key.modelId(), key.modelVersion(), key.tap(), key.minute(), key.block());
    }
}
