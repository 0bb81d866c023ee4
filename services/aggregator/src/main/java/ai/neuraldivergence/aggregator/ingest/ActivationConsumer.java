package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.domain.SlicePolicy;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CapturedInput;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.proto.v1.LabelEvent;
import com.google.protobuf.InvalidProtocolBufferException;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jboss.logging.Logger;

/**
 * The aggregator's consumer loop: polls activation batches, accumulates them, and every flush interval writes the
 * distributions and the partitions' next offsets in one PostgreSQL transaction (the "storing offsets outside Kafka"
 * pattern: auto-commit off, offsets read back and sought on assignment).
 *
 * <p>Whatever goes wrong (a fenced flush, a database outage, a lost partition), the in-memory delta is dropped and
 * the consumer re-reads from the stored offsets: the stored state plus what Kafka still holds is always complete,
 * so nothing is lost and nothing is counted twice.
 */
@ApplicationScoped
public class ActivationConsumer implements ConsumerRebalanceListener {

    private static final Logger LOG = Logger.getLogger(ActivationConsumer.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);

    private final AggregatorConfig config;
    private final Topics topics;
    private final Map<String, Object> kafkaConfig;
    private final FlushWriter writer;
    private final EventPublisher events;
    private final MeterRegistry registry;
    private final Counter observations;
    private final Counter batches;
    private final Counter fencedFlushes;
    private final Counter failures;
    private final Counter partitionsLost;
    private final Counter lateDropped;
    private final Counter labelsReceived;
    private final Counter inputsReceived;
    private final CatalogStore catalog;
    private final Counter lateLabelsJoined;
    private final Counter records;
    private final Counter sketchUpdates;
    private final Counter rowsWritten;
    private final Counter bytesWritten;
    private final AtomicLong lag = new AtomicLong();
    private long lagMeasuredAt;
    private final Timer flushTimer;
    private final AtomicLong pendingUpdatesGauge = new AtomicLong();

    private volatile boolean running;
    private volatile Instant lastPoll;
    private volatile String lastError;
    private Thread thread;
    private KafkaConsumer<byte[], byte[]> consumer;
    private WindowAccumulator accumulator;
    // per partition: the stored next offset (where the pending delta starts) and the next offset to read
    private final Map<TopicPartition, Long> deltaStart = new HashMap<>();
    private final Map<TopicPartition, Long> deltaEnd = new HashMap<>();
    // taps whose layout is known (stored, or pending in the current delta)
    private final Map<String, TapDescriptor> knownTaps = new HashMap<>();
    private Instant nextFlush = Instant.now();

    @Inject
    public ActivationConsumer(AggregatorConfig config, Topics topics,
            @Identifier("default-kafka-broker") Map<String, Object> kafkaConfig, AgroalDataSource dataSource,
            EventPublisher events, MeterRegistry registry) {
        this.config = config;
        this.topics = topics;
        this.kafkaConfig = kafkaConfig;
        this.writer = new FlushWriter(dataSource, config.consumerGroup(), config.sketchK());
        this.catalog = new CatalogStore(dataSource);
        this.events = events;
        this.registry = registry;
        this.observations = Counter.builder("nd.aggregator.observations")
                .description("Observations committed to stored distributions").register(registry);
        this.batches = Counter.builder("nd.aggregator.batches")
                .description("Activation batches accepted").register(registry);
        this.fencedFlushes = Counter.builder("nd.aggregator.flushes.fenced")
                .description("Flushes rolled back because another instance owns a partition now")
                .register(registry);
        this.failures = Counter.builder("nd.aggregator.failures")
                .description("Poll or flush failures; the delta was dropped and re-read from the stored offsets")
                .register(registry);
        this.records = Counter.builder("nd.aggregator.records").description("Kafka records consumed")
                .register(registry);
        this.sketchUpdates = Counter.builder("nd.aggregator.sketch.updates")
                .description("Sketch updates committed (neuron values x the slices they entered)").register(registry);
        this.rowsWritten = Counter.builder("nd.aggregator.rows.written")
                .description("Distribution rows written (minutes and their hour and day roll-ups)").register(registry);
        this.bytesWritten = Counter.builder("nd.aggregator.bytes.written")
                .description("Bytes of distributions written to PostgreSQL").register(registry);
        registry.gauge("nd.aggregator.consumer.lag", lag);
        this.labelsReceived = Counter.builder("nd.aggregator.labels").description("Late labels consumed")
                .register(registry);
        this.inputsReceived = Counter.builder("nd.aggregator.inputs")
                .description("Captured inputs consumed into the recent-observation store").register(registry);
        this.lateLabelsJoined = Counter.builder("nd.aggregator.labels.joined")
                .description("Observation taps added to their true-label slice by a late label").register(registry);
        this.lateDropped = Counter.builder("nd.aggregator.observations.late")
                .description("Observations dropped: they arrived later than the allowed lateness after their event "
                        + "time").register(registry);
        this.partitionsLost = Counter.builder("nd.aggregator.partitions.lost")
                .description("Partitions lost without a clean revoke (e.g. after a pause past the session timeout); "
                        + "the unflushed delta was dropped")
                .register(registry);
        this.flushTimer = Timer.builder("nd.aggregator.flush").publishPercentiles(0.5, 0.95)
                .description("Time to write one flush (distributions and offsets, one transaction)")
                .register(registry);
        registry.gauge("nd.aggregator.pending.updates", pendingUpdatesGauge);
    }

    void start(@Observes StartupEvent event) {
        if (!config.enabled()) {
            LOG.info("aggregation disabled (nd.aggregator.enabled=false)");
            return;
        }
        running = true;
        thread = new Thread(this::run, "activation-consumer");
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (thread != null) {
            thread.join(Duration.ofSeconds(30).toMillis());
        }
    }

    /** When the loop last completed a poll; null before the first. */
    public Instant lastPoll() {
        return lastPoll;
    }

    public boolean isRunning() {
        return thread != null && thread.isAlive();
    }

    public Optional<String> lastError() {
        return Optional.ofNullable(lastError);
    }

    private void run() {
        Duration backoff = config.retryBackoff();
        while (running) {
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerConfig())) {
                consumer = c;
                accumulator = newAccumulator();
                c.subscribe(List.of(topics.activations(), topics.labels(), topics.inputs()), this);
                while (running) {
                    ConsumerRecords<byte[], byte[]> records = c.poll(POLL_TIMEOUT);
                    lastPoll = Instant.now();
                    for (ConsumerRecord<byte[], byte[]> record : records) {
                        accept(record);
                    }
                    this.records.increment(records.count());
                    measureLag(c);
                    if (!accumulator.isEmpty() || advancedWithoutData()) {
                        if (Instant.now().isAfter(nextFlush)
                                || accumulator.pendingUpdates() >= config.maxPendingUpdates()) {
                            flush();
                        }
                    } else {
                        nextFlush = Instant.now().plus(config.flushInterval());
                    }
                    pendingUpdatesGauge.set(accumulator.pendingUpdates());
                    lastError = null;
                    backoff = config.retryBackoff();
                }
                flush();
            } catch (WakeupException e) {
                // stop() asked us to leave poll(); the loop condition ends it
            } catch (RuntimeException e) {
                failures.increment();
                lastError = e.toString();
                LOG.errorf(e, "activation consumer failed; dropping the unflushed delta and restarting from the "
                        + "stored offsets in %s", backoff);
                sleep(backoff);
                backoff = min(backoff.multipliedBy(2), config.maxRetryBackoff());
            } finally {
                consumer = null;
                deltaStart.clear();
                deltaEnd.clear();
                knownTaps.clear();
            }
        }
    }

    private void accept(ConsumerRecord<byte[], byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        if (record.topic().equals(topics.labels())) {
            acceptLabel(record);
            deltaEnd.put(tp, record.offset() + 1);
            return;
        }
        if (record.topic().equals(topics.inputs())) {
            acceptInput(record);
            deltaEnd.put(tp, record.offset() + 1);
            return;
        }
        ActivationBatch batch;
        try {
            batch = ActivationBatch.parseFrom(record.value() == null ? new byte[0] : record.value());
        } catch (InvalidProtocolBufferException e) {
            events.deadLetter(record, "undecodable ActivationBatch: " + e.getMessage());
            deltaEnd.put(tp, record.offset() + 1);
            return;
        }
        Optional<String> problem = ActivationBatchValidator.problem(batch);
        if (problem.isEmpty()) {
            TapDescriptor declared = WindowAccumulator.tapOf(batch);
            TapDescriptor known = knownTap(declared);
            if (known.sameLayout(declared)) {
                accumulator.add(batch, known, Instant.ofEpochMilli(record.timestamp()));
                batches.increment();
            } else {
                problem = Optional.of("layout of tap " + declared.tap() + " differs from the stored one: stored "
                        + known + ", batch " + declared);
            }
        }
        problem.ifPresent(p -> events.deadLetter(record, p));
        deltaEnd.put(tp, record.offset() + 1);
    }

    private void acceptLabel(ConsumerRecord<byte[], byte[]> record) {
        LabelEvent label;
        try {
            label = LabelEvent.parseFrom(record.value() == null ? new byte[0] : record.value());
        } catch (InvalidProtocolBufferException e) {
            events.deadLetter(record, "undecodable LabelEvent: " + e.getMessage());
            return;
        }
        if (label.getModelId().isEmpty() || label.getInstanceId().isEmpty() || label.getInstanceId().length() > 128
                || label.getTrueLabel() < 0) {
            events.deadLetter(record, "a LabelEvent needs model_id, instance_id (1..128 characters) and "
                    + "true_label >= 0");
            return;
        }
        accumulator.addLabel(label);
        labelsReceived.increment();
    }

    private void acceptInput(ConsumerRecord<byte[], byte[]> record) {
        CapturedInput input;
        try {
            input = CapturedInput.parseFrom(record.value() == null ? new byte[0] : record.value());
        } catch (InvalidProtocolBufferException e) {
            events.deadLetter(record, "undecodable CapturedInput: " + e.getMessage());
            return;
        }
        Optional<String> problem = CapturedInputs.problem(input);
        if (problem.isPresent()) {
            events.deadLetter(record, problem.get());
            return;
        }
        accumulator.addInput(new RecentObservationStore.CapturedInput(input.getModelId(), input.getModelVersion(),
                input.getInstanceId(), Instant.ofEpochSecond(input.getEventTime().getSeconds(),
                        input.getEventTime().getNanos()), input.getPng().toByteArray()));
        inputsReceived.increment();
    }

    private TapDescriptor knownTap(TapDescriptor declared) {
        String key = declared.modelId() + '\u0000' + declared.modelVersion() + '\u0000' + declared.tap();
        TapDescriptor known = knownTaps.get(key);
        if (known == null) {
            known = writer.storedTap(declared).orElse(declared);
            knownTaps.put(key, known);
        }
        return known;
    }

    /** Records behind the end of the assigned partitions, from the consumer's own fetch positions (no call). */
    private void measureLag(KafkaConsumer<byte[], byte[]> c) {
        long now = System.nanoTime();
        if (now - lagMeasuredAt < 5_000_000_000L) {
            return;
        }
        lagMeasuredAt = now;
        long total = 0;
        for (TopicPartition tp : c.assignment()) {
            total += c.currentLag(tp).orElse(0);
        }
        lag.set(total);
    }

    private boolean advancedWithoutData() {
        // dead letters alone also move offsets, which must be committed too
        for (Map.Entry<TopicPartition, Long> e : deltaEnd.entrySet()) {
            if (!e.getValue().equals(deltaStart.get(e.getKey()))) {
                return true;
            }
        }
        return false;
    }

    private void flush() {
        Map<TopicPartition, FlushWriter.OffsetRange> ranges = new HashMap<>();
        for (Map.Entry<TopicPartition, Long> e : deltaEnd.entrySet()) {
            long from = deltaStart.get(e.getKey());
            if (e.getValue() != from) {
                ranges.put(e.getKey(), new FlushWriter.OffsetRange(from, e.getValue()));
            }
        }
        if (ranges.isEmpty()) {
            return;
        }
        long observationCount = accumulator.pendingObservations();
        long updates = accumulator.pendingUpdates();
        long late = accumulator.takeLateObservations();
        var pending = accumulator.drain();
        writer.takeLateLabelsJoined(); // what a rolled-back attempt joined does not count
        FlushWriter.Outcome outcome = flushTimer.record(() -> writer.flush(pending, ranges));
        nextFlush = Instant.now().plus(config.flushInterval());
        if (outcome instanceof FlushWriter.Outcome.Committed committed) {
            ranges.forEach((tp, range) -> deltaStart.put(tp, range.to()));
            observations.increment(observationCount);
            sketchUpdates.increment(updates);
            lateLabelsJoined.increment(writer.takeLateLabelsJoined());
            rowsWritten.increment(committed.rows());
            bytesWritten.increment(committed.bytes());
            // counted once committed: a replay after a crash drops the same observations again
            lateDropped.increment(late);
            events.windowsCommitted(committed.windows(), Instant.now());
        } else if (outcome instanceof FlushWriter.Outcome.Fenced fenced) {
            fencedFlushes.increment();
            LOG.warnf("partition %s is owned by another instance now; dropping the delta and re-reading",
                    fenced.partition());
            restartFromStoredOffsets();
        } else if (outcome instanceof FlushWriter.Outcome.LayoutConflict conflict) {
            LOG.warnf("tap %s was registered meanwhile with another layout; re-reading so that its batches "
                    + "are dead-lettered", conflict.stored());
            restartFromStoredOffsets();
        }
    }

    private void restartFromStoredOffsets() {
        accumulator = newAccumulator();
        knownTaps.clear();
        seekToStored(consumer.assignment());
    }

    private void seekToStored(Collection<TopicPartition> partitions) {
        if (partitions.isEmpty()) {
            return;
        }
        Map<TopicPartition, Long> beginnings = consumer.beginningOffsets(partitions);
        Map<TopicPartition, Long> stored = writer.storedOffsets(beginnings);
        for (Map.Entry<TopicPartition, Long> e : stored.entrySet()) {
            // a stored offset below the log start means retention deleted records nobody aggregated: say so
            long begin = beginnings.get(e.getKey());
            long from = e.getValue();
            if (from < begin) {
                LOG.errorf("partition %s: records %d..%d were deleted by Kafka retention before they were "
                        + "aggregated", e.getKey(), from, begin - 1);
                from = begin;
            }
            consumer.seek(e.getKey(), from);
            deltaStart.put(e.getKey(), e.getValue());
            deltaEnd.put(e.getKey(), e.getValue());
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        LOG.infof("assigned %s", partitions);
        seekToStored(partitions);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        LOG.infof("revoked %s", partitions);
        // commit what we hold while we still own the partitions; the fence protects us if we no longer do
        try {
            flush();
        } finally {
            forget(partitions);
        }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        LOG.warnf("lost %s without a clean revoke; dropping the unflushed delta", partitions);
        partitionsLost.increment(partitions.size());
        accumulator = newAccumulator();
        forget(partitions);
        // the delta also held records of partitions we keep: re-read those from their stored offsets
        Set<TopicPartition> kept = new HashSet<>(consumer.assignment());
        kept.removeAll(partitions);
        seekToStored(kept);
    }

    private void forget(Collection<TopicPartition> partitions) {
        partitions.forEach(tp -> {
            deltaStart.remove(tp);
            deltaEnd.remove(tp);
        });
    }

    private WindowAccumulator newAccumulator() {
        Counter refused = Counter.builder("nd.aggregator.tag.values.refused")
                .description("Tag values not turned into slices (cardinality bound or invalid value)")
                .register(registry);
        // the values each model admitted before count against its bound (read once per model and accumulator)
        SlicePolicy policy = new SlicePolicy(config.sliceTagKeys(), config.maxValuesPerTag(), (key, value, why) -> {
            refused.increment();
            LOG.debugf("tag %s=%s not sliced: %s", key, value, why);
        }, catalog::admittedTagValues);
        return new WindowAccumulator(policy, config.sketchK(), config.allowedLateness(),
                config.recent().sampleRate());
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, config.consumerGroup());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "nd-aggregator");
        return c;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
