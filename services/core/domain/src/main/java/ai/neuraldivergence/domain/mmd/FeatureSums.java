package ai.neuraldivergence.domain.mmd;

import java.util.Arrays;

/**
 * A window's random Fourier features, summed: its count and, per bandwidth of the map and per direction, the sums of
 * {@code cos(z_j·x / σ)} and {@code sin(z_j·x / σ)} over its observations. Mergeable like the sketches (a merge adds
 * counts and sums, in any order), and enough for the unbiased MMD² between two windows ({@link Mmd}). Observations
 * with a non-finite value are counted apart and left out. Not thread-safe.
 */
public final class FeatureSums {

    private final int bandwidths;
    private long count;
    private long nonFinite;
    /** [g][j][cos, sin], flattened. */
    private final double[] sums;

    public FeatureSums(int bandwidths) {
        if (bandwidths < 1) {
            throw new IllegalArgumentException("at least one bandwidth, got " + bandwidths);
        }
        this.bandwidths = bandwidths;
        this.sums = new double[bandwidths * 2 * RandomFeatureMap.DIRECTIONS];
    }

    /** Sums as stored: {@code sums.length == bandwidths * 2 * DIRECTIONS}. */
    public static FeatureSums of(long count, long nonFinite, double[] sums) {
        if (count < 0 || nonFinite < 0 || sums.length % (2 * RandomFeatureMap.DIRECTIONS) != 0 || sums.length == 0) {
            throw new IllegalArgumentException("stored feature sums are malformed");
        }
        FeatureSums s = new FeatureSums(sums.length / (2 * RandomFeatureMap.DIRECTIONS));
        s.count = count;
        s.nonFinite = nonFinite;
        System.arraycopy(sums, 0, s.sums, 0, sums.length);
        return s;
    }

    /** Adds one observation through {@code map}, with {@code scratch} of at least D values. */
    public void add(RandomFeatureMap map, float[] row, double[] scratch) {
        if (map.bandwidths() != bandwidths) {
            throw new IllegalArgumentException("a map of " + map.bandwidths() + " bandwidths for sums of "
                    + bandwidths);
        }
        if (!map.project(row, scratch)) {
            nonFinite++;
            return;
        }
        accumulate(map, scratch, sums);
        count++;
    }

    /**
     * One observation's features through {@code map}, written into {@code features} (as many values as sums of the
     * map's bandwidths hold), for an observation that enters several sums: it is projected once, then
     * {@link #addFeatures added} to each. False, and {@code features} left as it was, when a value is not finite.
     *
     * @param scratch at least D values
     */
    public static boolean features(RandomFeatureMap map, float[] row, double[] scratch, double[] features) {
        if (features.length != map.bandwidths() * 2 * RandomFeatureMap.DIRECTIONS) {
            throw new IllegalArgumentException(features.length + " values for the features of a map of "
                    + map.bandwidths() + " bandwidths");
        }
        if (!map.project(row, scratch)) {
            return false;
        }
        java.util.Arrays.fill(features, 0);
        accumulate(map, scratch, features);
        return true;
    }

    /**
     * {@link #features} of an observation given by its projections on the map's D directions
     * ({@link RandomFeatureMap#projection}): what the producer of a tap stored in several blocks sends, since no block
     * holds the whole observation. False, and {@code features} left as it was, when a projection is not finite.
     *
     * @param scratch at least D values
     */
    public static boolean featuresOfProjection(RandomFeatureMap map, float[] projection, double[] scratch,
            double[] features) {
        int d = RandomFeatureMap.DIRECTIONS;
        if (projection.length != d || features.length != map.bandwidths() * 2 * d) {
            throw new IllegalArgumentException(projection.length + " projections and " + features.length
                    + " values for the features of a map of " + map.bandwidths() + " bandwidths");
        }
        for (int j = 0; j < d; j++) {
            if (!Float.isFinite(projection[j])) {
                return false;
            }
            scratch[j] = projection[j];
        }
        java.util.Arrays.fill(features, 0);
        accumulate(map, scratch, features);
        return true;
    }

    /** Adds one observation's {@link #features} (of a map of these sums' bandwidths). */
    public void addFeatures(double[] features) {
        if (features.length != sums.length) {
            throw new IllegalArgumentException(features.length + " features for sums of " + sums.length);
        }
        for (int i = 0; i < sums.length; i++) {
            sums[i] += features[i];
        }
        count++;
    }

    /** Counts one observation left out of the sums for a non-finite value. */
    public void addNonFinite() {
        nonFinite++;
    }

    /** Adds cos and sin of each projection at each of the map's bandwidths into {@code target} ([g][j][cos, sin]). */
    private static void accumulate(RandomFeatureMap map, double[] projection, double[] target) {
        int d = RandomFeatureMap.DIRECTIONS;
        for (int g = 0; g < map.bandwidths(); g++) {
            double inverse = 1 / map.bandwidth(g);
            int base = g * 2 * d;
            for (int j = 0; j < d; j++) {
                double angle = projection[j] * inverse;
                target[base + 2 * j] += Math.cos(angle);
                target[base + 2 * j + 1] += Math.sin(angle);
            }
        }
    }

    /** Adds another window's sums (of the same map) to these. */
    public void merge(FeatureSums other) {
        if (other.bandwidths != bandwidths) {
            throw new IllegalArgumentException("sums of " + other.bandwidths + " bandwidths into sums of " + bandwidths);
        }
        count += other.count;
        nonFinite += other.nonFinite;
        for (int i = 0; i < sums.length; i++) {
            sums[i] += other.sums[i];
        }
    }

    /** Observations summed (non-finite ones apart). */
    public long count() {
        return count;
    }

    /** Observations left out for a non-finite value. */
    public long nonFinite() {
        return nonFinite;
    }

    public int bandwidths() {
        return bandwidths;
    }

    /** The sum of cos (k = 0) or sin (k = 1) of direction j at bandwidth g. */
    double sum(int g, int j, int k) {
        return sums[g * 2 * RandomFeatureMap.DIRECTIONS + 2 * j + k];
    }

    /** A copy of the sums, as stored. */
    public double[] sums() {
        return Arrays.copyOf(sums, sums.length);
    }
}
