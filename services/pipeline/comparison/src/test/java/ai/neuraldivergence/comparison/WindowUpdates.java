package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.proto.v1.WindowUpdate;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Window updates sent as the aggregator announces them, to the topic the service under test follows. */
final class WindowUpdates {

    private static final String TOPIC = "nd.window-updates";

    private WindowUpdates() {
    }

    static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of("bootstrap.servers", TestInfrastructure.shared().kafkaBootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(),
                "value.serializer", ByteArraySerializer.class.getName()));
    }

    static Future<RecordMetadata> send(KafkaProducer<byte[], byte[]> producer, WindowUpdate update) {
        return producer.send(new ProducerRecord<>(TOPIC, update.toByteArray()));
    }

    /**
     * Sends {@code count} updates in bursts of a hundred, pausing {@code pauseMillis} after each: a watcher that reads
     * keeps up with its bounded queue, while one that never reads falls ever further behind.
     */
    static void flood(KafkaProducer<byte[], byte[]> producer, int count, IntFunction<WindowUpdate> update,
            long pauseMillis) throws InterruptedException {
        for (int i = 0; i < count; i++) {
            send(producer, update.apply(i));
            if (i % 100 == 99) {
                producer.flush();
                Thread.sleep(pauseMillis);
            }
        }
        producer.flush();
    }

    /** Waits up to a minute for {@code received} to hold {@code count} events, then asserts that it does. */
    static void assertReceives(List<?> received, int count, String message) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (received.size() < count && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(count, received.size(), message);
    }
}
