package ai.neuraldivergence.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads what a service published to the test JVM's Kafka, from the start of a topic. */
public final class TopicRecords {

    private TopicRecords() {
    }

    /** Waits for at least {@code count} records that {@code mine} accepts, then keeps reading briefly for extras. */
    public static List<ConsumerRecord<byte[], byte[]>> await(String topic,
            Predicate<ConsumerRecord<byte[], byte[]>> mine,
            int count) {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                "bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "group.id", "test-" + UUID.randomUUID(), "auto.offset.reset", "earliest",
                "key.deserializer", ByteArrayDeserializer.class.getName(),
                "value.deserializer", ByteArrayDeserializer.class.getName()))) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long settle = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settle)) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (mine.test(r)) {
                        out.add(r);
                    }
                }
                if (out.size() >= count && settle == Long.MAX_VALUE) {
                    settle = System.nanoTime() + Duration.ofMillis(1500).toNanos();
                }
            }
            if (out.size() < count) {
                throw new AssertionError("expected " + count + " records on " + topic + ", got " + out.size());
            }
            return out;
        }
    }
}
