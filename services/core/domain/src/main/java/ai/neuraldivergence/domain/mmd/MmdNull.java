package ai.neuraldivergence.domain.mmd;

/**
 * How large the unbiased MMD² from feature sums grows when both windows come from one distribution: an analytic
 * bound that needs nothing beyond the sums.
 *
 * <p>With features φ of unit norm and covariance Σ, the difference of the sides' mean features is, by the central
 * limit theorem, normal with covariance Σ (1/n + 1/m), so the unbiased MMD² (which subtracts each side's own
 * pairs) is {@code (1/n + 1/m) sum_i λ_i (Z_i² - 1)} for Σ's eigenvalues λ_i. Whatever the λ_i, with
 * {@code t = sum λ_i = tr Σ = 1 - |E φ|²}, Székely and Bakirov (2003) show {@code P(sum λ_i Z_i² ≥ x) ≤ P(t Z² ≥ x)}
 * once {@code x ≥ 1.5365 t}, that is for α up to 0.215: the quantile is at most
 * {@code t (z²_{1-α/2} - 1) (1/n + 1/m)}, with t estimated from both sides' pooled sums. The bound is tight when the
 * features vary along one direction and conservative otherwise; it relies on the normal approximation, so it holds
 * for windows of tens of observations or more, observations independent within a window.
 */
public final class MmdNull {

    /** Above this α the bound does not hold: larger ones are read as this. */
    public static final double LARGEST_ALPHA = 0.2;

    private MmdNull() {
    }

    /**
     * The (1 - α) quantile bound of the unbiased MMD² between windows of n and m observations under the null.
     *
     * @param trace the features' total variance {@code 1 - |E φ|²} ({@link Mmd#pooledTrace})
     */
    public static double quantile(double alpha, long n, long m, double trace) {
        if (!(alpha > 0) || n < 1 || m < 1) {
            throw new IllegalArgumentException("alpha " + alpha + " and counts " + n + ", " + m
                    + " must be positive");
        }
        double z = upperNormalQuantile(Math.min(alpha, LARGEST_ALPHA) / 2);
        return Math.max(0, Math.min(1, trace)) * (z * z - 1) * (1.0 / n + 1.0 / m);
    }

    /** The x with P(Z > x) = p, for p in (0, 0.5], by bisection on {@link #upperTail}. */
    static double upperNormalQuantile(double p) {
        double lo = 0;
        double hi = 40;
        for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
            double mid = (lo + hi) / 2;
            if (upperTail(mid) > p) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }

    /**
     * P(Z > x) for x ≥ 0: Marsaglia's series (2004) below 5, where 1 - Φ loses nothing; the continued fraction of the
     * Mills ratio above, where the tail is too small to subtract from one.
     */
    static double upperTail(double x) {
        double density = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
        if (x < 5) {
            double s = x;
            double t = 0;
            double b = x;
            double q = x * x;
            double i = 1;
            while (s != t) {
                t = s;
                i += 2;
                b *= q / i;
                s = t + b;
            }
            return 0.5 - s * density;
        }
        double f = x;
        for (int k = 40; k >= 1; k--) {
            f = x + k / f;
        }
        return density / f;
    }
}
