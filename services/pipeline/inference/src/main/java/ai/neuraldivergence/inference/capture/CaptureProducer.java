package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.inference.config.CaptureConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * The capture pipeline's Kafka side: an idempotent producer, the size every record must stay under, and the
 * accounting of each record sent: every {@link Delivery} carrying rows of it learns whether Kafka acknowledged or
 * refused it, and the observations acknowledged and the records refused are counted.
 */
final class CaptureProducer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CaptureProducer.class);
    /** What a record adds to its key and value on the wire (batch header, record header, headers). */
    static final int RECORD_OVERHEAD_BYTES = 512;

    private final KafkaProducer<byte[], byte[]> producer;
    private final CaptureConfig config;
    private final Counter published;
    private final Counter failed;
    private final AtomicLong acknowledged = new AtomicLong();
    private volatile int recordLimit;

    CaptureProducer(Map<String, Object> kafkaConfig, CaptureConfig config, MeterRegistry registry) {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.put(ProducerConfig.BUFFER_MEMORY_CONFIG, config.bufferBytes());
        c.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        // activations are floats that hardly compress: spend no CPU on trying
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "nd-inference-capture");
        // a record's outcome is known within the acknowledgement timeout, so that POST /v1/observations can say
        // "not recorded" and mean it; while Kafka is away the publisher waits at most max.block.ms per send
        long ack = Math.max(2_000, config.ackTimeout().toMillis());
        c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) ack);
        c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) (ack - 1_000));
        c.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Math.min(5_000, ack / 2));
        int producerLimit = Integer.parseInt(String.valueOf(c.getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                1_048_576)));
        this.recordLimit = Math.min(config.maxRecordBytes(), producerLimit - RECORD_OVERHEAD_BYTES);
        this.producer = new KafkaProducer<>(c);
        this.config = config;
        this.published = Counter.builder("nd.capture.observations.published")
                .description("Observations acknowledged by Kafka (counted once per tap record; a tap sent in blocks, "
                        + "once per record of its first block)").register(registry);
        this.failed = Counter.builder("nd.capture.batches.failed")
                .description("Records (tap batches, inputs) Kafka did not acknowledge after the producer's retries")
                .register(registry);
    }

    /** The largest record value to send, in bytes. */
    int recordLimit() {
        return recordLimit;
    }

    /**
     * Lowers the record limit to what the topic accepts (its {@code max.message.bytes}), once it is known: the
     * producer's own limit says nothing of the topic's.
     */
    void topicAccepts(int maxMessageBytes) {
        int limit = maxMessageBytes - RECORD_OVERHEAD_BYTES;
        if (limit < recordLimit) {
            LOG.infof("topic %s accepts records of %d bytes: capture records stay under %d", config.topic(),
                    maxMessageBytes, limit);
            recordLimit = limit;
        }
    }

    /** Observations Kafka has acknowledged, counted once per tap record. */
    long acknowledged() {
        return acknowledged.get();
    }

    /** Counts records that could not be built or sent, outside {@link #send}. */
    void failed() {
        failed.increment();
    }

    /** The topic's partition count, asked of the producer (which waits up to max.block.ms while Kafka is away). */
    int partitionCount(String topic) {
        return producer.partitionsFor(topic).size();
    }

    /** Sends one record outside the accounting, and waits for Kafka to acknowledge it. */
    void sendAndWait(String topic, byte[] key, byte[] value, long timeoutMillis)
            throws InterruptedException, ExecutionException, TimeoutException {
        producer.send(new ProducerRecord<>(topic, key, value)).get(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    void send(String topic, byte[] key, byte[] value, int observations, List<Delivery> owners, String what) {
        send(topic, null, key, value, observations, owners, what);
    }

    /**
     * Sends a record carrying rows of {@code owners} ({@code what}: a tap, or "input") and {@code observations} to
     * count once acknowledged; each owner expects it and is told its outcome.
     */
    void send(String topic, Integer partition, byte[] key, byte[] value, int observations, List<Delivery> owners,
            String what) {
        owners.forEach(Delivery::expect);
        try {
            producer.send(new ProducerRecord<>(topic, partition, key, value), (meta, error) -> {
                if (error == null) {
                    published.increment(observations);
                    acknowledged.addAndGet(observations);
                    owners.forEach(d -> d.acknowledged(what));
                } else {
                    failed.increment();
                    LOG.warnf("capture of %s not delivered: %s", what, error.toString());
                    owners.forEach(d -> d.failed(what, "tap " + what + ": " + error));
                }
            });
        } catch (RuntimeException e) {
            failed.increment();
            LOG.warnf("capture of %s not sent: %s", what, e.toString());
            owners.forEach(d -> d.failed(what, "tap " + what + ": " + e));
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
