package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
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

/** Stored tap distributions, one row per tap, slice and window. */
public final class TapWindowStore {

    /** One stored window of a tap. */
    public record StoredWindow(Instant windowStart, TapDistribution distribution) {
    }

    /**
     * What a merge wrote: the window's observation count after it, the row's encoded size, and whether the window
     * had already been rolled up into its hour and day (then the caller merges the delta there too).
     */
    public record Merged(long observationCount, int bytes, boolean rolledUp) {
    }

    private final DataSource dataSource;
    private final int sketchK;

    public TapWindowStore(DataSource dataSource) {
        this(dataSource, ai.neuraldivergence.domain.NeuronDistribution.DEFAULT_K);
    }

    /** A store whose new rows get sketches of size {@code sketchK} (stored rows keep theirs). */
    public TapWindowStore(DataSource dataSource, int sketchK) {
        this.dataSource = dataSource;
        this.sketchK = sketchK;
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
                + '\u0000' + k.slice().key() + '\u0000' + k.windowStart();
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
        lockWindows(c, List.of(key));
        TapDistribution merged = null;
        boolean rolledUp = false;
        try (PreparedStatement ps = c.prepareStatement("SELECT distributions, rolled_up FROM tap_window "
                + "WHERE model_id = ? AND model_version = ? AND tap = ? AND granularity = ? AND slice = ? "
                + "AND window_start = ? FOR UPDATE")) {
            bindKey(ps, key);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    merged = DistributionCodec.decode(rs.getBytes(1));
                    delta.addTo(merged);
                    rolledUp = rs.getBoolean(2);
                }
            }
        }
        if (merged == null) {
            merged = delta.toDistribution(sketchK);
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tap_window (model_id, model_version, tap, "
                + "granularity, slice, window_start, observation_count, distributions) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (model_id, model_version, tap, granularity, slice, window_start) DO UPDATE SET "
                + "observation_count = excluded.observation_count, distributions = excluded.distributions, "
                + "updated_at = now()")) {
            bindKey(ps, key);
            byte[] encoded = DistributionCodec.encode(merged);
            ps.setLong(7, merged.observationCount());
            // streamed from the array: the driver's setBytes copies it first, and a wide tap's row is tens of MB
            ps.setBinaryStream(8, new java.io.ByteArrayInputStream(encoded), encoded.length);
            ps.executeUpdate();
            return new Merged(merged.observationCount(), encoded.length, rolledUp);
        }
    }

    /** The stored windows of one tap and slice whose start lies in {@code [from, to)}, oldest first. */
    public List<StoredWindow> read(String modelId, String modelVersion, String tap, Slice slice,
            Granularity granularity, Instant from, Instant to) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT window_start, distributions FROM tap_window "
                        + "WHERE model_id = ? AND model_version = ? AND tap = ? AND granularity = ? AND slice = ? "
                        + "AND window_start >= ? AND window_start < ? ORDER BY window_start")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, tap);
            ps.setString(4, granularity.word());
            ps.setString(5, slice.key());
            ps.setTimestamp(6, Timestamp.from(from));
            ps.setTimestamp(7, Timestamp.from(to));
            List<StoredWindow> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new StoredWindow(rs.getTimestamp(1).toInstant(),
                            DistributionCodec.decode(rs.getBytes(2))));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading windows of " + tap, e);
        }
    }

    /**
     * Merges the stored windows of a {@link ai.neuraldivergence.domain.RangePlan} (any mix of granularities) into
     * one distribution, in one query; windows without a row (nothing observed) add nothing.
     */
    public TapDistribution readMerged(String modelId, String modelVersion, String tap, Slice slice,
            List<ai.neuraldivergence.domain.RangePlan.Segment> segments, int neuronCount, int sketchK) {
        TapDistribution merged = new TapDistribution(neuronCount, sketchK);
        if (segments.isEmpty()) {
            return merged;
        }
        java.util.Map<Granularity, List<Timestamp>> starts = new java.util.EnumMap<>(Granularity.class);
        for (Granularity g : Granularity.values()) {
            starts.put(g, new ArrayList<>());
        }
        segments.forEach(sg -> starts.get(sg.granularity()).add(Timestamp.from(sg.start())));
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT distributions FROM tap_window WHERE model_id = ? "
                        + "AND model_version = ? AND tap = ? AND slice = ? AND ((granularity = 'minute' AND "
                        + "window_start = ANY(?)) OR (granularity = 'hour' AND window_start = ANY(?)) OR "
                        + "(granularity = 'day' AND window_start = ANY(?)))")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, tap);
            ps.setString(4, slice.key());
            ps.setArray(5, c.createArrayOf("timestamptz", starts.get(Granularity.MINUTE).toArray()));
            ps.setArray(6, c.createArrayOf("timestamptz", starts.get(Granularity.HOUR).toArray()));
            ps.setArray(7, c.createArrayOf("timestamptz", starts.get(Granularity.DAY).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    merged.merge(DistributionCodec.decode(rs.getBytes(1)));
                }
            }
            return merged;
        } catch (SQLException e) {
            throw new StorageException("reading windows of " + tap, e);
        }
    }

    /** Starts of the stored minutes of a tap and slice in {@code [from, to)} not rolled up into hours yet. */
    public java.util.Set<Instant> unrolledMinutes(String modelId, String modelVersion, String tap, Slice slice,
            Instant from, Instant to) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT window_start FROM tap_window WHERE model_id = ? "
                        + "AND model_version = ? AND tap = ? AND slice = ? AND granularity = 'minute' AND NOT "
                        + "rolled_up AND window_start >= ? AND window_start < ?")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, tap);
            ps.setString(4, slice.key());
            ps.setTimestamp(5, Timestamp.from(from));
            ps.setTimestamp(6, Timestamp.from(to));
            java.util.Set<Instant> out = new java.util.HashSet<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getTimestamp(1).toInstant());
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading unrolled minutes of " + tap, e);
        }
    }

    /** The oldest stored window of a granularity for a model version; null when there is none. */
    public Instant earliest(String modelId, String modelVersion, Granularity granularity) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT min(window_start) FROM tap_window WHERE "
                        + "model_id = ? AND model_version = ? AND granularity = ?")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, granularity.word());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Timestamp t = rs.getTimestamp(1);
                return t == null ? null : t.toInstant();
            }
        } catch (SQLException e) {
            throw new StorageException("reading the oldest window of " + modelId, e);
        }
    }

    /** The slices with stored windows of a tap in {@code [from, to)}, at any granularity. */
    public List<Slice> slicesIn(String modelId, String modelVersion, String tap, Instant from, Instant to) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT DISTINCT slice FROM tap_window WHERE model_id = ? "
                        + "AND model_version = ? AND tap = ? AND window_start >= ? AND window_start < ? ORDER BY 1")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, tap);
            ps.setTimestamp(4, Timestamp.from(from));
            ps.setTimestamp(5, Timestamp.from(to));
            List<Slice> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(Slice.parse(rs.getString(1)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("listing slices of " + tap, e);
        }
    }

    /** A minute window waiting to be rolled up, and its stored size. */
    public record Unrolled(WindowKey key, long bytes) {
    }

    /**
     * Up to {@code limit} closed minute windows (started before {@code before}) not rolled up yet, oldest first, with
     * their sizes, read without locks: the caller takes a prefix within its byte budget and locks those one by one
     * ({@link #lockUnrolled}), so that a roll-up never holds more than its budget of rows in memory.
     */
    public List<Unrolled> unrolled(Connection c, Instant before, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT model_id, model_version, tap, slice, window_start, "
                + "octet_length(distributions) FROM tap_window WHERE granularity = 'minute' AND NOT rolled_up "
                + "AND window_start < ? ORDER BY window_start LIMIT ?")) {
            ps.setTimestamp(1, Timestamp.from(before));
            ps.setInt(2, limit);
            List<Unrolled> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Unrolled(new WindowKey(rs.getString(1), rs.getString(2), rs.getString(3),
                            Slice.parse(rs.getString(4)), Granularity.MINUTE, rs.getTimestamp(5).toInstant()),
                            rs.getLong(6)));
                }
            }
            return out;
        }
    }

    /**
     * Locks one minute window for its roll-up, inside the caller's transaction, and reads it; empty when another
     * transaction holds it (it is being written or rolled up: skipped, as with SKIP LOCKED) or it was rolled up
     * meanwhile.
     */
    public java.util.Optional<TapDistribution> lockUnrolled(Connection c, WindowKey key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT distributions FROM tap_window WHERE model_id = ? "
                + "AND model_version = ? AND tap = ? AND granularity = ? AND slice = ? AND window_start = ? "
                + "AND NOT rolled_up FOR UPDATE SKIP LOCKED")) {
            bindKey(ps, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? java.util.Optional.of(DistributionCodec.decode(rs.getBytes(1)))
                        : java.util.Optional.empty();
            }
        }
    }

    /** The start of the oldest minute window not rolled up yet; null when every minute is. */
    public Instant oldestUnrolledMinute() {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT min(window_start) FROM tap_window WHERE "
                        + "granularity = 'minute' AND NOT rolled_up");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            Timestamp t = rs.getTimestamp(1);
            return t == null ? null : t.toInstant();
        } catch (SQLException e) {
            throw new StorageException("reading the oldest minute not rolled up", e);
        }
    }

    /** Marks a minute window rolled up, inside the caller's transaction. */
    public void markRolledUp(Connection c, WindowKey key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tap_window SET rolled_up = true WHERE model_id = ? "
                + "AND model_version = ? AND tap = ? AND granularity = ? AND slice = ? AND window_start = ?")) {
            bindKey(ps, key);
            ps.executeUpdate();
        }
    }

    /**
     * Deletes windows of {@code granularity} that started before {@code before}, in statements of at most
     * {@code limit} rows and about {@code maxBytes} bytes each (short transactions, bounded WAL and locks on a busy
     * table). A minute is deleted only once it is rolled up: its hour and day hold it then, and deleting it earlier
     * would lose it from them (a roll-up that fell behind must not turn retention into data loss).
     *
     * @return the rows deleted
     */
    public long deleteOlderThan(Granularity granularity, Instant before, int limit, long maxBytes) {
        long total = 0;
        String rolledUp = granularity == Granularity.MINUTE ? " AND rolled_up" : "";
        // each statement takes rows while the bytes before them stay under the budget: the first row always goes,
        // however large, so that a batch never stalls on one row above the budget
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("DELETE FROM tap_window WHERE ctid IN (SELECT ctid FROM "
                        + "(SELECT ctid, sum(len) OVER (ORDER BY ctid) - len AS before FROM (SELECT ctid, "
                        + "octet_length(distributions) AS len FROM tap_window WHERE granularity = ? AND "
                        + "window_start < ?" + rolledUp + " LIMIT ?) limited) running WHERE before < ?)")) {
            ps.setString(1, granularity.word());
            ps.setTimestamp(2, Timestamp.from(before));
            ps.setInt(3, limit);
            ps.setLong(4, maxBytes);
            int deleted;
            do {
                deleted = ps.executeUpdate();
                total += deleted;
            } while (deleted > 0);
            return total;
        } catch (SQLException e) {
            throw new StorageException("deleting " + granularity.word() + " windows before " + before, e);
        }
    }

    private static void bindKey(PreparedStatement ps, WindowKey key) throws SQLException {
        ps.setString(1, key.modelId());
        ps.setString(2, key.modelVersion());
        ps.setString(3, key.tap());
        ps.setString(4, key.granularity().word());
        ps.setString(5, key.slice().key());
        ps.setTimestamp(6, Timestamp.from(key.windowStart()));
    }
}
