package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
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
 * Stored tap distributions, one row per tap, slice and window; a minute's unfolded deltas ({@link WindowDeltaStore})
 * are part of it for every reader.
 */
public final class TapWindowStore {

    /** One stored window of a tap. */
    public record StoredWindow(Instant windowStart, TapDistribution distribution) {
    }

    /** What a merge wrote: the window's observation count after it, and the row's encoded size. */
    public record Merged(long observationCount, int bytes) {
    }

    private final TimePartitions partitions;
    private final CatalogStore catalog;
    private final DataSource dataSource;
    private final int sketchK;

    public TapWindowStore(DataSource dataSource) {
        this(dataSource, ai.neuraldivergence.domain.NeuronDistribution.DEFAULT_K);
    }

    /** A store whose new rows get sketches of size {@code sketchK} (stored rows keep theirs). */
    public TapWindowStore(DataSource dataSource, int sketchK) {
        this.dataSource = dataSource;
        this.sketchK = sketchK;
        this.partitions = new TimePartitions(dataSource, PartitionLayout.of("tap_window"));
        this.catalog = new CatalogStore(dataSource);
    }

    /** The sketch size of new rows. */
    int sketchK() {
        return sketchK;
    }

    /** The partitions rows are written into, made on demand by the writes below. */
    public TimePartitions partitions() {
        return partitions;
    }

    /**
     * Locks windows until the caller's transaction ends, whether their rows exist yet or not (see
     * {@link AdvisoryLocks}). A writer of several windows locks them all first, in one call: every merge locks its
     * own window too, which costs nothing when it is already held.
     */
    public void lockWindows(Connection c, java.util.Collection<WindowKey> keys) throws SQLException {
        AdvisoryLocks.lock(c, "tap_window", keys.stream().map(TapWindowStore::lockKey).toList());
    }

    private static String lockKey(WindowKey k) {
        return k.modelId() + '\u0000' + k.modelVersion() + '\u0000' + k.tap() + '\u0000' + k.granularity().word()
                + '\u0000' + k.slice().key() + '\u0000' + k.windowStart() + '\u0000' + k.block();
    }

    /**
     * Merges {@code delta} into the stored window inside the caller's transaction. Creating the row and merging into
     * it is one serialized step: the window's key is locked first, so that concurrent writers of the same window
     * (two roll-up jobs creating one hour, a late-label join beside live traffic) wait for each other instead of
     * the second overwriting the first.
     *
     * @return the window's observation count after the merge, and the bytes written
     * @throws ai.neuraldivergence.domain.DistributionCodec.CorruptDistributionException when the stored row cannot
     *     be decoded (the store's fault, never the delta's)
     */
    public Merged merge(Connection c, WindowKey key, ai.neuraldivergence.domain.TapDelta delta) throws SQLException {
        // made (in a transaction of its own) before this one writes the table: a transaction that has written it
        // already may not see a partition attached since
        partitions.ensure(key.windowStart(), key.granularity().word());
        lockWindows(c, List.of(key));
        TapDistribution merged;
        try (PreparedStatement ps = c.prepareStatement("SELECT distributions FROM tap_window "
                + "WHERE model_id = ? AND model_version = ? AND tap = ? AND granularity = ? AND slice = ? "
                + "AND window_start = ? AND block = ? FOR UPDATE")) {
            bindKey(ps, key);
            merged = DistributionColumn.read(ps);
        }
        if (merged == null) {
            merged = new TapDistribution(delta.neuronCount(), sketchK);
            int mapNeurons = delta.featureNeurons();
            if (ai.neuraldivergence.domain.LayerFeatures.seed(key.modelId(), key.tap(), key.block(), mapNeurons)
                    .isPresent()) {
                // the layout's registered scales: every window of it sums through one map
                ai.neuraldivergence.domain.LayerFeatures.start(merged, key.modelId(), key.tap(),
                        CatalogStore.registeredScales(c, key.modelId(), key.tap(), mapNeurons), key.block(),
                        mapNeurons);
            }
            if (delta.observationCount() > sketchK) {
                merged.startSketches();
            }
        }
        delta.addTo(merged);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tap_window (model_id, model_version, tap, "
                + "granularity, slice, window_start, block, observation_count, distributions) VALUES (?, ?, ?, ?, ?, "
                + "?, ?, ?, ?) ON CONFLICT (model_id, model_version, tap, granularity, slice, window_start, block) DO "
                + "UPDATE SET observation_count = excluded.observation_count, distributions = excluded.distributions, "
                + "updated_at = now()")) {
            bindKey(ps, key);
            int bytes = DistributionColumn.write(ps, 8, merged);
            ps.executeUpdate();
            return new Merged(merged.observationCount(), bytes);
        }
    }

    /**
     * Which of {@code keys} have a stored row, in the caller's transaction: one statement whatever their number (a
     * flush asks it of the hours of every window it writes).
     */
    public java.util.Set<WindowKey> existing(Connection c, java.util.Collection<WindowKey> keys) throws SQLException {
        java.util.Set<WindowKey> out = new java.util.HashSet<>();
        if (keys.isEmpty()) {
            return out;
        }
        java.util.Set<WindowKey> asked = new java.util.HashSet<>(keys);
        try (PreparedStatement ps = c.prepareStatement("SELECT w.model_id, w.model_version, w.tap, w.granularity, "
                + "w.slice, w.window_start, w.block FROM tap_window w JOIN unnest(?::text[], ?::text[], ?::text[], "
                + "?::text[], ?::text[], ?::timestamptz[], ?::int[]) AS k(model_id, model_version, tap, granularity, "
                + "slice, window_start, block) USING (model_id, model_version, tap, granularity, slice, window_start, "
                + "block) WHERE w.window_start >= ? AND w.window_start <= ?")) {
            List<WindowKey> list = List.copyOf(asked);
            // the keys' span, as constants: the partitions outside it are pruned, not each probed
            ps.setTimestamp(8, Timestamp.from(list.stream().map(WindowKey::windowStart).min(Instant::compareTo)
                    .orElseThrow()));
            ps.setTimestamp(9, Timestamp.from(list.stream().map(WindowKey::windowStart).max(Instant::compareTo)
                    .orElseThrow()));
            ps.setArray(1, c.createArrayOf("text", list.stream().map(WindowKey::modelId).toArray()));
            ps.setArray(2, c.createArrayOf("text", list.stream().map(WindowKey::modelVersion).toArray()));
            ps.setArray(3, c.createArrayOf("text", list.stream().map(WindowKey::tap).toArray()));
            ps.setArray(4, c.createArrayOf("text", list.stream().map(k -> k.granularity().word()).toArray()));
            ps.setArray(5, c.createArrayOf("text", list.stream().map(k -> k.slice().key()).toArray()));
            ps.setArray(6, c.createArrayOf("timestamptz", list.stream().map(k -> Timestamp.from(k.windowStart()))
                    .toArray()));
            ps.setArray(7, c.createArrayOf("integer", list.stream().map(WindowKey::block).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    WindowKey found = new WindowKey(rs.getString(1), rs.getString(2), rs.getString(3),
                            Slice.parse(rs.getString(5)), Granularity.fromWord(rs.getString(4)),
                            rs.getTimestamp(6).toInstant(), rs.getInt(7));
                    if (asked.contains(found)) {
                        out.add(found);
                    }
                }
            }
        }
        return out;
    }

    /** A bound from the SQL below: when a window starts, given by the granularities' UTC grid. */
    static final String ORIGIN = "timestamptz '2000-01-01 00:00:00+00'";

    /**
     * The stored windows of one tap and slice whose start lies in {@code [from, to)}, oldest first. A minute is its
     * row plus its unfolded deltas (or its deltas alone before its first fold), read in one statement: one snapshot,
     * so that a fold committing meanwhile is seen whole or not at all.
     */
    public List<StoredWindow> read(String modelId, String modelVersion, String tap, Slice slice,
            Granularity granularity, Instant from, Instant to) {
        String deltas = granularity != Granularity.MINUTE ? "" : " UNION ALL SELECT window_start, block, NULL, "
                + "activations, slices FROM window_delta WHERE model_id = ? AND model_version = ? AND tap = ? AND ? "
                + "= ANY(slices) AND NOT folded AND window_start >= ? AND window_start < ?";
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT window_start, block, distributions, NULL::bytea, "
                        + "NULL::text[] FROM tap_window WHERE model_id = ? AND model_version = ? AND tap = ? AND "
                        + "slice = ? AND "
                        + "window_start >= ? AND window_start < ? AND granularity = '" + granularity.word() + "'"
                        + deltas + " ORDER BY 1, 2, 4 NULLS FIRST")) {
            TapDescriptor layout = catalog.find(c, modelId, modelVersion, tap).orElse(null);
            streamed(c, ps);
            int repeats = granularity == Granularity.MINUTE ? 2 : 1;
            for (int r = 0; r < repeats; r++) {
                ps.setString(6 * r + 1, modelId);
                ps.setString(6 * r + 2, modelVersion);
                ps.setString(6 * r + 3, tap);
                ps.setString(6 * r + 4, slice.key());
                ps.setTimestamp(6 * r + 5, Timestamp.from(from));
                ps.setTimestamp(6 * r + 6, Timestamp.from(to));
            }
            List<StoredWindow> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                Instant current = null;
                TapBlocks window = null;
                while (rs.next()) {
                    Instant start = rs.getTimestamp(1).toInstant();
                    if (!start.equals(current)) {
                        if (window != null) {
                            out.add(new StoredWindow(current, window.assemble()));
                        }
                        current = start;
                        window = new TapBlocks(modelId, tap, layout, sketchK);
                    }
                    add(window, rs.getInt(2), rs.getBytes(3), rs.getBytes(4), rs.getArray(5), slice);
                }
                if (window != null) {
                    out.add(new StoredWindow(current, window.assemble()));
                }
            }
            finished(c);
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading windows of " + tap, e);
        }
    }

    /**
     * Reads a statement's rows a few at a time (a cursor, inside a read-only transaction) rather than all at once: a
     * wide tap's unfolded deltas are tens of megabytes a minute, merged as they are read.
     */
    static void streamed(Connection c, PreparedStatement ps) throws SQLException {
        c.setAutoCommit(false);
        // PostgreSQL's driver begins the transaction READ ONLY: a read can never write, whatever the role may
        c.setReadOnly(true);
        ps.setFetchSize(8);
    }

    /** Ends a {@link #streamed} read: its transaction, and the connection back to auto-commit for its next user. */
    static void finished(Connection c) throws SQLException {
        c.commit();
        c.setReadOnly(false);
        c.setAutoCommit(true);
    }

    /** Adds a stored row or a delta's rows of one slice to what a window's block has so far. */
    private static void add(TapBlocks window, int block, byte[] row, byte[] delta, java.sql.Array slices,
            Slice slice) throws SQLException {
        if (row != null) {
            window.addRow(block, DistributionCodec.decode(row));
        } else {
            window.addRows(block, SlicedRows.decode(delta, WindowDeltaStore.slices(slices)), slice);
        }
    }

    /**
     * Merges the stored windows of a {@link ai.neuraldivergence.domain.RangePlan} (any mix of granularities) into
     * one distribution, in one query (a minute with its unfolded deltas); windows without a row (nothing observed)
     * add nothing.
     */
    public TapDistribution readMerged(TapDescriptor tap, Slice slice,
            List<ai.neuraldivergence.domain.RangePlan.Segment> segments, int sketchK) {
        return readMergedTracked(tap, slice, segments, sketchK).distribution();
    }

    /** What {@link #readMergedTracked} read: the merge, and the ids of the unfolded deltas it holds. */
    public record MergedRead(TapDistribution distribution, java.util.Set<Long> deltaIds) {
    }

    /**
     * {@link #readMerged}, also saying which unfolded deltas the merge holds: a reader that keeps the result can add
     * a later delta by its id, knowing whether it holds it already.
     */
    public MergedRead readMergedTracked(TapDescriptor tap, Slice slice,
            List<ai.neuraldivergence.domain.RangePlan.Segment> segments, int sketchK) {
        java.util.Set<Long> ids = new java.util.HashSet<>();
        if (segments.isEmpty()) {
            return new MergedRead(new TapDistribution(tap.neuronCount(), sketchK), ids);
        }
        java.util.Map<Granularity, List<Timestamp>> starts = new java.util.EnumMap<>(Granularity.class);
        for (Granularity g : Granularity.values()) {
            starts.put(g, new ArrayList<>());
        }
        segments.forEach(sg -> starts.get(sg.granularity()).add(Timestamp.from(sg.start())));
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT block, distributions, NULL::bytea, NULL::text[], "
                        + "NULL::bigint FROM tap_window WHERE "
                        + "model_id = ? AND model_version = ? AND tap = ? AND slice = ? AND ((granularity = 'minute' "
                        + "AND window_start = ANY(?)) OR (granularity = 'hour' AND window_start = ANY(?)) OR "
                        + "(granularity = 'day' AND window_start = ANY(?))) UNION ALL SELECT block, NULL, activations, "
                        + "slices, delta_id FROM window_delta WHERE model_id = ? AND model_version = ? AND tap = ? AND "
                        + "? = ANY(slices) "
                        + "AND NOT folded AND window_start = ANY(?)")) {
            streamed(c, ps);
            for (int r = 0; r < 2; r++) {
                ps.setString(7 * r + 1, tap.modelId());
                ps.setString(7 * r + 2, tap.modelVersion());
                ps.setString(7 * r + 3, tap.tap());
                ps.setString(7 * r + 4, slice.key());
            }
            ps.setArray(5, c.createArrayOf("timestamptz", starts.get(Granularity.MINUTE).toArray()));
            ps.setArray(6, c.createArrayOf("timestamptz", starts.get(Granularity.HOUR).toArray()));
            ps.setArray(7, c.createArrayOf("timestamptz", starts.get(Granularity.DAY).toArray()));
            ps.setArray(12, c.createArrayOf("timestamptz", starts.get(Granularity.MINUTE).toArray()));
            // every window of the plan merged block by block: the tap's count is then its blocks' minimum over
            // the whole range
            TapBlocks merged = new TapBlocks(tap.modelId(), tap.tap(), tap, sketchK);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    // a stored row is fetched once: a wide block's row is megabytes
                    byte[] row = rs.getBytes(2);
                    add(merged, rs.getInt(1), row, rs.getBytes(3), rs.getArray(4), slice);
                    if (row == null) {
                        ids.add(rs.getLong(5));
                    }
                }
            }
            finished(c);
            return new MergedRead(merged.isEmpty() ? new TapDistribution(tap.neuronCount(), sketchK)
                    : merged.assemble(), ids);
        } catch (SQLException e) {
            throw new StorageException("reading windows of " + tap.tap(), e);
        }
    }

    /** The slices with stored windows (or deltas) of a tap in {@code [from, to)}, at any granularity. */
    public List<Slice> slicesIn(String modelId, String modelVersion, String tap, Instant from, Instant to) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT slice FROM tap_window WHERE model_id = ? "
                        + "AND model_version = ? AND tap = ? AND window_start >= ? AND window_start < ? UNION "
                        + "SELECT unnest(slices) FROM window_delta WHERE model_id = ? AND model_version = ? AND "
                        + "tap = ? "
                        + "AND window_start >= ? AND window_start < ? AND NOT folded ORDER BY 1")) {
            for (int r = 0; r < 2; r++) {
                ps.setString(5 * r + 1, modelId);
                ps.setString(5 * r + 2, modelVersion);
                ps.setString(5 * r + 3, tap);
                ps.setTimestamp(5 * r + 4, Timestamp.from(from));
                ps.setTimestamp(5 * r + 5, Timestamp.from(to));
            }
            return Sql.list(ps, rs -> Slice.parse(rs.getString(1)));
        } catch (SQLException e) {
            throw new StorageException("listing slices of " + tap, e);
        }
    }

    /**
     * A tap's observations per minute of {@code [from, to)} in a slice, as a reader sees them (minute rows plus
     * unfolded deltas; block 0, which every observation of the tap enters): counts only, never a distribution. A
     * minute without observations is absent.
     */
    public java.util.NavigableMap<Instant, Long> minuteCounts(TapDescriptor tap, Slice slice, Instant from,
            Instant to) {
        return Transactions.run(dataSource, "counting observations of tap " + tap.tap(), c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT w, sum(n) FROM (SELECT window_start AS w, "
                    + "observation_count AS n FROM tap_window WHERE model_id = ? AND model_version = ? AND tap = ? "
                    + "AND granularity = 'minute' AND slice = ? AND block = 0 AND window_start >= ? AND window_start < ? "
                    + "UNION ALL SELECT d.window_start, u.n FROM window_delta d, unnest(d.slices, d.slice_counts) AS "
                    + "u(s, n) WHERE d.model_id = ? AND d.model_version = ? AND d.tap = ? AND d.block = 0 AND NOT "
                    + "d.folded AND u.s = ? AND d.window_start >= ? AND d.window_start < ?) x GROUP BY w")) {
                Sql.bind(ps, tap.modelId(), tap.modelVersion(), tap.tap(), slice.key(), from, to, tap.modelId(),
                        tap.modelVersion(), tap.tap(), slice.key(), from, to);
                java.util.NavigableMap<Instant, Long> out = new java.util.TreeMap<>();
                for (Object[] row : Sql.list(ps, rs -> new Object[] {rs.getTimestamp(1).toInstant(), rs.getLong(2)})) {
                    if ((Long) row[1] > 0) {
                        out.put((Instant) row[0], (Long) row[1]);
                    }
                }
                return out;
            }
        });
    }

    /**
     * The observation counts of minute windows as a reader sees them (row plus unfolded deltas), inside the caller's
     * transaction: what a window update announces. Reads counts only, never a distribution.
     */
    public java.util.Map<WindowKey, Long> minuteCounts(Connection c, java.util.Collection<WindowKey> keys)
            throws SQLException {
        java.util.Map<WindowKey, Long> out = new java.util.HashMap<>();
        if (keys.isEmpty()) {
            return out;
        }
        List<WindowKey> list = List.copyOf(keys);
        try (PreparedStatement ps = c.prepareStatement("WITH k AS (SELECT * FROM unnest(?::text[], ?::text[], "
                + "?::text[], ?::text[], ?::timestamptz[], ?::integer[]) WITH ORDINALITY AS k(m, v, t, s, w, b, i)) "
                + "SELECT k.i, coalesce((SELECT observation_count FROM tap_window x WHERE x.model_id = k.m AND "
                + "x.model_version = k.v AND x.tap = k.t AND x.granularity = 'minute' AND x.slice = k.s AND "
                + "x.window_start = k.w AND x.block = k.b), 0) + coalesce((SELECT sum(u.n) FROM window_delta d, "
                + "unnest(d.slices, d.slice_counts) AS u(s, n) WHERE d.model_id = k.m AND d.model_version = k.v AND "
                + "d.tap = k.t AND d.window_start = k.w AND d.block = k.b AND NOT d.folded AND u.s = k.s), 0) FROM k")) {
            ps.setArray(1, c.createArrayOf("text", list.stream().map(WindowKey::modelId).toArray()));
            ps.setArray(2, c.createArrayOf("text", list.stream().map(WindowKey::modelVersion).toArray()));
            ps.setArray(3, c.createArrayOf("text", list.stream().map(WindowKey::tap).toArray()));
            ps.setArray(4, c.createArrayOf("text", list.stream().map(k -> k.slice().key()).toArray()));
            ps.setArray(5, c.createArrayOf("timestamptz", list.stream().map(k -> Timestamp.from(k.windowStart()))
                    .toArray()));
            ps.setArray(6, c.createArrayOf("integer", list.stream().map(WindowKey::block).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(list.get(rs.getInt(1) - 1), rs.getLong(2));
                }
            }
        }
        return out;
    }

    /**
     * Deletes windows of {@code granularity} stored before partitioning ({@code tap_window_unpartitioned}, while it
     * is there: partitions of their own are retired by dropping them, {@link WindowRetention}) that started before
     * {@code before}, in statements of at most
     * {@code limit} rows and about {@code maxBytes} bytes each (short transactions, bounded WAL and locks on a busy
     * table). A minute is deleted only once its hour is built, an hour once its day is: the coarser row holds it
     * then, and deleting it earlier would lose it (a roll-up that fell behind must not turn retention into data
     * loss).
     *
     * @return the rows deleted
     */
    public long deleteOlderThan(Granularity granularity, Instant before, int limit, long maxBytes) {
        String coarser = granularity == Granularity.DAY ? "" : " AND EXISTS (SELECT 1 FROM tap_window b WHERE "
                + "b.model_id = w.model_id AND b.model_version = w.model_version AND b.tap = w.tap AND b.block = w.block "
                + "AND b.granularity = '"
                + (granularity == Granularity.MINUTE ? "hour" : "day") + "' AND b.slice = w.slice AND b.window_start "
                + "= date_bin('" + (granularity == Granularity.MINUTE ? "1 hour" : "1 day") + "', w.window_start, "
                + ORIGIN + "))";
        // each statement takes rows while the bytes before them stay under the budget: the first row always goes,
        // however large, so that a batch never stalls on one row above the budget
        return LegacyTables.drain(dataSource, "tap_window",
                legacy -> "DELETE FROM " + legacy + " WHERE ctid IN (SELECT ctid FROM (SELECT ctid, sum(len) OVER "
                        + "(ORDER BY ctid) - len AS before FROM (SELECT w.ctid, octet_length(w.distributions) AS len "
                        + "FROM " + legacy + " w WHERE w.granularity = ? AND w.window_start < ?" + coarser
                        + " LIMIT ?) limited) running WHERE before < ?)",
                ps -> Sql.bind(ps, granularity.word(), before, limit, maxBytes),
                "deleting " + granularity.word() + " windows before " + before);
    }

    static void bindKey(PreparedStatement ps, WindowKey key) throws SQLException {
        Sql.bind(ps, key.modelId(), key.modelVersion(), key.tap(), key.granularity().word(), key.slice().key(),
                key.windowStart(), key.block());
    }
}
