package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.Slice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import javax.sql.DataSource;

/**
 * Calibration samples: per tap and scope (an hour window, or a reference), the observations of the smallest ranks,
 * as float arrays (the layer statistic's projections: see V18), each with the slices it is in (V21), and on the
 * smallest ranks of taps stored as one block the observation's neuron values too (V23: the mean KS's null). Inserted
 * by the aggregator's flush (a replay inserts the same rows), trimmed to the scope's size after each insert, read by
 * the comparison service in rank order, whole or narrowed to a slice.
 */
public final class CalibrationSampleStore {

    /** The epoch: a reference's scope has no window. */
    public static final Instant NO_WINDOW = Instant.EPOCH;

    /**
     * {@link Cutoffs#valueRank} of a scope that keeps no values (its value size is 0): below every rank (ranks are 63
     * bits, never negative), so that no member's values are sent.
     */
    public static final long NO_VALUES = -1;

    /** The layer statistic's projections: every member has them. */
    private static final String PROJECTIONS = "projections";
    /** The neuron values: only the members that keep them (V23). */
    private static final String ACTIVATIONS = "activations";

    private final DataSource dataSource;

    public CalibrationSampleStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Where a sample belongs: a tap's hour window ({@code reference} empty) or a tap's reference. */
    public record Scope(String modelId, String modelVersion, String tap, String reference, Instant windowStart) {

        public static Scope hour(String modelId, String modelVersion, String tap, Instant hourStart) {
            return new Scope(modelId, modelVersion, tap, "", hourStart);
        }

        public static Scope reference(String modelId, String modelVersion, String tap, String reference) {
            return new Scope(modelId, modelVersion, tap, reference, NO_WINDOW);
        }
    }

    /**
     * One sampled observation: {@code values}, as the sample keeps it (its projections, V18), the slices it is in
     * (V21: a slice's null is resampled from the members in it), and its neuron values where it brings them (V23: the
     * mean KS's null), else null.
     */
    public record Member(Scope scope, long rank, String instanceId, float[] values, List<Slice> slices,
            float[] activations) {

        /** A member without neuron values. */
        public Member(Scope scope, long rank, String instanceId, float[] values, List<Slice> slices) {
            this(scope, rank, instanceId, values, slices, null);
        }

        /** A member known to be in the slice all only, without neuron values. */
        public Member(Scope scope, long rank, String instanceId, float[] values) {
            this(scope, rank, instanceId, values, List.of(Slice.ALL));
        }
    }

    /**
     * What a scope keeps after an insert: {@code rank}, the largest rank it keeps once full ({@link Long#MAX_VALUE}
     * while it holds fewer than its size: members of larger rank need not be sent); {@code valueRank}, the largest
     * rank whose members keep their neuron values once the scope holds its value size of them ({@link Long#MAX_VALUE}
     * while fewer, {@link #NO_VALUES} when its value size is 0): members of larger rank need not send theirs.
     */
    public record Cutoffs(long rank, long valueRank) {
    }

    /**
     * An observation's rank: the first 63 bits of SHA-256 over (model, instance id, minute). A function of the
     * observation alone, so that every tap's partition, every replica and every replay rank it alike.
     */
    public static long rank(String modelId, String instanceId, Instant minute) {
        // once per observation and tap on the flush path: one digest per thread, not a provider lookup each time
        // (digest() resets it for the next use)
        MessageDigest sha = SHA.get();
        sha.update(modelId.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(instanceId.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(Long.toString(minute.getEpochSecond()).getBytes(StandardCharsets.UTF_8));
        return ByteBuffer.wrap(sha.digest()).getLong() >>> 1;
    }

    private static final ThreadLocal<MessageDigest> SHA = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    });

    /**
     * Inserts members (the ones stored already are left as they are) and trims each scope they touch to its
     * {@code size} smallest ranks, in the caller's transaction. Values its members bring are kept on at most as many
     * of the smallest ranks as the sample keeps: callers that send none see what they saw before V23.
     *
     * @return per scope touched, {@link Cutoffs#rank}
     */
    public Map<Scope, Long> insert(Connection c, List<Member> members, ToIntFunction<Scope> size)
            throws SQLException {
        Map<Scope, Long> ranks = new LinkedHashMap<>();
        insert(c, members, size, size).forEach((s, cut) -> ranks.put(s, cut.rank()));
        return ranks;
    }

    /**
     * Inserts members (the ones stored already are left as they are, values or none), trims each scope they touch to
     * its {@code size} smallest ranks, then keeps neuron values on its {@code valueSize} smallest ranks among the
     * members that have them (0: on none; values kept before stay when the scope's members bring none, so that a
     * scope that never keeps values costs no statement), in the caller's transaction.
     *
     * @return per scope touched, its cutoffs: the aggregator sends a member only when its rank is at most
     *     {@link Cutoffs#rank}, and its values only when its rank is at most {@link Cutoffs#valueRank}
     */
    public Map<Scope, Cutoffs> insert(Connection c, List<Member> members, ToIntFunction<Scope> size,
            ToIntFunction<Scope> valueSize) throws SQLException {
        Map<Scope, Cutoffs> cutoffs = new LinkedHashMap<>();
        if (members.isEmpty()) {
            return cutoffs;
        }
        java.util.Set<Scope> valued = new java.util.HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO calibration_sample (model_id, model_version, tap, "
                + "reference, window_start, rank, instance_id, projections, slices, activations) VALUES (?, ?, ?, ?, "
                + "?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            for (Member m : members) {
                Scope s = m.scope();
                Sql.bind(ps, s.modelId(), s.modelVersion(), s.tap(), s.reference(), s.windowStart(), m.rank(),
                        m.instanceId(), encode(m.values()));
                ps.setArray(9, c.createArrayOf("text", m.slices().stream().map(Slice::key).toArray()));
                ps.setBytes(10, m.activations() == null ? null : encode(m.activations()));
                ps.addBatch();
                cutoffs.put(s, null);
                if (m.activations() != null) {
                    valued.add(s);
                }
            }
            ps.executeBatch();
        }
        for (Scope s : cutoffs.keySet()) {
            long rank = trim(c, s, size.applyAsInt(s));
            int values = valueSize.applyAsInt(s);
            // a scope that keeps no values and was sent none (a tap wider than a block, every flush): nothing to drop,
            // and no statement. Values kept under an earlier, larger cap stay until the hour or reference goes.
            cutoffs.put(s, new Cutoffs(rank, values <= 0 && !valued.contains(s) ? NO_VALUES
                    : trimValues(c, s, values)));
        }
        return cutoffs;
    }

    /** A late label joining an observation of a tap: its hour's sampled member, if any, enters the label's slice. */
    public record LabelJoin(String modelId, String modelVersion, String tap, Instant eventTime, String instanceId,
            int trueLabel) {
    }

    /**
     * Adds each join's true-label slice to the slices of the member it names in its hour's sample (none: it was not
     * sampled), in the caller's transaction. Members stored before they kept their slices (V21) are left as they are:
     * they count for the slice all only.
     */
    public void joinLabels(Connection c, List<LabelJoin> joins) throws SQLException {
        if (joins.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE calibration_sample SET slices = array_append(slices, "
                + "?) WHERE model_id = ? AND model_version = ? AND tap = ? AND reference = '' AND window_start = ? "
                + "AND instance_id = ? AND slices IS NOT NULL AND NOT (? = ANY(slices))")) {
            for (LabelJoin j : joins) {
                String label = Slice.trueLabel(j.trueLabel()).key();
                Sql.bind(ps, label, j.modelId(), j.modelVersion(), j.tap(),
                        ai.neuraldivergence.domain.Granularity.HOUR.windowStart(j.eventTime()), j.instanceId(), label);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /**
     * Deletes the scope's members past its {@code size} smallest ranks; returns the largest rank kept, or
     * {@link Long#MAX_VALUE} when it holds fewer. Concurrent trims of one scope (two replicas) only ever delete
     * members past the size smallest of what each sees, so the union keeps at least the size smallest.
     */
    long trim(Connection c, Scope s, int size) throws SQLException {
        Long last;
        try (PreparedStatement ps = c.prepareStatement("SELECT rank FROM calibration_sample WHERE model_id = ? AND "
                + "model_version = ? AND tap = ? AND reference = ? AND window_start = ? ORDER BY rank OFFSET ? "
                + "LIMIT 1")) {
            Sql.bind(ps, s.modelId(), s.modelVersion(), s.tap(), s.reference(), s.windowStart(), size - 1);
            last = Sql.first(ps, rs -> rs.getLong(1));
        }
        if (last == null) {
            return Long.MAX_VALUE;
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM calibration_sample WHERE model_id = ? AND "
                + "model_version = ? AND tap = ? AND reference = ? AND window_start = ? AND rank > ?")) {
            Sql.bind(ps, s.modelId(), s.modelVersion(), s.tap(), s.reference(), s.windowStart(), last);
            ps.executeUpdate();
        }
        return last;
    }

    /**
     * Drops the neuron values of the scope's members past the {@code valueSize} smallest ranks among those that have
     * them; returns the largest rank that keeps them, {@link Long#MAX_VALUE} while fewer have them, or
     * {@link #NO_VALUES} (all dropped) when {@code valueSize} is 0. As {@link #trim}: concurrent trims of one scope
     * only ever drop values past the value size smallest of what each sees, and a member that keeps values is never
     * given them back, so whatever the interleaving the union keeps values on at least the value size smallest ranks
     * of the members sent with them (any member that has fewer than that below it is dropped by no trim). A member
     * stored without values (before V23, or past the cutoff when it was sent) never counts.
     */
    private static long trimValues(Connection c, Scope s, int valueSize) throws SQLException {
        if (valueSize <= 0) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE calibration_sample SET activations = NULL WHERE "
                    + "model_id = ? AND model_version = ? AND tap = ? AND reference = ? AND window_start = ? AND "
                    + "activations IS NOT NULL")) {
                Sql.bind(ps, s.modelId(), s.modelVersion(), s.tap(), s.reference(), s.windowStart());
                ps.executeUpdate();
            }
            return NO_VALUES;
        }
        // one statement a scope on the flush path: the cutoff is read and applied from the same snapshot (no row
        // while fewer members have values, and then rank > NULL drops nothing)
        try (PreparedStatement ps = c.prepareStatement("WITH last AS (SELECT rank FROM calibration_sample WHERE "
                + "model_id = ? AND model_version = ? AND tap = ? AND reference = ? AND window_start = ? AND "
                + "activations IS NOT NULL ORDER BY rank OFFSET ? LIMIT 1), dropped AS (UPDATE calibration_sample "
                + "SET activations = NULL WHERE model_id = ? AND model_version = ? AND tap = ? AND reference = ? AND "
                + "window_start = ? AND activations IS NOT NULL AND rank > (SELECT rank FROM last)) "
                + "SELECT rank FROM last")) {
            Sql.bind(ps, s.modelId(), s.modelVersion(), s.tap(), s.reference(), s.windowStart(), valueSize - 1,
                    s.modelId(), s.modelVersion(), s.tap(), s.reference(), s.windowStart());
            Long last = Sql.first(ps, rs -> rs.getLong(1));
            return last == null ? Long.MAX_VALUE : last;
        }
    }

    /** A reference's sample of a tap: at most {@code size} members, smallest ranks first. */
    public List<float[]> readReference(String modelId, String modelVersion, String tap, String reference,
            int size) {
        return readReference(modelId, modelVersion, tap, reference, Slice.ALL, size);
    }

    /** The members of a reference's sample of a tap that are in {@code slice}: at most {@code size}. */
    public List<float[]> readReference(String modelId, String modelVersion, String tap, String reference,
            Slice slice, int size) {
        return read(PROJECTIONS, REFERENCE, slice, size, modelId, modelVersion, tap, reference, NO_WINDOW);
    }

    /**
     * The neuron values of a reference's sample of a tap, of its members in {@code slice} that kept them (V23): at
     * most {@code size}, smallest ranks first.
     */
    public List<float[]> readReferenceValues(String modelId, String modelVersion, String tap, String reference,
            Slice slice, int size) {
        return read(ACTIVATIONS, REFERENCE, slice, size, modelId, modelVersion, tap, reference, NO_WINDOW);
    }

    /**
     * The sample of a tap's hour windows starting in [from, to): the {@code size} smallest ranks of their union (what
     * a merge of the hours keeps).
     */
    public List<float[]> readHours(String modelId, String modelVersion, String tap, Instant from, Instant to,
            int size) {
        return readHours(modelId, modelVersion, tap, from, to, Slice.ALL, size);
    }

    /**
     * The members in {@code slice} of the sample of a tap's hour windows starting in [from, to): a slice's sample is
     * the hours' sample narrowed to it (about its share of the size), not a sample of its own.
     */
    public List<float[]> readHours(String modelId, String modelVersion, String tap, Instant from, Instant to,
            Slice slice, int size) {
        return read(PROJECTIONS, HOURS, slice, size, modelId, modelVersion, tap, from, to);
    }

    /**
     * The neuron values of the members in {@code slice} that kept them (V23) of a tap's hour windows starting in
     * [from, to): at most {@code size}, smallest ranks first. Each hour keeps values on its value size smallest ranks
     * among members that have them, so the value size smallest with values of the union are exactly those of the
     * hours' (each is among its own hour's value size smallest), as {@link #readHours} reads the union's sample.
     */
    public List<float[]> readHoursValues(String modelId, String modelVersion, String tap, Instant from, Instant to,
            Slice slice, int size) {
        return read(ACTIVATIONS, HOURS, slice, size, modelId, modelVersion, tap, from, to);
    }

    /** A reference's scope, after the model, version and tap. */
    private static final String REFERENCE = "reference = ? AND window_start = ?";
    /** Hour windows starting in [from, to), after the model, version and tap. */
    private static final String HOURS = "reference = '' AND window_start >= ? AND window_start < ?";

    /**
     * The {@code size} smallest ranks of the scope {@code where} names, narrowed to {@code slice}, among the members
     * that have {@code column} (every member has projections), as floats.
     */
    private List<float[]> read(String column, String where, Slice slice, int size, Object... values) {
        // the slice all is every member, those stored before members kept their slices (V21) included
        boolean narrowed = !Slice.ALL.equals(slice);
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT " + column + " FROM calibration_sample WHERE "
                        + "model_id = ? AND model_version = ? AND tap = ? AND " + where + " AND " + column
                        + " IS NOT NULL" + (narrowed ? " AND ? = ANY(slices)" : "") + " ORDER BY rank LIMIT ?")) {
            TapWindowStore.streamed(c, ps);
            Sql.bind(ps, values);
            int next = values.length + 1;
            if (narrowed) {
                ps.setString(next++, slice.key());
            }
            ps.setInt(next, size);
            List<float[]> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(decode(rs.getBytes(1)));
                }
            }
            TapWindowStore.finished(c);
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading the calibration sample of " + values[2], e);
        }
    }

    /**
     * Deletes hour samples older than {@code before}, but those of the hours a reference frozen from a time range
     * covers (its nulls are resampled from them: the slice all's after its seal, another slice's when asked), and the
     * samples of references that no longer exist.
     */
    public int deleteOlderThan(Instant before) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement hours = c.prepareStatement("DELETE FROM calibration_sample s WHERE reference = '' "
                        + "AND window_start < ? AND NOT EXISTS (SELECT 1 FROM reference r WHERE r.model_id = "
                        + "s.model_id AND r.model_version = s.model_version AND r.source_from IS NOT NULL AND "
                        + "s.window_start >= date_bin('1 hour', r.source_from, " + TapWindowStore.ORIGIN + ") AND s.window_start < "
                        + "r.source_to)");
                PreparedStatement orphans = c.prepareStatement("DELETE FROM calibration_sample s WHERE reference <> "
                        + "'' AND NOT EXISTS (SELECT 1 FROM reference r WHERE r.model_id = s.model_id AND "
                        + "r.model_version = s.model_version AND r.name = s.reference)")) {
            hours.setTimestamp(1, Timestamp.from(before));
            return hours.executeUpdate() + orphans.executeUpdate();
        } catch (SQLException e) {
            throw new StorageException("deleting calibration samples", e);
        }
    }

    static byte[] encode(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    static float[] decode(byte[] bytes) {
        if (bytes.length % 4 != 0) {
            throw new StorageException("a calibration sample row of " + bytes.length + " bytes is not float32 values",
                    null);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.length / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getFloat();
        }
        return out;
    }
}
