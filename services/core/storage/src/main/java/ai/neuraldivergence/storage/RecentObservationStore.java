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

    /**
     * One tap (one block of it) of a kept observation: {@code activations} are the block's neurons. {@code trueLabel}
     * is null while unknown; {@code pairRole} null outside pairs. {@code projections}: block 0's projections of the
     * whole observation on the layer statistic's directions, for a tap stored in several blocks (a late label joins
     * them into its slice, which no block could project alone); null elsewhere.
     */
    public record Recent(String modelId, String modelVersion, String instanceId, String tap, Instant eventTime,
            int predictedClass, float confidence, Integer trueLabel, Map<String, String> tags, String pairId,
            PairRole pairRole, float[] activations, int block, float[] projections) {

        /** A block kept without projections. */
        public Recent(String modelId, String modelVersion, String instanceId, String tap, Instant eventTime,
                int predictedClass, float confidence, Integer trueLabel, Map<String, String> tags, String pairId,
                PairRole pairRole, float[] activations, int block) {
            this(modelId, modelVersion, instanceId, tap, eventTime, predictedClass, confidence, trueLabel, tags,
                    pairId, pairRole, activations, block, null);
        }

        /** A tap stored as one block. */
        public Recent(String modelId, String modelVersion, String instanceId, String tap, Instant eventTime,
                int predictedClass, float confidence, Integer trueLabel, Map<String, String> tags, String pairId,
                PairRole pairRole, float[] activations) {
            this(modelId, modelVersion, instanceId, tap, eventTime, predictedClass, confidence, trueLabel, tags,
                    pairId, pairRole, activations, 0);
        }
    }

    /**
     * One tap of a kept observation with its blocks put back together: the neurons of a block not kept (evicted, or
     * not flushed yet by the instance that owns it) are NaN, and named in {@code missingBlocks}.
     */
    public record Assembled(Recent tap, List<Integer> missingBlocks) {
    }

    /**
     * Puts the kept blocks of taps back together ({@link #find} and {@link #findPair} return one row per block): one
     * result per model version, instance, tap and event time, in the order first met.
     */
    public static List<Assembled> assemble(List<Recent> blocks,
            java.util.function.Function<Recent, ai.neuraldivergence.domain.TapDescriptor> layoutOf) {
        Map<String, List<Recent>> byTap = new java.util.LinkedHashMap<>();
        for (Recent r : blocks) {
            byTap.computeIfAbsent(r.modelVersion() + '\u0000' + r.instanceId() + '\u0000' + r.tap() + '\u0000'
                    + r.eventTime(), k -> new ArrayList<>()).add(r);
        }
        List<Assembled> out = new ArrayList<>(byTap.size());
        for (List<Recent> parts : byTap.values()) {
            Recent first = parts.get(0);
            ai.neuraldivergence.domain.TapDescriptor layout = layoutOf.apply(first);
            if (layout == null || layout.blockCount() == 1) {
                out.add(new Assembled(first, List.of()));
                continue;
            }
            float[] all = new float[layout.neuronCount()];
            java.util.Arrays.fill(all, Float.NaN);
            java.util.Set<Integer> present = new java.util.HashSet<>();
            for (Recent r : parts) {
                if (r.block() < layout.blockCount() && r.activations().length == layout.blockNeurons(r.block())) {
                    System.arraycopy(r.activations(), 0, all, layout.blockStart(r.block()), r.activations().length);
                    present.add(r.block());
                }
            }
            List<Integer> missing = new ArrayList<>();
            for (int b = 0; b < layout.blockCount(); b++) {
                if (!present.contains(b)) {
                    missing.add(b);
                }
            }
            out.add(new Assembled(new Recent(first.modelId(), first.modelVersion(), first.instanceId(), first.tap(),
                    first.eventTime(), first.predictedClass(), first.confidence(), first.trueLabel(), first.tags(),
                    first.pairId(), first.pairRole(), all, 0), missing));
        }
        return out;
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
    private final TimePartitions observationPartitions;
    private final TimePartitions inputPartitions;

    public RecentObservationStore(DataSource dataSource) {
        this.dataSource = dataSource;
        this.observationPartitions = new TimePartitions(dataSource, PartitionLayout.of("recent_observation"));
        this.inputPartitions = new TimePartitions(dataSource, PartitionLayout.of("captured_input"));
    }

    /** The partitions observations are kept in (by event time), to make ahead and on demand. */
    public TimePartitions observationPartitions() {
        return observationPartitions;
    }

    /** The partitions captured inputs are kept in (by event time). */
    public TimePartitions inputPartitions() {
        return inputPartitions;
    }

    /**
     * Keeps observation taps; a tap already kept (a replayed or resent observation: same instance and event time) stays
     * as first written. Rows travel
     * by binary COPY into a transaction-local staging table, then into the store with ON CONFLICT DO NOTHING (COPY
     * alone cannot skip duplicates).
     */
    public void keep(Connection c, List<Recent> recent) throws SQLException {
        if (recent.isEmpty()) {
            return;
        }
        // made (each in a transaction of its own) before the caller's transaction writes the table: one that has
        // written it already may not see a partition attached since
        observationPartitions.ensureFor("", recent.stream().map(Recent::eventTime).toList());
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TEMP TABLE IF NOT EXISTS recent_observation_in (model_id text, model_version text, "
                    + "instance_id text, tap text, event_time timestamptz, predicted_class int4, confidence float4, "
                    + "true_label int4, tags jsonb, pair_id text, pair_role text, activations bytea, block int4, "
                    + "projections bytea) ON COMMIT DELETE ROWS");
        }
        try (BinaryCopy copy = new BinaryCopy(new PGCopyOutputStream(c.unwrap(PGConnection.class),
                "COPY recent_observation_in FROM STDIN (FORMAT binary)", 1 << 16))) {
            for (Recent r : recent) {
                copy.row(14).text(r.modelId()).text(r.modelVersion()).text(r.instanceId()).text(r.tap())
                        .timestamptz(r.eventTime()).int4(r.predictedClass()).float4(r.confidence())
                        .int4(r.trueLabel()).jsonb(JsonStrings.object(r.tags()))
                        .text(r.pairId() == null || r.pairId().isEmpty() ? null : r.pairId())
                        .text(r.pairRole() == null ? null : r.pairRole().word()).littleEndianFloats(r.activations())
                        .int4(r.block()).littleEndianFloats(r.projections());
            }
        } catch (java.io.UncheckedIOException e) {
            throw new SQLException("copying recent observations", e.getCause());
        }
        try (Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO recent_observation (model_id, model_version, instance_id, tap, event_time, "
                    + "predicted_class, confidence, true_label, tags, pair_id, pair_role, activations, block, projections) "
                    + "SELECT * FROM recent_observation_in ON CONFLICT DO NOTHING");
            // the staging rows go at commit (ON COMMIT DELETE ROWS), or now should the caller write more before it
            s.executeUpdate("DELETE FROM recent_observation_in");
        }
    }

    /** Keeps captured inputs; an observation's first input wins (one per instance and event time). */
    public void keepInputs(Connection c, List<CapturedInput> inputs) throws SQLException {
        inputPartitions.ensureFor("", inputs.stream().map(CapturedInput::eventTime).toList());
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO captured_input (model_id, model_version, "
                + "instance_id, event_time, png) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            for (CapturedInput in : inputs) {
                Sql.bind(ps, in.modelId(), in.modelVersion(), in.instanceId(), in.eventTime(), in.png());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /**
     * Every kept tap of one instance, in network order; empty when it was never kept or has been evicted. An instance
     * id sent again at another event time is another observation: the newest is returned.
     */
    public List<Recent> find(String modelId, String instanceId) {
        return query("r.instance_id = ? AND r.event_time = (SELECT max(n.event_time) FROM recent_observation n WHERE "
                + "n.model_id = r.model_id AND n.instance_id = r.instance_id)", modelId, instanceId);
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
            Sql.bind(ps, modelId, limit);
            return Sql.list(ps, rs -> new KeptPair(rs.getString(1), rs.getTimestamp(2).toInstant(),
                    tags(rs.getArray(3), rs.getArray(4))));
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
                        + "(SELECT array_agg(value ORDER BY key) FROM jsonb_each_text(r.tags)), r.instance_id, "
                        + "r.block FROM recent_observation r JOIN tap t USING (model_id, model_version, tap) "
                        + "WHERE r.model_id = ? AND " + condition + " ORDER BY r.model_version, t.tap_index, "
                        + "r.instance_id, r.event_time, r.block")) {
            Sql.bind(ps, modelId, value);
            List<Recent> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int label = rs.getInt(6);
                    Integer trueLabel = rs.wasNull() ? null : label;
                    String role = rs.getString(8);
                    out.add(new Recent(modelId, rs.getString(1), rs.getString(12), rs.getString(2),
                            rs.getTimestamp(3).toInstant(), rs.getInt(4), rs.getFloat(5), trueLabel,
                            tags(rs.getArray(10), rs.getArray(11)), rs.getString(7),
                            role == null ? null : PairRole.fromWord(role), decode(rs.getBytes(9)), rs.getInt(13)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading recent observations of " + value, e);
        }
    }

    /** The input captured for an instance, while it is kept (its newest, should the id come again). */
    public Optional<CapturedInput> input(String modelId, String instanceId) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT model_version, event_time, png FROM captured_input "
                        + "WHERE model_id = ? AND instance_id = ? ORDER BY event_time DESC LIMIT 1")) {
            Sql.bind(ps, modelId, instanceId);
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
     * Drops the partitions past {@code expireBefore}, then the oldest partitions while a store is beyond its cap (one
     * row per observation and tap; one per input), never the newest holding rows: a cap overshoots by at most what
     * the partitions kept hold beyond it. Should the newest partition alone pass the cap (a burst), its oldest rows
     * are deleted (so are those of partitions whose range reaches now). Every row dropped is counted; only one instance evicts at a time.
     */
    public Evicted evict(Instant expireBefore, long maxObservationRows, long maxInputs) {
        // each store on its own: one that fails does not keep the other from its eviction
        StorageException failure = null;
        long[] observations = {0, 0};
        long[] inputs = {0, 0};
        try {
            observations = evict(observationPartitions, "recent_observation", expireBefore, maxObservationRows);
        } catch (StorageException e) {
            failure = e;
        }
        try {
            inputs = evict(inputPartitions, "captured_input", expireBefore, maxInputs);
        } catch (StorageException e) {
            if (failure == null) {
                failure = e;
            } else {
                failure.addSuppressed(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
        return new Evicted(observations[0], observations[1], inputs[0], inputs[1]);
    }

    /** Rows evicted from one store: past the TTL, and beyond the cap. */
    private long[] evict(TimePartitions partitions, String table, Instant expireBefore, long cap) {
        // rows of each partition dropped, counted at its last look (once detached: nothing can enter it any more)
        Map<String, Long> rows = new java.util.HashMap<>();
        TimePartitions.Retired expired = partitions.retire((c, p) -> {
            if (p.to() == null || p.to().isAfter(expireBefore)) {
                return TimePartitions.Verdict.KEEP;
            }
            rows.put(p.name(), TimePartitions.count(c, p.name()));
            return TimePartitions.Verdict.DROP;
        });
        long expiredRows = expired.dropped().stream().mapToLong(n -> rows.getOrDefault(n, 0L)).sum();
        long overCap = 0;
        try (Connection c = dataSource.getConnection()) {
            long total = TimePartitions.count(c, table);
            if (total > cap) {
                List<PartitionLayout.Part> parts = partitions.list().stream().map(TimePartitions.Attached::part)
                        .toList();
                Map<String, Long> counts = new java.util.HashMap<>();
                String newest = null;
                for (PartitionLayout.Part p : parts) {
                    long n = TimePartitions.count(c, p.name());
                    counts.put(p.name(), n);
                    if (n > 0) {
                        newest = p.name();
                    }
                }
                java.util.Set<String> beyond = new java.util.HashSet<>();
                long left = total;
                Instant now = Instant.now();
                for (PartitionLayout.Part p : parts) {
                    // never the newest holding rows, nor one still being written (a row stamped ahead of the clock
                    // may make the current one look old)
                    if (left <= cap || p.name().equals(newest) || p.to() == null || p.to().isAfter(now)) {
                        break;
                    }
                    beyond.add(p.name());
                    left -= counts.get(p.name());
                }
                if (!beyond.isEmpty()) {
                    TimePartitions.Retired r = partitions.retire((c2, p) -> {
                        if (!beyond.contains(p.name())) {
                            return TimePartitions.Verdict.KEEP;
                        }
                        rows.put(p.name(), TimePartitions.count(c2, p.name()));
                        return TimePartitions.Verdict.DROP;
                    });
                    overCap += r.dropped().stream().mapToLong(n -> rows.getOrDefault(n, 0L)).sum();
                }
                overCap += deleteBeyond(c, table, cap);
            }
        } catch (SQLException e) {
            throw new StorageException("evicting from " + table, e);
        }
        return new long[] {expiredRows, overCap};
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

    /** Little-endian float4 values as stored; null stays null (a column not written). */
    static float[] decode(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        float[] values = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
