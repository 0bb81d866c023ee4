package ai.neuraldivergence.domain;

import org.apache.datasketches.kll.KllFloatsSketch;
import org.apache.datasketches.quantilescommon.FloatsSortedView;
import org.apache.datasketches.quantilescommon.QuantileSearchCriteria;

/**
 * How far one neuron's distribution B lies from its distribution A, computed from the two sketches alone, with the
 * error each value carries because the sketches only approximate the data they saw.
 *
 * <p>KS and Wasserstein-1 are exact for the two sketched distributions (step CDFs over the retained items); the
 * sketched CDFs differ from the true ones by at most the sketches' rank errors, which gives the bounds. Jensen-
 * Shannon and PSI are computed on bins shared by both sides, cut at quantiles of the pooled distribution; their
 * bounds follow from each bin share's own error, the sketch's PMF error (see {@link #binnedBound}).
 */
public record Divergence(double ks, double ksErrorBound, double wasserstein, double wassersteinErrorBound,
        double jensenShannon, double jensenShannonErrorBound, double psi, double psiErrorBound, double meanShift,
        Direction direction, long countA, long countB, double[] binEdges) {

    /** How B's activations moved relative to A's. */
    public enum Direction {
        EXCITED, INHIBITED, UNCHANGED
    }

    /** Bins for JS and PSI: deciles of the pooled distribution, the usual choice for PSI. */
    public static final int DEFAULT_BINS = 10;

    /** PSI floors each bin share so that an empty bin does not make it infinite. */
    public static final double PSI_FLOOR = 1e-4;

    /** Whether the error-aware verdict is "drifted": KS minus its error bound exceeds {@code threshold}. */
    public boolean drifted(double threshold) {
        return ks - ksErrorBound > threshold;
    }

    /** The value of one metric. */
    public double value(Metric metric) {
        return switch (metric) {
            case KS -> ks;
            case WASSERSTEIN -> wasserstein;
            case JENSEN_SHANNON -> jensenShannon;
            case PSI -> psi;
            case MEAN_SHIFT -> Math.abs(meanShift);
        };
    }

    /** The metrics a comparison can rank by. */
    public enum Metric {
        KS, WASSERSTEIN, JENSEN_SHANNON, PSI, MEAN_SHIFT
    }

    /**
     * Compares two non-empty distributions.
     *
     * @throws IllegalArgumentException when either side is empty
     */
    public static Divergence of(NeuronDistribution a, NeuronDistribution b, int bins) {
        if (a.count() == 0 || b.count() == 0) {
            throw new IllegalArgumentException("both sides need observations (A: " + a.count() + ", B: "
                    + b.count() + ")");
        }
        if (bins < 2) {
            throw new IllegalArgumentException("bins must be >= 2, got " + bins);
        }
        double errorA = a.rankError();
        double errorB = b.rankError();
        FloatsSortedView va = a.sketch().getSortedView();
        FloatsSortedView vb = b.sketch().getSortedView();
        double[] ksAndW = ksAndWasserstein(va.getQuantiles(), va.getCumulativeWeights(), a.count(),
                vb.getQuantiles(), vb.getCumulativeWeights(), b.count());
        double range = Math.max(a.max(), b.max()) - Math.min(a.min(), b.min());

        double[] edges = pooledEdges(a, b, bins);
        double[] p = shares(a, edges);
        double[] q = shares(b, edges);
        double[] dp = shareErrors(edges.length - 1, a.binShareError());
        double[] dq = shareErrors(edges.length - 1, b.binShareError());
        double js = sum(p, q, Divergence::jsTerm, 0);
        double psi = sum(p, q, Divergence::psiTerm, PSI_FLOOR);

        double shift = b.mean() - a.mean();
        Direction direction = shift > 0 ? Direction.EXCITED : shift < 0 ? Direction.INHIBITED : Direction.UNCHANGED;
        return new Divergence(ksAndW[0], errorA + errorB, ksAndW[1], (errorA + errorB) * range, js,
                binnedBound(p, q, dp, dq, Divergence::jsTerm, 0, js), psi,
                binnedBound(p, q, dp, dq, Divergence::psiTerm, PSI_FLOOR, psi), shift, direction, a.count(),
                b.count(), edges);
    }

    /**
     * Walks both step CDFs over the union of their retained items: KS is the largest gap between them, W1 the area
     * between them. Cumulative weights count the items at or below each retained value.
     */
    static double[] ksAndWasserstein(float[] xa, long[] wa, long na, float[] xb, long[] wb, long nb) {
        int i = 0;
        int j = 0;
        double fa = 0;
        double fb = 0;
        double ks = 0;
        double w = 0;
        double previous = Double.NaN;
        while (i < xa.length || j < xb.length) {
            double x = Math.min(i < xa.length ? xa[i] : Double.POSITIVE_INFINITY,
                    j < xb.length ? xb[j] : Double.POSITIVE_INFINITY);
            if (!Double.isNaN(previous)) {
                w += Math.abs(fa - fb) * (x - previous);
            }
            while (i < xa.length && xa[i] == x) {
                fa = (double) wa[i] / na;
                i++;
            }
            while (j < xb.length && xb[j] == x) {
                fb = (double) wb[j] / nb;
                j++;
            }
            ks = Math.max(ks, Math.abs(fa - fb));
            previous = x;
        }
        return new double[] {ks, w};
    }

    /**
     * Bin edges at the quantiles of A and B pooled (each side weighted by its count), so that every bin holds a
     * fair share of the data whatever the scale; repeated edges (a value holding many observations, such as the
     * zeros of a ReLU) are merged.
     */
    static double[] pooledEdges(NeuronDistribution a, NeuronDistribution b, int bins) {
        KllFloatsSketch pooled = KllFloatsSketch.newHeapInstance(Math.max(a.sketchK(), b.sketchK()));
        pooled.merge(a.sketch());
        pooled.merge(b.sketch());
        double lo = Math.min(a.min(), b.min());
        double hi = Math.max(a.max(), b.max());
        // room for the bins, their outer edges and the bottom value's own bin
        double[] edges = new double[bins + 2];
        int n = 0;
        edges[n++] = lo;
        // a value at the bottom holding at least half a bin (the zeros of a ReLU) gets a bin of its own, [lo, lo]
        if (pooled.getRank((float) lo, QuantileSearchCriteria.INCLUSIVE) >= 0.5 / bins && hi > lo) {
            edges[n++] = lo;
        }
        for (int i = 1; i < bins; i++) {
            double e = pooled.getQuantile((double) i / bins, QuantileSearchCriteria.INCLUSIVE);
            if (e > edges[n - 1] && e < hi) {
                edges[n++] = e;
            }
        }
        if (hi > edges[n - 1]) {
            edges[n++] = hi;
        } else {
            // one value holds everything: a single bin around it
            edges[n++] = lo + 1;
        }
        return java.util.Arrays.copyOf(edges, n);
    }

    /** Share of {@code d} in each bin: the first bin is [e0, e1], the others (e_i, e_i+1]. */
    static double[] shares(NeuronDistribution d, double[] edges) {
        return SharedBins.of(edges).shares(d);
    }

    /** Each bin's share is an interval's mass, off by at most the sketch's PMF error; a single bin holds all. */
    static double[] shareErrors(int bins, double binShareError) {
        double[] out = new double[bins];
        java.util.Arrays.fill(out, bins == 1 ? 0 : binShareError);
        return out;
    }

    interface Term {
        double of(double p, double q);
    }

    /** p log2(2p / (p + q)) + q log2(2q / (p + q)), halved: one bin's part of the JS divergence. */
    static double jsTerm(double p, double q) {
        double m = (p + q) / 2;
        return 0.5 * (xlog2(p, m) + xlog2(q, m));
    }

    /** (q - p) ln(q / p): one bin's part of the PSI (shares already floored). */
    static double psiTerm(double p, double q) {
        return (q - p) * Math.log(q / p);
    }

    private static double xlog2(double x, double m) {
        return x <= 0 ? 0 : x * (Math.log(x / m) / Math.log(2));
    }

    private static double sum(double[] p, double[] q, Term term, double floor) {
        double total = 0;
        for (int i = 0; i < p.length; i++) {
            total += term.of(Math.max(p[i], floor), Math.max(q[i], floor));
        }
        return Math.max(0, total);
    }

    /**
     * How far a binned divergence can lie from its value when every share is off by up to its error. Each bin's
     * term t(p, q) is convex, homogeneous and zero where p = q, so over the box of possible shares it peaks at a
     * corner and bottoms out at 0 when the box meets the diagonal, else at the corner nearest to it; summing the
     * per-bin extremes bounds the total (ignoring that shares sum to 1 only widens the bound).
     */
    static double binnedBound(double[] p, double[] q, double[] dp, double[] dq, Term term, double floor,
            double value) {
        double lo = 0;
        double hi = 0;
        for (int i = 0; i < p.length; i++) {
            double p0 = clamp(p[i] - dp[i], floor);
            double p1 = clamp(p[i] + dp[i], floor);
            double q0 = clamp(q[i] - dq[i], floor);
            double q1 = clamp(q[i] + dq[i], floor);
            hi += Math.max(Math.max(term.of(p0, q0), term.of(p0, q1)), Math.max(term.of(p1, q0), term.of(p1, q1)));
            if (p0 > q1) {
                lo += term.of(p0, q1);
            } else if (q0 > p1) {
                lo += term.of(p1, q0);
            }
        }
        return Math.max(hi - value, value - lo);
    }

    private static double clamp(double share, double floor) {
        return Math.min(1, Math.max(floor, share));
    }
}
