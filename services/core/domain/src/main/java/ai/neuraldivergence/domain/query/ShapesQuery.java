package ai.neuraldivergence.domain.query;

import java.util.List;

/**
 * Histograms and quantiles of chosen neurons of one tap (every neuron when none is named) for A, and for B on the
 * same bins when B is given ({@code b} may be null). Zero bins and no ranks mean the defaults.
 */
public record ShapesQuery(ModelVersion model, String tap, List<Integer> neurons, int bins, double[] ranks,
        Selection a, Selection b) {

    public static final int DEFAULT_BINS = 20;
    public static final int MAX_BINS = 1000;
    public static final int MAX_NEURONS = 4096;
    /** Quantile ranks per request: every percentile and the median (0, 0.01, ..., 1) are 101. */
    public static final int MAX_RANKS = 101;
    private static final double[] DEFAULT_RANKS = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};

    public ShapesQuery {
        neurons = neurons == null ? List.of() : List.copyOf(neurons);
        ranks = ranks == null || ranks.length == 0 ? DEFAULT_RANKS.clone() : ranks.clone();
        // a request's size is wrong whatever the data: refused before anything is read
        if (neurons.size() > MAX_NEURONS) {
            throw new IllegalArgumentException("at most " + MAX_NEURONS + " neurons per request, got "
                    + neurons.size());
        }
        if (ranks.length > MAX_RANKS) {
            throw new IllegalArgumentException("at most " + MAX_RANKS + " quantile ranks per request, got "
                    + ranks.length);
        }
        Queries.requireText(tap, "tap");
        if (bins == 0) {
            bins = DEFAULT_BINS;
        }
        if (bins < 1 || bins > MAX_BINS) {
            throw new IllegalArgumentException("bins must be 1.." + MAX_BINS + ", got " + bins);
        }
        for (double r : ranks) {
            if (!(r >= 0 && r <= 1)) {
                throw new IllegalArgumentException("quantile ranks must lie in [0, 1], got " + r);
            }
        }
        Queries.require(a, "a");
    }
}
