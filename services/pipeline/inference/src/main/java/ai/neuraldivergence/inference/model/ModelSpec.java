package ai.neuraldivergence.inference.model;

import java.util.List;

/** What the inference service knows of its model: identity, input, outputs and taps in network order. */
public record ModelSpec(String modelId, String modelVersion, int[] inputShape, String probabilitiesOutput,
        List<TapSpec> taps) {

    public ModelSpec {
        inputShape = inputShape.clone();
        taps = List.copyOf(taps);
    }

    @Override
    public int[] inputShape() {
        return inputShape.clone();
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
