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
import java.util.List;
import javax.sql.DataSource;

/**
 * Roll-ups of stored windows: which hours and days are still to be built from their minutes (hours), whether every
 * part of one is final, their parts merged, the built row inserted once; and, for readers, what of a range is not
 * built yet (read at the finer granularity).
 */
public final class WindowRollups {

    private final DataSource dataSource;
    private final TapWindowStore windows;

    public WindowRollups(DataSource dataSource, TapWindowStore windows) {
        this.dataSource = dataSource;
        this.windows = windows;
    }

    /**
     * Inserts a built hour or day row, inside the caller's transaction; false (nothing written) when it exists:
     * built rows are never amended.
     */
    public boolean insertBuilt(Connection c, WindowKey key, TapDistribution built) throws SQLException {
        windows.partitions().ensure(key.windowStart(), key.granularity().word());
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tap_window (model_id, model_version, tap, "
                + "granularity, slice, window_start, block, observation_count, distributions) VALUES (?, ?, ?, ?, ?, "
                + "?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            TapWindowStore.bindKey(ps, key);
            byte[] encoded = DistributionCodec.encode(built);
            ps.setLong(8, built.observationCount());
            ps.setBinaryStream(9, new java.io.ByteArrayInputStream(encoded), encoded.length);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * The whole tap's count of a window (any block of it named by {@code key}): its blocks' minimum, when all
     * {@code blocks} of them have their row, inside the caller's transaction; empty while one has none.
     */
    public java.util.OptionalLong wholeCount(Connection c, WindowKey key, int blocks) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*), min(observation_count) FROM tap_window WHERE "
                + "model_id = ? AND model_version = ? AND tap = ? AND granularity = ? AND slice = ? AND window_start "
                + "= ?")) {
            Sql.bind(ps, key.modelId(), key.modelVersion(), key.tap(), key.granularity().word(),
                    key.slice().key(), key.windowStart());
            return Sql.one(ps, rs -> rs.getLong(1) >= blocks ? java.util.OptionalLong.of(rs.getLong(2))
                    : java.util.OptionalLong.empty());
        }
    }

    /** Whether a window's row exists, inside the caller's transaction. */
    public boolean exists(Connection c, WindowKey key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM tap_window WHERE model_id = ? AND "
                + "model_version = ? AND tap = ? AND granularity = ? AND slice = ? AND window_start = ? AND block = ?")) {
            TapWindowStore.bindKey(ps, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Whether any slice of a tap minute (its block) has its row, inside the caller's transaction. */
    public boolean minuteExists(Connection c, ai.neuraldivergence.domain.TapMinute minute) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM tap_window WHERE model_id = ? AND "
                + "model_version = ? AND tap = ? AND granularity = 'minute' AND window_start = ? AND block = ? "
                + "LIMIT 1")) {
            Sql.bind(ps, minute.modelId(), minute.modelVersion(), minute.tap(), minute.windowStart(), minute.block());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * Up to {@code limit} hour (or day) windows to build, oldest first (then by model, version, tap, slice, block):
     * those with stored minutes (hours) in {@code [since, before)} and no row of their own yet, after {@code after}
     * in that order (null: from the first), so that a pass pages past windows it cannot build yet rather than stop
     * at them. The caller builds each only if every part of it is final and folded ({@link #readyToBuild}).
     */
    public List<WindowKey> toBuild(Connection c, Granularity granularity, Instant since, Instant before,
            WindowKey after, int limit) throws SQLException {
        Granularity part = granularity == Granularity.DAY ? Granularity.HOUR : Granularity.MINUTE;
        String bin = granularity == Granularity.DAY ? "1 day" : "1 hour";
        String past = after == null ? "" : " WHERE (k.b, k.model_id, k.model_version, k.tap, k.slice, k.block) > "
                + "(?, ?, ?, ?, ?, ?)";
        try (PreparedStatement ps = c.prepareStatement("SELECT k.model_id, k.model_version, k.tap, k.slice, k.b, "
                + "k.block FROM (SELECT DISTINCT p.model_id, p.model_version, p.tap, p.slice, date_bin('" + bin
                + "', p.window_start, " + TapWindowStore.ORIGIN + ") AS b, p.block FROM tap_window p WHERE "
                + "p.granularity = ? AND p.window_start >= ? AND p.window_start < ? AND NOT EXISTS (SELECT 1 FROM "
                + "tap_window x WHERE x.model_id = p.model_id AND x.model_version = p.model_version AND x.tap = p.tap "
                + "AND x.block = p.block AND x.granularity = ? AND x.slice = p.slice AND x.window_start = date_bin('"
                + bin + "', p.window_start, " + TapWindowStore.ORIGIN + "))) k" + past + " ORDER BY k.b, k.model_id, "
                + "k.model_version, k.tap, k.slice, k.block LIMIT ?")) {
            if (after == null) {
                Sql.bind(ps, part.word(), since, before, granularity.word(), limit);
            } else {
                Sql.bind(ps, part.word(), since, before, granularity.word(), after.windowStart(), after.modelId(),
                        after.modelVersion(), after.tap(), after.slice().key(), after.block(), limit);
            }
            return Sql.list(ps, rs -> new WindowKey(rs.getString(1), rs.getString(2), rs.getString(3),
                    Slice.parse(rs.getString(4)), granularity, rs.getTimestamp(5).toInstant(), rs.getInt(6)));
        }
    }

    /**
     * Holds the tap-hours of {@code hours} (any slice or block) until the caller's transaction ends, shared: a flush
     * takes them before it asks which of its hours are built, and a build of one of them ({@link #takeHour}) waits
     * for the flush to commit and then finds its deltas unfolded. Without it a flush whose watermark is behind the
     * pass's (a partition new to the group) could find an hour not built yet, and append to it while it is built.
     */
    public static void holdHours(Connection c, java.util.Collection<WindowKey> hours) throws SQLException {
        AdvisoryLocks.lockShared(c, TAP_HOUR, hours.stream().map(WindowRollups::tapHour).toList());
    }

    /** Takes an hour's tap-hour exclusively, before a build asks whether it is ready ({@link #holdHours}). */
    static void takeHour(Connection c, WindowKey hour) throws SQLException {
        AdvisoryLocks.lock(c, TAP_HOUR, List.of(tapHour(hour)));
    }

    private static final String TAP_HOUR = "tap_hour";

    private static String tapHour(WindowKey hour) {
        return hour.modelId() + '\u0000' + hour.modelVersion() + '\u0000' + hour.tap() + '\u0000'
                + Granularity.HOUR.windowStart(hour.windowStart());
    }

    /**
     * Whether every part of an hour (day) is folded and built: no unfolded delta in it, and (for a day) no minute
     * whose hour row is missing. Asked under the window's lock, just before it is built.
     */
    public boolean readyToBuild(Connection c, WindowKey key) throws SQLException {
        String unbuiltHours = key.granularity() != Granularity.DAY ? "" : " OR EXISTS (SELECT 1 FROM tap_window m "
                + "WHERE m.model_id = ? AND m.model_version = ? AND m.tap = ? AND m.granularity = 'minute' AND "
                + "m.slice = ? AND m.window_start >= ? AND m.window_start < ? AND m.block = ? AND NOT EXISTS (SELECT "
                + "1 FROM tap_window h WHERE h.model_id = m.model_id AND h.model_version = m.model_version AND h.tap "
                + "= m.tap AND h.block = m.block AND h.granularity = 'hour' AND h.slice = m.slice AND h.window_start "
                + "= date_bin('1 hour', m.window_start, " + TapWindowStore.ORIGIN + ")))";
        try (PreparedStatement ps = c.prepareStatement("SELECT NOT (EXISTS (SELECT 1 FROM window_delta WHERE "
                + "model_id = ? AND model_version = ? AND tap = ? AND ? = ANY(slices) AND window_start >= ? AND "
                + "window_start < ? AND block = ? AND NOT folded)" + unbuiltHours + ")")) {
            int repeats = key.granularity() == Granularity.DAY ? 2 : 1;
            for (int r = 0; r < repeats; r++) {
                ps.setString(7 * r + 1, key.modelId());
                ps.setString(7 * r + 2, key.modelVersion());
                ps.setString(7 * r + 3, key.tap());
                ps.setString(7 * r + 4, key.slice().key());
                ps.setTimestamp(7 * r + 5, Timestamp.from(key.windowStart()));
                ps.setTimestamp(7 * r + 6, Timestamp.from(key.windowEnd()));
                ps.setInt(7 * r + 7, key.block());
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /**
     * The rows an hour (day) is built from, its minutes (hours), merged as they are read: one decoded row in
     * memory at a time beside the sum.
     */
    public TapDistribution mergeParts(Connection c, WindowKey key, int neuronCount) throws SQLException {
        Granularity part = key.granularity() == Granularity.DAY ? Granularity.HOUR : Granularity.MINUTE;
        TapDistribution merged;
        try (PreparedStatement ps = c.prepareStatement("SELECT distributions FROM tap_window WHERE model_id = ? AND "
                + "model_version = ? AND tap = ? AND granularity = ? AND slice = ? AND window_start >= ? AND "
                + "window_start < ? AND block = ?")) {
            Sql.bind(ps, key.modelId(), key.modelVersion(), key.tap(), part.word(), key.slice().key(),
                    key.windowStart(), key.windowEnd(), key.block());
            ps.setFetchSize(1);
            merged = Sql.mergeInto(null, ps, rs -> DistributionCodec.decode(rs.getBytes(1)), TapDistribution::merge);
        }
        return merged == null ? new TapDistribution(neuronCount, windows.sketchK()) : merged;
    }

    /**
     * What of a tap and slice in {@code [from, to)} is not built into coarser rows yet: the minutes (with a row or
     * deltas) whose hour row does not exist, and the days (with any stored window) whose day row does not exist. A
     * range plan reads those at the finer granularity.
     */
    public record Unbuilt(java.util.Set<Instant> minutes, java.util.Set<Instant> days) {
    }

    public Unbuilt unbuilt(String modelId, String modelVersion, String tap, Slice slice, Instant from, Instant to) {
        // block by block: a minute is unbuilt while any block's hour row is missing, a day while any block's day
        // row is (the blocks of one hour are built one after the other, by whichever instance gets to each)
        String sql = "WITH k AS (SELECT ?::text AS m, ?::text AS v, ?::text AS t, ?::text AS s, ?::timestamptz AS f, "
                + "?::timestamptz AS e, ?::timestamptz AS df), minutes AS (SELECT w.window_start, w.block FROM "
                + "tap_window w, k WHERE w.model_id = k.m AND w.model_version = k.v AND w.tap = k.t AND w.granularity "
                + "= 'minute' AND w.slice = k.s AND w.window_start >= k.df AND w.window_start < k.e UNION SELECT "
                + "d.window_start, d.block FROM window_delta d, k WHERE d.model_id = k.m AND d.model_version = k.v AND "
                + "d.tap = k.t AND k.s = ANY(d.slices) AND NOT d.folded AND d.window_start >= k.df AND d.window_start "
                + "< k.e) SELECT DISTINCT 'minute', x.window_start FROM minutes x, k WHERE x.window_start >= k.f AND "
                + "NOT EXISTS (SELECT 1 FROM tap_window h WHERE h.model_id = k.m AND h.model_version = k.v AND h.tap = "
                + "k.t AND h.block = x.block AND h.granularity = 'hour' AND h.slice = k.s AND h.window_start = "
                + "date_bin('1 hour', x.window_start, " + TapWindowStore.ORIGIN + ")) UNION ALL SELECT DISTINCT 'day', y.day FROM "
                + "(SELECT date_bin('1 day', window_start, " + TapWindowStore.ORIGIN + ") AS day, block FROM minutes UNION SELECT "
                + "date_bin('1 day', h.window_start, " + TapWindowStore.ORIGIN + "), h.block FROM tap_window h, k WHERE h.model_id = "
                + "k.m AND h.model_version = k.v AND h.tap = k.t AND h.granularity = 'hour' AND h.slice = k.s AND "
                + "h.window_start >= k.df AND h.window_start < k.e) y, k WHERE NOT EXISTS (SELECT 1 FROM tap_window d "
                + "WHERE d.model_id = k.m AND d.model_version = k.v AND d.tap = k.t AND d.block = y.block AND "
                + "d.granularity = 'day' AND d.slice = k.s AND d.window_start = y.day)";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            Sql.bind(ps, modelId, modelVersion, tap, slice.key(), from, to, Granularity.DAY.windowStart(from));
            java.util.Set<Instant> minutes = new java.util.HashSet<>();
            java.util.Set<Instant> days = new java.util.HashSet<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ("minute".equals(rs.getString(1)) ? minutes : days).add(rs.getTimestamp(2).toInstant());
                }
            }
            return new Unbuilt(minutes, days);
        } catch (SQLException e) {
            throw new StorageException("reading the unbuilt windows of " + tap, e);
        }
    }

    /**
     * How to read a range of a tap and slice: the coarsest stored windows that tile {@code [from, to)}, finer where
     * a part is not built yet ({@link ai.neuraldivergence.domain.RangePlan}).
     */
    public List<ai.neuraldivergence.domain.RangePlan.Segment> plan(ai.neuraldivergence.domain.TapDescriptor tap,
            Slice slice, Instant from, Instant to) {
        Unbuilt unbuilt = unbuilt(tap.modelId(), tap.modelVersion(), tap.tap(), slice,
                Granularity.MINUTE.windowStart(from), to);
        return ai.neuraldivergence.domain.RangePlan.cover(from, to, unbuilt.minutes(), unbuilt.days(),
                earliest(tap.modelId(), tap.modelVersion(), Granularity.MINUTE),
                earliest(tap.modelId(), tap.modelVersion(), Granularity.HOUR));
    }

    /** The oldest stored window of a granularity for a model version (a minute's deltas count); null when none. */
    public Instant earliest(String modelId, String modelVersion, Granularity granularity) {
        String deltas = granularity != Granularity.MINUTE ? "" : " UNION ALL SELECT min(window_start) FROM "
                + "window_delta WHERE model_id = ? AND model_version = ? AND NOT folded";
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT min(s) FROM (SELECT min(window_start) AS s FROM "
                        + "tap_window WHERE model_id = ? AND model_version = ? AND granularity = ?" + deltas + ") x")) {
            Sql.bind(ps, modelId, modelVersion, granularity.word());
            if (granularity == Granularity.MINUTE) {
                Sql.bindFrom(ps, 4, modelId, modelVersion);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Timestamp t = rs.getTimestamp(1);
                return t == null ? null : t.toInstant();
            }
        } catch (SQLException e) {
            throw new StorageException("reading the oldest window of " + modelId, e);
        }
    }
}
