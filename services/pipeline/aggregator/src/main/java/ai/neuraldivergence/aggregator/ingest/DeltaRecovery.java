package ai.neuraldivergence.aggregator.ingest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jboss.logging.Logger;

/**
 * Finds the record at fault when a flush fails for a reason that may be the data's. The failed delta is re-read
 * from Kafka (exactly its offset ranges, by a consumer of its own that belongs to no group) and written again; if
 * that fails the same way, it is written in halves, each in its own transaction, recursively, until the failing
 * record stands alone: that record is dead-lettered ({@code flush failed: ...}) in the transaction that moves its
 * offset, and everything else is committed exactly once.
 *
 * <p>Each half is a prefix of each partition's records (records keep their per-partition order), so every
 * transaction moves each offset from exactly where the last one left it, under the same fence as any flush. A
 * transient failure or a store failure on the way is thrown to the consumer loop, which retries from the stored
 * offsets: the halves committed so far stay committed, the rest is read again.
 */
final class DeltaRecovery {

    private static final Logger LOG = Logger.getLogger(DeltaRecovery.class);
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    /** How a recovery ended. */
    enum Result {
        /** Every record of the failed delta is committed or dead-lettered; the consumer goes on from its end. */
        RECOVERED,
        /** Another instance owns a partition now, or a tap's layout changed: re-read from the stored offsets. */
        RESTART
    }

    /** A failure that the data did not cause: nothing may be dead-lettered for it. */
    static final class StoreFailure extends RuntimeException {
        StoreFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Map<String, Object> readerConfig;
    private final RecordIntake intake;
    private final Supplier<PendingDelta> emptyDelta;
    private final Function<PendingDelta, FlushWriter.Outcome> commit;
    // the reader of a recovery under way, for wakeup() from another thread
    private volatile KafkaConsumer<byte[], byte[]> activeReader;

    /**
     * @param kafkaConfig the client settings (bootstrap servers, security)
     * @param emptyDelta a delta with a fresh accumulator and no partitions
     * @param commit writes a delta (and sends its dead letters) in one transaction; throws on failure
     */
    DeltaRecovery(Map<String, Object> kafkaConfig, RecordIntake intake, Supplier<PendingDelta> emptyDelta,
            Function<PendingDelta, FlushWriter.Outcome> commit) {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "nd-aggregator-recovery");
        // never jump to the log's end (which would skip the delta's records without a word): an offset out of range
        // fails the recovery instead, and the consumer loop retries from the stored offsets
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        c.keySet().retainAll(ConsumerConfig.configNames());
        this.readerConfig = c;
        this.intake = intake;
        this.emptyDelta = emptyDelta;
        this.commit = commit;
    }

    /**
     * Writes the failed delta's records again, in halves where needed. {@code ranges} are the failed delta's offset
     * ranges, whose starts are the stored offsets.
     */
    Result recover(Map<TopicPartition, FlushWriter.OffsetRange> ranges, Throwable firstFailure) {
        List<ConsumerRecord<byte[], byte[]>> records = reread(ranges);
        LOG.warnf("flush of %d records failed (%s); writing them again, in halves if it fails again",
                records.size(), FlushFailure.describe(firstFailure));
        Map<TopicPartition, Long> at = new HashMap<>();
        ranges.forEach((tp, range) -> at.put(tp, range.from()));
        if (!write(records, at)) {
            return Result.RESTART;
        }
        // what lies after the last record of a range (transaction markers) holds nothing to write
        PendingDelta rest = delta(at);
        ranges.forEach((tp, range) -> {
            if (at.get(tp) < range.to()) {
                rest.consumed(tp, range.to() - 1);
            }
        });
        return !rest.hasWork() || commit.apply(rest) instanceof FlushWriter.Outcome.Committed ? Result.RECOVERED
                : Result.RESTART;
    }

    /** Writes {@code records} from the offsets in {@code at}, moving them; false when the consumer must restart. */
    private boolean write(List<ConsumerRecord<byte[], byte[]>> records, Map<TopicPartition, Long> at) {
        if (records.isEmpty()) {
            return true;
        }
        PendingDelta piece = delta(at);
        for (ConsumerRecord<byte[], byte[]> record : records) {
            intake.apply(intake.read(record), piece);
        }
        // what the piece holds, known before the commit drains it
        boolean holdsData = !piece.accumulator.isEmpty();
        FlushWriter.Outcome outcome;
        try {
            outcome = commit.apply(piece);
        } catch (RuntimeException e) {
            FlushFailure kind = FlushFailure.of(e);
            if (kind != FlushFailure.DATA) {
                throw e;
            }
            if (records.size() > 1) {
                int half = records.size() / 2;
                return write(records.subList(0, half), at) && write(records.subList(half, records.size()), at);
            }
            return isolate(records.get(0), holdsData, e, at);
        }
        if (!(outcome instanceof FlushWriter.Outcome.Committed)) {
            return false;
        }
        piece.ranges().forEach((tp, range) -> at.put(tp, range.to()));
        return true;
    }

    /** One record whose write fails on its own: dead-lettered, unless it wrote nothing (then it is the store). */
    private boolean isolate(ConsumerRecord<byte[], byte[]> record, boolean holdsData, RuntimeException failure,
            Map<TopicPartition, Long> at) {
        if (!holdsData) {
            throw new StoreFailure("a flush failed with nothing of the data to write (" + origin(record) + ")",
                    failure);
        }
        String reason = "flush failed: " + FlushFailure.describe(failure);
        LOG.errorf("record %s cannot be written (%s): dead-lettering it alone", origin(record), reason);
        PendingDelta alone = delta(at);
        alone.deadLetter(record, reason);
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        alone.consumed(tp, record.offset());
        if (!(commit.apply(alone) instanceof FlushWriter.Outcome.Committed)) {
            return false;
        }
        at.put(tp, record.offset() + 1);
        return true;
    }

    private PendingDelta delta(Map<TopicPartition, Long> at) {
        PendingDelta d = emptyDelta.get();
        at.forEach(d::begin);
        return d;
    }

    /** Exactly the records in {@code ranges}, per partition in offset order. */
    List<ConsumerRecord<byte[], byte[]>> reread(Map<TopicPartition, FlushWriter.OffsetRange> ranges) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(readerConfig)) {
            activeReader = reader;
            reader.assign(ranges.keySet());
            // records below the log start were deleted by Kafka retention meanwhile: what is left is re-read (the
            // consumer loop logs the deleted ranges when it seeks to the stored offsets)
            Map<TopicPartition, Long> beginnings = reader.beginningOffsets(ranges.keySet());
            ranges.forEach((tp, range) -> reader.seek(tp, Math.max(range.from(), beginnings.get(tp))));
            Map<TopicPartition, Long> open = new HashMap<>();
            ranges.forEach((tp, range) -> open.put(tp, range.to()));
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (!open.isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new org.apache.kafka.common.errors.TimeoutException("re-reading " + open.keySet()
                            + " took longer than " + READ_TIMEOUT);
                }
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(200))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    Long to = open.get(tp);
                    if (to != null && r.offset() < to) {
                        out.add(r);
                    }
                }
                // a partition is done once the reader's position passed its end (markers included)
                open.keySet().removeIf(tp -> reader.position(tp) >= open.get(tp));
                reader.pause(ranges.keySet().stream().filter(tp -> !open.containsKey(tp)).toList());
            }
        } finally {
            activeReader = null;
        }
        return out;
    }

    /** Makes the reader of a recovery under way, if any, leave the call it is in (a WakeupException). */
    void wakeup() {
        KafkaConsumer<byte[], byte[]> r = activeReader;
        if (r != null) {
            r.wakeup();
        }
    }

    private static String origin(ConsumerRecord<byte[], byte[]> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }
}
