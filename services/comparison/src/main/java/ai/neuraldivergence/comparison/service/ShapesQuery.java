package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.SharedBins;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import java.util.ArrayList;
import java.util.List;

/** Histograms and quantiles of chosen neurons for A (and optionally B) on shared bins, for plotting. */
public final class ShapesQuery {

    public static final int DEFAULT_BINS = 20;
    public static final int MAX_BINS = 1000;
    public static final int MAX_NEURONS = 4096;
    /** Quantile ranks per request: every percentile and the median (0, 0.01, ..., 1) are 101. */
    public static final int MAX_RANKS = 101;
    public static final double[] DEFAULT_RANKS = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};

    /**
     * One side of one neuron: its summary, quantiles and bin shares over its finite values ({@code count} of them),
     * and its non-finite values, which no bin holds.
     */
    public record Side(long count, double min, double max, double mean, double stddev, long zeroCount,
            double[] ranks, double[] quantiles, double[] binShares, double rankError, Divergence.NonFinite nonFinite) {
    }

    public record NeuronShape(int neuron, double[] binEdges, Side a, Side b) {
    }

    public record Request(TapDescriptor tap, List<Integer> neurons, int bins, double[] ranks) {

        public Request {
            if (bins == 0) {
                bins = DEFAULT_BINS;
            }
            if (bins < 1 || bins > MAX_BINS) {
                throw new IllegalArgumentException("bins must be 1.." + MAX_BINS + ", got " + bins);
            }
            if (ranks == null || ranks.length == 0) {
                ranks = DEFAULT_RANKS.clone();
            }
            requireCounts(neurons == null ? 0 : neurons.size(), ranks.length);
            for (double r : ranks) {
                if (!(r >= 0 && r <= 1)) {
                    throw new IllegalArgumentException("quantile ranks must lie in [0, 1], got " + r);
                }
            }
            if (neurons == null || neurons.isEmpty()) {
                neurons = java.util.stream.IntStream.range(0, tap.neuronCount()).boxed().toList();
            }
            for (int n : neurons) {
                if (n < 0 || n >= tap.neuronCount()) {
                    throw new IllegalArgumentException("neuron " + n + " does not exist: tap '" + tap.tap()
                            + "' has neurons 0.." + (tap.neuronCount() - 1));
                }
            }
        }
    }

    private ShapesQuery() {
    }

    /**
     * Refuses more neurons or ranks than one response carries. Checked before anything is read: a request's size is
     * wrong whatever the data.
     */
    public static void requireCounts(int neurons, int ranks) {
        if (neurons > MAX_NEURONS) {
            throw new IllegalArgumentException("at most " + MAX_NEURONS + " neurons per request, got " + neurons);
        }
        if (ranks > MAX_RANKS) {
            throw new IllegalArgumentException("at most " + MAX_RANKS + " quantile ranks per request, got " + ranks);
        }
    }

    /** Shapes of A alone ({@code b == null}) or of A and B on shared bins. */
    public static List<NeuronShape> shapes(Request request, TapDistribution a, TapDistribution b) {
        List<NeuronShape> out = new ArrayList<>(request.neurons().size());
        for (int n : request.neurons()) {
            NeuronDistribution da = a.neuron(n);
            NeuronDistribution db = b == null ? null : b.neuron(n);
            SharedBins bins = SharedBins.spanning(request.bins(), da, db);
            out.add(new NeuronShape(n, bins.edges(), side(da, bins, request.ranks()),
                    db == null ? null : side(db, bins, request.ranks())));
        }
        return out;
    }

    private static Side side(NeuronDistribution d, SharedBins bins, double[] ranks) {
        double[] quantiles = new double[ranks.length];
        for (int i = 0; i < ranks.length; i++) {
            quantiles[i] = d.quantile(ranks[i]);
        }
        boolean empty = d.count() == 0;
        return new Side(d.count(), empty ? Double.NaN : d.min(), empty ? Double.NaN : d.max(), d.mean(),
                d.standardDeviation(), d.zeroCount(), ranks.clone(), quantiles, bins.shares(d), d.rankError(),
                d.nonFiniteCount() == 0 ? Divergence.NonFinite.NONE : new Divergence.NonFinite(d.nanCount(),
                        d.positiveInfinityCount(), d.negativeInfinityCount()));
    }
}
