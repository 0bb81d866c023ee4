package ai.neuraldivergence.inference.model;

import ai.djl.ndarray.NDArray;
import ai.neuraldivergence.proto.v1.Reduction;

/**
 * Turns a tap's output into one value per neuron: a rank-4 map [N, H, W, C] becomes [N, C] by the channel's
 * spatial max (Summit's choice) or mean; a rank-2 tap is already [N, units].
 *
 * <p>Small maps are copied out and reduced in Java: a native op costs ~50 µs of fixed overhead through DJL, more
 * than copying a few thousand floats. Large maps are reduced natively, so that only [N, C] is copied.
 */
public final class ActivationReducer {

    /** Maps up to this many values are reduced on the heap (measured crossover on this model, batch 1 vs 64). */
    static final long HEAP_REDUCTION_LIMIT = 65_536;

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
        if (tap.size() <= HEAP_REDUCTION_LIMIT) {
            long[] s = tap.getShape().getShape();
            return reduceOnHeap(tap.toFloatArray(), (int) s[0], (int) (s[1] * s[2]), (int) s[3], reduction);
        }
        try (NDArray reduced = reduction == Reduction.REDUCTION_MEAN ? tap.mean(new int[] {1, 2})
                : tap.max(new int[] {1, 2})) {
            return reduced.toFloatArray();
        }
    }

    /** {@code values} is [n, positions, channels] row-major; the result [n, channels]. */
    static float[] reduceOnHeap(float[] values, int n, int positions, int channels, Reduction reduction) {
        float[] out = new float[n * channels];
        boolean mean = reduction == Reduction.REDUCTION_MEAN;
        for (int i = 0; i < n; i++) {
            int base = i * positions * channels;
            int o = i * channels;
            if (!mean) {
                System.arraycopy(values, base, out, o, channels);
            }
            for (int p = mean ? 0 : 1; p < positions; p++) {
                int row = base + p * channels;
                for (int c = 0; c < channels; c++) {
                    float v = values[row + c];
                    if (mean) {
                        out[o + c] += v;
                    } else if (v > out[o + c]) {
                        out[o + c] = v;
                    }
                }
            }
            if (mean) {
                for (int c = 0; c < channels; c++) {
                    out[o + c] /= positions;
                }
            }
        }
        return out;
    }
}
