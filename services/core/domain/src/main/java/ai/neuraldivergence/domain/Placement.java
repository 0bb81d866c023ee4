package ai.neuraldivergence.domain;

/**
 * Where one observation falls in a distribution: each neuron's percentile, and an anomaly score for a set of
 * neurons.
 *
 * <p>The score is the mean two-sided tail surprise, {@code -ln(2 min(p, 1 - p))} over the neurons. For an
 * observation drawn from the distribution itself, each neuron's two-sided tail probability is uniform, so each
 * surprise is exponentially distributed with mean 1: a typical observation scores about 1, whatever the layer's
 * size or the neurons' shapes, and a score of 3 means the neurons sit, on average, as far out as a 1-in-20 tail
 * (e^-3 = 0.05). It needs no assumption about the distributions (the percentiles come from the sketches), weighs
 * both tails, and grows smoothly, so a few extreme neurons and many moderately unusual ones both show.
 */
public final class Placement {

    private Placement() {
    }

    /**
     * The percentile (mid-rank, 0..1) of {@code activation} in {@code d}, in the order -Inf < finite < +Inf < NaN:
     * a NaN where the neuron never produced one sits at the top, as far out as anything seen.
     */
    public static double percentile(NeuronDistribution d, float activation) {
        return d.percentile(activation);
    }

    /**
     * One neuron's surprise. The tail is floored at half an observation's share, so a value beyond everything seen
     * scores high but finite.
     */
    public static double surprise(double percentile, long count) {
        double floor = 1.0 / (2.0 * Math.max(1, count));
        double tail = Math.max(floor, 2 * Math.min(percentile, 1 - percentile));
        return -Math.log(Math.min(1, tail));
    }

    /** The mean surprise of a tap's neurons. */
    public static double anomalyScore(double[] percentiles, long count) {
        if (percentiles.length == 0) {
            return 0;
        }
        double total = 0;
        for (double p : percentiles) {
            total += surprise(p, count);
        }
        return total / percentiles.length;
    }
}
