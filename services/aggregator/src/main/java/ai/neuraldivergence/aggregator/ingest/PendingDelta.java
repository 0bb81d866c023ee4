package ai.neuraldivergence.aggregator.ingest;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * What the consumer holds between two flushes: the accumulated windows, the dead letters to send, and per partition
 * the offset the delta starts at (the stored next offset) and the one after its last record. The three travel
 * together: a delta that is dropped takes its offsets with it, so that no path can commit an offset range whose data
 * it did not write.
 */
final class PendingDelta {

    /** A record that cannot be aggregated, and why. Sent inside the flush that moves the offset past it. */
    record DeadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
    }

    final WindowAccumulator accumulator;
    private final Map<TopicPartition, Long> start = new HashMap<>();
    private final Map<TopicPartition, Long> end = new HashMap<>();
    private final List<DeadLetter> deadLetters = new ArrayList<>();
    private long deadLetterBytes;
    private long batches;
    private long labels;
    private long inputs;

    PendingDelta(WindowAccumulator accumulator) {
        this.accumulator = accumulator;
    }

    /** The delta that follows this one: it starts where this one ends, on the same partitions. */
    PendingDelta next(WindowAccumulator fresh) {
        PendingDelta next = new PendingDelta(fresh);
        next.start.putAll(end);
        next.end.putAll(end);
        return next;
    }

    /** A partition whose stored next offset is {@code offset} (assigned, or re-read from there). */
    void begin(TopicPartition tp, long offset) {
        start.put(tp, offset);
        end.put(tp, offset);
    }

    void forget(Collection<TopicPartition> partitions) {
        partitions.forEach(tp -> {
            start.remove(tp);
            end.remove(tp);
        });
    }

    /** The record at {@code offset} of {@code tp} is in this delta (aggregated, dead-lettered or skipped). */
    void consumed(TopicPartition tp, long offset) {
        end.put(tp, offset + 1);
    }

    void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
        deadLetters.add(new DeadLetter(record, reason));
        deadLetterBytes += 256 + (record.value() == null ? 0 : record.value().length)
                + (record.key() == null ? 0 : record.key().length);
    }

    List<DeadLetter> deadLetters() {
        return deadLetters;
    }

    void countBatch() {
        batches++;
    }

    void countLabel() {
        labels++;
    }

    void countInput() {
        inputs++;
    }

    long batches() {
        return batches;
    }

    long labels() {
        return labels;
    }

    long inputs() {
        return inputs;
    }

    /** The partitions whose offsets this delta moves, from where to where. */
    Map<TopicPartition, FlushWriter.OffsetRange> ranges() {
        Map<TopicPartition, FlushWriter.OffsetRange> out = new HashMap<>();
        end.forEach((tp, to) -> {
            long from = start.get(tp);
            if (to != from) {
                out.put(tp, new FlushWriter.OffsetRange(from, to));
            }
        });
        return out;
    }

    /** Whether a flush would write anything (dead letters alone also move offsets, which must be committed). */
    boolean hasWork() {
        return !ranges().isEmpty();
    }

    /** The heap this delta holds: its rows and its dead letters. */
    long bytes() {
        return accumulator.bytes() + deadLetterBytes;
    }
}
