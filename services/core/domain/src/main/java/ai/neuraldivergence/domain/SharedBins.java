package ai.neuraldivergence.domain;

/**
 * Equal-width bins spanning one or two distributions' combined range, so that A and B are histogrammed on the same
 * edges (what plotting them together, and divergences defined on bins, need).
 */
public final class SharedBins {

    private final double[] edges;

    private SharedBins(double[] edges) {
        this.edges = edges;
    }

    /**
     * Bins over the range of every non-empty distribution given.
     *
     * @param bins the number of bins, at least 1
     */
    /** Bins with the given ascending edges (at least two). */
    public static SharedBins of(double[] edges) {
        if (edges.length < 2) {
            throw new IllegalArgumentException("bins need at least two edges, got " + edges.length);
        }
        return new SharedBins(edges.clone());
    }

    public static SharedBins spanning(int bins, NeuronDistribution... distributions) {
        if (bins < 1) {
            throw new IllegalArgumentException("bins must be >= 1, got " + bins);
        }
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (NeuronDistribution d : distributions) {
            if (d != null && d.count() > 0) {
                lo = Math.min(lo, d.min());
                hi = Math.max(hi, d.max());
            }
        }
        if (lo == Double.POSITIVE_INFINITY) {
            lo = 0;
            hi = 1;
        } else if (hi <= lo) {
            // a constant neuron (a dead ReLU is all zeros): give its single value a unit-wide bin range
            lo -= 0.5;
            hi += 0.5;
        }
        double[] edges = new double[bins + 1];
        for (int i = 0; i <= bins; i++) {
            edges[i] = lo + (hi - lo) * i / bins;
        }
        edges[bins] = hi;
        return new SharedBins(edges);
    }

    public double[] edges() {
        return edges.clone();
    }

    public int size() {
        return edges.length - 1;
    }

    /**
     * The share of {@code d}'s count in each bin: bin i holds values in {@code (edge[i], edge[i+1]]}, the first bin
     * also its lower edge. Shares sum to 1 for a non-empty distribution whose range lies within the bins; all zero
     * when it is empty. Read from the sketch, so each share carries its rank error.
     */
    public double[] shares(NeuronDistribution d) {
        double[] shares = new double[size()];
        if (d.count() == 0) {
            return shares;
        }
        double previous = 0;
        for (int i = 0; i < shares.length; i++) {
            double cumulative = i == shares.length - 1 ? 1.0 : d.rank((float) edges[i + 1]);
            shares[i] = Math.max(0, cumulative - previous);
            previous = Math.max(previous, cumulative);
        }
        return shares;
    }
}
