package ai.neuraldivergence.domain;

import java.util.OptionalDouble;

/**
 * How large a tap's mean KS between two samples can be when nothing changed: an analytic null, valid at any counts
 * and whatever the dependence between the tap's neurons. Each neuron's KS between samples of n and m observations of
 * one distribution is at most {@code D_A + D_B}, the distances of each side's empirical CDF from that distribution's.
 *
 * <ul>
 *   <li><b>Its mean.</b> By the Dvoretzky-Kiefer-Wolfowitz inequality with Massart's constant,
 *       {@code P(D > t) <= 2 exp(-2 n t^2)}, so {@code E[D] <= integral of min(1, 2 exp(-2 n t^2)) dt = C / sqrt(n)}
 *       with {@code C = sqrt(ln 2 / 2) + sqrt(pi / 2) erfc(sqrt(ln 2)) = 0.88829}; a mean over neurons keeps the
 *       bound of its terms, correlated or not.</li>
 *   <li><b>Its tail.</b> One observation of A moves every neuron's empirical CDF by at most 1/n, hence the tap's mean
 *       KS by at most 1/n (1/m for B). McDiarmid's bounded-difference inequality then gives
 *       {@code P(mean - E[mean] >= t) <= exp(-2 t^2 / (1/n + 1/m))}.</li>
 * </ul>
 * Ties (a ReLU's zeros) only lower KS, so the bound holds for them too. It assumes the observations of each side
 * independent of each other; traffic in correlated bursts holds fewer independent observations than its count.
 */
public final class MeanKsNull {

    /**
     * A tap's mean-KS null resampled from its reference's calibration sample ({@code SampledMeanKsNull}), where there is
     * one: the quantile at α between sides of n and m observations, or empty where it cannot say (the analytic bound
     * answers).
     */
    @FunctionalInterface
    public interface Source {
        OptionalDouble quantile(long n, long m, double alpha);

        /** True while the reference's nulls are still being computed after its seal: the analytic bound answers. */
        default boolean calibrating() {
            return false;
        }

        /** The resampled null as a source. */
        static Source of(ResampledNull resampled) {
            return resampled::quantile;
        }
    }

    /** A source for a null still being computed ({@link Source#calibrating}): it answers nothing yet. */
    public static final Source CALIBRATING = new Source() {
        @Override
        public OptionalDouble quantile(long n, long m, double alpha) {
            return OptionalDouble.empty();
        }

        @Override
        public boolean calibrating() {
            return true;
        }
    };

    /** {@code sqrt(ln 2 / 2) + sqrt(pi / 2) erfc(sqrt(ln 2))}: the DKW bound of {@code sqrt(n) E[D]}. */
    static final double C = 0.8882870600806747;

    private MeanKsNull() {
    }

    /** An upper bound of the expected mean KS between samples of n and m observations of one distribution. */
    public static double expected(long n, long m) {
        requireCounts(n, m);
        return C * (1 / Math.sqrt(n) + 1 / Math.sqrt(m));
    }

    /**
     * How far the mean KS (or the mean of {@code D_A + D_B}) may lie above its expectation, except with probability
     * {@code alpha}: {@code sqrt(ln(1 / alpha) (1/n + 1/m) / 2)}.
     */
    public static double deviation(long n, long m, double alpha) {
        requireCounts(n, m);
        if (!(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("alpha must lie in (0, 1), got " + alpha);
        }
        return Math.sqrt(Math.log(1 / alpha) * (1.0 / n + 1.0 / m) / 2);
    }

    /** The mean KS that a change of nothing exceeds with probability at most {@code alpha}. */
    public static double quantile(long n, long m, double alpha) {
        return expected(n, m) + deviation(n, m, alpha);
    }

    private static void requireCounts(long n, long m) {
        if (n < 1 || m < 1) {
            throw new IllegalArgumentException("both sides need observations, got " + n + " and " + m);
        }
    }
}
