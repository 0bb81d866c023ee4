package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.inference.config.CaptureConfig;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * Publishes captured activations as {@link ActivationBatch} records, keyed by model and tap so that one tap's
 * batches stay in order on one partition. Never blocks a caller for long and never buffers without bound: when
 * the producer's fixed buffer is full, the capture is shed and counted.
 */
@ApplicationScoped
public class CapturePublisher {

    private static final Logger LOG = Logger.getLogger(CapturePublisher.class);

    /** What happened to a capture. */
    public enum Outcome { ACCEPTED, SHED }

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final Counter published;
    private final Counter shed;
    private final Counter failed;

    @Inject
    public CapturePublisher(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig, CaptureConfig config,
            MeterRegistry registry) {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.put(ProducerConfig.BUFFER_MEMORY_CONFIG, config.bufferBytes());
        c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, config.maxBlock().toMillis());
        c.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "nd-inference-capture");
        this.producer = new KafkaProducer<>(c);
        this.topic = config.topic();
        this.published = Counter.builder("nd.capture.observations.published")
                .description("Observations acknowledged by Kafka (counted per tap batch)").register(registry);
        this.shed = Counter.builder("nd.capture.batches.shed")
                .description("Tap batches not captured because the producer buffer was full or Kafka unreachable")
                .register(registry);
        this.failed = Counter.builder("nd.capture.batches.failed")
                .description("Batches Kafka did not acknowledge after the producer's retries").register(registry);
    }

    /**
     * Hands one observation set's batches (one per tap) to Kafka. Either every batch is handed over or, when the
     * buffer is full, the remaining ones are shed: the caller learns which.
     */
    public Outcome publish(List<ActivationBatch> batches) {
        for (int i = 0; i < batches.size(); i++) {
            ActivationBatch batch = batches.get(i);
            byte[] key = (batch.getModelId() + "/" + batch.getTap()).getBytes(StandardCharsets.UTF_8);
            int observations = batch.getObservationsCount();
            Future<RecordMetadata> sent = producer.send(new ProducerRecord<>(topic, key, batch.toByteArray()),
                    (meta, error) -> {
                        if (error == null) {
                            published.increment(observations);
                        } else if (!(error instanceof TimeoutException)) {
                            failed.increment();
                            LOG.warnf("activation batch for %s not delivered: %s", batch.getTap(), error.toString());
                        }
                    });
            // a full buffer (or no metadata) within max-block fails the send at once, before it returns
            if (sent.isDone() && failedAtOnce(sent)) {
                shed.increment(batches.size() - i);
                return Outcome.SHED;
            }
        }
        return Outcome.ACCEPTED;
    }

    private static boolean failedAtOnce(Future<RecordMetadata> sent) {
        try {
            sent.get();
            return false;
        } catch (ExecutionException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    /**
     * Fetches the topic's metadata in the background at startup, so that the first captures do not spend their
     * short max-block waiting for it (and get shed).
     */
    void warmUp(@Observes StartupEvent event) {
        Thread warmer = new Thread(() -> {
            for (int attempt = 0; attempt < 600; attempt++) {
                try {
                    producer.partitionsFor(topic);
                    return;
                } catch (KafkaException e) {
                    LOG.debugf("waiting for metadata of %s: %s", topic, e.toString());
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "capture-metadata-warm-up");
        warmer.setDaemon(true);
        warmer.start();
    }

    @PreDestroy
    void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
