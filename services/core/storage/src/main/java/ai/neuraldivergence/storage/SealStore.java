package ai.neuraldivergence.storage;

import ai.neuraldivergence.storage.ReferenceStore.ReferenceId;
import ai.neuraldivergence.storage.ReferenceStore.StoredReference;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The seal of a tagged reference: requested through the API with the observations each tap must hold, checked by
 * the aggregator under the reference's lock as flushes merge into it, sealed once every tap (every block) holds
 * them or the seal timeout passes, and announced once on the seal topic.
 */
public final class SealStore {

    private final DataSource dataSource;

    public SealStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** A reference's seal as the flush sees it under the reference's lock. */
    public record SealState(Long expectedObservations, boolean sealed) {
    }

    /**
     * Locks a reference (creating it as tagged on first sight) for a flush that merges into it, and reads its seal:
     * every writer of the reference, in every aggregator, waits here for the one before it, so that a seal and the
     * merges around it are ordered.
     */
    public static SealState lockForMerge(Connection c, ReferenceId id) throws SQLException {
        ReferenceStore.registerTagged(c, id.modelId(), id.modelVersion(), id.name());
        try (PreparedStatement ps = c.prepareStatement("SELECT expected_observations, sealed_at FROM reference "
                + "WHERE model_id = ? AND model_version = ? AND name = ? FOR UPDATE")) {
            bind(ps, id);
            return Sql.one(ps, rs -> new SealState(nullableLong(rs, 1), rs.getTimestamp(2) != null));
        }
    }

    /** Whether the reference's tap is sealed (the reference, or the tap on its own), in the caller's transaction. */
    public static boolean tapSealed(Connection c, ReferenceId id, String tap) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT r.sealed_at IS NOT NULL OR EXISTS (SELECT 1 FROM "
                + "reference_distribution d WHERE d.model_id = r.model_id AND d.model_version = r.model_version "
                + "AND d.name = r.name AND d.tap = ? AND d.slice = 'all' AND d.sealed_at IS NOT NULL) FROM reference r "
                + "WHERE r.model_id = ? AND r.model_version = ? AND r.name = ?")) {
            Sql.bind(ps, tap, id.modelId(), id.modelVersion(), id.name());
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
            Sql.bindFrom(ps, 4, timedOut, expected);
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
            Sql.bind(ps, id.name(), id.modelId(), id.modelVersion());
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
            Sql.bindFrom(ps, 2, id.modelId(), id.modelVersion(), id.name());
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
            ReferenceStore.registerTagged(c, id.modelId(), id.modelVersion(), id.name());
            String[] key = {id.modelId(), id.modelVersion(), id.name()};
            StoredReference current = ReferenceStore.query(c, ReferenceStore.SELECT_REFERENCE + "WHERE r.model_id = ? AND r.model_version = ? "
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
                    Sql.bind(ps, expected, id.modelId(), id.modelVersion(), id.name());
                    ps.executeUpdate();
                }
                // what already arrived may complete it: sealed here rather than at the next flush
                sealDue(c, id, expected, false);
            }
            return new SealRequest.Accepted(ReferenceStore.query(c, ReferenceStore.SELECT_REFERENCE + "WHERE r.model_id = ? AND "
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
                Sql.bind(ps, timeout.toMillis(), id.modelId(), id.modelVersion(), id.name());
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
     * Publishes a sealed reference's seal while holding its publication lock, and records that it did: a delete
     * (which takes that lock too, and publishes the tombstone) cannot fall between the two. Returns false when another
     * aggregator holds it or it is published already. Not the reference's row lock: every flush that merges into the
     * reference takes that one, and would wait for as long as the send takes (during a seal-topic outage, its whole
     * delivery timeout, past the flush's own lock timeout).
     */
    public boolean publishSeal(ReferenceId id, SealPublisher publisher) {
        return transaction("publishing the seal of reference " + id.name(), c -> {
            if (!AdvisoryLocks.tryLock(c, PUBLICATION, publicationKey(id))) {
                return false;
            }
            java.util.List<StoredReference> found = ReferenceStore.query(c, ReferenceStore.SELECT_REFERENCE + "WHERE r.model_id = ? AND "
                    + "r.model_version = ? AND r.name = ? AND r.sealed_at IS NOT NULL AND r.seal_published_at IS "
                    + "NULL", new String[] {id.modelId(), id.modelVersion(), id.name()});
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

    /** The lock a seal's publication and a reference's delete take: the order of a seal and its tombstone. */
    private static final String PUBLICATION = "reference_seal_publication";

    private static String publicationKey(ReferenceId id) {
        return id.modelId() + '\u0000' + id.modelVersion() + '\u0000' + id.name();
    }

    /** Waits for the publication locks of {@code ids} and holds them until the caller's transaction ends. */
    static void lockPublications(Connection c, java.util.Collection<ReferenceId> ids) throws SQLException {
        AdvisoryLocks.lock(c, PUBLICATION, ids.stream().map(SealStore::publicationKey).toList());
    }

    private <T> T transaction(String what, Transactions.Work<T> work) {
        return Transactions.run(dataSource, what, work);
    }

    private static void bind(PreparedStatement ps, ReferenceId id) throws SQLException {
        Sql.bind(ps, id.modelId(), id.modelVersion(), id.name());
    }

    private static Long nullableLong(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }
}
