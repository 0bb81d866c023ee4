package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.Mmd;
import ai.neuraldivergence.domain.mmd.MmdNull;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;

/**
 * The layer statistic of one tap, A against B: the unbiased MMD² between the sides' joint distributions of the tap's
 * neurons (a Gaussian kernel through the stored random Fourier feature sums, {@link LayerFeatures}), which sees a
 * change in how neurons move together that no neuron's marginal shows. The tap is drifted when the MMD² exceeds the
 * minimum relevant effect plus the null quantile at the sides' counts ({@link MmdNull}, at the request's α).
 *
 * @param unavailable why the statistic cannot be computed for these sides, or null when it is
 * @param mmd the unbiased MMD² (may be slightly negative when the sides agree)
 * @param bandwidth the kernel's bandwidth: the stored grid point nearest the median heuristic
 * @param threshold {@code minimumEffect + nullQuantile}
 * @param countA observations of A with every value finite (the sums leave the others out), likewise countB
 * @param resampled whether the null quantile was resampled from a calibration sample ({@link LayerNull}), else the
 *     analytic bound ({@link MmdNull})
 * @param medianNull the null's median (resampled), or a bound on it (analytic, at 0.2): what a calibrated monitor's
 *     smallest detectable effect adds to its threshold
 * @param calibrating whether A's resampled null is still being computed (a reference sealed moments ago): the
 *     analytic bound answers meanwhile
 */
public record LayerDrift(String unavailable, double mmd, double bandwidth, double nullQuantile, double minimumEffect,
        double threshold, boolean drifted, long countA, long countB, boolean resampled, double medianNull,
        boolean calibrating) {

    /**
     * The default minimum relevant effect, in MMD²: the change a user would act on, below which a tap is not
     * called drifted however many observations show it.
     */
    public static final double DEFAULT_MINIMUM_EFFECT = 0.001;

    static LayerDrift unavailable(String why) {
        return new LayerDrift(why, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, false, 0, 0, false,
                Double.NaN, false);
    }

    public boolean available() {
        return unavailable == null;
    }

    /** The statistic of tap {@code tap} between two sides' distributions, at false-alarm rate {@code alpha}. */
    public static LayerDrift of(TapDescriptor tap, TapDistribution a, TapDistribution b, double alpha,
            double minimumEffect) {
        return of(tap, a, b, alpha, minimumEffect, null);
    }

    /** {@link #of}, with the null resampled from a calibration sample where {@code resampled} has one (null: none). */
    public static LayerDrift of(TapDescriptor tap, TapDistribution a, TapDistribution b, double alpha,
            double minimumEffect, LayerNull.Source resampled) {
        FeatureSums fa = a.features();
        FeatureSums fb = b.features();
        boolean summedA = fa != null && fa.count() + fa.nonFinite() == a.observationCount();
        boolean summedB = fb != null && fb.count() + fb.nonFinite() == b.observationCount();
        if (!summedA || !summedB) {
            return unavailable((summedA ? "B" : "A") + " holds observations stored without layer feature sums "
                    + (tap.blockCount() > 1 ? "of the whole tap (stored in " + tap.blockCount() + " blocks, it has "
                            + "them from the projections its producer sends with block 0, since 2026-12-04; or its "
                            + "blocks hold different counts while a flush is under way)"
                            : "(the slice all keeps them since the layer statistic came, every other slice since "
                                    + "2026-12-04)")
                    + ": windows age out with retention, a reference made before then is made again to have them");
        }
        if (!a.sameFeatureMap(b)) {
            return unavailable("the sides were summed through different feature maps (another model or tap layout, "
                    + "or other neuron scales)");
        }
        if (fa.count() < 2 || fb.count() < 2) {
            return unavailable("a side holds fewer than 2 observations whose values are all finite");
        }
        RandomFeatureMap map = a.featureMap();
        int g = map.nearestBandwidth(moments(a, true, map), moments(a, false, map), moments(b, true, map),
                moments(b, false, map));
        double mmd = Mmd.unbiased(fa, fb, g);
        java.util.OptionalDouble fromSample = resampled == null ? java.util.OptionalDouble.empty()
                : resampled.quantile(g, fa.count(), fb.count(), alpha);
        double trace = Mmd.pooledTrace(fa, fb, g);
        double q = fromSample.isPresent() ? fromSample.getAsDouble()
                : MmdNull.quantile(alpha, fa.count(), fb.count(), trace);
        double median = fromSample.isPresent() ? resampled.quantile(g, fa.count(), fb.count(), 0.5).orElseThrow()
                : MmdNull.quantile(0.5, fa.count(), fb.count(), trace);
        double threshold = minimumEffect + q;
        return new LayerDrift(null, mmd, map.bandwidth(g), q, minimumEffect, threshold, mmd > threshold, fa.count(),
                fb.count(), fromSample.isPresent(), median, resampled != null && resampled.calibrating());
    }

    /**
     * Each neuron's mean (or variance) over its finite values, divided by its scale in {@code map} (squared for the
     * variance), as the map sees the values; 0 where it has none.
     */
    private static double[] moments(TapDistribution d, boolean mean, RandomFeatureMap map) {
        double[] out = new double[d.neuronCount()];
        for (int i = 0; i < out.length; i++) {
            NeuronDistribution n = d.neuron(i);
            double s = map.scale(i);
            double v = mean ? n.mean() / s : n.standardDeviation() * n.standardDeviation() / (s * s);
            out[i] = Double.isFinite(v) ? v : 0;
        }
        return out;
    }
}
