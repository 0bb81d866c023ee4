package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.SamplingBound;
import ai.neuraldivergence.domain.TapComparison;

/**
 * How a query ranks and judges neurons: the metric its summaries use, the drift threshold (the minimum relevant
 * effect) a neuron's KS must pass less its sketch and sampling errors, and the family-wise error rate of those
 * sampling bounds over a tap's neurons (also the layer statistic's false-alarm rate), and the layer statistic's
 * minimum relevant effect in MMD² ({@link ai.neuraldivergence.domain.LayerDrift}). Zero means the default.
 */
public record Verdict(Divergence.Metric metric, double threshold, double familyWiseAlpha, double layerThreshold) {

    /** A verdict whose layer statistic uses its default minimum relevant effect. */
    public Verdict(Divergence.Metric metric, double threshold, double familyWiseAlpha) {
        this(metric, threshold, familyWiseAlpha, 0);
    }

    public Verdict {
        if (metric != null && !metric.perNeuron()) {
            throw new IllegalArgumentException("metric mmd is the layer statistic, a tap's: every summary carries it "
                    + "as `layer`; rank neurons by ks, wasserstein, jensen_shannon, psi or mean_shift");
        }
        if (layerThreshold == 0) {
            layerThreshold = ai.neuraldivergence.domain.LayerDrift.DEFAULT_MINIMUM_EFFECT;
        }
        if (!(layerThreshold > 0 && layerThreshold < 1)) {
            throw new IllegalArgumentException("layer_drift_threshold must lie in (0, 1) (0 for the default "
                    + ai.neuraldivergence.domain.LayerDrift.DEFAULT_MINIMUM_EFFECT + "), got " + layerThreshold);
        }
        metric = metric == null ? Divergence.Metric.KS : metric;
        if (familyWiseAlpha == 0) {
            familyWiseAlpha = SamplingBound.DEFAULT_ALPHA;
        }
        if (!(familyWiseAlpha > 0 && familyWiseAlpha < 1)) {
            throw new IllegalArgumentException("family_wise_alpha must lie in (0, 1) (0 for the default "
                    + SamplingBound.DEFAULT_ALPHA + "), got " + familyWiseAlpha);
        }
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
