package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
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
            ps.setString(1, group);
            ps.setString(2, topic);
            ps.setInt(3, partition);
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
            ps.setString(1, group);
            ps.setString(2, topic);
            ps.setInt(3, partition);
            ps.setLong(4, startOffset);
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
        try (PreparedStatement ps = c.prepareStatement("UPDATE consumer_offset SET next_offset = ?, updated_at = now() "
                + "WHERE consumer_group = ? AND topic = ? AND kafka_partition = ? AND next_offset = ?")) {
            ps.setLong(1, next);
            ps.setString(2, group);
            ps.setString(3, topic);
            ps.setInt(4, partition);
            ps.setLong(5, expected);
            return ps.executeUpdate() == 1;
        }
    }
}
