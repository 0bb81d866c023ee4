package ai.neuraldivergence.inference.model;

import ai.djl.ndarray.NDArray;
import ai.neuraldivergence.proto.v1.Reduction;

/**
 * Turns a tap's output into one value per neuron, natively, before anything is copied to the heap: a rank-4 map
 * [N, H, W, C] becomes [N, C] by the channel's spatial max (Summit's choice) or mean; a rank-2 tap is already
 * [N, units].
 */
public final class ActivationReducer {

    private ActivationReducer() {
    }

    /** Row-major [N x neurons]. */
    public static float[] reduce(NDArray tap, Reduction reduction) {
        int rank = tap.getShape().dimension();
        if (rank == 2) {
            return tap.toFloatArray();
        }
        if (rank != 4) {
            throw new IllegalArgumentException("a tap must be rank 2 or 4, got " + tap.getShape());
        }
        try (NDArray reduced = reduction == Reduction.REDUCTION_MEAN ? tap.mean(new int[] {1, 2})
                : tap.max(new int[] {1, 2})) {
            return reduced.toFloatArray();
        }
    }
}
