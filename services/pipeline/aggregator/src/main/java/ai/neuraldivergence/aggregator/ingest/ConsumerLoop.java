package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * The consumer thread's work with one Kafka consumer at a time: polls, reads records into the pending delta, hands
 * deltas to the writer ({@link DeltaWrites}) every flush interval or when the byte budget is reached, acts on their
 * outcomes, and keeps the delta and the consumer's positions in step across rebalances (seeking to the stored
 * offsets on assignment, committing what it holds on revoke, dropping it when partitions are lost). Plain Java:
 * {@link ActivationConsumer} runs it on its thread and restarts it after a failure.
 */
final class ConsumerLoop implements ConsumerRebalanceListener {

    private static final Logger LOG = Logger.getLogger(ConsumerLoop.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    /** How far behind the clock a partition read to its end puts its watermark. */
    private static final Duration CAUGHT_UP_MARGIN = Duration.ofSeconds(5);

    private final AggregatorConfig config;
    private final List<String> subscribed;
    private final RecordIntake intake;
    private final DeltaRecovery recovery;
    private final FlushWriter writer;
    private final DeltaWrites writes;
    private final Accumulators accumulators;
    private final ConsumerMetrics metrics;
    private final long budget;
    private final BooleanSupplier running;
    private final Runnable wentThrough;
    private long lagMeasuredAt;
    // bumped whenever the consumer seeks back to the stored offsets: records the same poll returned past that
    // point are read again, so they must not enter the new delta
    private long generation;
    private volatile Instant lastPoll;
    // read by stop(), on another thread, to wake the consumer up
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private PendingDelta pending;
    private Instant nextFlush = Instant.now();

    /**
     * @param running false once the service stops: the loop then writes what it holds and returns
     * @param wentThrough told after every round of polling and flushing that went through
     */
    ConsumerLoop(AggregatorConfig config, Topics topics, Map<String, Object> kafkaConfig, RecordIntake intake,
            FlushWriter writer, DeltaWrites writes, Accumulators accumulators, ConsumerMetrics metrics,
            BooleanSupplier running, Runnable wentThrough) {
        this.config = config;
        this.subscribed = List.of(topics.activations(), topics.labels(), topics.inputs());
        this.intake = intake;
        this.writer = writer;
        this.writes = writes;
        this.accumulators = accumulators;
        this.metrics = metrics;
        this.budget = config.maxPendingBytes().asLongValue();
        this.running = running;
        this.wentThrough = wentThrough;
        this.recovery = new DeltaRecovery(kafkaConfig, intake, () -> new PendingDelta(accumulators.fresh()),
                writes::commit);
    }

    /** When the loop last completed a poll; null before the first. */
    Instant lastPoll() {
        return lastPoll;
    }

    /**
     * Makes the consumer in use, if any, and a recovery's reader leave the call they are in, or their next one (a
     * WakeupException out of {@link #consume}).
     */
    void wakeup() {
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        recovery.wakeup();
    }

    /** Consumes with {@code c} until stopped; throws what ends it otherwise. */
    void consume(KafkaConsumer<byte[], byte[]> c) {
        consumer = c;
        pending = new PendingDelta(accumulators.fresh());
        try {
            poll(c);
        } catch (RuntimeException | Error e) {
            // the delta may hold half of a record (a failure inside take()) or the ranges of a failed
            // write: closing the consumer revokes its partitions, and nothing of it may be committed then
            pending = null;
            throw e;
        }
    }

    /** After {@link #consume} and the consumer's close: lets a write in flight end and forgets the delta. */
    void reset() {
        writes.abandon();
        consumer = null;
        pending = null;
        intake.forgetLayouts();
        metrics.pendingBytes(0);
    }

    /** Polls, aggregates and hands deltas over until stopped; then writes what it holds. */
    private void poll(KafkaConsumer<byte[], byte[]> c) {
        c.subscribe(subscribed, this);
        while (running.getAsBoolean()) {
            ConsumerRecords<byte[], byte[]> polled = c.poll(POLL_TIMEOUT);
            lastPoll = Instant.now();
            long polledIn = generation;
            for (ConsumerRecord<byte[], byte[]> record : polled) {
                if (generation != polledIn) {
                    break;
                }
                take(record);
            }
            metrics.polled(polled.count());
            measureLag(c);
            if (pending.hasWork()) {
                // the interval counts from the last hand-over, and a write in flight is let finish: when
                // writes are slow (wide taps, many slices) the next delta grows instead of every row being
                // written again for the few records one poll brought
                if (Instant.now().isAfter(nextFlush) && (writes.idle() || writes.done())) {
                    flush();
                }
            } else if (Instant.now().isAfter(nextFlush)) {
                if (writes.done()) {
                    settle();
                }
                // nothing read: time still moves for the partitions read to their end (a watermark-only flush)
                markCaughtUp(c);
                if (pending != null && pending.hasWork() && writes.idle()) {
                    flush();
                } else {
                    nextFlush = Instant.now().plus(config.flushInterval());
                }
            }
            metrics.pendingBytes(bytesHeld());
            wentThrough.run();
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
        metrics.pendingBytes(bytesHeld());
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
        metrics.lag(total);
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
        pending = delta.next(accumulators.after(delta.accumulator));
        intake.forgetSeals();
        writes.hand(delta, bytes);
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

    /**
     * Waits for the delta in flight, if any, and acts on its outcome: a failure that may be the data's is recovered
     * here (the pending delta, which starts where the failed one ends, stays valid once every record of the failed
     * one is committed or dead-lettered); a transient or store failure is thrown, so that the loop restarts from the
     * stored offsets; a fenced or conflicting flush sends the consumer back to them.
     */
    private void settle() {
        DeltaWrites.InFlight flight = writes.take();
        if (flight == null) {
            return;
        }
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
            metrics.recovering();
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
        return (pending == null ? 0 : pending.bytes()) + writes.bytes();
    }

    /** Drops the delta and reads every assigned partition again from its stored offset. */
    private void restartFromStoredOffsets() {
        generation++;
        intake.forgetLayouts();
        pending = new PendingDelta(accumulators.fresh());
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
            pending = new PendingDelta(accumulators.fresh());
        }
        seekToStored(partitions);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        LOG.infof("revoked %s", partitions);
        // commit what we hold while we still own the partitions; the fence protects us if we no longer do. A delta
        // dropped by a failure is gone (null): nothing of it can be committed here
        try {
            if (pending != null && running.getAsBoolean()) {
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
        metrics.lost(partitions.size());
        // a write in flight for them is fenced, or commits before anyone else could: either way let it end first
        writes.abandon();
        // the delta also held records of partitions we keep: re-read those from their stored offsets
        Set<TopicPartition> kept = new HashSet<>(consumer.assignment());
        kept.removeAll(partitions);
        generation++;
        intake.forgetLayouts();
        pending = new PendingDelta(accumulators.fresh());
        seekToStored(kept);
    }
}
