package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.wire.WireMapping;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/** What the aggregator writes to Kafka: dead letters (before the offsets move past them) and window updates. */
@ApplicationScoped
public class EventPublisher {

    private static final Logger LOG = Logger.getLogger(EventPublisher.class);
    private static final Duration DEAD_LETTER_TIMEOUT = Duration.ofSeconds(30);
    static final int MAX_DEAD_LETTER_BYTES = 64 << 20;

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
        // a dead letter is the record as received plus headers: the topic's own limit decides, not the client's
        config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, MAX_DEAD_LETTER_BYTES);
        this.producer = new KafkaProducer<>(config);
        this.topics = topics;
        this.registry = registry;
        this.windowUpdatesFailed = Meters.counter(registry, "nd.aggregator.window.updates.failed",
                "Window-updated events that could not be published (the distributions are committed)");
    }

    /**
     * Sends records that cannot be aggregated to the dead-letter topic, with the reason and their origin in headers,
     * and waits for the broker: the consumer moves its offsets past them only once they are kept there (this runs
     * inside the flush transaction, before it commits). A record the dead-letter topic itself refuses (too large,
     * invalid) is logged with topic, partition and offset, counted as {@code reason="undeliverable"} and skipped:
     * it would be refused forever, and must not stop everything behind it.
     *
     * @throws DeadLetterUnavailableException when the broker cannot be reached or times out: a transient failure,
     *     the flush is retried
     */
    public void deadLetter(List<PendingDelta.DeadLetter> letters) {
        if (letters.isEmpty()) {
            return;
        }
        List<Future<RecordMetadata>> sent = new ArrayList<>(letters.size());
        for (PendingDelta.DeadLetter letter : letters) {
            sent.add(send(letter));
        }
        for (int i = 0; i < letters.size(); i++) {
            PendingDelta.DeadLetter letter = letters.get(i);
            ConsumerRecord<byte[], byte[]> record = letter.record();
            try {
                sent.get(i).get(DEAD_LETTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                deadLetterCounter(reasonClass(letter.reason())).increment();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DeadLetterUnavailableException("interrupted while dead-lettering", e);
            } catch (TimeoutException e) {
                throw new DeadLetterUnavailableException("dead-lettering " + origin(record) + " timed out", e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RetriableException || !(cause instanceof ApiException)) {
                    throw new DeadLetterUnavailableException("could not dead-letter " + origin(record) + ": "
                            + cause, cause);
                }
                LOG.errorf("record %s could not be dead-lettered (%s) and is skipped; it was refused because: %s",
                        origin(record), cause.toString(), letter.reason());
                deadLetterCounter("undeliverable").increment();
            }
        }
    }

    private Future<RecordMetadata> send(PendingDelta.DeadLetter letter) {
        ConsumerRecord<byte[], byte[]> record = letter.record();
        ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topics.deadLetter(), record.key(),
                record.value());
        out.headers().add("nd-error", letter.reason().getBytes(StandardCharsets.UTF_8));
        out.headers().add("nd-source-topic", record.topic().getBytes(StandardCharsets.UTF_8));
        out.headers().add("nd-source-partition",
                Integer.toString(record.partition()).getBytes(StandardCharsets.UTF_8));
        out.headers().add("nd-source-offset", Long.toString(record.offset()).getBytes(StandardCharsets.UTF_8));
        try {
            return producer.send(out);
        } catch (ApiException e) {
            // refused before it was sent (larger than the producer allows): the same as a refusal by the broker
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
    }

    private Counter deadLetterCounter(String reason) {
        return Counter.builder("nd.aggregator.dead.letters")
                .description("Records sent to the dead-letter topic, by reason (undeliverable: refused by it too, "
                        + "logged and skipped)")
                .tag("reason", reason)
                .register(registry);
    }

    private static String origin(ConsumerRecord<byte[], byte[]> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    /** The dead-letter topic could not be reached: transient, the flush is retried. */
    public static final class DeadLetterUnavailableException extends RuntimeException {
        DeadLetterUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
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
                    .setSlice(WireMapping.slice(w.key().slice()))
                    .setWindow(Window.newBuilder()
                            .setGranularity(granularityOf(w.key().granularity()))
                            .setStart(timestamp(w.key().windowStart()))
                            .setEnd(timestamp(w.key().windowEnd())))
                    .setObservationCount(w.observationCount())
                    .setAddedCount(w.addedCount())
                    .setCommittedAt(at)
                    .addAllDeltaIds(java.util.Arrays.stream(w.deltaIds()).boxed().toList())
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
        return WireMapping.timestamp(t);
    }

    /** A bounded label for the metric: the reason's words before any number or quote. */
    static String reasonClass(String reason) {
        if (reason.startsWith("undecodable")) {
            return "undecodable";
        }
        if (reason.startsWith("flush failed")) {
            return "flush-failure";
        }
        if (reason.startsWith("layout")) {
            return "layout-conflict";
        }
        if (reason.startsWith(RecordIntake.SEALED)) {
            return RecordIntake.SEALED;
        }
        return "invalid";
    }

    /**
     * Publishes a sealed reference on the compacted seal topic and waits until the broker has it.
     *
     * @throws Exception when it is not acknowledged within the dead-letter timeout (the seal job tries again)
     */
    public void referenceSealed(ai.neuraldivergence.proto.v1.ReferenceSeal seal) throws Exception {
        String key = seal.getModelId() + '/' + seal.getModelVersion() + '/' + seal.getName();
        producer.send(new ProducerRecord<>(topics.referenceSeals(), key.getBytes(StandardCharsets.UTF_8),
                seal.toByteArray())).get(DEAD_LETTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    static Timestamp timestampOf(Instant t) {
        return timestamp(t);
    }

    @PreDestroy
    void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
