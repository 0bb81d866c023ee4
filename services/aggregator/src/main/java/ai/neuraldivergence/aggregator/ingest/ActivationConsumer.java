package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.domain.SlicePolicy;
import ai.neuraldivergence.storage.CatalogStore;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * The aggregator's consumer loop: polls activation batches, late labels and captured inputs, accumulates them, and
 * every flush interval (or earlier, when the delta's byte budget is reached) writes the distributions and the
 * partitions' next offsets in one PostgreSQL transaction (the "storing offsets outside Kafka" pattern: auto-commit
 * off, offsets read back and sought on assignment).
 *
 * <p>The delta and its offset ranges travel together ({@link PendingDelta}): a flush hands the delta over before it
 * writes, so whatever goes wrong (a fenced flush, a database outage, a lost partition, a revoke right after a failed
 * flush) no path can commit an offset range whose data was not written. A failure that is not transient and recurs
 * is looked into ({@link DeltaRecovery}): the record at fault is dead-lettered, the rest committed.
 */
@ApplicationScoped
public class ActivationConsumer implements ConsumerRebalanceListener {

    private static final Logger LOG = Logger.getLogger(ActivationConsumer.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    /** How far behind the clock a partition read to its end puts its watermark. */
    private static final Duration CAUGHT_UP_MARGIN = Duration.ofSeconds(5);

    private final AggregatorConfig config;
    private final Topics topics;
    private final Map<String, Object> kafkaConfig;
    private final FlushWriter writer;
    private final EventPublisher events;
    private final ReferenceSeals seals;
    private final MeterRegistry registry;
    private final CatalogStore catalog;
    private final RecordIntake intake;
    private final DeltaRecovery recovery;
    private final long budget;
    private final Counter observations;
    private final Counter batches;
    private final Counter fencedFlushes;
    private final Counter failures;
    private final Counter storeFailures;
    private final Counter recoveries;
    private final Counter partitionsLost;
    private final Counter lateDropped;
    private final Counter labelsReceived;
    private final Counter inputsReceived;
    private final Counter lateLabelsJoined;
    private final Counter records;
    private final Counter sketchUpdates;
    private final Counter rowsWritten;
    private final Counter bytesWritten;
    private final Counter tagValuesRefused;
    private final AtomicLong lag = new AtomicLong();
    private final Counter finalDropped;
    private long lagMeasuredAt;
    private final Timer flushTimer;
    private final AtomicLong pendingBytesGauge = new AtomicLong();
    private final AtomicLong budgetGauge = new AtomicLong();
    // bumped whenever the consumer seeks back to the stored offsets: records the same poll returned past that
    // point are read again, so they must not enter the new delta
    private long generation;

    private volatile boolean running;
    // the wait before the next restart after a failure: doubles per failure, back to the start once a poll succeeds
    private Duration backoff;
    private volatile Instant lastPoll;
    private volatile String lastError;
    private volatile Error fatal;
    private Thread thread;
    private KafkaConsumer<byte[], byte[]> consumer;
    private PendingDelta pending;
    private InFlight inFlight;
    private Instant nextFlush = Instant.now();
    // one thread writes deltas while the consumer thread reads and aggregates the next one
    private final ExecutorService deltaWriter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "delta-writer");
        t.setDaemon(true);
        return t;
    });

    @Inject
    public ActivationConsumer(AggregatorConfig config, Topics topics,
            @Identifier("default-kafka-broker") Map<String, Object> kafkaConfig, AgroalDataSource dataSource,
            EventPublisher events, ReferenceSeals seals, MeterRegistry registry) {
        this.config = config;
        this.seals = seals;
        this.topics = topics;
        this.kafkaConfig = kafkaConfig;
        this.writer = new FlushWriter(dataSource, config.consumerGroup(), config.sketchK(),
                new FlushWriter.Finality(CompactionJob.finality(config), java.util.Set.of(topics.activations(),
                        topics.labels()), config.recent().ttl()),
                new ai.neuraldivergence.storage.DeltaPartitions(dataSource));
        this.catalog = new CatalogStore(dataSource);
        this.events = events;
        this.registry = registry;
        this.budget = config.maxPendingBytes().asLongValue();
        this.intake = new RecordIntake(topics, new ActivationBatchValidator.Rules(config.maxNeuronsPerTap(),
                config.futureSkew(), null), config.blockSize(), writer::storedTap, writer::tapSealed);
        this.recovery = new DeltaRecovery(kafkaConfig, intake, () -> new PendingDelta(newAccumulator()),
                this::commit);
        this.finalDropped = Counter.builder("nd.aggregator.deltas.dropped").tag("reason", "final")
                .description("Window deltas dropped because their minute was final (folded for the last time)")
                .register(registry);
        this.observations = Counter.builder("nd.aggregator.observations")
                .description("Observations committed to stored distributions").register(registry);
        this.batches = Counter.builder("nd.aggregator.batches")
                .description("Activation batches committed").register(registry);
        this.fencedFlushes = Counter.builder("nd.aggregator.flushes.fenced")
                .description("Flushes rolled back because another instance owns a partition now")
                .register(registry);
        this.failures = Counter.builder("nd.aggregator.failures")
                .description("Poll or flush failures; the delta was dropped and re-read from the stored offsets")
                .register(registry);
        this.storeFailures = Counter.builder("nd.aggregator.store.failures")
                .description("Flush failures that are the store's (a stored row that cannot be decoded, a failure "
                        + "with no data to blame): retried, nothing dead-lettered; alert on it")
                .register(registry);
        this.recoveries = Counter.builder("nd.aggregator.flush.recoveries")
                .description("Failed flushes written again, in halves, to find the record at fault")
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
        this.labelsReceived = Counter.builder("nd.aggregator.labels").description("Late labels committed")
                .register(registry);
        this.inputsReceived = Counter.builder("nd.aggregator.inputs")
                .description("Captured inputs committed into the recent-observation store").register(registry);
        this.lateLabelsJoined = Counter.builder("nd.aggregator.labels.joined")
                .description("Observation taps added to their true-label slice by a late label").register(registry);
        this.lateDropped = Counter.builder("nd.aggregator.observations.late")
                .description("Observations dropped: they arrived later than the allowed lateness after their event "
                        + "time").register(registry);
        this.partitionsLost = Counter.builder("nd.aggregator.partitions.lost")
                .description("Partitions lost without a clean revoke (e.g. after a pause past the session timeout); "
                        + "the unflushed delta was dropped")
                .register(registry);
        this.tagValuesRefused = Counter.builder("nd.aggregator.tag.values.refused")
                .description("Tag values not turned into slices (cardinality bound or invalid value)")
                .register(registry);
        this.flushTimer = Timer.builder("nd.aggregator.flush").publishPercentiles(0.5, 0.95)
                .description("Time to write one flush (distributions and offsets, one transaction)")
                .register(registry);
        registry.gauge("nd.aggregator.pending.bytes", pendingBytesGauge);
        budgetGauge.set(budget);
        registry.gauge("nd.aggregator.pending.bytes.budget", budgetGauge);
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
        deltaWriter.shutdown();
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

    /** The Error that ended the consumer thread (an OutOfMemoryError, say): the process is broken, restart it. */
    public Optional<Error> fatalError() {
        return Optional.ofNullable(fatal);
    }

    private void run() {
        try {
            loop();
        } catch (Error e) {
            // whatever the heap or the JVM is left with cannot be trusted: stop, and let liveness restart the pod
            fatal = e;
            running = false;
            LOG.fatalf(e, "the activation consumer died of %s; liveness reports DOWN", e);
        }
    }

    private void loop() {
        backoff = config.retryBackoff();
        while (running) {
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerConfig())) {
                consumer = c;
                pending = new PendingDelta(newAccumulator());
                try {
                    consume(c);
                } catch (RuntimeException | Error e) {
                    // the delta may hold half of a record (a failure inside take()) or the ranges of a failed
                    // write: closing the consumer revokes its partitions, and nothing of it may be committed then
                    pending = null;
                    throw e;
                }
            } catch (WakeupException e) {
                // stop() asked us to leave poll(); the loop condition ends it
            } catch (RuntimeException e) {
                Optional<VirtualMachineError> vm = FatalCause.of(e);
                if (vm.isPresent()) {
                    throw vm.get();
                }
                failures.increment();
                if (FlushFailure.of(e) == FlushFailure.STORE) {
                    storeFailures.increment();
                }
                lastError = e.toString();
                LOG.errorf(e, "activation consumer failed; dropping the unflushed delta and restarting from the "
                        + "stored offsets in %s", backoff);
                sleep(backoff);
                backoff = min(backoff.multipliedBy(2), config.maxRetryBackoff());
            } finally {
                abandonInFlight();
                consumer = null;
                pending = null;
                intake.forgetLayouts();
                pendingBytesGauge.set(0);
            }
        }
    }

    /** Polls, aggregates and hands deltas over until stopped; then writes what it holds. */
    private void consume(KafkaConsumer<byte[], byte[]> c) {
        c.subscribe(List.of(topics.activations(), topics.labels(), topics.inputs()), this);
        while (running) {
            ConsumerRecords<byte[], byte[]> polled = c.poll(POLL_TIMEOUT);
            lastPoll = Instant.now();
            long polledIn = generation;
            for (ConsumerRecord<byte[], byte[]> record : polled) {
                if (generation != polledIn) {
                    break;
                }
                take(record);
            }
            this.records.increment(polled.count());
            measureLag(c);
            if (pending.hasWork()) {
                // the interval counts from the last hand-over, and a write in flight is let finish: when
                // writes are slow (wide taps, many slices) the next delta grows instead of every row being
                // written again for the few records one poll brought
                if (Instant.now().isAfter(nextFlush) && (inFlight == null || inFlight.outcome().isDone())) {
                    flush();
                }
            } else if (Instant.now().isAfter(nextFlush)) {
                if (inFlight != null && inFlight.outcome().isDone()) {
                    settle();
                }
                // nothing read: time still moves for the partitions read to their end (a watermark-only flush)
                markCaughtUp(c);
                if (pending != null && pending.hasWork() && inFlight == null) {
                    flush();
                } else {
                    nextFlush = Instant.now().plus(config.flushInterval());
                }
            }
            pendingBytesGauge.set(bytesHeld());
            lastError = null;
            backoff = config.retryBackoff();
        }
        flush();
        settle();
    }

    /** Reads one record into the delta; flushes first when the record would take the delta past its budget. */
    private void take(ConsumerRecord<byte[], byte[]> record) {
        RecordIntake.Item item = intake.read(record);
        long before = generation;
        // half the budget for the delta that fills, half for the one being written: so that both go on together.
        // A delta of many windows is flushed early too: each window written holds a lock until it commits
        if (pending.hasWork() && (pending.bytes() + item.bytes() > budget / 2
                || pending.accumulator.windowCount() >= config.maxWindowsPerFlush())) {
            flush();
        }
        if (generation == before && bytesHeld() + item.bytes() > budget) {
            // the delta just handed over still holds its share of the budget until it is written
            settle();
        }
        if (generation != before) {
            // the consumer went back to the stored offsets: this record is read again from there
            return;
        }
        intake.apply(item, pending);
        pendingBytesGauge.set(bytesHeld());
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

    /**
     * Hands the pending delta to the writer thread and starts the next one where it ends, so that reading and
     * aggregating the next records overlaps the write (one delta in flight at a time: the previous one is settled
     * first). If the write fails, the delta is gone with its offsets: re-read from the stored offsets, or recovered
     * record by record, when it is settled.
     */
    private void flush() {
        settle();
        if (pending == null) {
            return;
        }
        if (consumer != null) {
            markCaughtUp(consumer);
        }
        if (!pending.hasWork()) {
            return;
        }
        PendingDelta delta = pending;
        long bytes = delta.bytes();
        pending = delta.next(newAccumulator(delta.accumulator));
        intake.forgetSeals();
        inFlight = new InFlight(delta, bytes, deltaWriter.submit(() -> commit(delta)));
        nextFlush = Instant.now().plus(config.flushInterval());
    }

    /**
     * The partitions read to their end (by the consumer's own fetch positions: no call to the broker) take the
     * hand-over's time as their watermark: an idle partition must not hold every window back.
     */
    private void markCaughtUp(KafkaConsumer<byte[], byte[]> c) {
        // less a margin: "read to its end" is as of the last fetch, and records produced since may still be on their
        // way (the wide-model benchmark saw a watermark run up to 3.3 s ahead of such records, completing their
        // minute before they arrived)
        Instant now = Instant.now().minus(CAUGHT_UP_MARGIN);
        for (TopicPartition tp : c.assignment()) {
            if (c.currentLag(tp).orElse(-1) == 0) {
                pending.caughtUp(tp, now);
            }
        }
    }

    /** A delta being written on the writer thread, and the heap it holds until then. */
    private record InFlight(PendingDelta delta, long bytes, Future<FlushWriter.Outcome> outcome) {
    }

    /**
     * Waits for the delta in flight, if any, and acts on its outcome: a failure that may be the data's is recovered
     * here (the pending delta, which starts where the failed one ends, stays valid once every record of the failed
     * one is committed or dead-lettered); a transient or store failure is thrown, so that the loop restarts from the
     * stored offsets; a fenced or conflicting flush sends the consumer back to them.
     */
    private void settle() {
        InFlight flight = inFlight;
        if (flight == null) {
            return;
        }
        inFlight = null;
        FlushWriter.Outcome outcome;
        try {
            outcome = flight.outcome().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending = null;
            throw new IllegalStateException("interrupted while a flush was written", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Error error) {
                // the writer thread ran out of memory (or worse): the consumer thread dies of it too
                pending = null;
                throw error;
            }
            RuntimeException failure = e.getCause() instanceof RuntimeException r ? r
                    : new IllegalStateException(e.getCause());
            if (FlushFailure.of(failure) != FlushFailure.DATA) {
                pending = null;
                throw failure;
            }
            recoveries.increment();
            if (recovery.recover(flight.delta().ranges(), failure) != DeltaRecovery.Result.RECOVERED) {
                restartFromStoredOffsets();
            }
            return;
        }
        if (outcome instanceof FlushWriter.Outcome.Fenced fenced) {
            LOG.warnf("partition %s is owned by another instance now; dropping the delta and re-reading",
                    fenced.partition());
            restartFromStoredOffsets();
        } else if (outcome instanceof FlushWriter.Outcome.LayoutConflict conflict) {
            LOG.warnf("tap %s was registered meanwhile with another layout; re-reading so that its batches "
                    + "are dead-lettered", conflict.stored());
            restartFromStoredOffsets();
        } else if (outcome instanceof FlushWriter.Outcome.ReferenceSealed sealed) {
            LOG.infof("reference %s was sealed (tap %s) after some of this delta's records for it were read; "
                    + "re-reading so that they are dead-lettered", sealed.reference().topicKey(), sealed.tap());
            restartFromStoredOffsets();
        }
    }

    /** The heap the deltas hold: the pending one and the one being written. */
    private long bytesHeld() {
        return (pending == null ? 0 : pending.bytes()) + (inFlight == null ? 0 : inFlight.bytes());
    }

    /** Waits for a write in flight to end, whatever its outcome: before the consumer is closed or sought. */
    private void abandonInFlight() {
        InFlight flight = inFlight;
        inFlight = null;
        if (flight != null) {
            try {
                flight.outcome().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                // its delta is re-read from the stored offsets with everything else
            }
        }
    }

    /**
     * Writes a delta and its dead letters in one transaction, and counts what it committed. Throws when the write
     * fails (nothing is committed then).
     */
    private FlushWriter.Outcome commit(PendingDelta delta) {
        long observationCount = delta.accumulator.pendingObservations();
        long updates = delta.accumulator.pendingUpdates();
        long late = delta.accumulator.takeLateObservations();
        WindowAccumulator.Drained drained = delta.accumulator.drain();
        FlushWriter.Outcome outcome = flushTimer.record(() -> writer.flush(drained, delta.ranges(),
                () -> events.deadLetter(delta.deadLetters())));
        if (outcome instanceof FlushWriter.Outcome.Committed committed) {
            observations.increment(observationCount);
            sketchUpdates.increment(updates);
            batches.increment(delta.batches());
            labelsReceived.increment(delta.labels());
            inputsReceived.increment(delta.inputs());
            lateLabelsJoined.increment(committed.lateLabelsJoined());
            rowsWritten.increment(committed.rows());
            bytesWritten.increment(committed.bytes());
            // counted once committed: a replay after a crash drops the same observations again
            lateDropped.increment(late);
            finalDropped.increment(committed.droppedFinal());
            events.windowsCommitted(committed.windows(), Instant.now());
            committed.sealed().forEach(seals::sealed);
        } else if (outcome instanceof FlushWriter.Outcome.Fenced) {
            fencedFlushes.increment();
        }
        return outcome;
    }

    /** Drops the delta and reads every assigned partition again from its stored offset. */
    private void restartFromStoredOffsets() {
        generation++;
        intake.forgetLayouts();
        pending = new PendingDelta(newAccumulator());
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
            pending.begin(e.getKey(), e.getValue());
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        LOG.infof("assigned %s", partitions);
        if (pending == null) {
            pending = new PendingDelta(newAccumulator());
        }
        seekToStored(partitions);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        LOG.infof("revoked %s", partitions);
        // commit what we hold while we still own the partitions; the fence protects us if we no longer do. A delta
        // dropped by a failure is gone (null): nothing of it can be committed here
        try {
            if (pending != null && running) {
                flush();
                settle();
            }
        } finally {
            if (pending != null) {
                pending.forget(partitions);
            }
        }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        LOG.warnf("lost %s without a clean revoke; dropping the unflushed delta", partitions);
        partitionsLost.increment(partitions.size());
        // a write in flight for them is fenced, or commits before anyone else could: either way let it end first
        abandonInFlight();
        // the delta also held records of partitions we keep: re-read those from their stored offsets
        Set<TopicPartition> kept = new HashSet<>(consumer.assignment());
        kept.removeAll(partitions);
        generation++;
        intake.forgetLayouts();
        pending = new PendingDelta(newAccumulator());
        seekToStored(kept);
    }

    private WindowAccumulator newAccumulator() {
        // the values each model admitted before count against its bound (read once per model and accumulator)
        SlicePolicy policy = new SlicePolicy(config.sliceTagKeys(), config.maxValuesPerTag(), (key, value, why) -> {
            tagValuesRefused.increment();
            LOG.debugf("tag %s=%s not sliced: %s", key, value, why);
        }, catalog::admittedTagValues);
        return new WindowAccumulator(policy, config.allowedLateness(), config.recent().sampleRate());
    }

    /**
     * The accumulator of the delta after {@code previous}: it knows the tag values {@code previous} admitted, which
     * are not stored until its delta is written (meanwhile the next delta fills).
     */
    private WindowAccumulator newAccumulator(WindowAccumulator previous) {
        return new WindowAccumulator(previous.slicePolicy().successor(), config.allowedLateness(),
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
        // what the client fetches ahead is heap too: bounded well under the delta's budget (a record larger than
        // these limits is still fetched, alone)
        c.putIfAbsent(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 8 << 20);
        c.putIfAbsent(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 2 << 20);
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
