package ai.neuraldivergence.domain.mmd;

import java.util.SplittableRandom;

/**
 * The fixed random Fourier feature map of one tap layout, from which a window's maximum mean discrepancy (MMD) with
 * a Gaussian kernel follows from sums alone (see {@link FeatureSums}, {@link Mmd}). An observation x of N neurons,
 * each divided by its declared scale, is projected on D = 128 directions z_j drawn once from a seed; for a bandwidth
 * σ its features are {@code cos(z_j·x / σ)} and {@code sin(z_j·x / σ)}, whose mean product over j estimates the
 * Gaussian kernel {@code exp(-|x - y|^2 / (2 σ^2))} (Rahimi and Recht). One projection serves a grid of bandwidths,
 * so that the bandwidth can be chosen when a query knows both sides.
 *
 * <p>The map must not change once data was summed with it: it is rebuilt from the same seed, neurons and scales, which
 * the store keeps per (model, tap, layout). Taps wider than {@link #DENSE_LIMIT} neurons use sparse directions (each
 * neuron kept with probability DENSE_LIMIT / N and weighted to keep unit variance), so that projecting an observation
 * costs about the same whatever the tap's width; the kernel then holds for differences spread over many neurons.
 */
public final class RandomFeatureMap {

    /** Directions drawn: the kernel's estimate errs by about 1/sqrt(D) per pair of observations. */
    public static final int DIRECTIONS = 128;
    /** Wider taps get sparse directions of about this many neurons each. */
    public static final int DENSE_LIMIT = 4_096;
    /**
     * The bandwidths, as multiples of {@code sqrt(2N)}: the distance between two independent observations of N
     * neurons of unit scale. A factor of two apart, around it.
     */
    private static final double[] GRID = {0.25, 0.5, 1, 2, 4};
    /** The grid in words, for what a stored null names its construction by. */
    public static final String GRID_DESCRIPTION = java.util.Arrays.toString(GRID) + " x sqrt(2 neurons)";

    private final int neurons;
    private final float[] inverseScale;
    /** Per direction: the neurons it reads (null for a dense map, which reads all) and their weights. */
    private final int[][] index;
    private final float[][] weight;
    private final double[] bandwidth;

    private RandomFeatureMap(int neurons, float[] inverseScale, int[][] index, float[][] weight) {
        this.neurons = neurons;
        this.inverseScale = inverseScale;
        this.index = index;
        this.weight = weight;
        this.bandwidth = new double[GRID.length];
        for (int g = 0; g < GRID.length; g++) {
            bandwidth[g] = GRID[g] * Math.sqrt(2.0 * neurons);
        }
    }

    /**
     * The map of a layout of {@code neurons} neurons.
     *
     * @param seed the layout's stored seed
     * @param scales each neuron's declared scale (its training standard deviation), or null for 1 everywhere; a scale
     *     that is not a positive finite number counts as 1
     */
    public static RandomFeatureMap of(long seed, int neurons, double[] scales) {
        if (neurons < 1) {
            throw new IllegalArgumentException("a tap has at least one neuron, got " + neurons);
        }
        if (scales != null && scales.length != neurons) {
            throw new IllegalArgumentException(scales.length + " scales for " + neurons + " neurons");
        }
        float[] inverse = new float[neurons];
        for (int i = 0; i < neurons; i++) {
            double s = scales == null ? 1 : scales[i];
            inverse[i] = (float) (s > 0 && Double.isFinite(s) ? 1 / s : 1);
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[][] index = new int[DIRECTIONS][];
        float[][] weight = new float[DIRECTIONS][];
        boolean sparse = neurons > DENSE_LIMIT;
        double keep = sparse ? (double) DENSE_LIMIT / neurons : 1;
        float sparseWeight = (float) (1 / Math.sqrt(keep));
        for (int j = 0; j < DIRECTIONS; j++) {
            if (!sparse) {
                weight[j] = new float[neurons];
                for (int i = 0; i < neurons; i++) {
                    weight[j][i] = (float) random.nextGaussian();
                }
                continue;
            }
            int[] kept = new int[neurons];
            int count = 0;
            for (int i = 0; i < neurons; i++) {
                if (random.nextDouble() < keep) {
                    kept[count++] = i;
                }
            }
            index[j] = java.util.Arrays.copyOf(kept, count);
            weight[j] = new float[count];
            for (int k = 0; k < count; k++) {
                weight[j][k] = random.nextBoolean() ? sparseWeight : -sparseWeight;
            }
        }
        return new RandomFeatureMap(neurons, inverse, sparse ? index : null, weight);
    }

    public int neurons() {
        return neurons;
    }

    public int bandwidths() {
        return bandwidth.length;
    }

    /** The kernel's bandwidth σ at grid point {@code g}. */
    public double bandwidth(int g) {
        return bandwidth[g];
    }

    /**
     * The grid point nearest (in ratio) the median heuristic: the typical distance between an observation of A and
     * one of B, {@code sqrt(E|x - y|^2)}, from both sides' per-neuron means and variances (already divided by the
     * scales): {@code E|x - y|^2 = sum of (var_A + var_B + (mean_A - mean_B)^2)}.
     */
    public int nearestBandwidth(double[] meanA, double[] varianceA, double[] meanB, double[] varianceB) {
        double squared = 0;
        for (int i = 0; i < neurons; i++) {
            double d = meanA[i] - meanB[i];
            squared += varianceA[i] + varianceB[i] + d * d;
        }
        double typical = Math.sqrt(squared);
        if (!(typical > 0) || !Double.isFinite(typical)) {
            return GRID.length / 2;
        }
        int best = 0;
        for (int g = 1; g < bandwidth.length; g++) {
            if (Math.abs(Math.log(bandwidth[g] / typical)) < Math.abs(Math.log(bandwidth[best] / typical))) {
                best = g;
            }
        }
        return best;
    }

    /** The scale a neuron's value is divided by. */
    public double scale(int neuron) {
        return 1 / (double) inverseScale[neuron];
    }

    /**
     * Writes the projections {@code z_j·x} of one observation into {@code out} (D values); returns false, leaving
     * {@code out} undefined, when a value is not finite (such an observation has no place in the kernel).
     */
    boolean project(float[] row, double[] out) {
        if (row.length != neurons) {
            throw new IllegalArgumentException("an observation of " + row.length + " values for a tap of " + neurons
                    + " neurons");
        }
        for (int j = 0; j < DIRECTIONS; j++) {
            double p = 0;
            float[] w = weight[j];
            if (index == null) {
                for (int i = 0; i < neurons; i++) {
                    p += w[i] * (row[i] * inverseScale[i]);
                }
            } else {
                int[] at = index[j];
                for (int k = 0; k < at.length; k++) {
                    p += w[k] * (row[at[k]] * inverseScale[at[k]]);
                }
            }
            if (!Double.isFinite(p)) {
                return false;
            }
            out[j] = p;
        }
        return true;
    }

    /**
     * One observation's features at grid point {@code g}: {@code out[2j] = cos(z_j·x / σ)}, {@code out[2j + 1] =
     * sin(z_j·x / σ)}; {@code scratch} holds D values. False, leaving {@code out} undefined, for a non-finite value.
     */
    public boolean features(float[] row, int g, double[] scratch, double[] out) {
        if (!project(row, scratch)) {
            return false;
        }
        double inverse = 1 / bandwidth[g];
        for (int j = 0; j < DIRECTIONS; j++) {
            out[2 * j] = Math.cos(scratch[j] * inverse);
            out[2 * j + 1] = Math.sin(scratch[j] * inverse);
        }
        return true;
    }

    /**
     * {@link #projection} as it travels with block 0 of a tap stored in several blocks ({@code layer_projections}):
     * an observation with a value that is not finite has NaN projections, which count it as such wherever they are
     * summed.
     */
    public float[] projectionOrNaN(float[] row) {
        float[] p = projection(row);
        if (p == null) {
            p = new float[DIRECTIONS];
            java.util.Arrays.fill(p, Float.NaN);
        }
        return p;
    }

    /**
     * An observation's projections on the D directions, as a calibration sample keeps them (D floats whatever the
     * tap's width: every bandwidth's features follow from them), or null when a value is not finite.
     */
    public float[] projection(float[] row) {
        double[] p = new double[DIRECTIONS];
        if (!project(row, p)) {
            return null;
        }
        float[] out = new float[DIRECTIONS];
        for (int j = 0; j < DIRECTIONS; j++) {
            out[j] = (float) p[j];
        }
        return out;
    }

    /** The features at grid point {@code g} of a kept {@link #projection}. */
    public void featuresOfProjection(float[] projection, int g, double[] out) {
        if (projection.length != DIRECTIONS) {
            throw new IllegalArgumentException("a projection of " + projection.length + " values, not " + DIRECTIONS);
        }
        double inverse = 1 / bandwidth[g];
        for (int j = 0; j < DIRECTIONS; j++) {
            out[2 * j] = Math.cos(projection[j] * inverse);
            out[2 * j + 1] = Math.sin(projection[j] * inverse);
        }
    }
}
