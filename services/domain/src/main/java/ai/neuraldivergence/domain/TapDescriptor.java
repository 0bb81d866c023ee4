package ai.neuraldivergence.domain;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a tap is: its name, its position in network order, its output shape without the batch dimension, how many
 * neurons it has and how a rank-4 output became one value per channel.
 */
public record TapDescriptor(String modelId, String modelVersion, String tap, int tapIndex, int[] shape,
        int neuronCount, Reduction reduction) {

    public TapDescriptor {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(modelVersion, "modelVersion");
        Objects.requireNonNull(tap, "tap");
        Objects.requireNonNull(reduction, "reduction");
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** True when {@code other} describes the same tap with the same layout (what a merge of their data needs). */
    public boolean sameLayout(TapDescriptor other) {
        return tapIndex == other.tapIndex && neuronCount == other.neuronCount && reduction == other.reduction
                && Arrays.equals(shape, other.shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TapDescriptor t && t.modelId.equals(modelId) && t.modelVersion.equals(modelVersion)
                && t.tap.equals(tap) && sameLayout(t);
    }

    @Override
    public int hashCode() {
        return Objects.hash(modelId, modelVersion, tap, tapIndex, Arrays.hashCode(shape), neuronCount, reduction);
    }

    @Override
    public String toString() {
        return modelId + ":" + modelVersion + "/" + tap + "#" + tapIndex + Arrays.toString(shape) + " " + neuronCount
                + " neurons, " + reduction.word();
    }
}
