package ai.neuraldivergence.contract;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.PairRole;
import ai.neuraldivergence.proto.v1.Reduction;
import java.util.Optional;

/**
 * What makes an {@link ActivationBatch} valid: one definition, used by the inference service before it publishes
 * and by the aggregator before it aggregates. Says what is wrong when it is not.
 */
public final class ActivationBatchValidator {

    static final int MAX_NAME_LENGTH = 128;
    static final int MAX_NEURONS = 65_536;
    static final int MAX_TAGS = 32;
    static final int MAX_TAG_VALUE_LENGTH = 256;

    private ActivationBatchValidator() {
    }

    /** Empty when the batch is valid, else a message naming the first problem found. */
    public static Optional<String> problem(ActivationBatch b) {
        if (!isName(b.getModelId())) {
            return Optional.of("model_id must be 1.." + MAX_NAME_LENGTH + " characters");
        }
        if (!isName(b.getModelVersion())) {
            return Optional.of("model_version must be 1.." + MAX_NAME_LENGTH + " characters");
        }
        if (!isName(b.getTap())) {
            return Optional.of("tap must be 1.." + MAX_NAME_LENGTH + " characters");
        }
        if (b.getTapIndex() < 0) {
            return Optional.of("tap_index must be >= 0, got " + b.getTapIndex());
        }
        int neurons = b.getNeuronCount();
        if (neurons <= 0 || neurons > MAX_NEURONS) {
            return Optional.of("neuron_count must be 1.." + MAX_NEURONS + ", got " + neurons);
        }
        Optional<String> shape = shapeProblem(b);
        if (shape.isPresent()) {
            return shape;
        }
        if (b.getObservationsCount() == 0) {
            return Optional.of("batch has no observations");
        }
        long expected = (long) b.getObservationsCount() * neurons;
        if (b.getActivationsCount() != expected) {
            return Optional.of("activations must hold observations x neurons = " + b.getObservationsCount() + " x "
                    + neurons + " = " + expected + " floats, got " + b.getActivationsCount());
        }
        for (int i = 0; i < b.getActivationsCount(); i++) {
            if (!Float.isFinite(b.getActivations(i))) {
                return Optional.of("activation " + (i % neurons) + " of observation " + (i / neurons)
                        + " is not finite (" + b.getActivations(i) + ")");
            }
        }
        for (int i = 0; i < b.getObservationsCount(); i++) {
            Optional<String> o = observationProblem(b.getObservations(i));
            if (o.isPresent()) {
                return Optional.of("observation " + i + ": " + o.get());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> shapeProblem(ActivationBatch b) {
        int rank = b.getTapShapeCount();
        Reduction r = b.getReduction();
        if (rank == 1) {
            if (b.getTapShape(0) != b.getNeuronCount()) {
                return Optional.of("a rank-2 tap of shape [" + b.getTapShape(0) + "] has " + b.getTapShape(0)
                        + " neurons, batch says " + b.getNeuronCount());
            }
            if (r != Reduction.REDUCTION_NONE) {
                return Optional.of("a rank-2 tap takes reduction NONE, got " + r);
            }
        } else if (rank == 3) {
            if (b.getTapShape(2) != b.getNeuronCount()) {
                return Optional.of("a rank-4 tap has one neuron per channel (" + b.getTapShape(2)
                        + "), batch says " + b.getNeuronCount());
            }
            if (r != Reduction.REDUCTION_MAX && r != Reduction.REDUCTION_MEAN) {
                return Optional.of("a rank-4 tap takes reduction MAX or MEAN, got " + r);
            }
        } else {
            return Optional.of("tap_shape must be [units] or [height, width, channels] (without the batch "
                    + "dimension), got rank " + rank);
        }
        for (int d : b.getTapShapeList()) {
            if (d <= 0) {
                return Optional.of("tap_shape dimensions must be > 0, got " + b.getTapShapeList());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> observationProblem(Observation o) {
        if (!isName(o.getInstanceId())) {
            return Optional.of("instance_id must be 1.." + MAX_NAME_LENGTH + " printable characters");
        }
        if (!o.hasEventTime() || o.getEventTime().getSeconds() <= 0) {
            return Optional.of("event_time is missing");
        }
        if (o.getPredictedClass() < 0) {
            return Optional.of("predicted_class must be >= 0, got " + o.getPredictedClass());
        }
        if (o.hasTrueLabel() && o.getTrueLabel() < 0) {
            return Optional.of("true_label must be >= 0, got " + o.getTrueLabel());
        }
        boolean paired = !o.getPairId().isEmpty();
        boolean hasRole = o.getPairRole() != PairRole.PAIR_ROLE_UNSPECIFIED;
        if (paired != hasRole) {
            return Optional.of("pair_id and pair_role come together");
        }
        if (o.getPairRole() == PairRole.UNRECOGNIZED) {
            return Optional.of("unknown pair_role");
        }
        if (!o.getPairId().isEmpty() && !isName(o.getPairId())) {
            return Optional.of("pair_id must be 1.." + MAX_NAME_LENGTH + " printable characters");
        }
        if (o.getTagsCount() > MAX_TAGS) {
            return Optional.of("at most " + MAX_TAGS + " tags, got " + o.getTagsCount());
        }
        for (var tag : o.getTagsMap().entrySet()) {
            if (!isName(tag.getKey()) || tag.getValue().length() > MAX_TAG_VALUE_LENGTH
                    || tag.getValue().chars().anyMatch(Character::isISOControl)) {
                return Optional.of("tag '" + tag.getKey() + "': keys take 1.." + MAX_NAME_LENGTH
                        + " printable characters, values up to " + MAX_TAG_VALUE_LENGTH);
            }
        }
        String reference = o.getTagsMap().get("reference");
        if (reference != null && (!isName(reference) || reference.chars().anyMatch(Character::isISOControl))) {
            return Optional.of("tag reference must name a reference in 1.." + MAX_NAME_LENGTH
                    + " printable characters");
        }
        return Optional.empty();
    }

    // control characters (NUL above all, which PostgreSQL text refuses) would fail every flush that carries them
    private static boolean isName(String s) {
        return !s.isEmpty() && s.length() <= MAX_NAME_LENGTH && s.chars().noneMatch(Character::isISOControl);
    }
}
