package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.TapDescriptor;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Models, versions and taps: what exists, in network order. */
public final class CatalogStore {

    /** A stored model version, with the time range its minute windows cover. */
    public record VersionCoverage(String modelId, String modelVersion, Instant firstSeen, Instant coverageFrom,
            Instant coverageTo, long observationCount) {
    }

    /** A tap's columns in {@link #tapOf}'s order, its layout's feature scales last; a query adds its WHERE. */
    private static final String TAP_COLUMNS = "t.model_id, t.model_version, t.tap, t.tap_index, t.shape, "
            + "t.neuron_count, t.reduction, t.block_size, s.scales FROM tap t LEFT JOIN feature_scale s "
            + "ON s.model_id = t.model_id AND s.tap = t.tap AND s.neuron_count = t.neuron_count";

    private final DataSource dataSource;

    public CatalogStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Records a tap the first time it is seen, inside the caller's transaction.
     *
     * @return the stored descriptor, which differs from {@code tap} when an earlier batch described it otherwise
     */
    public TapDescriptor register(Connection c, TapDescriptor tap) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO model_version (model_id, model_version) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
            Sql.bind(ps, tap.modelId(), tap.modelVersion());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO tap (model_id, model_version, tap, tap_index, shape, neuron_count, reduction, "
                        + "block_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            Sql.bind(ps, tap.modelId(), tap.modelVersion(), tap.tap(), tap.tapIndex());
            ps.setArray(5, c.createArrayOf("integer", boxed(tap.shape())));
            Sql.bindFrom(ps, 6, tap.neuronCount(), tap.reduction().word(), tap.blockSize());
            if (ps.executeUpdate() == 0) {
                // registered before, its layout's scales with it (or by V19): a flush registers every tap it
                // writes, and this spares it a statement per tap
                return find(c, tap.modelId(), tap.modelVersion(), tap.tap()).orElseThrow();
            }
        }
        // the layout's feature scales: the first registration's, for every version after it
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO feature_scale (model_id, tap, neuron_count, "
                + "scales) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            Sql.bind(ps, tap.modelId(), tap.tap(), tap.neuronCount());
            float[] scales = tap.featureScales();
            ps.setArray(4, scales == null ? null : c.createArrayOf("real", boxed(scales)));
            ps.executeUpdate();
        }
        return find(c, tap.modelId(), tap.modelVersion(), tap.tap()).orElseThrow();
    }

    /**
     * {@code declared} with the feature scales its layout was first registered with, where it was: a new version of
     * a layout sums its features through the same map as the versions before it, whatever its manifest declares.
     */
    public TapDescriptor withRegisteredScales(TapDescriptor declared) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT scales "
                + "FROM feature_scale WHERE model_id = ? AND tap = ? AND neuron_count = ?")) {
            Sql.bind(ps, declared.modelId(), declared.tap(), declared.neuronCount());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? declared.withFeatureScales(scalesOf(rs.getArray(1))) : declared;
            }
        } catch (SQLException e) {
            throw new StorageException("reading the feature scales of tap " + declared.tap(), e);
        }
    }

    /**
     * The feature scales of a layout, read inside the caller's transaction: null when they are 1 everywhere or the
     * layout was never registered (a fold starts sums only for registered taps).
     */
    static float[] registeredScales(Connection c, String modelId, String tap, int neuronCount) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT scales FROM feature_scale WHERE model_id = ? AND "
                + "tap = ? AND neuron_count = ?")) {
            Sql.bind(ps, modelId, tap, neuronCount);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? scalesOf(rs.getArray(1)) : null;
            }
        }
    }

    private static float[] scalesOf(Array array) throws SQLException {
        if (array == null) {
            return null;
        }
        Float[] boxed = (Float[]) array.getArray();
        float[] out = new float[boxed.length];
        for (int i = 0; i < boxed.length; i++) {
            out[i] = boxed[i];
        }
        return out;
    }

    public Optional<TapDescriptor> find(String modelId, String modelVersion, String tap) {
        try (Connection c = dataSource.getConnection()) {
            return find(c, modelId, modelVersion, tap);
        } catch (SQLException e) {
            throw new StorageException("reading tap " + tap, e);
        }
    }

    /** A tap as stored, read inside the caller's transaction. */
    public Optional<TapDescriptor> find(Connection c, String modelId, String modelVersion, String tap)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT " + TAP_COLUMNS + " WHERE t.model_id = ? AND t.model_version = ? AND t.tap = ?")) {
            Sql.bind(ps, modelId, modelVersion, tap);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(tapOf(rs)) : Optional.empty();
            }
        }
    }

    /** A model version's taps in network order. */
    public List<TapDescriptor> taps(String modelId, String modelVersion) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement(
                        "SELECT " + TAP_COLUMNS + " WHERE t.model_id = ? AND t.model_version = ? "
                                + "ORDER BY t.tap_index, t.tap")) {
            Sql.bind(ps, modelId, modelVersion);
            List<TapDescriptor> taps = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    taps.add(tapOf(rs));
                }
            }
            return taps;
        } catch (SQLException e) {
            throw new StorageException("listing taps of " + modelId + ":" + modelVersion, e);
        }
    }

    /**
     * A model's versions, newest first (the order of {@link #versions}), without their coverage: what a query needs to
     * resolve the version it reads. The coverage is a pass over every stored window of the model, too much to repeat
     * on every call of a live view.
     */
    public List<String> versionNames(String modelId) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT "
                + "model_version FROM model_version WHERE model_id = ? ORDER BY first_seen DESC")) {
            Sql.bind(ps, modelId);
            return Sql.list(ps, rs -> rs.getString(1));
        } catch (SQLException e) {
            throw new StorageException("listing versions of " + modelId, e);
        }
    }

    /** Every model version (optionally of one model), newest first within a model, with its coverage. */
    public List<VersionCoverage> versions(String modelIdOrNull) {
        // every observation reaches every tap, so a version's count is its fullest tap's. Minutes expire after hours,
        // days after a year: a tap's count is its day rows, the hours whose day is not built yet, the minutes whose
        // hour is not, and the deltas not folded yet (every row and delta counted once), and its coverage spans
        // windows of every granularity. Every observation reaches every block of a tap too: a tap's count is its
        // blocks' minimum (0 while a block has nothing), never their sum
        String sql = "SELECT v.model_id, v.model_version, v.first_seen, min(t.first_window), max(t.last_end), "
                + "coalesce(max(t.observations), 0) FROM model_version v LEFT JOIN (SELECT pb.model_id, "
                + "pb.model_version, pb.tap, min(pb.first_window) first_window, max(pb.last_end) last_end, CASE WHEN "
                + "count(*) < min((tp.neuron_count + tp.block_size - 1) / tp.block_size) THEN 0 ELSE "
                + "min(pb.observations) END observations FROM (SELECT model_id, model_version, tap, block, "
                + "min(window_start) first_window, max(window_end) last_end, sum(n) observations FROM ("
                + "SELECT w.model_id, w.model_version, w.tap, w.block, w.window_start, w.window_start + CASE "
                + "w.granularity WHEN 'minute' THEN interval '1 minute' WHEN 'hour' THEN interval '1 hour' ELSE "
                + "interval '1 day' END AS window_end, CASE WHEN w.granularity = 'day' OR NOT EXISTS (SELECT 1 FROM "
                + "tap_window b WHERE b.model_id = w.model_id AND b.model_version = w.model_version AND b.tap = w.tap "
                + "AND b.block = w.block AND b.slice = w.slice AND b.granularity = CASE w.granularity WHEN 'minute' "
                + "THEN 'hour' ELSE 'day' END AND b.window_start = date_bin(CASE w.granularity WHEN 'minute' THEN "
                + "interval '1 hour' ELSE interval '1 day' END, w.window_start, timestamptz '2000-01-01 00:00:00+00')) "
                + "THEN w.observation_count ELSE 0 END AS n FROM tap_window w WHERE w.slice = 'all' UNION ALL SELECT "
                + "model_id, model_version, tap, block, window_start, window_start + interval '1 minute', "
                + "slice_counts[array_position(slices, 'all')] FROM window_delta WHERE 'all' = ANY(slices) AND NOT "
                + "folded) x GROUP BY model_id, model_version, tap, block) pb JOIN tap tp ON tp.model_id = pb.model_id "
                + "AND tp.model_version = pb.model_version AND tp.tap = pb.tap GROUP BY pb.model_id, pb.model_version, "
                + "pb.tap) t ON t.model_id = v.model_id "
                + "AND t.model_version = v.model_version WHERE (?::text IS NULL OR v.model_id = ?) "
                + "GROUP BY v.model_id, v.model_version, v.first_seen ORDER BY v.model_id, v.first_seen DESC";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, modelIdOrNull);
            ps.setString(2, modelIdOrNull);
            return Sql.list(ps, rs -> new VersionCoverage(rs.getString(1), rs.getString(2), instant(rs.getTimestamp(3)),
                    instant(rs.getTimestamp(4)), instant(rs.getTimestamp(5)), rs.getLong(6)));
        } catch (SQLException e) {
            throw new StorageException("listing model versions", e);
        }
    }

    /** The slice keys that have stored distributions for a model version. */
    public List<String> sliceKeys(String modelId, String modelVersion) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT slice FROM tap_window WHERE model_id = ? AND "
                        + "model_version = ? UNION SELECT unnest(slices) FROM window_delta WHERE model_id = ? AND "
                        + "model_version = ? AND NOT folded ORDER BY 1")) {
            Sql.bind(ps, modelId, modelVersion, modelId, modelVersion);
            return Sql.list(ps, rs -> rs.getString(1));
        } catch (SQLException e) {
            throw new StorageException("listing slices of " + modelId + ":" + modelVersion, e);
        }
    }

    /** The tag values a model admitted as slices, per tag key (the cardinality bound counts them). */
    public java.util.Map<String, java.util.Set<String>> admittedTagValues(String modelId) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement(
                        "SELECT tag_key, tag_value FROM slice_tag_value WHERE model_id = ?")) {
            ps.setString(1, modelId);
            java.util.Map<String, java.util.Set<String>> out = new java.util.HashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getString(1), k -> new java.util.HashSet<>()).add(rs.getString(2));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading the tag values admitted for " + modelId, e);
        }
    }

    /** Records tag values admitted as slices, inside the caller's transaction. */
    public void admitTagValues(Connection c, List<ai.neuraldivergence.domain.SlicePolicy.Admitted> admitted)
            throws SQLException {
        if (admitted.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO slice_tag_value (model_id, tag_key, tag_value) "
                + "VALUES (?, ?, ?) ON CONFLICT DO NOTHING")) {
            for (ai.neuraldivergence.domain.SlicePolicy.Admitted a : admitted) {
                Sql.bind(ps, a.modelId(), a.tagKey(), a.tagValue());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static TapDescriptor tapOf(ResultSet rs) throws SQLException {
        Array shape = rs.getArray(5);
        Integer[] dims = (Integer[]) shape.getArray();
        int[] unboxed = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            unboxed[i] = dims[i];
        }
        return new TapDescriptor(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4), unboxed,
                rs.getInt(6), Reduction.fromWord(rs.getString(7)), rs.getInt(8), scalesOf(rs.getArray(9)));
    }

    private static Float[] boxed(float[] values) {
        Float[] out = new Float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static Integer[] boxed(int[] values) {
        Integer[] out = new Integer[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
