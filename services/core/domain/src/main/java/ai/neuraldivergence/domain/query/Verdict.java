package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.TapComparison;

/**
 * How a query ranks and judges neurons: the metric its summaries use and the drift threshold a neuron's error-aware
 * divergence must pass. A zero threshold means the default.
 */
public record Verdict(Divergence.Metric metric, double threshold) {

    public Verdict {
        metric = metric == null ? Divergence.Metric.KS : metric;
        if (threshold == 0) {
            threshold = TapComparison.DEFAULT_THRESHOLD;
        }
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("drift_threshold must lie in (0, 1) (0 for the default "
                    + TapComparison.DEFAULT_THRESHOLD + "), got " + threshold);
        }
    }

    /** The share of drifted neurons past which a tap is the divergence onset; 0 means the default. */
    public static final double DEFAULT_ONSET_SHARE = 0.05;

    public static double onsetShare(double share) {
        if (share == 0) {
            return DEFAULT_ONSET_SHARE;
        }
        if (!(share > 0 && share < 1)) {
            throw new IllegalArgumentException("onset_share must lie in (0, 1) (0 for the default "
                    + DEFAULT_ONSET_SHARE + "), got " + share);
        }
        return share;
    }
}
