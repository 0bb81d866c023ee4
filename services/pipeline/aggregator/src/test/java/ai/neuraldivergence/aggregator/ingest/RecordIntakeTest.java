package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.contract.ActivationBatchValidator;
import ai.neuraldivergence.domain.SlicePolicy;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** What the aggregator makes of a consumed activation record that reaches a sealed reference. */
class RecordIntakeTest {

    private static final Instant NOW = Instant.parse("2026-12-05T10:15:42Z");
    private static final String SEALED_REFERENCE = "training";

    private final RecordIntake intake = new RecordIntake(new NamedTopics(), ActivationBatchValidator.Rules.defaults(),
            1024, tap -> Optional.empty(), tap -> tap, (reference, tap) -> reference.name().equals(SEALED_REFERENCE));

    @Test
    void observationsOfASealedReferenceAreDeadLetteredAndTheRecordsOtherObservationsAggregated()
            throws InvalidProtocolBufferException {
        // the inference service merged three clients' requests into one record: an untagged one, one for a
        // reference being built, one for the reference sealed since its request was accepted
        ConsumerRecord<byte[], byte[]> record = record(batch(
                observation("plain", null, 1f), observation("sealed-1", SEALED_REFERENCE, 2f),
                observation("building", "holdout", 3f), observation("sealed-2", SEALED_REFERENCE, 4f)));

        RecordIntake.Activations read = assertInstanceOf(RecordIntake.Activations.class, intake.read(record));
        assertEquals(List.of("plain", "building"), instances(read.batch()));
        assertEquals(List.of(1f, 1f, 3f, 3f), read.batch().getActivationsList(), "each kept observation's own row");

        PendingDelta delta = new PendingDelta(accumulator());
        intake.apply(read, delta);
        assertEquals(1, delta.batches());
        WindowAccumulator.Drained drained = delta.accumulator.drain();
        assertEquals(List.of("plain"), drained.windows().entrySet().stream()
                .filter(w -> w.getKey().slice().equals(ai.neuraldivergence.domain.Slice.ALL))
                .flatMap(w -> w.getValue().instanceIds().stream()).toList(), "the untagged one is live traffic");
        assertEquals(List.of("building"), drained.references().entrySet().stream()
                .filter(r -> r.getKey().slice().equals(ai.neuraldivergence.domain.Slice.ALL))
                .flatMap(r -> r.getValue().instanceIds().stream()).toList(), "the other one builds its reference");
        assertEquals(1, delta.deadLetters().size());
        PendingDelta.DeadLetter letter = delta.deadLetters().get(0);
        assertTrue(letter.reason().startsWith("reference-sealed: reference 'training' of model m version 1 is "
                + "sealed (tap dense)"), letter.reason());
        ActivationBatch refused = ActivationBatch.parseFrom(letter.record().value());
        assertEquals(List.of("sealed-1", "sealed-2"), instances(refused));
        assertEquals(List.of(2f, 2f, 4f, 4f), refused.getActivationsList());
        assertEquals("dense", refused.getTap(), "the dead letter is a batch that can be replayed as it is");
        assertEquals(record.offset(), letter.record().offset(), "and names where it was read");
        assertEquals(record.partition(), letter.record().partition());
    }

    @Test
    void aRecordOfASealedReferenceAloneIsDeadLetteredWhole() {
        ConsumerRecord<byte[], byte[]> record = record(batch(observation("sealed-1", SEALED_REFERENCE, 2f)));
        RecordIntake.Refused refused = assertInstanceOf(RecordIntake.Refused.class, intake.read(record));
        assertEquals(record.value(), refused.record().value());
        assertTrue(refused.reason().startsWith("reference-sealed: "), refused.reason());
    }

    @Test
    void aRecordStampedBeyondWhatTheDatabaseStoresIsDeadLettered() {
        // a label whose record says year 292,278,994: its join horizon was written to PostgreSQL, which refused it,
        // and every flush of its partition failed
        ai.neuraldivergence.proto.v1.LabelEvent label = ai.neuraldivergence.proto.v1.LabelEvent.newBuilder()
                .setModelId("m").setInstanceId("plain").setTrueLabel(3)
                .setLabelledAt(Timestamp.newBuilder().setSeconds(NOW.getEpochSecond())).build();
        ConsumerRecord<byte[], byte[]> far = new ConsumerRecord<>("nd.labels", 0, 7L, Long.MAX_VALUE,
                org.apache.kafka.common.record.TimestampType.CREATE_TIME, 0, label.getSerializedSize(), null,
                label.toByteArray(), new org.apache.kafka.common.header.internals.RecordHeaders(), Optional.empty());
        RecordIntake.Refused refused = assertInstanceOf(RecordIntake.Refused.class, intake.read(far));
        assertEquals("record timestamp " + Long.MAX_VALUE + " ms is outside 0001-01-01 .. 9999-12-31",
                refused.reason());
    }

    @Test
    void aCapturedInputStampedPastTheFutureSkewIsDeadLettered() {
        // inputs are kept newest event time first: ones stamped years ahead would each keep a partition and evict
        // every real input
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0};
        ai.neuraldivergence.proto.v1.CapturedInput.Builder input = ai.neuraldivergence.proto.v1.CapturedInput
                .newBuilder().setModelId("m").setModelVersion("1").setInstanceId("plain")
                .setPng(com.google.protobuf.ByteString.copyFrom(png));
        java.util.function.Function<Instant, RecordIntake.Item> read = eventTime -> {
            byte[] value = input.setEventTime(Timestamp.newBuilder().setSeconds(eventTime.getEpochSecond())).build()
                    .toByteArray();
            return intake.read(new ConsumerRecord<>("nd.inputs", 0, 1L, NOW.toEpochMilli(),
                    org.apache.kafka.common.record.TimestampType.CREATE_TIME, 0, value.length, null, value,
                    new org.apache.kafka.common.header.internals.RecordHeaders(), Optional.empty()));
        };
        assertInstanceOf(RecordIntake.Input.class, read.apply(NOW.plusSeconds(60)), "within the skew");
        RecordIntake.Refused refused = assertInstanceOf(RecordIntake.Refused.class,
                read.apply(Instant.parse("9999-01-01T00:00:00Z")));
        assertTrue(refused.reason().startsWith("CapturedInput event_time 9999-01-01T00:00:00Z is more than 5m "
                + "after 2026-12-05T10:15:42Z"), refused.reason());
        assertInstanceOf(RecordIntake.Input.class, read.apply(NOW.minus(Duration.ofDays(3))),
                "an older one is kept (its ttl retires it)");
    }

    private static WindowAccumulator accumulator() {
        return new WindowAccumulator(new SlicePolicy(Set.of(), 8, (k, v, w) -> { }), Duration.ofMinutes(15));
    }

    private static List<String> instances(ActivationBatch batch) {
        return batch.getObservationsList().stream().map(Observation::getInstanceId).toList();
    }

    private static ActivationBatch batch(Observation... observations) {
        ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("dense")
                .addTapShape(2).setNeuronCount(2).setReduction(Reduction.REDUCTION_NONE);
        for (Observation o : observations) {
            b.addObservations(o);
            // both neurons of an observation carry the value its test gave it, so that rows are told apart
            float value = Float.parseFloat(o.getTagsOrDefault("value", "0"));
            b.addActivations(value).addActivations(value);
        }
        return b.build();
    }

    private static Observation observation(String instance, String reference, float value) {
        Observation.Builder o = Observation.newBuilder().setInstanceId(instance).setPredictedClass(1)
                .setEventTime(Timestamp.newBuilder().setSeconds(NOW.getEpochSecond()))
                .putTags("value", Float.toString(value));
        if (reference != null) {
            o.putTags("reference", reference);
        }
        return o.build();
    }

    private static ConsumerRecord<byte[], byte[]> record(ActivationBatch batch) {
        return new ConsumerRecord<>("nd.activations", 3, 42L, NOW.toEpochMilli(),
                org.apache.kafka.common.record.TimestampType.CREATE_TIME, 6, batch.getSerializedSize(),
                "m/dense".getBytes(java.nio.charset.StandardCharsets.UTF_8), batch.toByteArray(),
                new org.apache.kafka.common.header.internals.RecordHeaders(), Optional.empty());
    }

    /** The default topic names, as the configuration gives them. */
    private static final class NamedTopics implements Topics {
        @Override
        public String activations() {
            return "nd.activations";
        }

        @Override
        public String deadLetter() {
            return "nd.activations.dlq";
        }

        @Override
        public String windowUpdates() {
            return "nd.window-updates";
        }

        @Override
        public String labels() {
            return "nd.labels";
        }

        @Override
        public String inputs() {
            return "nd.inputs";
        }

        @Override
        public String referenceSeals() {
            return "nd.reference-seals";
        }
    }
}
