package ai.neuraldivergence.domain.monitor;

import ai.neuraldivergence.domain.MeanKsNull;

/**
 * A calibrated monitor's threshold for one evaluation of one tap, part by part: the {@code minimumEffect} (δ: a
 * change smaller than this is not worth an alert), the {@code nullQuantile} (how high the mean KS of an unchanged tap
 * can read at these counts, but with probability {@code alpha}: {@link MeanKsNull}) and the {@code sketchBound} (the
 * most the sketches can add to the mean KS: the mean of the neurons' {@code ks_error_bound}). A tap whose true mean KS
 * is at most δ reads over their sum with probability at most {@code alpha}.
 *
 * <p>{@code alpha} is the monitor's false-alarm budget shared out over every window of every evaluation of every tap it
 * makes in 30 days (a union bound: it holds whatever the overlap between the windows, those of one evaluation
 * included; {@link MinuteEvaluation} reads up to {@link #SCALES} windows each minute). The {@code smallestDetectableEffect}
 * is the true mean KS read over the threshold with probability at least one half: the threshold, plus the mean KS's
 * expected shortfall below the truth at these counts and its median deviation, plus the sketch bound again.
 *
 * <p>{@code calibrating}: the reference's null was still being computed (its reference sealed moments ago), so the
 * null quantile is the analytic bound, wider than the resampled one that follows.
 */
public record CalibratedThreshold(double minimumEffect, double nullQuantile, double sketchBound, double alpha,
        double smallestDetectableEffect, boolean calibrating) {

    /** A monitor evaluates each tap once per complete minute. */
    public static final int EVALUATIONS_PER_30_DAYS = 30 * 24 * 60;
    /**
     * The windows one evaluation of one tap reads: the one the monitor widens until it detects twice its minimum
     * effect, the shortest that holds its minimum of observations, and one between them. A large change shows in the
     * short one within minutes; a small one needs the long one.
     */
    public static final int SCALES = 3;
    /** A budget of more alarms than evaluations is read as one alarm every other evaluation. */
    static final double MAX_ALPHA = 0.5;

    /**
     * The rate each window of each evaluation of each tap runs at: {@code budget / (taps * evaluations per 30 days *
     * SCALES)}.
     *
     * @param falseAlarmBudget false alarms allowed per monitor, all its taps together, per 30 days
     */
    public static double alpha(double falseAlarmBudget, int taps) {
        if (!(falseAlarmBudget > 0) || taps < 1) {
            throw new IllegalArgumentException("a budget > 0 and at least one tap, got " + falseAlarmBudget + " and "
                    + taps);
        }
        return Math.min(MAX_ALPHA, falseAlarmBudget / ((double) taps * EVALUATIONS_PER_30_DAYS * SCALES));
    }

    /** The threshold for a window of {@code n} observations against a reference of {@code m}, at the analytic bound. */
    public static CalibratedThreshold of(double minimumEffect, double alpha, long n, long m, double sketchBound) {
        return of(minimumEffect, alpha, n, m, sketchBound, null);
    }

    /**
     * The threshold for a window of {@code n} observations against a reference of {@code m}, its null quantile
     * resampled from the reference's calibration sample where {@code meanKsNull} has it (else the analytic bound,
     * {@link MeanKsNull}; {@code calibrating} while the reference's nulls are being computed).
     */
    public static CalibratedThreshold of(double minimumEffect, double alpha, long n, long m, double sketchBound,
            MeanKsNull.Source meanKsNull) {
        double q = nullQuantile(n, m, alpha, meanKsNull);
        return new CalibratedThreshold(minimumEffect, q, sketchBound, alpha,
                minimumEffect + q + sketchBound + shortfall(n, m) + sketchBound,
                meanKsNull != null && meanKsNull.calibrating());
    }

    /** The mean KS's null quantile at α: resampled where the source has it, else the analytic bound. */
    private static double nullQuantile(long n, long m, double alpha, MeanKsNull.Source meanKsNull) {
        java.util.OptionalDouble resampled = meanKsNull == null ? java.util.OptionalDouble.empty()
                : meanKsNull.quantile(n, m, alpha);
        return resampled.isPresent() ? resampled.getAsDouble() : MeanKsNull.quantile(n, m, alpha);
    }

    /**
     * A calibrated layer monitor's threshold (metric mmd): the minimum effect plus the layer statistic's null
     * quantile at α ({@link ai.neuraldivergence.domain.LayerDrift}); no sketch part (the feature sums are exact). The
     * smallest detectable effect adds the null's median.
     */
    public static CalibratedThreshold ofLayer(double minimumEffect, double alpha, double nullQuantile,
            double medianNull, boolean calibrating) {
        return new CalibratedThreshold(minimumEffect, nullQuantile, 0, alpha, minimumEffect + nullQuantile
                + Math.max(0, medianNull), calibrating);
    }

    /**
     * {@link #observationsWanted} for a layer monitor, whose null quantiles scale as {@code 1/n + 1/m}: with the
     * quantile at α and the median for n = m = the reference's count, the fewest window observations whose smallest
     * detectable effect is at most 2δ, or {@link Long#MAX_VALUE}.
     */
    public static long layerObservationsWanted(double minimumEffect, double nullQuantile, double medianNull, long m) {
        // per unit of (1/n + 1/m)
        double scale = (nullQuantile + Math.max(0, medianNull)) * m / 2;
        if (!(minimumEffect > 0) || !(scale > 0)) {
            return scale > 0 ? Long.MAX_VALUE : 1;
        }
        double room = minimumEffect / scale - 1.0 / m;
        return room > 0 ? (long) Math.min(Long.MAX_VALUE / 2, Math.ceil(1 / room)) : Long.MAX_VALUE;
    }

    /** What the threshold compares the tap's mean KS with. */
    public double applied() {
        return minimumEffect + nullQuantile + sketchBound;
    }

    /**
     * The window a calibrated monitor reads grows until its smallest detectable effect (before the sketches' part,
     * which reading tells) is at most twice δ: the fewest window observations that do it against a reference of
     * {@code m}, or {@link Long#MAX_VALUE} when no window does (the reference alone is too small for δ).
     */
    public static long observationsWanted(double minimumEffect, double alpha, long m) {
        return observationsWanted(minimumEffect, alpha, m, null);
    }

    /** {@link #observationsWanted(double, double, long)} with the null quantile {@code meanKsNull} gives. */
    public static long observationsWanted(double minimumEffect, double alpha, long m, MeanKsNull.Source meanKsNull) {
        if (!(minimumEffect > 0) || excess(Long.MAX_VALUE / 2, m, alpha, meanKsNull) > minimumEffect) {
            return Long.MAX_VALUE;
        }
        long low = 1;
        long high = 1;
        while (excess(high, m, alpha, meanKsNull) > minimumEffect) {
            low = high;
            high *= 2;
        }
        // excess falls as n grows: the smallest n in (low, high] at or under δ
        while (low < high) {
            long mid = low + (high - low) / 2;
            if (excess(mid, m, alpha, meanKsNull) <= minimumEffect) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return high;
    }

    /** The smallest detectable effect less δ and the sketches' part. */
    private static double excess(long n, long m, double alpha, MeanKsNull.Source meanKsNull) {
        return nullQuantile(n, m, alpha, meanKsNull) + shortfall(n, m);
    }

    /** How far below the truth the mean KS reads at most, with probability one half. */
    private static double shortfall(long n, long m) {
        return MeanKsNull.quantile(n, m, 0.5);
    }
}
