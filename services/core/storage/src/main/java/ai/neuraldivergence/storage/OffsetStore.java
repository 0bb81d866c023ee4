package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Kafka offsets kept beside the state they produced (the "storing offsets outside Kafka" pattern of the
 * {@code KafkaConsumer} javadoc). Every method runs in the caller's transaction.
 */
public final class OffsetStore {

    /** The stored next offset of a partition, if any. */
    public OptionalLong nextOffset(Connection c, String group, String topic, int partition) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT next_offset FROM consumer_offset "
                + "WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?")) {
            Sql.bind(ps, group, topic, partition);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
            }
        }
    }

    /**
     * Records where a partition starts the first time it is assigned; keeps an existing row.
     *
     * @return the stored next offset after the call
     */
    public long initialize(Connection c, String group, String topic, int partition, long startOffset)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO consumer_offset "
                + "(consumer_group, topic, kafka_partition, next_offset) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            Sql.bind(ps, group, topic, partition, startOffset);
            ps.executeUpdate();
        }
        return nextOffset(c, group, topic, partition).orElseThrow();
    }

    /**
     * Moves a partition's next offset from exactly {@code expected} to {@code next}.
     *
     * @return false when the stored offset is not {@code expected}: another consumer owns the partition now (or
     *     did meanwhile), and the caller's state for it is stale and must be dropped
     */
    public boolean advance(Connection c, String group, String topic, int partition, long expected, long next)
            throws SQLException {
        return advance(c, group, topic, partition, expected, next, null);
    }

    /**
     * {@link #advance}, moving the partition's watermark forward to {@code watermark} in the same fenced update
     * (null or an older time leaves it as it is: a watermark never goes back).
     */
    public boolean advance(Connection c, String group, String topic, int partition, long expected, long next,
            Instant watermark) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE consumer_offset SET next_offset = ?, updated_at = now(), "
                + "watermark = greatest(watermark, ?) WHERE consumer_group = ? AND topic = ? AND kafka_partition = ? "
                + "AND next_offset = ?")) {
            ps.setLong(1, next);
            ps.setTimestamp(2, watermark == null ? null : Timestamp.from(watermark));
            Sql.bindFrom(ps, 3, group, topic, partition, expected);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * The event-time watermark of a consumer group over {@code topics}: the oldest of its partitions' watermarks.
     * Empty while any of them has none yet (a partition never flushed holds everything back), or none is stored.
     */
    /** One partition's stored watermark (null until its first flush). */
    public record PartitionWatermark(String topic, int partition, Instant watermark) {
    }

    /** The stored watermark of each of the group's partitions of these topics. */
    public java.util.List<PartitionWatermark> watermarks(Connection c, String group,
            java.util.Collection<String> topics) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT topic, kafka_partition, watermark FROM consumer_offset "
                + "WHERE consumer_group = ? AND topic = ANY(?) ORDER BY 1, 2")) {
            ps.setString(1, group);
            ps.setArray(2, c.createArrayOf("text", topics.toArray()));
            java.util.List<PartitionWatermark> out = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Timestamp w = rs.getTimestamp(3);
                    out.add(new PartitionWatermark(rs.getString(1), rs.getInt(2), w == null ? null : w.toInstant()));
                }
            }
            return out;
        }
    }

    public Optional<Instant> watermark(Connection c, String group, java.util.Collection<String> topics)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT min(watermark), bool_or(watermark IS NULL) FROM "
                + "consumer_offset WHERE consumer_group = ? AND topic = ANY(?)")) {
            ps.setString(1, group);
            ps.setArray(2, c.createArrayOf("text", topics.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Timestamp min = rs.getTimestamp(1);
                return min == null || rs.getBoolean(2) ? Optional.empty() : Optional.of(min.toInstant());
            }
        }
    }
}
