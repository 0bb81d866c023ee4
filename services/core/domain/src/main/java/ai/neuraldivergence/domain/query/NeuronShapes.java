package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.NeuronDistribution;
import ai.neuraldivergence.domain.SharedBins;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import java.util.ArrayList;
import java.util.List;

/** Histograms and quantiles of chosen neurons for A (and optionally B) on shared bins, for plotting. */
public final class NeuronShapes {

    /**
     * One side of one neuron: its summary, quantiles and bin shares over its finite values ({@code count} of them),
     * and its non-finite values, which no bin holds.
     */
    public record Summary(long count, double min, double max, double mean, double stddev, long zeroCount,
            double[] ranks, double[] quantiles, double[] binShares, double rankError, Divergence.NonFinite nonFinite) {
    }

    public record NeuronShape(int neuron, double[] binEdges, Summary a, Summary b) {
    }

    /** The neurons, bins and ranks of a {@link ShapesQuery}, checked against the tap's layout. */
    /**
     * Bin edges, shares and quantiles a request may ask of each side: a few megabytes of numbers, some tens in JSON
     * (4,096 neurons of 1,000 bins would be 16 million, hundreds of megabytes against the service's heap).
     */
    public static final int MAX_VALUES = 1 << 20;

    public record Request(TapDescriptor tap, List<Integer> neurons, int bins, double[] ranks) {

        public Request {
            for (int n : neurons) {
                if (n < 0 || n >= tap.neuronCount()) {
                    throw new IllegalArgumentException("neuron " + n + " does not exist: tap '" + tap.tap()
                            + "' has neurons 0.." + (tap.neuronCount() - 1));
                }
            }
            if (neurons.isEmpty()) {
                // every neuron: as bounded as a list that names them (a wide tap's all ran the heap out)
                if (tap.neuronCount() > ShapesQuery.MAX_NEURONS) {
                    throw new IllegalArgumentException("tap '" + tap.tap() + "' has " + tap.neuronCount()
                            + " neurons, more than the " + ShapesQuery.MAX_NEURONS + " a request may shape: name "
                            + "the neurons");
                }
                neurons = java.util.stream.IntStream.range(0, tap.neuronCount()).boxed().toList();
            }
            long values = (long) neurons.size() * (bins + 1 + ranks.length);
            if (values > MAX_VALUES) {
                throw new IllegalArgumentException(neurons.size() + " neurons of " + bins + " bins and "
                        + ranks.length + " quantile ranks are " + values + " values a side, more than "
                        + MAX_VALUES + ": ask for fewer neurons or bins");
            }
        }

        public static Request of(TapDescriptor tap, ShapesQuery query) {
            return new Request(tap, query.neurons(), query.bins(), query.ranks());
        }
    }

    private NeuronShapes() {
    }

    /** Shapes of A alone ({@code b == null}) or of A and B on shared bins. */
    public static List<NeuronShape> shapes(Request request, TapDistribution a, TapDistribution b) {
        List<NeuronShape> out = new ArrayList<>(request.neurons().size());
        for (int n : request.neurons()) {
            NeuronDistribution da = a.neuron(n);
            NeuronDistribution db = b == null ? null : b.neuron(n);
            SharedBins bins = SharedBins.spanning(request.bins(), da, db);
            out.add(new NeuronShape(n, bins.edges(), summary(da, bins, request.ranks()),
                    db == null ? null : summary(db, bins, request.ranks())));
        }
        return out;
    }

    private static Summary summary(NeuronDistribution d, SharedBins bins, double[] ranks) {
        double[] quantiles = new double[ranks.length];
        for (int i = 0; i < ranks.length; i++) {
            quantiles[i] = d.quantile(ranks[i]);
        }
        boolean empty = d.count() == 0;
        return new Summary(d.count(), empty ? Double.NaN : d.min(), empty ? Double.NaN : d.max(), d.mean(),
                d.standardDeviation(), d.zeroCount(), ranks.clone(), quantiles, bins.shares(d), d.rankError(),
                d.nonFiniteCount() == 0 ? Divergence.NonFinite.NONE : new Divergence.NonFinite(d.nanCount(),
                        d.positiveInfinityCount(), d.negativeInfinityCount()));
    }
}
