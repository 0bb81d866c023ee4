package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CapturedInput;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * Between predictions and Kafka: a bounded queue that a single publisher thread drains into an idempotent Kafka
 * producer. A prediction never waits on Kafka: when the queue is full (Kafka slow or down) its capture is shed at
 * once, or after a bounded wait with the {@code block} policy, and every shed observation is counted and logged at
 * a bounded rate. Batches are keyed by model and tap, so a tap's batches stay in order on one partition.
 */
public final class CapturePipeline implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CapturePipeline.class);
    private static final long SHED_LOG_INTERVAL_NANOS = Duration.ofSeconds(10).toNanos();

    /** What became of a capture. */
    public enum Status { QUEUED, SHED }

    private final KafkaProducer<byte[], byte[]> producer;
    private final BlockingQueue<CaptureItem> queue;
    private final CaptureConfig config;
    private final boolean block;
    private final Counter captured;
    private final Counter shed;
    private final Counter published;
    private final Counter failed;
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong shedSinceLog = new AtomicLong();
    private volatile long lastShedLog;
    private final Thread publisher;
    private volatile boolean running = true;

    public CapturePipeline(Map<String, Object> kafkaConfig, CaptureConfig config, MeterRegistry registry) {
        if (!config.policy().equals("shed") && !config.policy().equals("block")) {
            throw new IllegalArgumentException("nd.capture.policy must be shed or block, got " + config.policy());
        }
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.put(ProducerConfig.BUFFER_MEMORY_CONFIG, config.bufferBytes());
        c.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "nd-inference-capture");
        this.producer = new KafkaProducer<>(c);
        this.config = config;
        this.block = config.policy().equals("block");
        this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
        this.captured = Counter.builder("nd.capture.observations.captured")
                .description("Observations queued for Kafka").register(registry);
        this.shed = Counter.builder("nd.capture.observations.shed")
                .description("Observations not captured because the capture queue was full").register(registry);
        this.published = Counter.builder("nd.capture.observations.published")
                .description("Observations acknowledged by Kafka (counted once per tap batch)").register(registry);
        this.failed = Counter.builder("nd.capture.batches.failed")
                .description("Tap batches Kafka did not acknowledge after the producer's retries").register(registry);
        registry.gauge("nd.capture.queue.depth", queue, BlockingQueue::size);
        this.publisher = new Thread(this::publish, "capture-publisher");
        publisher.setDaemon(true);
        publisher.start();
    }

    /** Queues a capture, or sheds it (counted) when the queue stays full. Never blocks longer than the policy. */
    public Status offer(CaptureItem item) {
        boolean queued;
        try {
            queued = block ? queue.offer(item, config.blockTimeout().toNanos(), TimeUnit.NANOSECONDS)
                    : queue.offer(item);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            queued = false;
        }
        if (queued) {
            captured.increment(item.observations());
            return Status.QUEUED;
        }
        shed.increment(item.observations());
        logShed(item.observations());
        return Status.SHED;
    }

    private void logShed(int observations) {
        long total = shedSinceLog.addAndGet(observations);
        long now = System.nanoTime();
        if (now - lastShedLog > SHED_LOG_INTERVAL_NANOS) {
            lastShedLog = now;
            shedSinceLog.addAndGet(-total);
            LOG.warnf("capture queue full (%d requests): shed %d observations since the last report; is Kafka "
                    + "reachable?", config.queueCapacity(), total);
        }
    }

    /** Observation-tap batches Kafka has acknowledged, counted in observations per tap batch. */
    public long acknowledgedObservationBatches() {
        return acknowledged.get();
    }

    public int queueDepth() {
        return queue.size();
    }

    private void publish() {
        while (running || !queue.isEmpty()) {
            CaptureItem item;
            try {
                item = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (item == null) {
                continue;
            }
            for (ActivationBatch batch : item.batches()) {
                byte[] key = (batch.getModelId() + "/" + batch.getTap()).getBytes(StandardCharsets.UTF_8);
                int n = batch.getObservationsCount();
                // blocks up to max.block.ms while the producer's buffer is full: the queue absorbs the wait
                send(config.topic(), key, batch.toByteArray(), n, batch.getTap());
            }
            for (CapturedInput input : item.inputs()) {
                send(config.inputsTopic(), input.getInstanceId().getBytes(StandardCharsets.UTF_8),
                        input.toByteArray(), 0, "input");
            }
        }
    }

    private void send(String topic, byte[] key, byte[] value, int observations, String what) {
        try {
            producer.send(new ProducerRecord<>(topic, key, value), (meta, error) -> {
                if (error == null) {
                    published.increment(observations);
                    acknowledged.addAndGet(observations);
                } else {
                    failed.increment();
                    LOG.warnf("capture of %s not delivered: %s", what, error.toString());
                }
            });
        } catch (RuntimeException e) {
            failed.increment();
            LOG.warnf("capture of %s not sent: %s", what, e.toString());
        }
    }

    /** Waits until the queue is empty and Kafka has acknowledged everything sent. */
    public void flush() {
        while (!queue.isEmpty()) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        producer.flush();
    }

    @Override
    public void close() {
        running = false;
        try {
            publisher.join(Duration.ofSeconds(10).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(10));
    }
}
