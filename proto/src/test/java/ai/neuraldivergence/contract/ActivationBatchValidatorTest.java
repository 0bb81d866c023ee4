package ai.neuraldivergence.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ActivationBatchValidatorTest {

    static final Instant NOW = Instant.ofEpochSecond(1_764_000_000);
    static final ActivationBatchValidator.Rules RULES = new ActivationBatchValidator.Rules(16_384,
            Duration.ofMinutes(5), Duration.ofMinutes(15));

    static ActivationBatch.Builder valid() {
        return ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("conv1").setTapIndex(0)
                .addTapShape(4).addTapShape(4).addTapShape(2).setNeuronCount(2).setReduction(Reduction.REDUCTION_MAX)
                .addObservations(Observation.newBuilder().setInstanceId("i-1")
                        .setEventTime(Timestamp.newBuilder().setSeconds(NOW.getEpochSecond())).setPredictedClass(3))
                .addActivations(0.5f).addActivations(0f);
    }

    private static String problem(ActivationBatch.Builder b) {
        return ActivationBatchValidator.problem(b.build(), RULES, NOW).orElse("valid");
    }

    private static ActivationBatch.Builder withObservation(java.util.function.UnaryOperator<Observation.Builder> f) {
        return valid().setObservations(0, f.apply(valid().getObservations(0).toBuilder()));
    }

    @Test
    void acceptsAWellFormedBatchAndNonFiniteActivations() {
        assertEquals("valid", problem(valid()));
        assertEquals("valid", problem(valid().setActivations(0, Float.NaN).setActivations(1,
                Float.NEGATIVE_INFINITY)), "NaN and infinities are data");
    }

    @Test
    void namesWhatIsWrong() {
        assertEquals("activations must hold observations x neurons = 1 x 1..2 floats (the neurons from neuron_offset "
                + "0 of 2), got 3", problem(valid().addActivations(1f)));
        assertEquals("model_id must be 1..128 characters without control characters, got none",
                problem(valid().setModelId("")));
        assertEquals("tap_shape: a rank-4 tap has one neuron per channel (2), neuron_count says 3",
                problem(valid().setNeuronCount(3)));
        assertEquals("reduction: a rank-4 tap takes MAX or MEAN, got REDUCTION_NONE",
                problem(valid().setReduction(Reduction.REDUCTION_NONE)));
        assertTrue(problem(valid().clearTapShape()).startsWith("tap_shape must be"));
        assertEquals("batch has no observations", problem(valid().clearObservations().clearActivations()));
        assertEquals("observations[0].event_time is missing", problem(withObservation(Observation.Builder::clearEventTime)));
        assertEquals("observations[0].pair_id and pair_role come together",
                problem(withObservation(o -> o.setPairId("p"))));
        assertEquals("valid", problem(withObservation(o -> o.setPairId("p").setPairRole(PairRole.PAIR_ROLE_ATTACKED))));
    }

    @Test
    void declaredNeuronScalesAreOnePositiveFiniteNumberPerNeuron() {
        assertEquals("valid", problem(valid().addNeuronScales(0.5f).addNeuronScales(2e3f)));
        assertEquals("neuron_scales must be empty or hold neuron_count = 2 values, got 1",
                problem(valid().addNeuronScales(1f)));
        // 1e-40 is positive and finite, but its inverse is not: every projection of the layout would be non-finite
        for (float bad : new float[] {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, 1e-40f, Float.MIN_VALUE}) {
            assertEquals("neuron_scales[1] must be a positive finite number with a finite inverse, got " + bad,
                    problem(valid().addNeuronScales(1f).addNeuronScales(bad)));
        }
        assertEquals("valid", problem(valid().addNeuronScales(1f).addNeuronScales(3e-38f)), "a tiny scale is fine");
    }

    @Test
    void layerProjectionsAreOnePerObservationAndDirectionOnBlockZerosRecords() {
        ActivationBatch.Builder projected = valid();
        for (int j = 0; j < ActivationBatchValidator.PROJECTIONS; j++) {
            projected.addLayerProjections(j == 3 ? Float.NaN : j);
        }
        assertEquals("valid", problem(projected), "a NaN counts its observation as non-finite, as an activation does");
        assertEquals("layer_projections must be empty or hold observations x 128 = 1 x 128 floats, got 129",
                problem(projected.clone().addLayerProjections(1f)));
        assertEquals("layer_projections come with the records of block 0 (neuron_offset 0), got them with "
                + "neuron_offset 1", problem(projected.clone().setNeuronOffset(1).clearActivations()
                        .addActivations(0.5f)));
    }

    @Test
    void aBatchMayCarryAContiguousRangeOfItsTapsNeurons() {
        // the tap has 2 neurons: the second alone, from neuron_offset 1
        assertEquals("valid", problem(valid().setNeuronOffset(1).clearActivations().addActivations(0.5f)));
        assertEquals(1, ActivationBatchValidator.width(valid().setNeuronOffset(1).clearActivations()
                .addActivations(0.5f).build()));
        assertEquals("activations must hold observations x neurons = 1 x 1..1 floats (the neurons from neuron_offset "
                + "1 of 2), got 2", problem(valid().setNeuronOffset(1)), "past the tap's end");
        assertEquals("neuron_offset must be 0..1 (a neuron of the tap), got 2", problem(valid().setNeuronOffset(2)));
        assertEquals("neuron_offset must be 0..1 (a neuron of the tap), got -1",
                problem(valid().setNeuronOffset(-1)));
        assertEquals("block_size must be 0 (the stored one) or 1..16384, got -4", problem(valid().setBlockSize(-4)));
        assertEquals("valid", problem(valid().setBlockSize(1)));
    }

    @Test
    void refusesWhatPostgresOrProtobufCouldNotKeep() {
        // a NUL in any stored string would fail every flush that carries it
        assertEquals("observations[0].instance_id must be 1..128 characters without control characters, got "
                + "\"a\\u0000b\"", problem(withObservation(o -> o.setInstanceId("a\u0000b"))));
        assertTrue(problem(valid().setModelId("m\u0000")).startsWith("model_id must be"));
        assertTrue(problem(valid().setModelVersion("1\n")).startsWith("model_version must be"));
        assertTrue(problem(valid().setTap("\u007f")).startsWith("tap must be"));
        assertTrue(problem(withObservation(o -> o.setInstanceId("x".repeat(129)))).endsWith("got 129"));
        assertTrue(problem(withObservation(o -> o.setInstanceId("a\ud800b"))).startsWith(
                "observations[0].instance_id"), "an unpaired surrogate is not Unicode");
        assertEquals("valid", problem(withObservation(o -> o.setInstanceId("digit-\ud83d\ude00"))), "a pair is");
        assertEquals("observations[0].tags[\"k\"]: values take up to 256 characters without control characters",
                problem(withObservation(o -> o.putTags("k", "v\u0000"))));
        assertEquals("observations[0].tags[\"k\"]: values take up to 256 characters without control characters",
                problem(withObservation(o -> o.putTags("k", "v".repeat(257)))));
        assertTrue(problem(withObservation(o -> o.putTags("k\u0001", "v"))).startsWith("observations[0].tags: keys"));
        assertTrue(problem(withObservation(o -> o.setPairId("p\u0000").setPairRole(PairRole.PAIR_ROLE_BENIGN)))
                .startsWith("observations[0].pair_id"));
        var many = valid().getObservations(0).toBuilder();
        for (int i = 0; i < 33; i++) {
            many.putTags("t" + i, "v");
        }
        assertEquals("observations[0].tags: at most 32 tags, got 33", problem(valid().setObservations(0, many)));
        // year 295,000 (PostgreSQL would store it, protobuf's Timestamp cannot carry it back) and bad nanos
        assertTrue(problem(withObservation(o -> o.setEventTime(Timestamp.newBuilder().setSeconds(9_246_000_000_000L))))
                .startsWith("observations[0].event_time must lie in 0001-01-01..9999-12-31"));
        assertTrue(problem(withObservation(o -> o.setEventTime(Timestamp.newBuilder().setSeconds(1).setNanos(-1))))
                .startsWith("observations[0].event_time must lie in"));
        assertEquals("neuron_count must be 1..16384 (the neuron limit per tap), got 16385", problem(
                valid().clearTapShape().addTapShape(16_385).setNeuronCount(16_385)
                        .setReduction(Reduction.REDUCTION_NONE)));
    }

    @Test
    void eventTimesMustLieBetweenTheLatenessAndTheSkew() {
        assertEquals("valid", problem(withObservation(o -> o.setEventTime(seconds(NOW.plusSeconds(299))))));
        assertTrue(problem(withObservation(o -> o.setEventTime(seconds(NOW.plusSeconds(301)))))
                .startsWith("observations[0].event_time 2025-11-24T16:05:01Z is more than 5m after"));
        assertTrue(problem(withObservation(o -> o.setEventTime(seconds(Instant.parse("3000-01-01T00:00:00Z")))))
                .contains("the future skew allowed"));
        assertTrue(problem(withObservation(o -> o.setEventTime(seconds(NOW.minusSeconds(901)))))
                .contains("the allowed lateness"));
        assertEquals("valid", problem(withObservation(o -> o.setEventTime(seconds(NOW.minusSeconds(86_400)))
                .putTags("reference", "training"))), "a reference has no window");
        ActivationBatchValidator.Rules noLowerBound = new ActivationBatchValidator.Rules(16_384,
                Duration.ofMinutes(5), null);
        assertFalse(ActivationBatchValidator.problem(withObservation(o -> o.setEventTime(seconds(NOW.minusSeconds(
                86_400)))).build(), noLowerBound, NOW).isPresent(), "the aggregator counts late ones itself");
    }

    @Test
    void labelsAreCheckedLikeObservations() {
        LabelEvent ok = LabelEvent.newBuilder().setModelId("m").setInstanceId("i").setTrueLabel(3).build();
        assertFalse(ActivationBatchValidator.labelProblem(ok).isPresent());
        assertTrue(ActivationBatchValidator.labelProblem(ok.toBuilder().setInstanceId("a\u0000").build()).get()
                .startsWith("instance_id must be"));
        assertTrue(ActivationBatchValidator.labelProblem(ok.toBuilder().setModelId("").build()).get()
                .startsWith("model_id must be"));
        assertEquals("true_label must be >= 0, got -1",
                ActivationBatchValidator.labelProblem(ok.toBuilder().setTrueLabel(-1).build()).get());

        assertTrue(ActivationBatchValidator.labelProblem(ok.toBuilder().setLabelledAt(Timestamp.newBuilder()
                .setSeconds(Long.MAX_VALUE)).build()).get().startsWith("labelled_at must lie in"));
    }

    private static Timestamp seconds(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).build();
    }
}
