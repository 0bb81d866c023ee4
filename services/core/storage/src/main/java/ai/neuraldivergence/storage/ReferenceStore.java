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
    public static void registerTagged(Connection c, String modelId, String modelVersion, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO reference (model_id, model_version, name, "
                + "origin) VALUES (?, ?, ?, 'tagged') ON CONFLICT DO NOTHING")) {
            Sql.bind(ps, modelId, modelVersion, name);
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
        TapDistribution merged;
        try (PreparedStatement ps = c.prepareStatement("SELECT distributions FROM reference_distribution "
                + "WHERE model_id = ? AND model_version = ? AND name = ? AND tap = ? AND slice = ? AND block = ? "
                + "FOR UPDATE")) {
            bind(ps, key);
            merged = DistributionColumn.read(ps);
        }
        if (merged == null) {
            merged = delta;
        } else {
            merged.merge(delta);
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO reference_distribution (model_id, model_version, "
                + "name, tap, slice, block, observation_count, distributions) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (model_id, model_version, name, tap, slice, block) DO UPDATE SET observation_count = "
                + "excluded.observation_count, distributions = excluded.distributions, updated_at = now()")) {
            bind(ps, key);
            DistributionColumn.write(ps, 7, merged);
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
            TapBlocks blocks = new TapBlocks(modelId, tap, knownLayout != null ? knownLayout
                    : new CatalogStore(dataSource).find(c, modelId, modelVersion, tap).orElse(null),
                    ai.neuraldivergence.domain.NeuronDistribution.DEFAULT_K);
            // a wide tap's reference is megabytes a block: read a few rows at a time, merged as they come
            TapWindowStore.streamed(c, ps);
            Sql.bind(ps, modelId, modelVersion, name, tap, slice.key());
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
            Sql.bind(ps, modelId, modelVersion, name, tap);
            return Sql.list(ps, rs -> Slice.parse(rs.getString(1)));
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

    static final String SELECT_REFERENCE = "SELECT r.model_id, r.model_version, r.name, r.origin, "
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

    static java.util.List<StoredReference> query(Connection c, String sql, String[] args)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            return Sql.list(ps, rs -> new StoredReference(rs.getString(1), rs.getString(2), rs.getString(3),
                    rs.getString(4), instant(rs.getTimestamp(5)), instant(rs.getTimestamp(6)), rs.getString(7),
                    rs.getTimestamp(8).toInstant(), rs.getLong(9), nullableLong(rs, 10),
                    instant(rs.getTimestamp(11)), instant(rs.getTimestamp(12)), nullableLong(rs, 13)));
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
     * A frozen reference's distributions, handed over one (tap, slice) at a time while its transaction is open, so
     * that freezing every slice of a long range holds one distribution at once, not all of them.
     */
    @FunctionalInterface
    public interface FrozenDistributions {

        /** Hands every distribution to {@code sink}; throwing rolls the whole reference back. */
        void each(Sink sink);

        @FunctionalInterface
        interface Sink {
            void put(String tap, Slice slice, TapDistribution distribution);
        }
    }

    /**
     * Creates a reference frozen from a time range, with its distributions (per tap and slice), in one transaction.
     *
     * @return false, writing nothing, when the model already has a reference of this name
     */
    public boolean createFrozen(String modelId, String modelVersion, String name, java.time.Instant from,
            java.time.Instant to, Slice sourceSlice,
            java.util.Map<String, java.util.Map<Slice, TapDistribution>> distributionsByTap) {
        return createFrozen(modelId, modelVersion, name, from, to, sourceSlice, sink -> distributionsByTap.forEach(
                (tap, slices) -> slices.forEach((slice, d) -> sink.put(tap, slice, d))));
    }

    /**
     * Creates a reference frozen from a time range in one transaction, writing each distribution as
     * {@code distributions} hands it over; whatever it throws rolls everything back and is rethrown.
     *
     * @return false, writing nothing, when the model already has a reference of this name
     */
    public boolean createFrozen(String modelId, String modelVersion, String name, java.time.Instant from,
            java.time.Instant to, Slice sourceSlice, FrozenDistributions distributions) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement exists = c.prepareStatement(
                        "SELECT 1 FROM reference WHERE model_id = ? AND name = ? FOR UPDATE")) {
                    Sql.bind(exists, modelId, name);
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
                    Sql.bind(ps, modelId, modelVersion, name, from, to);
                    ps.setString(6, sourceSlice == null ? null : sourceSlice.key());
                    ps.executeUpdate();
                }
                CatalogStore catalog = new CatalogStore(dataSource);
                java.util.Map<String, java.util.Optional<ai.neuraldivergence.domain.TapDescriptor>> layouts =
                        new java.util.HashMap<>();
                distributions.each((tap, slice, whole) -> {
                    try {
                        ai.neuraldivergence.domain.TapDescriptor layout = layouts.computeIfAbsent(tap, t -> {
                            try {
                                return catalog.find(c, modelId, modelVersion, t);
                            } catch (SQLException e) {
                                throw new StorageException("reading the layout of tap " + t, e);
                            }
                        }).orElse(null);
                        // stored block by block, as a tagged reference is
                        int blocks = layout == null ? 1 : layout.blockCount();
                        for (int b = 0; b < blocks; b++) {
                            merge(c, new ReferenceKey(modelId, modelVersion, name, tap, slice, b),
                                    blocks == 1 ? whole : whole.part(layout.blockStart(b), layout.blockNeurons(b)));
                        }
                    } catch (SQLException e) {
                        throw new StorageException("storing tap " + tap + " of reference " + name, e);
                    }
                });
                try (PreparedStatement ps = c.prepareStatement("UPDATE reference_distribution SET sealed_at = now() "
                        + "WHERE model_id = ? AND model_version = ? AND name = ?")) {
                    Sql.bind(ps, modelId, modelVersion, name);
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
            String which = SELECT_REFERENCE + "WHERE r.model_id = ? AND r.name = ?" + (modelVersion == null ? ""
                    : " AND r.model_version = ?");
            // the seal job publishes under the publication lock (not the row's): taken first, as it does, so that
            // the two wait for each other rather than deadlock
            SealStore.lockPublications(c, ids(query(c, which, args)));
            java.util.List<StoredReference> found = query(c, which + " FOR UPDATE OF r", args);
            if (found.isEmpty()) {
                return false;
            }
            // a version registered meanwhile
            SealStore.lockPublications(c, ids(found));
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

    private static java.util.List<ReferenceId> ids(java.util.List<StoredReference> references) {
        return references.stream().map(r -> new ReferenceId(r.modelId(), r.modelVersion(), r.name())).toList();
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

    private <T> T transaction(String what, Transactions.Work<T> work) {
        return Transactions.run(dataSource, what, work);
    }

    private static void bind(PreparedStatement ps, ReferenceKey key) throws SQLException {
        Sql.bind(ps, key.modelId(), key.modelVersion(), key.reference(), key.tap(), key.slice().key(), key.block());
    }
}
