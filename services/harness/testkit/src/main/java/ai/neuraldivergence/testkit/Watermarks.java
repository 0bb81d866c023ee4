package ai.neuraldivergence.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;

/**
 * The aggregator's event-time watermark, written as it stores it with its offsets (as the schema's owner): what says
 * a minute is complete, and so when monitors evaluate it. For tests that seed stored minutes themselves and move
 * event time on without the wall clock.
 */
public final class Watermarks {

    /** The comparison service's defaults: the aggregator's consumer group and its activation and label topics. */
    public static final String DEFAULT_GROUP = "nd-aggregator";
    public static final List<String> DEFAULT_TOPICS = List.of("nd.activations", "nd.labels");

    private Watermarks() {
    }

    /** Partition 0 of each of the default topics at {@code watermark}. */
    public static void advance(DataSource owner, Instant watermark) throws SQLException {
        advance(owner, DEFAULT_GROUP, DEFAULT_TOPICS, watermark);
    }

    /** Partition 0 of each of {@code topics} at {@code watermark}, for {@code group}. */
    public static void advance(DataSource owner, String group, List<String> topics, Instant watermark)
            throws SQLException {
        try (Connection c = owner.getConnection(); PreparedStatement ps = c.prepareStatement("INSERT INTO "
                + "consumer_offset (consumer_group, topic, kafka_partition, next_offset, watermark) VALUES (?, ?, 0, 0, "
                + "?) ON CONFLICT (consumer_group, topic, kafka_partition) DO UPDATE SET watermark = "
                + "excluded.watermark")) {
            for (String topic : topics) {
                ps.setString(1, group);
                ps.setString(2, topic);
                ps.setTimestamp(3, Timestamp.from(watermark));
                ps.executeUpdate();
            }
        }
    }
}
