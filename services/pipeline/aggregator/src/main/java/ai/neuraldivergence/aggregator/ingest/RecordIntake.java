package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CapturedInput;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Turns one consumed record into what a delta takes: an activation batch, a late label or a captured input, each
 * checked with the rules the inference service applies at its edge (other producers write to Kafka too), or a dead
 * letter saying why not. Reading and applying are two steps so that the consumer can weigh a record against its
 * byte budget before the delta takes it.
 */
final class RecordIntake {

    /** A record read and checked, ready to go into a delta. */
    sealed interface Item {
        ConsumerRecord<byte[], byte[]> record();

        /** The heap it will take in the delta. */
        long bytes();
    }

    /**
     * A batch accepted, whole or but for its {@code refusedPart} (its observations of a sealed reference, as a record
     * of their own with the original's topic, partition and offset: dead-lettered beside), or null.
     */
    record Activations(ConsumerRecord<byte[], byte[]> record, ActivationBatch batch, TapDescriptor tap,
            Refused refusedPart) implements Item {
        @Override
        public long bytes() {
            return WindowAccumulator.bytesFor(batch, tap) + (refusedPart == null ? 0 : refusedPart.bytes());
        }
    }

    record Label(ConsumerRecord<byte[], byte[]> record, LabelEvent label) implements Item {
        @Override
        public long bytes() {
            return WindowAccumulator.LABEL_BYTES;
        }
    }

    record Input(ConsumerRecord<byte[], byte[]> record, RecentObservationStore.CapturedInput input) implements Item {
        @Override
        public long bytes() {
            return WindowAccumulator.LABEL_BYTES + input.png().length;
        }
    }

    record Refused(ConsumerRecord<byte[], byte[]> record, String reason) implements Item {
        @Override
        public long bytes() {
            return 256L + (record.value() == null ? 0 : record.value().length);
        }
    }

    private final Topics topics;
    private final ActivationBatchValidator.Rules rules;
    private final int defaultBlockSize;
    private final Function<TapDescriptor, Optional<TapDescriptor>> storedTap;
    private final java.util.function.UnaryOperator<TapDescriptor> registeredScales;
    private final BiPredicate<ReferenceStore.ReferenceId, String> tapSealed;
    // taps whose layout is known: stored, or first declared by a record this instance read since the last reset
    private final Map<String, TapDescriptor> knownTaps = new HashMap<>();
    // the feature scales of layouts (model, tap, neuron count) first accepted since the last reset, registered or
    // not yet: a delta holding two versions of a new layout sums both through the first one's, as the store will
    private final Map<String, Optional<float[]>> layoutScales = new HashMap<>();
    // reference taps looked up since the last hand-over: sealed or not as committed then
    private final Map<String, Boolean> sealedTaps = new HashMap<>();

    RecordIntake(Topics topics, ActivationBatchValidator.Rules rules, int defaultBlockSize,
            Function<TapDescriptor, Optional<TapDescriptor>> storedTap,
            java.util.function.UnaryOperator<TapDescriptor> registeredScales,
            BiPredicate<ReferenceStore.ReferenceId, String> tapSealed) {
        if (defaultBlockSize <= 0) {
            throw new IllegalArgumentException("nd.aggregator.block-size must be > 0, got " + defaultBlockSize);
        }
        this.topics = topics;
        this.rules = rules;
        this.defaultBlockSize = defaultBlockSize;
        this.storedTap = storedTap;
        this.registeredScales = registeredScales;
        this.tapSealed = tapSealed;
    }

    /** Forgets the layouts learnt from records: after a delta is dropped, only stored layouts count. */
    void forgetLayouts() {
        knownTaps.clear();
        layoutScales.clear();
        sealedTaps.clear();
    }

    /**
     * Forgets which reference taps are sealed: looked up again for the next delta, so that a seal is seen within a
     * flush (the flush itself refuses what reaches a sealed tap) and a deleted reference can be built again.
     */
    void forgetSeals() {
        sealedTaps.clear();
    }

    Item read(ConsumerRecord<byte[], byte[]> record) {
        // a record's timestamp is written to the database (a label's join horizon, a partition's watermark) and
        // bounds its event times: one past what PostgreSQL stores would fail every flush of its partition for good
        if (record.timestamp() >= 0
                && !ActivationBatchValidator.representable(Instant.ofEpochMilli(record.timestamp()))) {
            return new Refused(record, "record timestamp " + record.timestamp() + " ms is outside 0001-01-01 .. "
                    + "9999-12-31");
        }
        if (record.topic().equals(topics.labels())) {
            return decoded(record, LabelEvent.parser(), "LabelEvent", RecordIntake::label);
        }
        if (record.topic().equals(topics.inputs())) {
            return decoded(record, CapturedInput.parser(), "CapturedInput", this::input);
        }
        return decoded(record, ActivationBatch.parser(), "ActivationBatch", this::activations);
    }

    /** The record's value as a {@code type}, checked by {@code check}; refused when it does not decode. */
    private static <M> Item decoded(ConsumerRecord<byte[], byte[]> record, Parser<M> parser, String type,
            BiFunction<ConsumerRecord<byte[], byte[]>, M, Item> check) {
        M message;
        try {
            message = parser.parseFrom(record.value() == null ? new byte[0] : record.value());
        } catch (InvalidProtocolBufferException e) {
            return new Refused(record, "undecodable " + type + ": " + e.getMessage());
        }
        return check.apply(record, message);
    }

    private static Item label(ConsumerRecord<byte[], byte[]> record, LabelEvent label) {
        return ActivationBatchValidator.labelProblem(label).<Item>map(p -> new Refused(record, "LabelEvent " + p))
                .orElseGet(() -> new Label(record, label));
    }

    private Item input(ConsumerRecord<byte[], byte[]> record, CapturedInput input) {
        Optional<String> problem = CapturedInputs.problem(input);
        if (problem.isPresent()) {
            return new Refused(record, problem.get());
        }
        // no later than the record's timestamp allows, as an observation's: the store keeps the newest inputs by
        // event time, and inputs stamped years ahead would each keep a partition for good and evict every real one
        Optional<String> time = ActivationBatchValidator.eventTimeProblem(Instant.ofEpochSecond(
                input.getEventTime().getSeconds(), input.getEventTime().getNanos()), true, rules,
                Instant.ofEpochMilli(record.timestamp()));
        if (time.isPresent()) {
            return new Refused(record, "CapturedInput " + time.get());
        }
        return new Input(record, new RecentObservationStore.CapturedInput(input.getModelId(),
                input.getModelVersion(), input.getInstanceId(), Instant.ofEpochSecond(
                        input.getEventTime().getSeconds(), input.getEventTime().getNanos()),
                input.getPng().toByteArray()));
    }

    private Item activations(ConsumerRecord<byte[], byte[]> record, ActivationBatch batch) {
        // the event-time bounds are measured against the record's timestamp, so that a replay decides alike
        Optional<String> problem = ActivationBatchValidator.problem(batch, rules,
                Instant.ofEpochMilli(record.timestamp()));
        if (problem.isPresent()) {
            return new Refused(record, problem.get());
        }
        TapDescriptor declared = WindowAccumulator.tapOf(batch, defaultBlockSize);
        TapDescriptor known = knownTap(declared);
        if (!known.sameLayout(declared)) {
            return new Refused(record, "layout of tap " + declared.tap() + " differs from the stored one: stored "
                    + known + ", batch " + declared);
        }
        // a block size is fixed when the tap is first registered: a producer that expects another would place and
        // split its records otherwise
        if (batch.getBlockSize() > 0 && declared.blockSize() != known.blockSize()) {
            return new Refused(record, "layout of tap " + declared.tap() + " differs from the stored one: stored "
                    + "blocks of " + known.blockSize() + " neurons, batch declares " + declared.blockSize());
        }
        Optional<String> range = WindowAccumulator.rangeProblem(batch, known);
        if (range.isPresent()) {
            return new Refused(record, range.get());
        }
        // a sealed reference never changes: what still arrives for it is kept aside, not merged. Only its own
        // observations are: the inference service merges concurrent requests into one record, and an observation
        // tagged for a reference sealed after its request was accepted must not cost the others theirs
        boolean[] sealedAt = new boolean[batch.getObservationsCount()];
        int sealedCount = 0;
        String sealedReference = null;
        for (int i = 0; i < sealedAt.length; i++) {
            String reference = batch.getObservations(i).getTagsMap().get(ReferenceKey.TAG);
            if (reference != null && sealed(new ReferenceStore.ReferenceId(known.modelId(), known.modelVersion(),
                    reference), known.tap())) {
                sealedAt[i] = true;
                sealedCount++;
                sealedReference = sealedReference == null ? reference : sealedReference;
            }
        }
        if (sealedReference != null) {
            String reason = SEALED + ": reference '" + sealedReference + "' of model " + known.modelId()
                    + " version " + known.modelVersion() + " is sealed (tap " + known.tap() + ")";
            if (sealedCount == sealedAt.length) {
                return new Refused(record, reason);
            }
            ActivationBatch refusedPart = BatchSplit.select(batch, sealedAt, true);
            ActivationBatch kept = BatchSplit.select(batch, sealedAt, false);
            remember(known);
            return new Activations(record, kept, known, new Refused(BatchSplit.withValue(record, refusedPart),
                    reason + "; the record's " + kept.getObservationsCount() + " other observations were accepted"));
        }
        // a layout is learnt from a record only once one of its records is accepted: a refused one (a range that is
        // not whole blocks, say) must not make its layout the tap's for the records behind it
        remember(known);
        return new Activations(record, batch, known, null);
    }

    private void remember(TapDescriptor known) {
        knownTaps.putIfAbsent(keyOf(known), known);
        layoutScales.putIfAbsent(layoutOf(known), Optional.ofNullable(known.featureScales()));
    }

    /** How a dead letter for a sealed reference starts (its metric reason). */
    static final String SEALED = "reference-sealed";

    private boolean sealed(ReferenceStore.ReferenceId id, String tap) {
        return sealedTaps.computeIfAbsent(id.topicKey() + '\u0000' + tap, k -> tapSealed.test(id, tap));
    }

    /** Puts what was read into the delta, and marks the record consumed. */
    void apply(Item item, PendingDelta delta) {
        ConsumerRecord<byte[], byte[]> record = item.record();
        if (item instanceof Activations a) {
            delta.accumulator.add(a.batch(), a.tap(), Instant.ofEpochMilli(record.timestamp()));
            delta.countBatch();
            if (a.refusedPart() != null) {
                delta.deadLetter(a.refusedPart().record(), a.refusedPart().reason());
            }
        } else if (item instanceof Label l) {
            delta.accumulator.addLabel(l.label(), Instant.ofEpochMilli(record.timestamp()));
            delta.countLabel();
        } else if (item instanceof Input in) {
            delta.accumulator.addInput(in.input());
            delta.countInput();
        } else if (item instanceof Refused r) {
            delta.deadLetter(record, r.reason());
        }
        delta.consumed(new TopicPartition(record.topic(), record.partition()), record.offset(), record.timestamp());
    }

    /** The tap's layout as stored, or as learnt from an accepted record; else the one {@code declared}. */
    private TapDescriptor knownTap(TapDescriptor declared) {
        String key = keyOf(declared);
        TapDescriptor known = knownTaps.get(key);
        if (known == null) {
            Optional<TapDescriptor> stored = storedTap.apply(declared);
            if (stored.isEmpty()) {
                // a new tap, or a new version of a layout registered before or met first in this delta: that
                // layout's feature scales are its
                Optional<float[]> first = layoutScales.get(layoutOf(declared));
                return first != null ? declared.withFeatureScales(first.orElse(null))
                        : registeredScales.apply(declared);
            }
            known = stored.get();
            knownTaps.put(key, known);
        }
        return known;
    }

    private static String layoutOf(TapDescriptor tap) {
        return tap.modelId() + '\u0000' + tap.tap() + '\u0000' + tap.neuronCount();
    }

    private static String keyOf(TapDescriptor tap) {
        return tap.modelId() + '\u0000' + tap.modelVersion() + '\u0000' + tap.tap();
    }
}
