package ai.neuraldivergence.inference.service;

import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.inference.config.LimitsConfig;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Publishes true labels that arrive after their prediction, as LabelEvents keyed by instance id. Labels are few and
 * precious: a request is answered once Kafka has every label of it, or with 503 when it has not within one deadline
 * for the whole request.
 *
 * <p>No request thread waits on Kafka. A request hands its labels to one sender thread and gets a future; the
 * sender is the only thread that can block in the producer (on Kafka's metadata while it is away, at most the
 * deadline), and skips what waited past its deadline. So however long Kafka is away, a labels request answers by its
 * deadline and holds no worker thread meanwhile: predictions go on. (Before, each label's send could block the
 * request's worker thread for the producer's metadata wait, five seconds a label.)
 */
@ApplicationScoped
public class LabelPublisher {

    private static final Logger LOG = Logger.getLogger(LabelPublisher.class);

    /** A late label. */
    public record Label(String instanceId, int trueLabel) {
    }

    public static final int MAX_LABELS = 10_000;
    /** Labels waiting for the sender, all requests together; beyond, a request is refused at once (503). */
    static final int MAX_WAITING_LABELS = 5 * MAX_LABELS;

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final String modelId;
    private final Duration deadline;
    private final Counter published;
    private final Counter unavailable;
    private final LinkedBlockingQueue<Request> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger waiting = new AtomicInteger();
    private final Thread sender;
    private volatile boolean running = true;

    @Inject
    public LabelPublisher(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig,
            @ConfigProperty(name = "nd.topics.labels", defaultValue = "nd.labels") String topic, ServedModel model,
            LimitsConfig limits, MeterRegistry registry) {
        this.deadline = limits.labelsDeadline();
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // a label is acknowledged or given up by the request's deadline, not minutes later: a 503 then means what it
        // says, and the sender waits on Kafka's metadata no longer than a request may
        long delivery = Math.max(2_000, deadline.toMillis());
        c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) delivery);
        c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) (delivery - 1_000));
        c.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Math.max(1, deadline.toMillis()));
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "nd-inference-labels");
        this.producer = new KafkaProducer<>(c);
        this.topic = topic;
        this.modelId = model.spec().modelId();
        this.published = Counter.builder("nd.inference.labels").description("Late true labels published")
                .register(registry);
        this.unavailable = Counter.builder("nd.inference.labels.unavailable")
                .description("Late true labels answered 503: Kafka did not acknowledge them within the deadline")
                .register(registry);
        this.sender = new Thread(this::send, "label-publisher");
        sender.setDaemon(true);
        sender.start();
    }

    /**
     * Validates every label (IllegalArgumentException: nothing is sent), then hands them to the sender. The future
     * completes with the count once Kafka acknowledged every label, or fails with
     * {@link KafkaUnavailableException} when it has not by the deadline.
     */
    public CompletableFuture<Integer> publish(List<Label> labels) {
        return publish(null, labels);
    }

    /** The model labels sent for {@code model} belong to: null or empty means the served one. */
    public String labelled(String model) {
        return model == null || model.isEmpty() ? modelId : model;
    }

    /**
     * {@link #publish(List)} for the observations of {@code model}: null or empty for the served model's, another
     * for those a client sent through {@code /v1/observations} (checked as a name, as the aggregator will).
     */
    public CompletableFuture<Integer> publish(String model, List<Label> labels) {
        String labelled = labelled(model);
        ActivationBatchValidator.nameProblem("modelId", labelled).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
        if (labels == null || labels.isEmpty() || labels.size() > MAX_LABELS) {
            throw new IllegalArgumentException("labels must hold 1.." + MAX_LABELS + " labels");
        }
        Instant now = Instant.now();
        Timestamp at = ai.neuraldivergence.wire.WireMapping.timestamp(now);
        // every label checked as the aggregator will, before any is sent: a bad one refuses the request whole
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(labels.size());
        for (int i = 0; i < labels.size(); i++) {
            Label l = labels.get(i);
            String instanceId = l.instanceId() == null ? "" : l.instanceId();
            LabelEvent event = LabelEvent.newBuilder().setModelId(labelled).setInstanceId(instanceId)
                    .setTrueLabel(l.trueLabel()).setLabelledAt(at).build();
            int index = i;
            ActivationBatchValidator.labelProblem(event).ifPresent(p -> {
                throw new IllegalArgumentException("labels[" + index + "]." + ActivationBatchValidator.inJsonNames(p));
            });
            records.add(new ProducerRecord<>(topic, instanceId.getBytes(StandardCharsets.UTF_8), event.toByteArray()));
        }
        Request request = new Request(records, System.nanoTime() + deadline.toNanos());
        if (waiting.addAndGet(records.size()) > MAX_WAITING_LABELS || !running) {
            waiting.addAndGet(-records.size());
            return fail(request, "labels not recorded: " + MAX_WAITING_LABELS + " labels already wait for Kafka (is "
                    + "it reachable?); retry later");
        }
        queue.add(request);
        // the deadline holds whatever the sender does: the future fails then, and the sender skips the request
        request.result.orTimeout(deadline.toNanos(), TimeUnit.NANOSECONDS);
        return request.result.handle((count, e) -> {
            if (e == null) {
                published.increment(count);
                return count;
            }
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                    ? e.getCause() : e;
            unavailable.increment(records.size());
            throw cause instanceof TimeoutException
                    ? new KafkaUnavailableException("Kafka did not acknowledge the labels within "
                            + describe(deadline) + ": none or only some of them are recorded; send them again later "
                            + "(a label sent twice counts once: the first label of an instance wins)")
                    : cause instanceof KafkaUnavailableException k ? k
                            : new KafkaUnavailableException("labels not published: " + cause.getMessage());
        });
    }

    private CompletableFuture<Integer> fail(Request request, String message) {
        request.result.completeExceptionally(new KafkaUnavailableException(message));
        unavailable.increment(request.records.size());
        return request.result;
    }

    /** The sender thread: one request at a time, each label handed to the producer while its deadline holds. */
    private void send() {
        while (running || !queue.isEmpty()) {
            Request request;
            try {
                request = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (request == null) {
                continue;
            }
            waiting.addAndGet(-request.records.size());
            try {
                for (ProducerRecord<byte[], byte[]> record : request.records) {
                    // answered already (its deadline passed) or past its deadline: send no more of it
                    if (request.result.isDone() || System.nanoTime() - request.deadlineNanos > 0) {
                        break;
                    }
                    // blocks only while Kafka's metadata is unknown, at most max.block.ms (the deadline); a send
                    // that gave up comes back failed, and the callback fails the request
                    producer.send(record, (metadata, e) -> request.acknowledged(e));
                }
            } catch (RuntimeException e) {
                LOG.warnf("labels could not be handed to Kafka: %s", e.toString());
                request.result.completeExceptionally(new KafkaUnavailableException("labels not published: " + e));
            }
        }
        queue.forEach(r -> r.result.completeExceptionally(new KafkaUnavailableException("the service is stopping: "
                + "labels not recorded")));
    }

    /** One request's labels on their way, and what Kafka said of them. */
    private static final class Request {
        final List<ProducerRecord<byte[], byte[]>> records;
        final long deadlineNanos;
        final CompletableFuture<Integer> result = new CompletableFuture<>();
        final AtomicInteger acknowledged = new AtomicInteger();

        Request(List<ProducerRecord<byte[], byte[]>> records, long deadlineNanos) {
            this.records = records;
            this.deadlineNanos = deadlineNanos;
        }

        /** Kafka's answer for one label (on the producer's thread: nothing slow here). */
        void acknowledged(Exception e) {
            if (e != null) {
                result.completeExceptionally(new KafkaUnavailableException("Kafka did not take the labels ("
                        + e.getClass().getSimpleName() + ": " + e.getMessage() + "): none or only some of them are "
                        + "recorded; send them again later (a label sent twice counts once)"));
            } else if (acknowledged.incrementAndGet() == records.size()) {
                result.complete(records.size());
            }
        }
    }

    private static String describe(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /** Kafka did not take what had to be kept. */
    public static class KafkaUnavailableException extends RuntimeException {
        public KafkaUnavailableException(String message) {
            super(message);
        }
    }

    @PreDestroy
    void close() {
        running = false;
        try {
            sender.join(Duration.ofSeconds(5).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(5));
    }
}
