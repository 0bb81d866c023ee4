package ai.neuraldivergence.inference.reference;

import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.proto.v1.ReferenceSeal;
import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jboss.logging.Logger;

/**
 * The sealed references, as the aggregator publishes them on the compacted seal topic: read from its beginning and
 * followed (every partition, no consumer group: every replica needs every seal). A request tagged with a sealed
 * reference is refused here, before anything is queued; the aggregator refuses what still reaches it (records
 * written straight into Kafka, or sent before a replica learnt the seal), so a sealed reference never changes.
 */
public final class SealedReferences implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(SealedReferences.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration RETRY = Duration.ofSeconds(5);

    private final Map<String, Object> kafkaConfig;
    private final String topic;
    private final Map<String, ReferenceSeal> sealed = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean loaded;
    private volatile KafkaConsumer<byte[], byte[]> consumer;

    public SealedReferences(Map<String, Object> kafkaConfig, String topic) {
        this.kafkaConfig = kafkaConfig;
        this.topic = topic;
        this.thread = new Thread(this::run, "reference-seals");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Whether every seal published before this replica started has been read. */
    public boolean loaded() {
        return loaded;
    }

    /**
     * Refuses observations of a model version whose tags name a sealed reference, or any reference at all while
     * the seals are not loaded yet (it cannot tell then).
     *
     * @throws ReferenceSealedException naming the reference
     * @throws SealsNotLoadedException before the seal topic was read to its end
     */
    public void refuseSealed(String modelId, String modelVersion, Iterable<Map<String, String>> tags) {
        for (Map<String, String> t : tags) {
            String name = t == null ? null : t.get(ReferenceKey.TAG);
            if (name == null) {
                continue;
            }
            if (!loaded) {
                throw new SealsNotLoadedException("the sealed references are not loaded yet (Kafka may be away): "
                        + "observations tagged reference='" + name + "' cannot be checked; retry shortly");
            }
            ReferenceSeal seal = sealed.get(key(modelId, modelVersion, name));
            if (seal != null) {
                throw new ReferenceSealedException("reference '" + name + "' of model " + modelId + " version "
                        + modelVersion + " is sealed (" + seal.getObservationCount() + " observations, since "
                        + java.time.Instant.ofEpochSecond(seal.getSealedAt().getSeconds()) + "): it takes no more "
                        + "observations; delete it to build it again");
            }
        }
    }

    static String key(String modelId, String modelVersion, String name) {
        return modelId + '/' + modelVersion + '/' + name;
    }

    private void run() {
        while (running) {
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerConfig())) {
                consumer = c;
                follow(c);
            } catch (WakeupException e) {
                // close() asked us to stop
            } catch (RuntimeException e) {
                LOG.warnf("following %s failed (retried in %s; the seals read so far still apply): %s", topic, RETRY,
                        e);
                sleep(RETRY);
            } finally {
                consumer = null;
            }
        }
    }

    private void follow(KafkaConsumer<byte[], byte[]> c) {
        List<PartitionInfo> partitions = c.partitionsFor(topic);
        while (running && (partitions == null || partitions.isEmpty())) {
            // no seal was ever published (the aggregator creates the topic with the first): none is sealed
            if (!loaded) {
                LOG.infof("%s does not exist yet: no reference is sealed", topic);
            }
            loaded = true;
            sleep(RETRY);
            partitions = c.partitionsFor(topic);
        }
        List<TopicPartition> assigned = partitions.stream().map(p -> new TopicPartition(topic, p.partition()))
                .toList();
        c.assign(assigned);
        c.seekToBeginning(assigned);
        Map<TopicPartition, Long> ends = c.endOffsets(assigned);
        sealed.clear();
        while (running) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
                apply(r);
            }
            if (!loaded && caughtUp(c, ends)) {
                loaded = true;
                LOG.infof("loaded %d sealed references from %s", sealed.size(), topic);
            }
        }
    }

    private static boolean caughtUp(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private void apply(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null) {
            return;
        }
        String key = new String(r.key(), StandardCharsets.UTF_8);
        if (r.value() == null) {
            // a tombstone: the reference was deleted, and may be built again
            sealed.remove(key);
            return;
        }
        try {
            sealed.put(key, ReferenceSeal.parseFrom(r.value()));
        } catch (InvalidProtocolBufferException e) {
            LOG.warnf("skipping an undecodable seal at %s-%d@%d: %s", r.topic(), r.partition(), r.offset(),
                    e.getMessage());
        }
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.keySet().retainAll(ConsumerConfig.configNames());
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // asking for a topic that does not exist must not create it: created by a broker it would not be compacted
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "nd-inference-reference-seals");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return c;
    }

    /** The sealed references known now, as topic keys (for tests and diagnostics). */
    public Set<String> keys() {
        return Set.copyOf(sealed.keySet());
    }

    @Override
    public void close() {
        running = false;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A tagged request for a sealed reference: 409 over HTTP, FAILED_PRECONDITION over gRPC. */
    public static final class ReferenceSealedException extends RuntimeException {
        public ReferenceSealedException(String message) {
            super(message, null, false, false);
        }
    }

    /** The seals are not read yet: 503 over HTTP, UNAVAILABLE over gRPC; the caller retries. */
    public static final class SealsNotLoadedException extends RuntimeException {
        public SealsNotLoadedException(String message) {
            super(message, null, false, false);
        }
    }
}
