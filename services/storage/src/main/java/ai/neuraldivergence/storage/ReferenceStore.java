package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;

/** References and their distributions; the one owner of reference storage. */
public final class ReferenceStore {

    private final DataSource dataSource;

    public ReferenceStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Creates a tagged reference of a model version on first sight, inside the caller's transaction. */
    public void registerTagged(Connection c, String modelId, String modelVersion, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO reference (model_id, model_version, name, "
                + "origin) VALUES (?, ?, ?, 'tagged') ON CONFLICT DO NOTHING")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, name);
            ps.executeUpdate();
        }
    }

    /**
     * Merges {@code delta} into the reference's stored distribution. The key is locked first (the row may not
     * exist yet: see {@link AdvisoryLocks}), so that two writers of one reference wait for each other.
     */
    public long merge(Connection c, ReferenceKey key, TapDistribution delta) throws SQLException {
        AdvisoryLocks.lock(c, "reference_distribution", java.util.List.of(key.modelId() + '\u0000'
                + key.modelVersion() + '\u0000' + key.reference() + '\u0000' + key.tap() + '\u0000'
                + key.slice().key()));
        TapDistribution merged = delta;
        try (PreparedStatement ps = c.prepareStatement("SELECT distributions FROM reference_distribution "
                + "WHERE model_id = ? AND model_version = ? AND name = ? AND tap = ? AND slice = ? FOR UPDATE")) {
            bind(ps, key);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    merged = DistributionCodec.decode(rs.getBytes(1));
                    merged.merge(delta);
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO reference_distribution (model_id, model_version, "
                + "name, tap, slice, observation_count, distributions) VALUES (?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (model_id, model_version, name, tap, slice) DO UPDATE SET observation_count = "
                + "excluded.observation_count, distributions = excluded.distributions, updated_at = now()")) {
            bind(ps, key);
            ps.setLong(6, merged.observationCount());
            byte[] encoded = DistributionCodec.encode(merged);
            // streamed from the array: the driver's setBytes copies it first
            ps.setBinaryStream(7, new java.io.ByteArrayInputStream(encoded), encoded.length);
            ps.executeUpdate();
        }
        return merged.observationCount();
    }

    /** A reference's stored distribution of one tap and slice. */
    public Optional<TapDistribution> read(String modelId, String modelVersion, String name, String tap,
            Slice slice) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT distributions FROM reference_distribution "
                        + "WHERE model_id = ? AND model_version = ? AND name = ? AND tap = ? AND slice = ?")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, name);
            ps.setString(4, tap);
            ps.setString(5, slice.key());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(DistributionCodec.decode(rs.getBytes(1))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StorageException("reading reference " + name, e);
        }
    }

    /** The slices a reference holds distributions of, for one tap. */
    public java.util.List<Slice> slices(String modelId, String modelVersion, String name, String tap) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT slice FROM reference_distribution WHERE model_id = ? "
                        + "AND model_version = ? AND name = ? AND tap = ? ORDER BY slice")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, name);
            ps.setString(4, tap);
            java.util.List<Slice> out = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(Slice.parse(rs.getString(1)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("listing slices of reference " + name, e);
        }
    }

    /** A stored reference and where it came from. {@code sourceSlice} and the source range are null when tagged. */
    public record StoredReference(String modelId, String modelVersion, String name, String origin,
            java.time.Instant sourceFrom, java.time.Instant sourceTo, String sourceSlice, java.time.Instant createdAt,
            long observationCount) {
    }

    private static final String SELECT_REFERENCE = "SELECT r.model_id, r.model_version, r.name, r.origin, "
            + "r.source_from, r.source_to, r.source_slice, r.created_at, coalesce((SELECT max(d.observation_count) "
            + "FROM reference_distribution d WHERE d.model_id = r.model_id AND d.model_version = r.model_version "
            + "AND d.name = r.name AND d.slice = 'all'), 0) FROM reference r ";

    /** Every reference of a model (of every model when {@code modelId} is null), by model, name and version. */
    public java.util.List<StoredReference> list(String modelId) {
        return query(SELECT_REFERENCE + (modelId == null ? "" : "WHERE r.model_id = ? ")
                + "ORDER BY r.model_id, r.name, r.created_at DESC", modelId == null ? new String[0]
                        : new String[] {modelId});
    }

    /** The versions of a model that hold a reference of this name, newest first. */
    public java.util.List<StoredReference> find(String modelId, String name) {
        return query(SELECT_REFERENCE + "WHERE r.model_id = ? AND r.name = ? ORDER BY r.created_at DESC",
                new String[] {modelId, name});
    }

    private java.util.List<StoredReference> query(String sql, String[] args) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            java.util.List<StoredReference> out = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new StoredReference(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            instant(rs.getTimestamp(5)), instant(rs.getTimestamp(6)), rs.getString(7),
                            rs.getTimestamp(8).toInstant(), rs.getLong(9)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("listing references", e);
        }
    }

    private static java.time.Instant instant(java.sql.Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    /**
     * Creates a reference frozen from a time range, with its distributions (per tap and slice), in one transaction.
     *
     * @return false, writing nothing, when the model already has a reference of this name
     */
    public boolean createFrozen(String modelId, String modelVersion, String name, java.time.Instant from,
            java.time.Instant to, Slice sourceSlice,
            java.util.Map<String, java.util.Map<Slice, TapDistribution>> distributionsByTap) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement exists = c.prepareStatement(
                        "SELECT 1 FROM reference WHERE model_id = ? AND name = ? FOR UPDATE")) {
                    exists.setString(1, modelId);
                    exists.setString(2, name);
                    try (ResultSet rs = exists.executeQuery()) {
                        if (rs.next()) {
                            c.rollback();
                            return false;
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO reference (model_id, model_version, name, "
                        + "origin, source_from, source_to, source_slice) VALUES (?, ?, ?, 'time_range', ?, ?, ?)")) {
                    ps.setString(1, modelId);
                    ps.setString(2, modelVersion);
                    ps.setString(3, name);
                    ps.setTimestamp(4, java.sql.Timestamp.from(from));
                    ps.setTimestamp(5, java.sql.Timestamp.from(to));
                    ps.setString(6, sourceSlice == null ? null : sourceSlice.key());
                    ps.executeUpdate();
                }
                for (var tap : distributionsByTap.entrySet()) {
                    for (var slice : tap.getValue().entrySet()) {
                        merge(c, new ReferenceKey(modelId, modelVersion, name, tap.getKey(), slice.getKey()),
                                slice.getValue());
                    }
                }
                c.commit();
                return true;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            if ("23505".equals(e.getSQLState())) {
                // created meanwhile by another request
                return false;
            }
            throw new StorageException("creating reference " + name, e);
        }
    }

    /** Deletes a model's reference of this name, in every version; returns whether one existed. */
    public boolean delete(String modelId, String name) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("DELETE FROM reference WHERE model_id = ? AND name = ?")) {
            ps.setString(1, modelId);
            ps.setString(2, name);
            return ps.executeUpdate() > 0;
        } catch (SQLException e) {
            throw new StorageException("deleting reference " + name, e);
        }
    }

    private static void bind(PreparedStatement ps, ReferenceKey key) throws SQLException {
        ps.setString(1, key.modelId());
        ps.setString(2, key.modelVersion());
        ps.setString(3, key.reference());
        ps.setString(4, key.tap());
        ps.setString(5, key.slice().key());
    }
}
