package ai.neuraldivergence.domain;

import org.apache.datasketches.kll.KllFloatsSketch;
import org.apache.datasketches.quantilescommon.QuantileSearchCriteria;

/**
 * One neuron's activation distribution in one slice and window: a KLL quantile sketch plus exact moments, range and
 * the count of exact zeros (dead ReLUs) over its finite values, and the counts of its non-finite values (NaN, +Inf,
 * -Inf). Mergeable: merging two distributions equals the distribution of the union of their observations, up to the
 * sketch's rank error for quantiles.
 *
 * <p>Non-finite activations are data, not poison: a neuron that starts producing NaN is a change worth seeing, so
 * they are counted rather than refused, and kept out of everything a finite value means (sketch, moments, range).
 * {@link #count()} counts the finite values; {@link #observationCount()} every value, finite or not.
 *
 * <p>Up to k finite values are kept as they are, and the KLL sketch is built from them only when a k+1th arrives
 * or a read needs it: a KLL sketch holds k floats from its first value, and a wide tap's rarely used slices (a tag
 * value seen twice in a minute) would otherwise pay that for every neuron. Either way the distribution is exact up
 * to k values, as KLL itself is.
 */
public final class NeuronDistribution {

    /** The sketch size used when none is configured; ~1.33 % single-sided rank error at 99 % confidence. */
    public static final int DEFAULT_K = 200;

    private final int k;
    // while at most k finite values were seen: the values themselves (null until the first); then the sketch.
    // Volatile: a read of a shared, decoded distribution (a cached reference, say) may build the sketch while
    // another thread reads its count; the sketch is published before the exact values are let go
    private float[] exact;
    private int exactSize;
    private volatile KllFloatsSketch sketch;
    private long count;
    private double sum;
    private double sumOfSquares;
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    private long zeroCount;
    private long nanCount;
    private long positiveInfinityCount;
    private long negativeInfinityCount;
    // the last KS and W1 computed with this distribution as side B (Divergence): a monitor evaluates one window
    // against one reference once per threshold it holds, every minute. Both sides only grow, so their observation
    // counts say whether the pair changed since. Written racily but safely: a record of final fields, replaced whole.
    // The other side is held weakly: a cached window must not keep an evicted reference alive.
    private KsMemo ksMemo;

    /** KS and W1 against {@code against} when it and this held the observations counted here. */
    record KsMemo(java.lang.ref.WeakReference<NeuronDistribution> against, long againstObservations,
            long observations, double ks, double w) {
    }

    public NeuronDistribution(int k) {
        if (k < 8 || k > 65_535) {
            throw new IllegalArgumentException("sketch k must be in 8..65535, got " + k);
        }
        this.k = k;
    }

    NeuronDistribution(int k, KllFloatsSketch sketch, long count, double sum, double sumOfSquares, float min,
            float max, long zeroCount, long nanCount, long positiveInfinityCount, long negativeInfinityCount) {
        this.k = k;
        this.sketch = sketch;
        this.count = count;
        this.sum = sum;
        this.sumOfSquares = sumOfSquares;
        this.min = min;
        this.max = max;
        this.zeroCount = zeroCount;
        this.nanCount = nanCount;
        this.positiveInfinityCount = positiveInfinityCount;
        this.negativeInfinityCount = negativeInfinityCount;
    }

    /** Adds one activation: a finite value enters the sketch and the moments, a non-finite one its own count. */
    public void update(float activation) {
        if (!Float.isFinite(activation)) {
            if (Float.isNaN(activation)) {
                nanCount++;
            } else if (activation > 0) {
                positiveInfinityCount++;
            } else {
                negativeInfinityCount++;
            }
            return;
        }
        if (sketch != null) {
            sketch.update(activation);
        } else {
            keep(activation);
        }
        count++;
        sum += activation;
        sumOfSquares += (double) activation * activation;
        if (activation < min) {
            min = activation;
        }
        if (activation > max) {
            max = activation;
        }
        if (activation == 0f) {
            zeroCount++;
        }
    }

    public void merge(NeuronDistribution other) {
        nanCount += other.nanCount;
        positiveInfinityCount += other.positiveInfinityCount;
        negativeInfinityCount += other.negativeInfinityCount;
        if (other.count == 0) {
            return;
        }
        if (sketch == null && other.sketch == null && exactSize + other.exactSize <= k) {
            for (int i = 0; i < other.exactSize; i++) {
                keep(other.exact[i]);
            }
        } else {
            KllFloatsSketch mine = sketchForUpdates();
            if (other.sketch != null) {
                mine.merge(other.sketch);
            } else {
                for (int i = 0; i < other.exactSize; i++) {
                    mine.update(other.exact[i]);
                }
            }
        }
        count += other.count;
        sum += other.sum;
        sumOfSquares += other.sumOfSquares;
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
        zeroCount += other.zeroCount;
    }

    /** Finite values seen: what the sketch, the moments and the range describe. */
    /**
     * An estimate of the heap this distribution holds: its exact values or its sketch's retained items, and the
     * object's fields. What a cache of distributions bounds itself by.
     */
    public long heapBytes() {
        KllFloatsSketch s = sketch;
        long items = s != null ? s.getNumRetained() : exact == null ? 0 : exact.length;
        // the fields, the sketch's object and level arrays, and 4 bytes an item
        return 96 + (s != null ? 64 + 4L * 16 : 16) + 4 * items;
    }

    KsMemo ksMemo() {
        return ksMemo;
    }

    void ksMemo(KsMemo memo) {
        ksMemo = memo;
    }

    public long count() {
        return count;
    }

    /** Every value seen, finite or not. */
    public long observationCount() {
        return count + nonFiniteCount();
    }

    public long nonFiniteCount() {
        return nanCount + positiveInfinityCount + negativeInfinityCount;
    }

    public long nanCount() {
        return nanCount;
    }

    public long positiveInfinityCount() {
        return positiveInfinityCount;
    }

    public long negativeInfinityCount() {
        return negativeInfinityCount;
    }

    public double sum() {
        return sum;
    }

    public double sumOfSquares() {
        return sumOfSquares;
    }

    /** The smallest finite activation; {@code +Infinity} when there is none. */
    public float min() {
        return min;
    }

    /** The largest finite activation; {@code -Infinity} when there is none. */
    public float max() {
        return max;
    }

    public long zeroCount() {
        return zeroCount;
    }

    public int sketchK() {
        return k;
    }

    /** The number of values the quantile sketch has seen; equals {@link #count()} unless state was corrupted. */
    public long sketchCount() {
        return sketch == null ? exactSize : sketch.getN();
    }

    public double mean() {
        return count == 0 ? Double.NaN : sum / count;
    }

    /** Population standard deviation of the finite values. */
    public double standardDeviation() {
        if (count == 0) {
            return Double.NaN;
        }
        double m = mean();
        return Math.sqrt(Math.max(0, sumOfSquares / count - m * m));
    }

    /** The finite activation at normalized rank {@code rank} (0..1) among the finite values; NaN when none. */
    public double quantile(double rank) {
        if (count == 0) {
            return Double.NaN;
        }
        return sketch().getQuantile(rank, QuantileSearchCriteria.INCLUSIVE);
    }

    /** Share of the finite activations {@code <= value}, 0..1; NaN when there is none. */
    public double rank(float value) {
        if (count == 0) {
            return Double.NaN;
        }
        return sketch().getRank(value, QuantileSearchCriteria.INCLUSIVE);
    }

    /**
     * Where {@code value} falls among the finite values, 0..1, counting ties half: a value held by many
     * observations (a ReLU's zeros) sits in the middle of its run rather than at its top. NaN when there is none.
     */
    public double midRank(float value) {
        if (count == 0) {
            return Double.NaN;
        }
        KllFloatsSketch s = sketch();
        return (s.getRank(value, QuantileSearchCriteria.EXCLUSIVE)
                + s.getRank(value, QuantileSearchCriteria.INCLUSIVE)) / 2;
    }

    /**
     * Where {@code value} falls among every value seen, 0..1, in the order -Inf < finite < +Inf < NaN, counting ties
     * half (see {@link #midRank}). NaN when nothing was seen.
     */
    public double percentile(float value) {
        long n = observationCount();
        if (n == 0) {
            return Double.NaN;
        }
        double below;
        double tied;
        if (Float.isNaN(value)) {
            below = n - nanCount;
            tied = nanCount;
        } else if (value == Float.NEGATIVE_INFINITY) {
            below = 0;
            tied = negativeInfinityCount;
        } else if (value == Float.POSITIVE_INFINITY) {
            below = negativeInfinityCount + count;
            tied = positiveInfinityCount;
        } else {
            below = negativeInfinityCount + (count == 0 ? 0 : count * midRank(value));
            tied = 0;
        }
        return (below + tied / 2) / n;
    }

    /**
     * The sketch's single-sided normalized rank error at 99 % confidence, relative to the finite values: 0 while it
     * still holds every value exactly.
     */
    public double rankError() {
        return sketch != null && sketch.isEstimationMode() ? sketch.getNormalizedRankError(false) : 0.0;
    }

    /**
     * The sketch's normalized error for the mass of any interval (its "double-sided" PMF error at 99 % confidence):
     * what a histogram bin's share of the finite values may be off by. 0 while the sketch holds every value exactly.
     */
    public double binShareError() {
        return sketch != null && sketch.isEstimationMode() ? sketch.getNormalizedRankError(true) : 0.0;
    }

    /**
     * The sketch, built from the kept values when there is none yet (from then on it takes the values); null when no
     * finite value was seen.
     */
    synchronized KllFloatsSketch sketch() {
        if (sketch == null && exactSize > 0) {
            KllFloatsSketch built = KllFloatsSketch.newHeapInstance(k);
            for (int i = 0; i < exactSize; i++) {
                built.update(exact[i]);
            }
            sketch = built;
            exact = null;
            exactSize = 0;
        }
        return sketch;
    }

    private KllFloatsSketch sketchForUpdates() {
        KllFloatsSketch s = sketch();
        if (s == null) {
            sketch = KllFloatsSketch.newHeapInstance(k);
            s = sketch;
        }
        return s;
    }

    /**
     * Starts the sketch now, for a neuron about to take more than k values: they would be kept as they are only to be
     * copied into the sketch at the k+1th.
     */
    void startSketch() {
        if (sketch == null && exactSize == 0) {
            sketch = KllFloatsSketch.newHeapInstance(k);
        }
    }

    /** The finite values as they are, while they are kept so (at most k, no sketch yet); else null. */
    float[] exactValues() {
        return sketch == null ? (exact == null ? new float[0] : java.util.Arrays.copyOf(exact, exactSize)) : null;
    }

    /** A neuron whose finite values are {@code values}: the moments follow from them. */
    static NeuronDistribution ofExact(int k, float[] values, long nan, long positiveInfinity,
            long negativeInfinity) {
        NeuronDistribution d = new NeuronDistribution(k);
        for (float v : values) {
            d.update(v);
        }
        d.nanCount = nan;
        d.positiveInfinityCount = positiveInfinity;
        d.negativeInfinityCount = negativeInfinity;
        return d;
    }

    private void keep(float value) {
        if (sketch != null) {
            sketch.update(value);
            return;
        }
        if (exactSize == k) {
            // the k+1th value: from now on the sketch
            sketchForUpdates().update(value);
            return;
        }
        if (exact == null) {
            exact = new float[Math.min(k, 4)];
        } else if (exactSize == exact.length) {
            exact = java.util.Arrays.copyOf(exact, Math.min(k, exact.length * 2));
        }
        exact[exactSize++] = value;
    }
}
