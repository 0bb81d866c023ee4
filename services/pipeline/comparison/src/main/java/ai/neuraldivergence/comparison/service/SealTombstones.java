package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.storage.ReferenceStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Clears a deleted reference's seal from the seal topic (a tombstone per model version), so that inference takes
 * reference-tagged requests for the name again and the reference can be built anew. Runs inside the delete, with
 * the references locked: when Kafka does not acknowledge the tombstones the delete fails and nothing is deleted.
 */
public final class SealTombstones implements ReferenceStore.BeforeDelete, AutoCloseable {

    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(10);

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;

    public SealTombstones(Map<String, Object> kafkaConfig, String topic) {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.CLIENT_ID_CONFIG, "nd-comparison-seal-tombstones");
        c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ACK_TIMEOUT.toMillis());
        c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) ACK_TIMEOUT.toMillis());
        c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) ACK_TIMEOUT.toMillis() / 2);
        this.producer = new KafkaProducer<>(c);
        this.topic = topic;
    }

    @Override
    public void run(List<ReferenceStore.StoredReference> deleted) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (ReferenceStore.StoredReference r : deleted) {
            if (!r.sealed()) {
                // never sealed, so never published (a seal is published only after it is made)
                continue;
            }
            byte[] key = new ReferenceStore.ReferenceId(r.modelId(), r.modelVersion(), r.name()).topicKey()
                    .getBytes(StandardCharsets.UTF_8);
            sent.add(producer.send(new ProducerRecord<>(topic, key, null)));
        }
        for (Future<RecordMetadata> f : sent) {
            f.get(ACK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
