package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.TapComparison;

/**
 * A against B neuron by neuron, for one tap (or every tap of the version when {@code tap} is empty), with each tap's
 * top {@code topK} neurons (0 means the default), and the first tap whose drifted share passes the onset share.
 */
public record CompareQuery(ModelVersion model, String tap, Selection a, Selection b, Verdict verdict, int topK,
        boolean binEdges, double onsetShare) {

    /** Neurons one response may carry; a larger comparison must name a tap. */
    public static final int MAX_NEURONS_PER_RESPONSE = 65_536;
    public static final int MAX_TOP_K = 4096;

    public CompareQuery {
        tap = tap == null ? "" : tap;
        Queries.require(a, "a");
        Queries.require(b, "b");
        onsetShare = Verdict.onsetShare(onsetShare);
        if (topK == 0) {
            topK = TapComparison.DEFAULT_TOP_K;
        }
        if (topK < 0 || topK > MAX_TOP_K) {
            throw new IllegalArgumentException("top_k must be 1.." + MAX_TOP_K + " (0 for the default "
                    + TapComparison.DEFAULT_TOP_K + "), got " + topK);
        }
    }
}
