package ai.neuraldivergence.inference.model;

import ai.neuraldivergence.domain.TapDescriptor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What the inference service knows of its model: identity, input, outputs and taps in network order. A tap is a
 * {@link TapDescriptor}, as everywhere else; what only the served model knows of it is where its signature holds it
 * already reduced ({@link #reducedOutput}).
 *
 * @param reducedOutputs by tap name, the signature output that holds a rank-4 tap reduced the configured way
 *     (computed in the model's own run, the cheapest way to capture); a wide tap may be exported only that way, so
 *     the signature need not have an output of the tap's own name when it has one here
 */
public record ModelSpec(String modelId, String modelVersion, int[] inputShape, String probabilitiesOutput,
        List<TapDescriptor> taps, Map<String, String> reducedOutputs) {

    public ModelSpec {
        inputShape = inputShape.clone();
        taps = List.copyOf(taps);
        reducedOutputs = Map.copyOf(reducedOutputs);
        for (TapDescriptor tap : taps) {
            int rank = tap.shape().length;
            if (rank != 1 && rank != 3) {
                throw new IllegalArgumentException("tap " + tap.tap() + " must be rank 2 [N, units] or rank 4 [N, H, "
                        + "W, C], got shape [N, " + Arrays.toString(tap.shape()) + "]");
            }
            if (reducedOutputs.containsKey(tap.tap()) && rank != 3) {
                throw new IllegalArgumentException("tap " + tap.tap() + " is rank 2: it has no reduced output, got "
                        + reducedOutputs.get(tap.tap()));
            }
        }
    }

    @Override
    public int[] inputShape() {
        return inputShape.clone();
    }

    /** The signature output holding {@code tap} already reduced, or null when it is reduced here. */
    public String reducedOutput(TapDescriptor tap) {
        return reducedOutputs.get(tap.tap());
    }

    /** Values one input holds (784 for 28 x 28 x 1). */
    public int inputSize() {
        int n = 1;
        for (int d : inputShape) {
            n *= d;
        }
        return n;
    }
}
