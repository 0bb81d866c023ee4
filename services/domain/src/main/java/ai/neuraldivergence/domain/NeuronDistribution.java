package ai.neuraldivergence.domain;

import org.apache.datasketches.kll.KllFloatsSketch;
import org.apache.datasketches.quantilescommon.QuantileSearchCriteria;

/**
 * One neuron's activation distribution in one slice and window: a KLL quantile sketch plus exact moments, range and
 * the count of exact zeros (dead ReLUs). Mergeable: merging two distributions equals the distribution of the union
 * of their observations, up to the sketch's rank error for quantiles.
 */
public final class NeuronDistribution {

    /** The sketch size used when none is configured; ~1.33 % single-sided rank error at 99 % confidence. */
    public static final int DEFAULT_K = 200;

    private final KllFloatsSketch sketch;
    private long count;
    private double sum;
    private double sumOfSquares;
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    private long zeroCount;

    public NeuronDistribution(int k) {
        this.sketch = KllFloatsSketch.newHeapInstance(k);
    }

    NeuronDistribution(KllFloatsSketch sketch, long count, double sum, double sumOfSquares, float min, float max,
            long zeroCount) {
        this.sketch = sketch;
        this.count = count;
        this.sum = sum;
        this.sumOfSquares = sumOfSquares;
        this.min = min;
        this.max = max;
        this.zeroCount = zeroCount;
    }

    /** Adds one activation. Non-finite values are the caller's to reject: they would poison every moment. */
    public void update(float activation) {
        sketch.update(activation);
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
        if (other.count == 0) {
            return;
        }
        sketch.merge(other.sketch);
        count += other.count;
        sum += other.sum;
        sumOfSquares += other.sumOfSquares;
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
        zeroCount += other.zeroCount;
    }

    public long count() {
        return count;
    }

    public double sum() {
        return sum;
    }

    public double sumOfSquares() {
        return sumOfSquares;
    }

    /** The smallest activation; {@code +Infinity} when empty. */
    public float min() {
        return min;
    }

    /** The largest activation; {@code -Infinity} when empty. */
    public float max() {
        return max;
    }

    public long zeroCount() {
        return zeroCount;
    }

    public int sketchK() {
        return sketch.getK();
    }

    /** The number of values the quantile sketch has seen; equals {@link #count()} unless state was corrupted. */
    public long sketchCount() {
        return sketch.getN();
    }

    public double mean() {
        return count == 0 ? Double.NaN : sum / count;
    }

    /** Population standard deviation. */
    public double standardDeviation() {
        if (count == 0) {
            return Double.NaN;
        }
        double m = mean();
        return Math.sqrt(Math.max(0, sumOfSquares / count - m * m));
    }

    /** The activation at normalized rank {@code rank} (0..1); NaN when empty. */
    public double quantile(double rank) {
        if (count == 0) {
            return Double.NaN;
        }
        return sketch.getQuantile(rank, QuantileSearchCriteria.INCLUSIVE);
    }

    /** Share of activations {@code <= value}, 0..1; NaN when empty. */
    public double rank(float value) {
        if (count == 0) {
            return Double.NaN;
        }
        return sketch.getRank(value, QuantileSearchCriteria.INCLUSIVE);
    }

    /**
     * Where {@code value} falls, 0..1, counting ties half: a value held by many observations (a ReLU's zeros) sits
     * in the middle of its run rather than at its top. NaN when empty.
     */
    public double midRank(float value) {
        if (count == 0) {
            return Double.NaN;
        }
        return (sketch.getRank(value, QuantileSearchCriteria.EXCLUSIVE)
                + sketch.getRank(value, QuantileSearchCriteria.INCLUSIVE)) / 2;
    }

    /**
     * The sketch's single-sided normalized rank error at 99 % confidence: 0 while it still holds every value exactly.
     */
    public double rankError() {
        return sketch.isEstimationMode() ? sketch.getNormalizedRankError(false) : 0.0;
    }

    /**
     * The sketch's normalized error for the mass of any interval (its "double-sided" PMF error at 99 % confidence):
     * what a histogram bin's share may be off by. 0 while the sketch holds every value exactly.
     */
    public double binShareError() {
        return sketch.isEstimationMode() ? sketch.getNormalizedRankError(true) : 0.0;
    }

    KllFloatsSketch sketch() {
        return sketch;
    }
}
