package ai.neuraldivergence.inference.service;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.inference.model.ServedModel;
import ai.neuraldivergence.proto.v1.LabelEvent;
import com.google.protobuf.Timestamp;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Publishes true labels that arrive after their prediction, as LabelEvents keyed by instance id. Labels are few and
 * precious: the call waits until Kafka has them, and fails (503) when it cannot.
 */
@ApplicationScoped
public class LabelPublisher {

    /** A late label. */
    public record Label(String instanceId, int trueLabel) {
    }

    public static final int MAX_LABELS = 10_000;

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final String modelId;
    private final Counter published;

    @Inject
    public LabelPublisher(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig,
            @ConfigProperty(name = "nd.labels.topic", defaultValue = "nd.labels") String topic, ServedModel model,
            MeterRegistry registry) {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "nd-inference-labels");
        this.producer = new KafkaProducer<>(c);
        this.topic = topic;
        this.modelId = model.spec().modelId();
        this.published = Counter.builder("nd.inference.labels").description("Late true labels published")
                .register(registry);
    }

    /** Validates, publishes and waits for Kafka's acknowledgement of every label. */
    public int publish(List<Label> labels) {
        if (labels == null || labels.isEmpty() || labels.size() > MAX_LABELS) {
            throw new IllegalArgumentException("labels must hold 1.." + MAX_LABELS + " labels");
        }
        Instant now = Instant.now();
        Timestamp at = Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()).build();
        // every label checked as the aggregator will, before any is sent: a bad one refuses the request whole
        List<LabelEvent> events = new java.util.ArrayList<>(labels.size());
        for (int i = 0; i < labels.size(); i++) {
            Label l = labels.get(i);
            LabelEvent event = LabelEvent.newBuilder().setModelId(modelId)
                    .setInstanceId(l.instanceId() == null ? "" : l.instanceId()).setTrueLabel(l.trueLabel())
                    .setLabelledAt(at).build();
            int index = i;
            ActivationBatchValidator.labelProblem(event).ifPresent(p -> {
                throw new IllegalArgumentException("labels[" + index + "]." + ActivationBatchValidator.inJsonNames(p));
            });
            events.add(event);
        }
        Future<?>[] sent = new Future<?>[labels.size()];
        for (int i = 0; i < labels.size(); i++) {
            Label l = labels.get(i);
            LabelEvent event = events.get(i);
            sent[i] = producer.send(new ProducerRecord<>(topic, l.instanceId().getBytes(StandardCharsets.UTF_8),
                    event.toByteArray()));
        }
        for (Future<?> f : sent) {
            try {
                f.get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while publishing labels", e);
            } catch (ExecutionException | TimeoutException e) {
                throw new KafkaUnavailableException("labels not published: " + e.getMessage());
            }
        }
        published.increment(labels.size());
        return labels.size();
    }

    /** Kafka did not take what had to be kept. */
    public static class KafkaUnavailableException extends RuntimeException {
        public KafkaUnavailableException(String message) {
            super(message);
        }
    }

    @PreDestroy
    void close() {
        producer.close(Duration.ofSeconds(5));
    }

}
