package ai.neuraldivergence.inference.model;

import ai.neuraldivergence.proto.v1.Reduction;
import java.util.Arrays;

/**
 * A tap of the loaded model: its signature output name, position in network order, shape without the batch
 * dimension, and how it becomes one value per neuron. {@code reducedOutput}, when not null, names a signature output
 * that already holds this tap reduced that way (computed in the model's own run, the cheapest way to capture); a
 * wide tap may be exported only that way, so the signature need not have an output {@code name} when it is set.
 */
public record TapSpec(String name, int index, int[] shape, Reduction reduction, String reducedOutput) {

    public TapSpec {
        shape = shape.clone();
        if (shape.length != 1 && shape.length != 3) {
            throw new IllegalArgumentException("tap " + name + " must be rank 2 [N, units] or rank 4 [N, H, W, C], "
                    + "got shape [N, " + Arrays.toString(shape) + "]");
        }
        if (reducedOutput != null && shape.length != 3) {
            throw new IllegalArgumentException("tap " + name + " is rank 2: it has no reduced output, got "
                    + reducedOutput);
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** Units of a rank-2 tap, channels of a rank-4 tap. */
    public int neuronCount() {
        return shape[shape.length - 1];
    }
}
