package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import javax.sql.DataSource;

/**
 * Late labels, joined with the unlabelled observations of the recent-observation store inside the aggregator's
 * flush transaction.
 */
public final class LateLabelStore {

    /** Instance lock buckets: the most instance locks one flush takes. */
    static final int INSTANCE_LOCK_BUCKETS = 1024;

    private final TimePartitions partitions;

    public LateLabelStore(DataSource dataSource) {
        this.partitions = new TimePartitions(dataSource, PartitionLayout.of("late_label"));
    }

    /** The partitions labels are written to (by receipt), to make ahead and on demand. */
    public TimePartitions partitions() {
        return partitions;
    }

    /**
     * Serializes, until the caller's transaction ends, every transaction that joins labels with these instances:
     * without it, a label and its observation's tap committed at the same moment by two instances would each miss
     * the other. One statement, locks taken in a fixed order (no deadlock between two flushes).
     */
    public void lockInstances(Connection c, java.util.Collection<String> modelAndInstanceIds) throws SQLException {
        // one lock per bucket rather than per instance: a flush keeps one row per unlabelled observation, thousands
        // under load, and every lock holds a slot of PostgreSQL's shared lock table until the commit
        AdvisoryLocks.lockBuckets(c, "instance", modelAndInstanceIds, INSTANCE_LOCK_BUCKETS);
    }

    /**
     * Records a label; returns false when the instance already had one (the first wins). The caller holds the
     * instance's lock ({@link #lockInstances}): the table is partitioned by receipt, so no key can refuse a second
     * label of an instance received at another time.
     */
    public boolean recordLabel(Connection c, String modelId, String instanceId, int label) throws SQLException {
        // by receipt: the instant the partition is made for is the one stored
        java.time.Instant received = java.time.Instant.now();
        partitions.ensure(received, "");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO late_label (model_id, instance_id, true_label, "
                + "received_at) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM late_label WHERE model_id = ? AND "
                + "instance_id = ?)")) {
            Sql.bind(ps, modelId, instanceId, label, received, modelId, instanceId);
            return ps.executeUpdate() == 1;
        }
    }

    /** The label received for an instance, if any. */
    public OptionalInt label(Connection c, String modelId, String instanceId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT true_label FROM late_label WHERE model_id = ? AND instance_id = ? ORDER BY received_at LIMIT 1")) {
            Sql.bind(ps, modelId, instanceId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? OptionalInt.of(rs.getInt(1)) : OptionalInt.empty();
            }
        }
    }

    /**
     * Claims an instance's kept taps that no label was applied to yet and whose event time is not before
     * {@code oldest} (null: any), marking them labelled with {@code label}: the caller adds the returned activations
     * to the label's slice in the same transaction.
     */
    public List<RecentObservationStore.Recent> claimUnlabelled(Connection c, String modelId, String instanceId, int label,
            java.time.Instant oldest) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE recent_observation SET true_label = ? "
                + "WHERE model_id = ? AND instance_id = ? AND true_label IS NULL AND event_time >= coalesce(?, "
                + "'-infinity'::timestamptz) RETURNING model_version, tap, event_time, predicted_class, activations, block, "
                + "projections")) {
            Sql.bind(ps, label, modelId, instanceId);
            ps.setTimestamp(4, oldest == null ? null : java.sql.Timestamp.from(oldest));
            List<RecentObservationStore.Recent> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    // the fields a join needs; metadata stays in the store
                    out.add(new RecentObservationStore.Recent(modelId, rs.getString(1), instanceId, rs.getString(2),
                            rs.getTimestamp(3).toInstant(), rs.getInt(4), 0f, label, java.util.Map.of(), null, null,
                            RecentObservationStore.decode(rs.getBytes(5)), rs.getInt(6),
                            RecentObservationStore.decode(rs.getBytes(7))));
                }
            }
            return out;
        }
    }

    /**
     * Forgets labels received before {@code before} by dropping their partitions: a label is kept its horizon and
     * at most one partition (ten minutes) longer.
     */
    public TimePartitions.Retired expire(Instant before) {
        return partitions.retire((c, p) -> p.to() != null && !p.to().isAfter(before) ? TimePartitions.Verdict.DROP
                : TimePartitions.Verdict.KEEP);
    }
}
