package ai.neuraldivergence.detection;

/** Poisson counts: the exact (Garwood) 95 % interval of a rate, and a count's 95 % upper limit. */
final class Poisson {

    private Poisson() {
    }

    /** P(X <= k) for X ~ Poisson(mean), summed in log space (no underflow at large means). */
    static double cdf(long k, double mean) {
        if (k < 0) {
            return 0;
        }
        if (mean == 0) {
            return 1;
        }
        double logTerm = -mean;
        double logSum = logTerm;
        for (long j = 1; j <= k; j++) {
            logTerm += Math.log(mean) - Math.log(j);
            double hi = Math.max(logSum, logTerm);
            logSum = hi + Math.log(Math.exp(logSum - hi) + Math.exp(logTerm - hi));
        }
        return Math.min(1, Math.exp(logSum));
    }

    /** The smallest k with P(X <= k) >= 0.95: more alarms than this, at a mean of {@code mean}, is a failure. */
    static long upperLimit(double mean) {
        long k = 0;
        while (cdf(k, mean) < 0.95) {
            k++;
        }
        return k;
    }

    /** The exact 95 % interval of the mean of a Poisson count {@code k}: {lower, upper}. */
    static double[] interval(long k) {
        double upper = solve(m -> cdf(k, m) - 0.025, k + 10 + 10 * Math.sqrt(k + 1));
        double lower = k == 0 ? 0 : solve(m -> cdf(k - 1, m) - 0.975, k + 10 + 10 * Math.sqrt(k + 1));
        return new double[] {lower, upper};
    }

    /** The root in (0, high) of a function decreasing through 0 (bisection). */
    private static double solve(java.util.function.DoubleUnaryOperator f, double high) {
        double lo = 0;
        double hi = high;
        for (int i = 0; i < 100; i++) {
            double mid = (lo + hi) / 2;
            if (f.applyAsDouble(mid) > 0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }
}
