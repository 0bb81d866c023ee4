package ai.neuraldivergence.domain.mmd;

/**
 * The unbiased squared maximum mean discrepancy between two windows, from their feature sums alone. With
 * {@code φ(x) = D^-1/2 (cos z_j·x/σ, sin z_j·x/σ)_j}, every observation has {@code |φ(x)|^2 = 1}, so the U-statistic
 * {@code sum_{i != i'} k(a_i, a_i') / (n(n-1)) + sum_{j != j'} k(b_j, b_j') / (m(m-1)) - 2 sum k(a_i, b_j) / (nm)}
 * for the kernel {@code k(x, y) = φ(x)·φ(y)} is
 * {@code (|S_A|^2 - n) / (n(n-1)) + (|S_B|^2 - m) / (m(m-1)) - 2 S_A·S_B / (nm)} for the sums S of φ. It is zero in
 * expectation when both windows come from one distribution (and may then be negative), and grows with the change of
 * the layer's joint distribution, including changes in how its neurons move together that no neuron's marginal shows.
 */
public final class Mmd {

    private Mmd() {
    }

    /**
     * The unbiased MMD² at grid point {@code g} of both sides' map.
     *
     * @throws IllegalArgumentException when a side holds fewer than 2 observations
     */
    public static double unbiased(FeatureSums a, FeatureSums b, int g) {
        long n = a.count();
        long m = b.count();
        if (n < 2 || m < 2) {
            throw new IllegalArgumentException("MMD needs 2 observations a side, got " + n + " and " + m);
        }
        double aa = 0;
        double bb = 0;
        double ab = 0;
        for (int j = 0; j < RandomFeatureMap.DIRECTIONS; j++) {
            for (int k = 0; k < 2; k++) {
                double sa = a.sum(g, j, k);
                double sb = b.sum(g, j, k);
                aa += sa * sa;
                bb += sb * sb;
                ab += sa * sb;
            }
        }
        double d = RandomFeatureMap.DIRECTIONS;
        return (aa / d - n) / ((double) n * (n - 1)) + (bb / d - m) / ((double) m * (m - 1))
                - 2 * (ab / d) / ((double) n * m);
    }

    /**
     * The features' total variance {@code 1 - |mean φ|²} at grid point {@code g}, from both sides' sums pooled: what
     * {@link MmdNull} scales its bound by (the null assumes both sides share one distribution).
     */
    public static double pooledTrace(FeatureSums a, FeatureSums b, int g) {
        double count = a.count() + b.count();
        if (count == 0) {
            return 1;
        }
        double squared = 0;
        for (int j = 0; j < RandomFeatureMap.DIRECTIONS; j++) {
            for (int k = 0; k < 2; k++) {
                double mean = (a.sum(g, j, k) + b.sum(g, j, k)) / count;
                squared += mean * mean;
            }
        }
        return 1 - squared / RandomFeatureMap.DIRECTIONS;
    }
}
