package ai.neuraldivergence.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import org.junit.jupiter.api.Test;

class ActivationBatchValidatorTest {

    static ActivationBatch.Builder valid() {
        return ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("conv1").setTapIndex(0)
                .addTapShape(4).addTapShape(4).addTapShape(2).setNeuronCount(2).setReduction(Reduction.REDUCTION_MAX)
                .addObservations(Observation.newBuilder().setInstanceId("i-1")
                        .setEventTime(Timestamp.newBuilder().setSeconds(1_764_000_000)).setPredictedClass(3))
                .addActivations(0.5f).addActivations(0f);
    }

    private static String problem(ActivationBatch.Builder b) {
        return ActivationBatchValidator.problem(b.build()).orElse("valid");
    }

    @Test
    void acceptsAWellFormedBatch() {
        assertEquals("valid", problem(valid()));
    }

    @Test
    void namesWhatIsWrong() {
        assertEquals("activations must hold observations x neurons = 1 x 2 = 2 floats, got 3",
                problem(valid().addActivations(1f)));
        assertEquals("activation 1 of observation 0 is not finite (NaN)", problem(valid().setActivations(1, Float.NaN)));
        assertEquals("model_id must be 1..128 characters", problem(valid().setModelId("")));
        assertEquals("a rank-4 tap has one neuron per channel (2), batch says 3",
                problem(valid().setNeuronCount(3)));
        assertEquals("a rank-4 tap takes reduction MAX or MEAN, got REDUCTION_NONE",
                problem(valid().setReduction(Reduction.REDUCTION_NONE)));
        assertTrue(problem(valid().clearTapShape()).startsWith("tap_shape must be"));
        assertEquals("batch has no observations", problem(valid().clearObservations().clearActivations()));
        assertEquals("observation 0: event_time is missing",
                problem(valid().setObservations(0, valid().getObservations(0).toBuilder().clearEventTime())));
        assertEquals("observation 0: pair_id and pair_role come together",
                problem(valid().setObservations(0, valid().getObservations(0).toBuilder().setPairId("p"))));
        assertEquals("valid", problem(valid().setObservations(0,
                valid().getObservations(0).toBuilder().setPairId("p").setPairRole(PairRole.PAIR_ROLE_ATTACKED))));
    }

    @Test
    void refusesWhatPostgresCouldNotStore() {
        // a NUL in any stored string would fail every flush that carries it
        assertEquals("observation 0: instance_id must be 1..128 printable characters", problem(valid()
                .setObservations(0, valid().getObservations(0).toBuilder().setInstanceId("a\u0000b"))));
        assertEquals("model_id must be 1..128 characters", problem(valid().setModelId("m\u0000")));
        assertEquals("observation 0: tag 'k': keys take 1..128 printable characters, values up to 256",
                problem(valid().setObservations(0, valid().getObservations(0).toBuilder().putTags("k", "v\u0000"))));
        assertEquals("observation 0: tag 'k': keys take 1..128 printable characters, values up to 256",
                problem(valid().setObservations(0, valid().getObservations(0).toBuilder().putTags("k",
                        "v".repeat(257)))));
        var many = valid().getObservations(0).toBuilder();
        for (int i = 0; i < 33; i++) {
            many.putTags("t" + i, "v");
        }
        assertEquals("observation 0: at most 32 tags, got 33", problem(valid().setObservations(0, many)));
    }
}
