package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.TopExemplars;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;
import javax.sql.DataSource;

/** Each neuron's top exemplar observations, per tap and minute. */
public final class ExemplarStore {

    private final DataSource dataSource;

    public ExemplarStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Merges {@code delta} into the stored exemplars of a tap's minute, inside the caller's transaction; the key is
     * locked first, whether the row exists yet or not (see {@link AdvisoryLocks}).
     */
    public void merge(Connection c, String modelId, String modelVersion, String tap, Instant minute,
            TopExemplars delta) throws SQLException {
        AdvisoryLocks.lock(c, "neuron_exemplars", java.util.List.of(modelId + '\u0000' + modelVersion + '\u0000'
                + tap + '\u0000' + minute));
        TopExemplars merged = delta;
        try (PreparedStatement ps = c.prepareStatement("SELECT exemplars FROM neuron_exemplars WHERE model_id = ? "
                + "AND model_version = ? AND tap = ? AND window_start = ? FOR UPDATE")) {
            bind(ps, modelId, modelVersion, tap, minute);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    merged = TopExemplars.decode(rs.getBytes(1));
                    merged.merge(delta);
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO neuron_exemplars (model_id, model_version, tap, "
                + "window_start, exemplars) VALUES (?, ?, ?, ?, ?) ON CONFLICT (model_id, model_version, tap, "
                + "window_start) DO UPDATE SET exemplars = excluded.exemplars")) {
            bind(ps, modelId, modelVersion, tap, minute);
            ps.setBytes(5, merged.encode());
            ps.executeUpdate();
        }
    }

    public Optional<TopExemplars> read(String modelId, String modelVersion, String tap, Instant minute) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT exemplars FROM neuron_exemplars WHERE model_id = ? "
                        + "AND model_version = ? AND tap = ? AND window_start = ?")) {
            bind(ps, modelId, modelVersion, tap, minute);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(TopExemplars.decode(rs.getBytes(1))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StorageException("reading exemplars of " + tap, e);
        }
    }

    /**
     * The exemplars of a tap over its last {@code span} of stored minutes, merged: each neuron's observations that
     * excited it most in that time. Empty when none are stored.
     */
    public Optional<TopExemplars> readLatest(String modelId, String modelVersion, String tap, java.time.Duration span) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT exemplars FROM neuron_exemplars WHERE model_id = ? "
                        + "AND model_version = ? AND tap = ? AND window_start > (SELECT max(window_start) FROM "
                        + "neuron_exemplars WHERE model_id = ? AND model_version = ? AND tap = ?) - ?::interval")) {
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, tap);
            ps.setString(4, modelId);
            ps.setString(5, modelVersion);
            ps.setString(6, tap);
            ps.setString(7, span.toSeconds() + " seconds");
            TopExemplars merged = null;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    TopExemplars e = TopExemplars.decode(rs.getBytes(1));
                    if (merged == null) {
                        merged = e;
                    } else {
                        merged.merge(e);
                    }
                }
            }
            return Optional.ofNullable(merged);
        } catch (SQLException e) {
            throw new StorageException("reading exemplars of " + tap, e);
        }
    }

    /** Deletes exemplars of minutes that started before {@code before}, in short batches; returns the rows. */
    public long deleteOlderThan(Instant before) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("DELETE FROM neuron_exemplars WHERE ctid IN (SELECT ctid "
                        + "FROM neuron_exemplars WHERE window_start < ? LIMIT 200)")) {
            ps.setTimestamp(1, Timestamp.from(before));
            long total = 0;
            int deleted;
            do {
                deleted = ps.executeUpdate();
                total += deleted;
            } while (deleted > 0);
            return total;
        } catch (SQLException e) {
            throw new StorageException("deleting expired exemplars", e);
        }
    }

    private static void bind(PreparedStatement ps, String modelId, String modelVersion, String tap, Instant minute)
            throws SQLException {
        ps.setString(1, modelId);
        ps.setString(2, modelVersion);
        ps.setString(3, tap);
        ps.setTimestamp(4, Timestamp.from(minute));
    }
}
