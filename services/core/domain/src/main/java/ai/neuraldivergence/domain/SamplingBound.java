package ai.neuraldivergence.domain;

/**
 * How far a statistic computed from two samples may lie from its value between the distributions they were drawn
 * from: the sampling error, apart from the sketch's. By the Dvoretzky-Kiefer-Wolfowitz inequality (Massart's
 * constant), a sample of n observations has its empirical CDF within {@code sqrt(ln(2/a) / (2n))} of the true one
 * everywhere, except with probability {@code a}. A tap compares N neurons on two sides, 2N such CDFs: each is given
 * {@code a = alpha / (2N)} (Bonferroni), so that with probability at least {@code 1 - alpha} every CDF of the tap
 * holds, whatever the dependence between neurons.
 *
 * <p>Assumes the observations of a side independent and identically distributed within the window; traffic whose
 * observations come in correlated bursts has fewer independent observations than its count, and a real false-alarm
 * rate above {@code alpha}.
 *
 * @param neurons the tests the family holds (the tap's neurons); 0 for none: no sampling error (the two sides are
 *     the whole populations compared)
 * @param alpha the family-wise probability that any of them is off by more than its bound
 */
public record SamplingBound(int neurons, double alpha) {

    /** The family-wise error rate a comparison allows by default: one tap in a hundred with any bound exceeded. */
    public static final double DEFAULT_ALPHA = 0.01;

    /** No sampling error: the sides are the populations themselves (and unit tests of the exact formulas). */
    public static final SamplingBound NONE = new SamplingBound(0, DEFAULT_ALPHA);

    public SamplingBound {
        if (neurons < 0) {
            throw new IllegalArgumentException("neurons must be >= 0, got " + neurons);
        }
        if (!(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("family_wise_alpha must lie in (0, 1), got " + alpha);
        }
    }

    /** The family of a tap's neurons at {@code alpha}. */
    public static SamplingBound of(TapDescriptor tap, double alpha) {
        return new SamplingBound(tap.neuronCount(), alpha);
    }

    /** How far a side's empirical CDF of {@code n} observations may lie from its distribution's, anywhere. */
    public double cdf(long n) {
        if (neurons == 0) {
            return 0;
        }
        if (n <= 0) {
            return 1;
        }
        return Math.min(1, Math.sqrt(Math.log(4.0 * neurons / alpha) / (2.0 * n)));
    }

    /**
     * How far KS between samples of {@code n} and {@code m} observations may lie from KS between their
     * distributions: {@code sqrt(ln(4N / alpha) / 2) * (n^-1/2 + m^-1/2)}.
     */
    public double ks(long n, long m) {
        return cdf(n) + cdf(m);
    }
}
