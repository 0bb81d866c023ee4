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
    // per partition, the watermark this delta moves it to: its newest record timestamp, or the hand-over time when
    // the partition was read to its end then
    private final Map<TopicPartition, java.time.Instant> watermarks = new HashMap<>();
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
            watermarks.remove(tp);
        });
    }

    /** The record at {@code offset} of {@code tp} is in this delta (aggregated, dead-lettered or skipped). */
    void consumed(TopicPartition tp, long offset) {
        end.put(tp, offset + 1);
    }

    /** {@link #consumed}, for a record stamped {@code timestamp} (ms since the epoch; negative: none). */
    void consumed(TopicPartition tp, long offset, long timestamp) {
        consumed(tp, offset);
        if (timestamp >= 0) {
            watermarks.merge(tp, java.time.Instant.ofEpochMilli(timestamp), (a, b) -> a.isAfter(b) ? a : b);
        }
    }

    /**
     * A partition read to its end at {@code now} (nothing more to read): its watermark is now, whatever its records
     * said, so that an idle partition does not hold every window back. Moves it only where it is known (begun).
     */
    void caughtUp(TopicPartition tp, java.time.Instant now) {
        if (end.containsKey(tp)) {
            watermarks.merge(tp, now, (a, b) -> a.isAfter(b) ? a : b);
        }
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
            java.time.Instant watermark = watermarks.get(tp);
            if (to != from || watermark != null) {
                out.put(tp, new FlushWriter.OffsetRange(from, to, watermark));
            }
        });
        return out;
    }

    /**
     * Whether a flush would write anything (dead letters alone also move offsets, which must be committed, and a
     * watermark alone moves time forward).
     */
    boolean hasWork() {
        return !ranges().isEmpty();
    }

    /** The heap this delta holds: its rows and its dead letters. */
    long bytes() {
        return accumulator.bytes() + deadLetterBytes;
    }
}
