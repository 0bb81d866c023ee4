package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.contract.ProtoSlices;
import ai.neuraldivergence.proto.v1.Granularity;
import ai.neuraldivergence.proto.v1.Window;
import ai.neuraldivergence.proto.v1.WindowUpdate;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/** What the aggregator writes to Kafka: dead letters (before the offsets move past them) and window updates. */
@ApplicationScoped
public class EventPublisher {

    private static final Logger LOG = Logger.getLogger(EventPublisher.class);
    private static final Duration DEAD_LETTER_TIMEOUT = Duration.ofSeconds(30);

    private final KafkaProducer<byte[], byte[]> producer;
    private final Topics topics;
    private final MeterRegistry registry;
    private final Counter windowUpdatesFailed;

    @Inject
    public EventPublisher(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig, Topics topics,
            MeterRegistry registry) {
        Map<String, Object> config = new HashMap<>(kafkaConfig);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "nd-aggregator-events");
        this.producer = new KafkaProducer<>(config);
        this.topics = topics;
        this.registry = registry;
        this.windowUpdatesFailed = Counter.builder("nd.aggregator.window.updates.failed")
                .description("Window-updated events that could not be published (the distributions are committed)")
                .register(registry);
    }

    /**
     * Sends a record that cannot be aggregated to the dead-letter topic, with the reason and its origin in headers,
     * and waits for the broker: the consumer moves its offset past the record only once it is kept here.
     */
    public void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
        ProducerRecord<byte[], byte[]> letter = new ProducerRecord<>(topics.deadLetter(), record.key(),
                record.value());
        letter.headers().add("nd-error", reason.getBytes(StandardCharsets.UTF_8));
        letter.headers().add("nd-source-topic", record.topic().getBytes(StandardCharsets.UTF_8));
        letter.headers().add("nd-source-partition",
                Integer.toString(record.partition()).getBytes(StandardCharsets.UTF_8));
        letter.headers().add("nd-source-offset", Long.toString(record.offset()).getBytes(StandardCharsets.UTF_8));
        try {
            producer.send(letter).get(DEAD_LETTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while dead-lettering", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not dead-letter record " + record.topic() + "-"
                    + record.partition() + "@" + record.offset(), e);
        }
        Counter.builder("nd.aggregator.dead.letters")
                .description("Activation records sent to the dead-letter topic")
                .tag("reason", reasonClass(reason))
                .register(registry).increment();
    }

    /**
     * Announces committed windows. Best effort: the distributions are already durable, and a subscriber that
     * misses an update sees the change at the next one or by querying.
     */
    public void windowsCommitted(List<FlushWriter.CommittedWindow> windows, Instant committedAt) {
        Timestamp at = timestamp(committedAt);
        for (FlushWriter.CommittedWindow w : windows) {
            WindowUpdate update = WindowUpdate.newBuilder()
                    .setModelId(w.key().modelId())
                    .setModelVersion(w.key().modelVersion())
                    .setTap(w.key().tap())
                    .setTapIndex(w.tap().tapIndex())
                    .setSlice(ProtoSlices.toProto(w.key().slice()))
                    .setWindow(Window.newBuilder()
                            .setGranularity(granularityOf(w.key().granularity()))
                            .setStart(timestamp(w.key().windowStart()))
                            .setEnd(timestamp(w.key().windowEnd())))
                    .setObservationCount(w.observationCount())
                    .setAddedCount(w.addedCount())
                    .setCommittedAt(at)
                    .build();
            producer.send(new ProducerRecord<>(topics.windowUpdates(),
                    w.key().modelId().getBytes(StandardCharsets.UTF_8), update.toByteArray()), (meta, error) -> {
                        if (error != null) {
                            windowUpdatesFailed.increment();
                            LOG.warnf("window update for %s not published: %s", w.key(), error.toString());
                        }
                    });
        }
    }

    private static Granularity granularityOf(ai.neuraldivergence.domain.Granularity g) {
        return switch (g) {
            case MINUTE -> Granularity.GRANULARITY_MINUTE;
            case HOUR -> Granularity.GRANULARITY_HOUR;
            case DAY -> Granularity.GRANULARITY_DAY;
        };
    }

    private static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    /** A bounded label for the metric: the reason's words before any number or quote. */
    static String reasonClass(String reason) {
        if (reason.startsWith("undecodable")) {
            return "undecodable";
        }
        if (reason.startsWith("layout")) {
            return "layout-conflict";
        }
        return "invalid";
    }

    @PreDestroy
    void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
