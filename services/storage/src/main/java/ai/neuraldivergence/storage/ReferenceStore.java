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

    /** Merges {@code delta} into the reference's stored distribution (row locked meanwhile). */
    public long merge(Connection c, ReferenceKey key, TapDistribution delta) throws SQLException {
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
            ps.setBytes(7, DistributionCodec.encode(merged));
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

    private static void bind(PreparedStatement ps, ReferenceKey key) throws SQLException {
        ps.setString(1, key.modelId());
        ps.setString(2, key.modelVersion());
        ps.setString(3, key.reference());
        ps.setString(4, key.tap());
        ps.setString(5, key.slice().key());
    }
}
