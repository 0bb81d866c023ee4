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
                + key.slice().key() + '\u0000' + key.block()));
        TapDistribution merged = delta;
        try (PreparedStatement ps = c.prepareStatement("SELECT distributions FROM reference_distribution "
                + "WHERE model_id = ? AND model_version = ? AND name = ? AND tap = ? AND slice = ? AND block = ? "
                + "FOR UPDATE")) {
            bind(ps, key);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    merged = DistributionCodec.decode(rs.getBytes(1));
                    merged.merge(delta);
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO reference_distribution (model_id, model_version, "
                + "name, tap, slice, block, observation_count, distributions) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (model_id, model_version, name, tap, slice, block) DO UPDATE SET observation_count = "
                + "excluded.observation_count, distributions = excluded.distributions, updated_at = now()")) {
            bind(ps, key);
            ps.setLong(7, merged.observationCount());
            byte[] encoded = DistributionCodec.encode(merged);
            // streamed from the array: the driver's setBytes copies it first
            ps.setBinaryStream(8, new java.io.ByteArrayInputStream(encoded), encoded.length);
            ps.executeUpdate();
        }
        return merged.observationCount();
    }

    /**
     * A reference's stored distribution of one tap and slice, its blocks assembled (a block it has nothing of is
     * empty, and the tap's count its blocks' minimum).
     */
    public Optional<TapDistribution> read(String modelId, String modelVersion, String name, String tap,
            Slice slice) {
        return read(modelId, modelVersion, name, tap, slice, null);
    }

    /**
     * {@link #read}, with the tap's layout in the reference's own version given by the caller (who holds it), so that
     * the catalog is not read again.
     */
    public Optional<TapDistribution> read(ai.neuraldivergence.domain.TapDescriptor layout, String name,
            Slice slice) {
        return read(layout.modelId(), layout.modelVersion(), name, layout.tap(), slice, layout);
    }

    private Optional<TapDistribution> read(String modelId, String modelVersion, String name, String tap,
            Slice slice, ai.neuraldivergence.domain.TapDescriptor knownLayout) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT block, distributions FROM reference_distribution "
                        + "WHERE model_id = ? AND model_version = ? AND name = ? AND tap = ? AND slice = ? "
                        + "ORDER BY block")) {
            TapBlocks blocks = new TapBlocks(knownLayout != null ? knownLayout
                    : new CatalogStore(dataSource).find(c, modelId, modelVersion, tap).orElse(null),
                    ai.neuraldivergence.domain.NeuronDistribution.DEFAULT_K);
            // a wide tap's reference is megabytes a block: read a few rows at a time, merged as they come
            TapWindowStore.streamed(c, ps);
            ps.setString(1, modelId);
            ps.setString(2, modelVersion);
            ps.setString(3, name);
            ps.setString(4, tap);
            ps.setString(5, slice.key());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    blocks.addRow(rs.getInt(1), DistributionCodec.decode(rs.getBytes(2)));
                }
            }
            TapWindowStore.finished(c);
            return blocks.isEmpty() ? Optional.empty() : Optional.of(blocks.assemble());
        } catch (SQLException e) {
            throw new StorageException("reading reference " + name, e);
        }
    }

    /** The slices a reference holds distributions of, for one tap. */
    public java.util.List<Slice> slices(String modelId, String modelVersion, String name, String tap) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT DISTINCT slice FROM reference_distribution WHERE "
                        + "model_id = ? AND model_version = ? AND name = ? AND tap = ? ORDER BY slice")) {
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

    /**
     * A stored reference and where it came from. {@code sourceSlice} and the source range are null when tagged;
     * {@code expectedObservations} and {@code sealRequestedAt} are null until a seal is requested, {@code sealedAt}
     * while it is building, {@code shortfall} unless the seal timeout sealed it short.
     */
    public record StoredReference(String modelId, String modelVersion, String name, String origin,
            java.time.Instant sourceFrom, java.time.Instant sourceTo, String sourceSlice, java.time.Instant createdAt,
            long observationCount, Long expectedObservations, java.time.Instant sealRequestedAt,
            java.time.Instant sealedAt, Long shortfall) {

        public boolean sealed() {
            return sealedAt != null;
        }
    }

    private static final String SELECT_REFERENCE = "SELECT r.model_id, r.model_version, r.name, r.origin, "
            + "r.source_from, r.source_to, r.source_slice, r.created_at, coalesce((SELECT max(d.observation_count) "
            + "FROM reference_distribution d WHERE d.model_id = r.model_id AND d.model_version = r.model_version "
            + "AND d.name = r.name AND d.slice = 'all'), 0), r.expected_observations, r.seal_requested_at, "
            + "r.sealed_at, r.shortfall FROM reference r ";

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
        try (Connection c = dataSource.getConnection()) {
            return query(c, sql, args);
        } catch (SQLException e) {
            throw new StorageException("listing references", e);
        }
    }

    private static java.util.List<StoredReference> query(Connection c, String sql, String[] args)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            java.util.List<StoredReference> out = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new StoredReference(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            instant(rs.getTimestamp(5)), instant(rs.getTimestamp(6)), rs.getString(7),
                            rs.getTimestamp(8).toInstant(), rs.getLong(9), nullableLong(rs, 10),
                            instant(rs.getTimestamp(11)), instant(rs.getTimestamp(12)), nullableLong(rs, 13)));
                }
            }
            return out;
        }
    }

    private static Long nullableLong(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
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
                // a frozen reference is complete when created: sealed at once (the seal job publishes it)
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO reference (model_id, model_version, name, "
                        + "origin, source_from, source_to, source_slice, sealed_at) "
                        + "VALUES (?, ?, ?, 'time_range', ?, ?, ?, now())")) {
                    ps.setString(1, modelId);
                    ps.setString(2, modelVersion);
                    ps.setString(3, name);
                    ps.setTimestamp(4, java.sql.Timestamp.from(from));
                    ps.setTimestamp(5, java.sql.Timestamp.from(to));
                    ps.setString(6, sourceSlice == null ? null : sourceSlice.key());
                    ps.executeUpdate();
                }
                CatalogStore catalog = new CatalogStore(dataSource);
                for (var tap : distributionsByTap.entrySet()) {
                    ai.neuraldivergence.domain.TapDescriptor layout = catalog.find(c, modelId, modelVersion,
                            tap.getKey()).orElse(null);
                    for (var slice : tap.getValue().entrySet()) {
                        // stored block by block, as a tagged reference is
                        int blocks = layout == null ? 1 : layout.blockCount();
                        for (int b = 0; b < blocks; b++) {
                            TapDistribution whole = slice.getValue();
                            merge(c, new ReferenceKey(modelId, modelVersion, name, tap.getKey(), slice.getKey(), b),
                                    blocks == 1 ? whole : whole.part(layout.blockStart(b), layout.blockNeurons(b)));
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE reference_distribution SET sealed_at = now() "
                        + "WHERE model_id = ? AND model_version = ? AND name = ?")) {
                    ps.setString(1, modelId);
                    ps.setString(2, modelVersion);
                    ps.setString(3, name);
                    ps.executeUpdate();
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

    /** Runs while the references being deleted are locked, before they are: a failure keeps them. */
    public interface BeforeDelete {
        void run(java.util.List<StoredReference> deleted) throws Exception;
    }

    /**
     * Deletes a model's reference of this name, in one version or (with {@code modelVersion} null) in every version;
     * returns whether one existed. The rows are locked first and {@code beforeDelete} runs with them (the seal's
     * tombstone is published there), so that the seal job cannot publish the seal again between the tombstone and
     * the delete.
     */
    public boolean delete(String modelId, String name, String modelVersion, BeforeDelete beforeDelete) {
        String version = modelVersion == null ? "" : " AND model_version = ?";
        String[] args = modelVersion == null ? new String[] {modelId, name} : new String[] {modelId, name,
            modelVersion};
        return transaction("deleting reference " + name, c -> {
            java.util.List<StoredReference> found = query(c, SELECT_REFERENCE + "WHERE r.model_id = ? AND "
                    + "r.name = ?" + (modelVersion == null ? "" : " AND r.model_version = ?") + " FOR UPDATE OF r",
                    args);
            if (found.isEmpty()) {
                return false;
            }
            beforeDelete.run(found);
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM reference WHERE model_id = ? AND name = ?"
                    + version)) {
                for (int i = 0; i < args.length; i++) {
                    ps.setString(i + 1, args[i]);
                }
                ps.executeUpdate();
            }
            return true;
        });
    }

    // ------------------------------------------------------------------ sealing

    /** One reference of one model version. */
    public record ReferenceId(String modelId, String modelVersion, String name) {
        public static ReferenceId of(ReferenceKey key) {
            return new ReferenceId(key.modelId(), key.modelVersion(), key.reference());
        }

        /** Its key on the seal topic. */
        public String topicKey() {
            return modelId + '/' + modelVersion + '/' + name;
        }
    }

    /** A reference's seal as the flush sees it under the reference's lock. */
    public record SealState(Long expectedObservations, boolean sealed) {
    }

    /**
     * Locks a reference (creating it as tagged on first sight) for a flush that merges into it, and reads its seal:
     * every writer of the reference, in every aggregator, waits here for the one before it, so that a seal and the
     * merges around it are ordered.
     */
    public SealState lockForMerge(Connection c, ReferenceId id) throws SQLException {
        registerTagged(c, id.modelId(), id.modelVersion(), id.name());
        try (PreparedStatement ps = c.prepareStatement("SELECT expected_observations, sealed_at FROM reference "
                + "WHERE model_id = ? AND model_version = ? AND name = ? FOR UPDATE")) {
            bind(ps, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new SealState(nullableLong(rs, 1), rs.getTimestamp(2) != null);
            }
        }
    }

    /** Whether the reference's tap is sealed (the reference, or the tap on its own), in the caller's transaction. */
    public static boolean tapSealed(Connection c, ReferenceId id, String tap) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT r.sealed_at IS NOT NULL OR EXISTS (SELECT 1 FROM "
                + "reference_distribution d WHERE d.model_id = r.model_id AND d.model_version = r.model_version "
                + "AND d.name = r.name AND d.tap = ? AND d.slice = 'all' AND d.sealed_at IS NOT NULL) FROM reference r "
                + "WHERE r.model_id = ? AND r.model_version = ? AND r.name = ?")) {
            ps.setString(1, tap);
            ps.setString(2, id.modelId());
            ps.setString(3, id.modelVersion());
            ps.setString(4, id.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** {@link #tapSealed(Connection, ReferenceId, String)} on a connection of its own. */
    public boolean tapSealed(ReferenceId id, String tap) {
        try (Connection c = dataSource.getConnection()) {
            return tapSealed(c, id, tap);
        } catch (SQLException e) {
            throw new StorageException("reading the seal of reference " + id.name(), e);
        }
    }

    /** A reference sealed by {@link #sealDue}: its count (the fullest tap's) and what the emptiest tap lacked. */
    public record Sealed(ReferenceId id, long observationCount, long shortfall) {
    }

    /**
     * Seals, in the caller's transaction (which holds the reference's lock), every tap of the reference whose count
     * reached {@code expected}, and the reference once every tap of its model version is sealed. With
     * {@code timedOut}, it seals every tap with what it holds and reports the shortfall.
     *
     * @return the reference when this call sealed it
     */
    public static Optional<Sealed> sealDue(Connection c, ReferenceId id, long expected, boolean timedOut)
            throws SQLException {
        // a tap is complete when every one of its blocks reached the count (a tap's count is its blocks' minimum)
        try (PreparedStatement ps = c.prepareStatement("UPDATE reference_distribution d SET sealed_at = now() "
                + "WHERE d.model_id = ? AND d.model_version = ? AND d.name = ? AND d.sealed_at IS NULL AND (? OR d.tap "
                + "IN (SELECT a.tap FROM reference_distribution a JOIN tap t ON t.model_id = a.model_id AND "
                + "t.model_version = a.model_version AND t.tap = a.tap WHERE a.model_id = d.model_id AND "
                + "a.model_version = d.model_version AND a.name = d.name AND a.slice = 'all' GROUP BY a.tap, "
                + "t.neuron_count, t.block_size HAVING count(*) = (t.neuron_count + t.block_size - 1) / t.block_size "
                + "AND min(a.observation_count) >= ?))")) {
            bind(ps, id);
            ps.setBoolean(4, timedOut);
            ps.setLong(5, expected);
            ps.executeUpdate();
        }
        // every tap of the version, with its "all" count and seal (none yet for a tap nothing reached)
        long fullest = 0;
        long emptiest = Long.MAX_VALUE;
        boolean allSealed = true;
        try (PreparedStatement ps = c.prepareStatement("SELECT CASE WHEN count(d.block) < (t.neuron_count + "
                + "t.block_size - 1) / t.block_size THEN 0 ELSE min(d.observation_count) END, count(d.block) = "
                + "(t.neuron_count + t.block_size - 1) / t.block_size AND bool_and(d.sealed_at IS NOT NULL) FROM tap t "
                + "LEFT JOIN reference_distribution d ON d.model_id = t.model_id AND d.model_version = t.model_version "
                + "AND d.tap = t.tap AND d.name = ? AND d.slice = 'all' WHERE t.model_id = ? AND t.model_version = ? "
                + "GROUP BY t.tap, t.neuron_count, t.block_size")) {
            ps.setString(1, id.name());
            ps.setString(2, id.modelId());
            ps.setString(3, id.modelVersion());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long count = rs.getLong(1);
                    fullest = Math.max(fullest, count);
                    emptiest = Math.min(emptiest, count);
                    allSealed &= rs.getBoolean(2);
                }
            }
        }
        if (emptiest == Long.MAX_VALUE) {
            // no tap of the version is known yet: nothing can be complete, but a timeout still ends the wait
            emptiest = 0;
            allSealed = false;
        }
        if (!allSealed && !timedOut) {
            return Optional.empty();
        }
        long shortfall = Math.max(0, expected - emptiest);
        try (PreparedStatement ps = c.prepareStatement("UPDATE reference SET sealed_at = now(), shortfall = ? "
                + "WHERE model_id = ? AND model_version = ? AND name = ? AND sealed_at IS NULL")) {
            if (shortfall > 0) {
                ps.setLong(1, shortfall);
            } else {
                ps.setNull(1, java.sql.Types.BIGINT);
            }
            ps.setString(2, id.modelId());
            ps.setString(3, id.modelVersion());
            ps.setString(4, id.name());
            return ps.executeUpdate() == 0 ? Optional.empty() : Optional.of(new Sealed(id, fullest, shortfall));
        }
    }

    /** The outcome of a seal request. */
    public sealed interface SealRequest {
        /** Recorded (or already recorded with the same number): the reference as stored now. */
        record Accepted(StoredReference reference) implements SealRequest {
        }

        /** Sealed already with another expectation, or frozen: nothing changed. */
        record Refused(StoredReference reference, String why) implements SealRequest {
        }
    }

    /**
     * Records that a tagged reference is complete with {@code expected} observations per tap (creating it when no
     * observation reached the store yet); the aggregator seals it. Asking again with the same number changes
     * nothing; a building reference takes a new number.
     */
    public SealRequest requestSeal(ReferenceId id, long expected) {
        return transaction("requesting the seal of reference " + id.name(), c -> {
            registerTagged(c, id.modelId(), id.modelVersion(), id.name());
            String[] key = {id.modelId(), id.modelVersion(), id.name()};
            StoredReference current = query(c, SELECT_REFERENCE + "WHERE r.model_id = ? AND r.model_version = ? "
                    + "AND r.name = ? FOR UPDATE OF r", key).get(0);
            if (!"tagged".equals(current.origin())) {
                return new SealRequest.Refused(current, "it was frozen from a time range, sealed when created");
            }
            if (current.sealed() && !Long.valueOf(expected).equals(current.expectedObservations())) {
                return new SealRequest.Refused(current, "it is sealed already with " + current.observationCount()
                        + " observations");
            }
            if (!current.sealed()) {
                try (PreparedStatement ps = c.prepareStatement("UPDATE reference SET expected_observations = ?, "
                        + "seal_requested_at = coalesce(seal_requested_at, now()) WHERE model_id = ? "
                        + "AND model_version = ? AND name = ?")) {
                    ps.setLong(1, expected);
                    ps.setString(2, id.modelId());
                    ps.setString(3, id.modelVersion());
                    ps.setString(4, id.name());
                    ps.executeUpdate();
                }
                // what already arrived may complete it: sealed here rather than at the next flush
                sealDue(c, id, expected, false);
            }
            return new SealRequest.Accepted(query(c, SELECT_REFERENCE + "WHERE r.model_id = ? AND "
                    + "r.model_version = ? AND r.name = ?", key).get(0));
        });
    }

    /** References whose seal was requested and is not done yet. */
    public java.util.List<ReferenceId> awaitingSeal() {
        return ids("SELECT model_id, model_version, name FROM reference WHERE sealed_at IS NULL "
                + "AND seal_requested_at IS NOT NULL");
    }

    /** Sealed references whose seal has not reached the seal topic yet. */
    public java.util.List<ReferenceId> unpublished() {
        return ids("SELECT model_id, model_version, name FROM reference WHERE sealed_at IS NOT NULL "
                + "AND seal_published_at IS NULL");
    }

    private java.util.List<ReferenceId> ids(String sql) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
                ResultSet rs = ps.executeQuery()) {
            java.util.List<ReferenceId> out = new java.util.ArrayList<>();
            while (rs.next()) {
                out.add(new ReferenceId(rs.getString(1), rs.getString(2), rs.getString(3)));
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("listing references to seal", e);
        }
    }

    /**
     * Seals a reference whose seal is due: complete, or waiting longer than {@code timeout} since the request. Skips
     * a reference another aggregator is working on (it does the same).
     */
    public Optional<Sealed> sealIfDue(ReferenceId id, java.time.Duration timeout) {
        return transaction("sealing reference " + id.name(), c -> {
            long expected;
            boolean timedOut;
            try (PreparedStatement ps = c.prepareStatement("SELECT expected_observations, seal_requested_at "
                    + "< now() - ? * interval '1 millisecond' FROM reference WHERE model_id = ? AND "
                    + "model_version = ? AND name = ? AND sealed_at IS NULL AND seal_requested_at IS NOT NULL "
                    + "FOR UPDATE SKIP LOCKED")) {
                ps.setLong(1, timeout.toMillis());
                ps.setString(2, id.modelId());
                ps.setString(3, id.modelVersion());
                ps.setString(4, id.name());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.<Sealed>empty();
                    }
                    expected = rs.getLong(1);
                    timedOut = rs.getBoolean(2);
                }
            }
            return sealDue(c, id, expected, timedOut);
        });
    }

    /** Sends a seal to the seal topic and waits for it to be acknowledged. */
    public interface SealPublisher {
        void publish(StoredReference sealed) throws Exception;
    }

    /**
     * Publishes a sealed reference's seal while holding its lock, and records that it did: a delete (which locks it
     * too, and publishes the tombstone) cannot fall between the two. Returns false when another aggregator holds it
     * or it is published already.
     */
    public boolean publishSeal(ReferenceId id, SealPublisher publisher) {
        return transaction("publishing the seal of reference " + id.name(), c -> {
            java.util.List<StoredReference> found = query(c, SELECT_REFERENCE + "WHERE r.model_id = ? AND "
                    + "r.model_version = ? AND r.name = ? AND r.sealed_at IS NOT NULL AND r.seal_published_at IS "
                    + "NULL FOR UPDATE OF r SKIP LOCKED", new String[] {id.modelId(), id.modelVersion(), id.name()});
            if (found.isEmpty()) {
                return false;
            }
            publisher.publish(found.get(0));
            try (PreparedStatement ps = c.prepareStatement("UPDATE reference SET seal_published_at = now() "
                    + "WHERE model_id = ? AND model_version = ? AND name = ?")) {
                bind(ps, id);
                ps.executeUpdate();
            }
            return true;
        });
    }

    private <T> T transaction(String what, Transactions.Work<T> work) {
        return Transactions.run(dataSource, what, work);
    }

    private static void bind(PreparedStatement ps, ReferenceId id) throws SQLException {
        ps.setString(1, id.modelId());
        ps.setString(2, id.modelVersion());
        ps.setString(3, id.name());
    }

    private static void bind(PreparedStatement ps, ReferenceKey key) throws SQLException {
        ps.setString(1, key.modelId());
        ps.setString(2, key.modelVersion());
        ps.setString(3, key.reference());
        ps.setString(4, key.tap());
        ps.setString(5, key.slice().key());
        ps.setInt(6, key.block());
    }
}
