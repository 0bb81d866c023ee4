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
import java.util.List;
import javax.sql.DataSource;

/**
 * Calibration samples: per tap and scope (an hour window, or a reference), the observations of the smallest ranks,
 * as float arrays (the layer statistic's projections: see V18), each with the slices it is in (V21). Inserted by the
 * aggregator's flush (a replay inserts the same rows), trimmed to the scope's size after each insert, read by the
 * comparison service in rank order, whole or narrowed to a slice.
 */
public final class CalibrationSampleStore {

    /** The epoch: a reference's scope has no window. */
    public static final Instant NO_WINDOW = Instant.EPOCH;

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
     * One sampled observation: {@code values}, as the sample keeps it (its projections, V18), and the slices it is in
     * (V21: a slice's null is resampled from the members in it).
     */
    public record Member(Scope scope, long rank, String instanceId, float[] values, List<Slice> slices) {

        /** A member known to be in the slice all only. */
        public Member(Scope scope, long rank, String instanceId, float[] values) {
            this(scope, rank, instanceId, values, List.of(Slice.ALL));
        }
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
     * {@code size} smallest ranks, in the caller's transaction.
     *
     * @return per scope touched, the largest rank it keeps once full (members of larger rank need not be sent), or
     *     {@link Long#MAX_VALUE} while it holds fewer than its size
     */
    public java.util.Map<Scope, Long> insert(Connection c, List<Member> members, java.util.function.ToIntFunction<Scope>
            size) throws SQLException {
        java.util.Map<Scope, Long> cutoffs = new java.util.LinkedHashMap<>();
        if (members.isEmpty()) {
            return cutoffs;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO calibration_sample (model_id, model_version, tap, "
                + "reference, window_start, rank, instance_id, projections, slices) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT DO NOTHING")) {
            for (Member m : members) {
                Scope s = m.scope();
                Sql.bind(ps, s.modelId(), s.modelVersion(), s.tap(), s.reference(), s.windowStart(), m.rank(),
                        m.instanceId(), encode(m.values()));
                ps.setArray(9, c.createArrayOf("text", m.slices().stream().map(Slice::key).toArray()));
                ps.addBatch();
                cutoffs.put(s, Long.MAX_VALUE);
            }
            ps.executeBatch();
        }
        for (Scope s : cutoffs.keySet()) {
            cutoffs.put(s, trim(c, s, size.applyAsInt(s)));
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

    /** A reference's sample of a tap: at most {@code size} members, smallest ranks first. */
    public List<float[]> readReference(String modelId, String modelVersion, String tap, String reference,
            int size) {
        return readReference(modelId, modelVersion, tap, reference, Slice.ALL, size);
    }

    /** The members of a reference's sample of a tap that are in {@code slice}: at most {@code size}. */
    public List<float[]> readReference(String modelId, String modelVersion, String tap, String reference,
            Slice slice, int size) {
        return read("reference = ? AND window_start = ?", slice, size, modelId, modelVersion, tap, reference,
                NO_WINDOW);
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
        return read("reference = '' AND window_start >= ? AND window_start < ?", slice, size, modelId, modelVersion,
                tap, from, to);
    }

    private List<float[]> read(String where, Slice slice, int size, Object... values) {
        // the slice all is every member, those stored before members kept their slices (V21) included
        boolean narrowed = !Slice.ALL.equals(slice);
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT projections FROM calibration_sample WHERE "
                        + "model_id = ? AND model_version = ? AND tap = ? AND " + where
                        + (narrowed ? " AND ? = ANY(slices)" : "") + " ORDER BY rank LIMIT ?")) {
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

    /** Deletes hour samples older than {@code before} and the samples of references that no longer exist. */
    public int deleteOlderThan(Instant before) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement hours = c.prepareStatement("DELETE FROM calibration_sample WHERE reference = '' "
                        + "AND window_start < ?");
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
