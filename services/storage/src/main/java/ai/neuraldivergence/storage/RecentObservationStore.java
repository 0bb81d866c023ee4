package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.PairRole;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.PGCopyOutputStream;

/**
 * The recent-observation store: every live observation's taps (activations and metadata) and the inputs inference
 * captured, kept for a TTL and under a row cap, so that an instance can be inspected by its id and a late label can
 * still find its observation. Written in the aggregator's flush transaction; evicted by its eviction job.
 */
public final class RecentObservationStore {

    /** One tap of a kept observation. {@code trueLabel} is null while unknown; {@code pairRole} null outside pairs. */
    public record Recent(String modelId, String modelVersion, String instanceId, String tap, Instant eventTime,
            int predictedClass, float confidence, Integer trueLabel, Map<String, String> tags, String pairId,
            PairRole pairRole, float[] activations) {
    }

    /** An input as inference captured it: a PNG of what the model was fed. */
    public record CapturedInput(String modelId, String modelVersion, String instanceId, Instant eventTime,
            byte[] png) {
    }

    /** Rows an eviction run deleted, by store and reason. */
    public record Evicted(long observationsExpired, long observationsOverCap, long inputsExpired,
            long inputsOverCap) {
    }

    private final DataSource dataSource;

    public RecentObservationStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Keeps observation taps; a tap already kept (a replayed or resent instance) stays as first written. Rows travel
     * by binary COPY into a transaction-local staging table, then into the store with ON CONFLICT DO NOTHING (COPY
     * alone cannot skip duplicates).
     */
    public void keep(Connection c, List<Recent> recent) throws SQLException {
        if (recent.isEmpty()) {
            return;
        }
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TEMP TABLE IF NOT EXISTS recent_observation_in (model_id text, model_version text, "
                    + "instance_id text, tap text, event_time timestamptz, predicted_class int4, confidence float4, "
                    + "true_label int4, tags jsonb, pair_id text, pair_role text, activations bytea) "
                    + "ON COMMIT DELETE ROWS");
        }
        try (BinaryCopy copy = new BinaryCopy(new PGCopyOutputStream(c.unwrap(PGConnection.class),
                "COPY recent_observation_in FROM STDIN (FORMAT binary)", 1 << 16))) {
            for (Recent r : recent) {
                copy.row(12).text(r.modelId()).text(r.modelVersion()).text(r.instanceId()).text(r.tap())
                        .timestamptz(r.eventTime()).int4(r.predictedClass()).float4(r.confidence())
                        .int4(r.trueLabel()).jsonb(JsonStrings.object(r.tags()))
                        .text(r.pairId() == null || r.pairId().isEmpty() ? null : r.pairId())
                        .text(r.pairRole() == null ? null : r.pairRole().word()).littleEndianFloats(r.activations());
            }
        } catch (java.io.UncheckedIOException e) {
            throw new SQLException("copying recent observations", e.getCause());
        }
        try (Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO recent_observation (model_id, model_version, instance_id, tap, event_time, "
                    + "predicted_class, confidence, true_label, tags, pair_id, pair_role, activations) "
                    + "SELECT * FROM recent_observation_in ON CONFLICT DO NOTHING");
            // the staging rows go at commit (ON COMMIT DELETE ROWS), or now should the caller write more before it
            s.executeUpdate("DELETE FROM recent_observation_in");
        }
    }

    /** Keeps captured inputs; an instance's first input wins. */
    public void keepInputs(Connection c, List<CapturedInput> inputs) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO captured_input (model_id, model_version, "
                + "instance_id, event_time, png) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            for (CapturedInput in : inputs) {
                ps.setString(1, in.modelId());
                ps.setString(2, in.modelVersion());
                ps.setString(3, in.instanceId());
                ps.setTimestamp(4, Timestamp.from(in.eventTime()));
                ps.setBytes(5, in.png());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** Every kept tap of one instance, in network order; empty when it was never kept or has been evicted. */
    public List<Recent> find(String modelId, String instanceId) {
        return query("r.instance_id = ?", modelId, instanceId);
    }

    /** A kept pair: its id, its newest event time, and its attacked member's tags. */
    public record KeptPair(String pairId, Instant eventTime, Map<String, String> tags) {
    }

    /** The pairs with both members kept, newest first. */
    public List<KeptPair> recentPairs(String modelId, int limit) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT p.pair_id, p.t, (SELECT array_agg(key ORDER BY key) "
                        + "FROM jsonb_each_text(p.tags)), (SELECT array_agg(value ORDER BY key) FROM "
                        + "jsonb_each_text(p.tags)) FROM (SELECT pair_id, max(event_time) t, (array_agg(tags) FILTER "
                        + "(WHERE pair_role = 'attacked'))[1] tags FROM recent_observation WHERE model_id = ? AND "
                        + "pair_id IS NOT NULL GROUP BY pair_id HAVING count(DISTINCT pair_role) = 2) p "
                        + "ORDER BY p.t DESC, p.pair_id DESC LIMIT ?")) {
            ps.setString(1, modelId);
            ps.setInt(2, limit);
            List<KeptPair> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new KeptPair(rs.getString(1), rs.getTimestamp(2).toInstant(),
                            tags(rs.getArray(3), rs.getArray(4))));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("listing recent pairs of " + modelId, e);
        }
    }

    /** Every kept tap of both members of a benign/attacked pair, in network order. */
    public List<Recent> findPair(String modelId, String pairId) {
        return query("r.pair_id = ?", modelId, pairId);
    }

    private List<Recent> query(String condition, String modelId, String value) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT r.model_version, r.tap, r.event_time, "
                        + "r.predicted_class, r.confidence, r.true_label, r.pair_id, r.pair_role, r.activations, "
                        + "(SELECT array_agg(key ORDER BY key) FROM jsonb_each_text(r.tags)), "
                        + "(SELECT array_agg(value ORDER BY key) FROM jsonb_each_text(r.tags)), r.instance_id "
                        + "FROM recent_observation r JOIN tap t USING (model_id, model_version, tap) "
                        + "WHERE r.model_id = ? AND " + condition + " ORDER BY r.model_version, t.tap_index")) {
            ps.setString(1, modelId);
            ps.setString(2, value);
            List<Recent> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int label = rs.getInt(6);
                    Integer trueLabel = rs.wasNull() ? null : label;
                    String role = rs.getString(8);
                    out.add(new Recent(modelId, rs.getString(1), rs.getString(12), rs.getString(2),
                            rs.getTimestamp(3).toInstant(), rs.getInt(4), rs.getFloat(5), trueLabel,
                            tags(rs.getArray(10), rs.getArray(11)), rs.getString(7),
                            role == null ? null : PairRole.fromWord(role), decode(rs.getBytes(9))));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading recent observations of " + value, e);
        }
    }

    /** The input captured for an instance, while it is kept. */
    public Optional<CapturedInput> input(String modelId, String instanceId) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT model_version, event_time, png FROM captured_input "
                        + "WHERE model_id = ? AND instance_id = ?")) {
            ps.setString(1, modelId);
            ps.setString(2, instanceId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                        ? Optional.of(new CapturedInput(modelId, rs.getString(1), instanceId,
                                rs.getTimestamp(2).toInstant(), rs.getBytes(3)))
                        : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StorageException("reading captured input " + instanceId, e);
        }
    }

    /**
     * Deletes what is older than {@code expireBefore}, then the oldest rows beyond each cap (one row per observation
     * and tap; one per input). Rows sharing the cut's event time go together, so a cap may undershoot slightly.
     */
    public Evicted evict(Instant expireBefore, long maxObservationRows, long maxInputs) {
        try (Connection c = dataSource.getConnection()) {
            long observationsExpired = deleteBefore(c, "recent_observation", expireBefore);
            long observationsOverCap = deleteBeyond(c, "recent_observation", maxObservationRows);
            long inputsExpired = deleteBefore(c, "captured_input", expireBefore);
            long inputsOverCap = deleteBeyond(c, "captured_input", maxInputs);
            return new Evicted(observationsExpired, observationsOverCap, inputsExpired, inputsOverCap);
        } catch (SQLException e) {
            throw new StorageException("evicting recent observations", e);
        }
    }

    /** Rows kept now: observation taps and inputs. */
    public long[] sizes() {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT (SELECT count(*) FROM recent_observation), "
                        + "(SELECT count(*) FROM captured_input)");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        } catch (SQLException e) {
            throw new StorageException("counting recent observations", e);
        }
    }

    // the table names below are constants of this class, never input
    private static long deleteBefore(Connection c, String table, Instant before) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE event_time < ?")) {
            ps.setTimestamp(1, Timestamp.from(before));
            return ps.executeUpdate();
        }
    }

    private static long deleteBeyond(Connection c, String table, long cap) throws SQLException {
        Timestamp cut;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT event_time FROM " + table + " ORDER BY event_time DESC OFFSET ? LIMIT 1")) {
            ps.setLong(1, cap);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return 0;
                }
                cut = rs.getTimestamp(1);
            }
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE event_time <= ?")) {
            ps.setTimestamp(1, cut);
            return ps.executeUpdate();
        }
    }

    private static Map<String, String> tags(Array keys, Array values) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        if (keys == null) {
            return out;
        }
        String[] k = (String[]) keys.getArray();
        String[] v = (String[]) values.getArray();
        for (int i = 0; i < k.length; i++) {
            out.put(k[i], v[i]);
        }
        return out;
    }

    static byte[] encode(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    static float[] decode(byte[] bytes) {
        float[] values = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
