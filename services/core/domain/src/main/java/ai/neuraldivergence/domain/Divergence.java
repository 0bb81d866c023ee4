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
 *
 * <p>Apart from the sketches, each side is a sample: {@code ksSamplingBound} is how far KS may lie from KS between
 * the distributions sampled ({@link SamplingBound}). The Wasserstein, Jensen-Shannon and PSI bounds hold both errors:
 * each bin share widened by twice a side's CDF bound (a share is the difference of two CDF values), W1's by the sum
 * of the sides' CDF bounds times the range.
 */
public record Divergence(double ks, double ksErrorBound, double ksSamplingBound, double wasserstein,
        double wassersteinErrorBound,
        double jensenShannon, double jensenShannonErrorBound, double psi, double psiErrorBound, double meanShift,
        Direction direction, long countA, long countB, double[] binEdges, NonFinite nonFiniteA,
        NonFinite nonFiniteB) {

    /** How B's activations moved relative to A's. */
    public enum Direction {
        EXCITED, INHIBITED, UNCHANGED
    }

    /** A side's non-finite values of the neuron. */
    public record NonFinite(long nan, long positiveInfinity, long negativeInfinity) {

        public static final NonFinite NONE = new NonFinite(0, 0, 0);

        static NonFinite of(NeuronDistribution d) {
            return d.nonFiniteCount() == 0 ? NONE
                    : new NonFinite(d.nanCount(), d.positiveInfinityCount(), d.negativeInfinityCount());
        }

        public long total() {
            return nan + positiveInfinity + negativeInfinity;
        }
    }

    /** Bins for JS and PSI: deciles of the pooled distribution, the usual choice for PSI. */
    public static final int DEFAULT_BINS = 10;

    /** PSI floors each bin share so that an empty bin does not make it infinite. */
    public static final double PSI_FLOOR = 1e-4;

    /**
     * Whether the error-aware verdict is "drifted": KS less both its errors (the sketches' and the samples') exceeds
     * {@code threshold}, the minimum relevant effect.
     */
    public boolean drifted(double threshold) {
        return ks - ksErrorBound - ksSamplingBound > threshold;
    }

    /** The value of one metric (NaN for W1 and the mean shift when a side holds no finite value). */
    public double value(Metric metric) {
        return switch (metric) {
            case KS -> ks;
            case WASSERSTEIN -> wasserstein;
            case JENSEN_SHANNON -> jensenShannon;
            case PSI -> psi;
            case MEAN_SHIFT -> Math.abs(meanShift);
            case MMD -> throw new IllegalArgumentException("mmd is a tap's statistic (the layer statistic), not a "
                    + "neuron's: rank neurons by ks, wasserstein, jensen_shannon, psi or mean_shift");
        };
    }

    /** The metrics a comparison can rank by. */
    public enum Metric {
        KS, WASSERSTEIN, JENSEN_SHANNON, PSI, MEAN_SHIFT,
        /** The layer statistic ({@link LayerDrift}): a tap's, never a neuron's; a monitor's metric. */
        MMD;

        /** Whether neurons have a value of this metric (every metric but the layer statistic). */
        public boolean perNeuron() {
            return this != MMD;
        }
    }

    /**
     * Compares two distributions that each hold at least one value.
     *
     * <p>Non-finite values take part where an order or a share is all a metric needs: KS walks the CDFs over the
     * order -Inf < finite < +Inf < NaN (so a neuron that starts producing NaN drifts), and JS and PSI give -Inf,
     * +Inf and NaN a bin each beside the finite bins. W1 and the mean shift are distances between finite values:
     * NaN when a side has none. Each bound shrinks by the finite share, the only part a sketch approximates.
     *
     * @param sampling the family the neuron is tested in, for its sampling error
     * @throws IllegalArgumentException when either side is empty
     */
    public static Divergence of(NeuronDistribution a, NeuronDistribution b, int bins, SamplingBound sampling) {
        return of(a, b, bins, sampling, true);
    }

    /**
     * {@link #of} without the binned metrics: KS, W1 and the mean shift with their bounds, Jensen-Shannon and PSI NaN.
     * What a monitor reading KS needs, at a fraction of the cost (the pooled bins are most of a comparison's work).
     */
    public static Divergence ksOf(NeuronDistribution a, NeuronDistribution b, SamplingBound sampling) {
        return of(a, b, DEFAULT_BINS, sampling, false);
    }

    private static Divergence of(NeuronDistribution a, NeuronDistribution b, int bins, SamplingBound sampling,
            boolean binned) {
        long na = a.observationCount();
        long nb = b.observationCount();
        if (na == 0 || nb == 0) {
            throw new IllegalArgumentException("both sides need observations (A: " + na + ", B: " + nb + ")");
        }
        if (bins < 2) {
            throw new IllegalArgumentException("bins must be >= 2, got " + bins);
        }
        double finiteShareA = (double) a.count() / na;
        double finiteShareB = (double) b.count() / nb;
        double errorA = a.rankError();
        double errorB = b.rankError();
        double[] ksAndW = ksAndWasserstein(a, b);
        boolean bothFinite = a.count() > 0 && b.count() > 0;
        double range = bothFinite ? Math.max(a.max(), b.max()) - Math.min(a.min(), b.min()) : Double.NaN;

        double samplingA = sampling.cdf(na);
        double samplingB = sampling.cdf(nb);
        double[] edges = new double[0];
        double js = Double.NaN;
        double psi = Double.NaN;
        double jsBound = Double.NaN;
        double psiBound = Double.NaN;
        if (binned) {
            edges = a.count() > 0 || b.count() > 0 ? pooledEdges(a, b, bins) : edges;
            double[] p = extendedShares(a, edges);
            double[] q = extendedShares(b, edges);
            double[] dp = widen(extendedShareErrors(edges.length - 1, a.binShareError() * finiteShareA),
                    2 * samplingA);
            double[] dq = widen(extendedShareErrors(edges.length - 1, b.binShareError() * finiteShareB),
                    2 * samplingB);
            js = sum(p, q, Divergence::jsTerm, 0);
            psi = sum(p, q, Divergence::psiTerm, PSI_FLOOR);
            jsBound = binnedBound(p, q, dp, dq, Divergence::jsTerm, 0, js);
            psiBound = binnedBound(p, q, dp, dq, Divergence::psiTerm, PSI_FLOOR, psi);
        }

        double shift = bothFinite ? b.mean() - a.mean() : Double.NaN;
        Direction direction = shift > 0 ? Direction.EXCITED : shift < 0 ? Direction.INHIBITED : Direction.UNCHANGED;
        return new Divergence(ksAndW[0], errorA * finiteShareA + errorB * finiteShareB, samplingA + samplingB,
                bothFinite ? ksAndW[1] : Double.NaN,
                bothFinite ? (errorA + errorB + samplingA + samplingB) * range : Double.NaN, js, jsBound, psi,
                psiBound, shift, direction, a.count(),
                b.count(), edges, NonFinite.of(a), NonFinite.of(b));
    }

    /** One side's sketched CDF over its finite values, and its counts in the extended order. */
    record Side(float[] x, long[] cumulativeWeights, long finite, long negativeInfinity, long positiveInfinity,
            long total) {

        static Side of(NeuronDistribution d) {
            if (d.count() == 0) {
                return new Side(new float[0], new long[0], 0, d.negativeInfinityCount(), d.positiveInfinityCount(),
                        d.observationCount());
            }
            FloatsSortedView v = d.sketch().getSortedView();
            return new Side(v.getQuantiles(), v.getCumulativeWeights(), d.count(), d.negativeInfinityCount(),
                    d.positiveInfinityCount(), d.observationCount());
        }

        /** Only finite values, {@code total} of them. */
        static Side finite(float[] x, long[] cumulativeWeights, long total) {
            return new Side(x, cumulativeWeights, total, 0, 0, total);
        }

        /** The extended CDF at a finite point whose finite CDF is {@code f}. */
        double extended(double f) {
            return (negativeInfinity + finite * f) / total;
        }

        /** The extended CDF at +Inf: everything but the NaNs. */
        double atPositiveInfinity() {
            return (double) (negativeInfinity + finite + positiveInfinity) / total;
        }
    }

    /** {@link #ksAndWasserstein(Side, Side)} of two neurons, or the same pair's last result if neither grew since. */
    static double[] ksAndWasserstein(NeuronDistribution a, NeuronDistribution b) {
        long na = a.observationCount();
        long nb = b.observationCount();
        NeuronDistribution.KsMemo m = b.ksMemo();
        if (m != null && m.against().get() == a && m.againstObservations() == na && m.observations() == nb) {
            return new double[] {m.ks(), m.w()};
        }
        double[] ksAndW = ksAndWasserstein(Side.of(a), Side.of(b));
        b.ksMemo(new NeuronDistribution.KsMemo(new java.lang.ref.WeakReference<>(a), na, nb, ksAndW[0],
                ksAndW[1]));
        return ksAndW;
    }

    /** Finite values only: {@link #ksAndWasserstein(Side, Side)} of two plain sketched CDFs. */
    static double[] ksAndWasserstein(float[] xa, long[] wa, long na, float[] xb, long[] wb, long nb) {
        return ksAndWasserstein(Side.finite(xa, wa, na), Side.finite(xb, wb, nb));
    }

    /**
     * Walks both step CDFs over the union of their retained items: KS is the largest gap between the extended CDFs
     * (at -Inf, every finite point, +Inf; at NaN both reach 1), W1 the area between the finite CDFs. Cumulative
     * weights count the items at or below each retained value.
     */
    static double[] ksAndWasserstein(Side a, Side b) {
        float[] xa = a.x();
        float[] xb = b.x();
        long[] wa = a.cumulativeWeights();
        long[] wb = b.cumulativeWeights();
        // reciprocals once: the walk is a monitor's hottest loop, and a division per step would triple its cost.
        // The extended CDF at a finite point is (-Inf count + cumulative weight) / total.
        double perTotalA = 1.0 / a.total();
        double perTotalB = 1.0 / b.total();
        double perFiniteA = a.finite() == 0 ? 0 : 1.0 / a.finite();
        double perFiniteB = b.finite() == 0 ? 0 : 1.0 / b.finite();
        double belowA = a.negativeInfinity();
        double belowB = b.negativeInfinity();
        int i = 0;
        int j = 0;
        long ca = 0;
        long cb = 0;
        double ks = Math.abs(belowA * perTotalA - belowB * perTotalB);
        double w = 0;
        float previous = Float.NaN;
        while (i < xa.length || j < xb.length) {
            float x = i < xa.length ? (j < xb.length ? Math.min(xa[i], xb[j]) : xa[i]) : xb[j];
            if (i + j > 0) {
                w += Math.abs(ca * perFiniteA - cb * perFiniteB) * ((double) x - previous);
            }
            while (i < xa.length && xa[i] == x) {
                ca = wa[i];
                i++;
            }
            while (j < xb.length && xb[j] == x) {
                cb = wb[j];
                j++;
            }
            ks = Math.max(ks, Math.abs((belowA + ca) * perTotalA - (belowB + cb) * perTotalB));
            previous = x;
        }
        ks = Math.max(ks, Math.abs(a.atPositiveInfinity() - b.atPositiveInfinity()));
        return new double[] {ks, w};
    }

    /**
     * The shares of the finite bins (scaled by the finite share of the observations) followed by the shares of
     * -Inf, +Inf and NaN: every observation in exactly one bin.
     */
    static double[] extendedShares(NeuronDistribution d, double[] edges) {
        int finiteBins = Math.max(0, edges.length - 1);
        double[] out = new double[finiteBins + 3];
        double n = d.observationCount();
        if (finiteBins > 0 && d.count() > 0) {
            double[] finite = shares(d, edges);
            for (int i = 0; i < finiteBins; i++) {
                out[i] = finite[i] * d.count() / n;
            }
        }
        out[finiteBins] = d.negativeInfinityCount() / n;
        out[finiteBins + 1] = d.positiveInfinityCount() / n;
        out[finiteBins + 2] = d.nanCount() / n;
        return out;
    }

    /** Every share's error widened by {@code by} (a sample's error, which every bin has, non-finite ones too). */
    private static double[] widen(double[] errors, double by) {
        for (int i = 0; i < errors.length; i++) {
            errors[i] += by;
        }
        return errors;
    }

    /** The finite bins' errors, then the non-finite bins', which are exact counts. */
    static double[] extendedShareErrors(int finiteBins, double binShareError) {
        double[] out = new double[Math.max(0, finiteBins) + 3];
        double[] finite = shareErrors(Math.max(0, finiteBins), binShareError);
        System.arraycopy(finite, 0, out, 0, finite.length);
        return out;
    }

    /**
     * Bin edges at the quantiles of A and B pooled (each side weighted by its count), so that every bin holds a
     * fair share of the data whatever the scale; repeated edges (a value holding many observations, such as the
     * zeros of a ReLU) are merged.
     */
    static double[] pooledEdges(NeuronDistribution a, NeuronDistribution b, int bins) {
        KllFloatsSketch pooled = KllFloatsSketch.newHeapInstance(Math.max(a.sketchK(), b.sketchK()));
        // a side without finite values (only NaN or infinities) adds nothing to the finite bins
        if (a.sketch() != null) {
            pooled.merge(a.sketch());
        }
        if (b.sketch() != null) {
            pooled.merge(b.sketch());
        }
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
        java.util.Arrays.fill(out, bins <= 1 ? 0 : binShareError);
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
