package ai.neuraldivergence.domain;

import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * One tap, A against B: every neuron's {@link Divergence}, the top neurons by a metric, and the tap's summary under
 * that metric (mean, max, and the share of neurons whose error-aware verdict is "drifted"), and the smallest KS a
 * neuron could show and be called drifted at these counts (the threshold, the sampling bound at the tap's counts, and
 * the largest sketch bound of its neurons), and the layer statistic over the tap's neurons together.
 */
public record TapComparison(TapDescriptor tap, List<Divergence> neurons, int[] topNeurons, Divergence.Metric metric,
        double mean, double max, double driftedShare, long countA, long countB, double smallestDetectableKs,
        LayerDrift layer) {

    public static final double DEFAULT_THRESHOLD = 0.1;
    public static final int DEFAULT_TOP_K = 10;

    /**
     * Compares every neuron of a tap. Neurons are independent, so they are compared in parallel.
     *
     * @throws IllegalArgumentException when either side holds no observations of the tap
     */
    public static TapComparison of(TapDescriptor tap, TapDistribution a, TapDistribution b,
            Divergence.Metric metric, int topK, double threshold, double familyWiseAlpha, int bins) {
        return of(tap, a, b, metric, topK, threshold, familyWiseAlpha, bins, LayerDrift.DEFAULT_MINIMUM_EFFECT);
    }

    /** Also judges the layer statistic ({@link LayerDrift}) at {@code familyWiseAlpha} and {@code layerThreshold}. */
    public static TapComparison of(TapDescriptor tap, TapDistribution a, TapDistribution b,
            Divergence.Metric metric, int topK, double threshold, double familyWiseAlpha, int bins,
            double layerThreshold) {
        return of(tap, a, b, metric, topK, threshold, familyWiseAlpha, bins, layerThreshold, null);
    }

    /** {@link #of}, the layer statistic's null resampled from A's calibration sample where there is one. */
    public static TapComparison of(TapDescriptor tap, TapDistribution a, TapDistribution b,
            Divergence.Metric metric, int topK, double threshold, double familyWiseAlpha, int bins,
            double layerThreshold, LayerNull.Source layerNull) {
        SamplingBound sampling = SamplingBound.of(tap, familyWiseAlpha);
        return of(tap, a, b, metric, topK, threshold, sampling,
                n -> Divergence.of(a.neuron(n), b.neuron(n), bins, sampling),
                () -> LayerDrift.of(tap, a, b, familyWiseAlpha, layerThreshold, layerNull));
    }

    /**
     * {@link #of} by KS, each neuron's {@link Divergence#ksOf} (Jensen-Shannon and PSI NaN): what a monitor reads,
     * every minute, at a fraction of the cost.
     */
    public static TapComparison byKs(TapDescriptor tap, TapDistribution a, TapDistribution b, int topK,
            double threshold, double familyWiseAlpha, double layerThreshold, LayerNull.Source layerNull) {
        return byKs(tap, a, b, topK, threshold, familyWiseAlpha,
                () -> LayerDrift.of(tap, a, b, familyWiseAlpha, layerThreshold, layerNull));
    }

    /**
     * {@link #byKs} without the layer statistic, which is left unavailable: a KS monitor reads only its neurons, and
     * the layer's feature sums would cost it as much again on each of its windows, every minute.
     */
    public static TapComparison neuronsByKs(TapDescriptor tap, TapDistribution a, TapDistribution b, int topK,
            double threshold, double familyWiseAlpha) {
        return byKs(tap, a, b, topK, threshold, familyWiseAlpha,
                () -> LayerDrift.unavailable("not computed: this comparison reads neurons only"));
    }

    private static TapComparison byKs(TapDescriptor tap, TapDistribution a, TapDistribution b, int topK,
            double threshold, double familyWiseAlpha, java.util.function.Supplier<LayerDrift> layer) {
        SamplingBound sampling = SamplingBound.of(tap, familyWiseAlpha);
        return of(tap, a, b, Divergence.Metric.KS, topK, threshold, sampling,
                n -> Divergence.ksOf(a.neuron(n), b.neuron(n), sampling), layer);
    }

    private static TapComparison of(TapDescriptor tap, TapDistribution a, TapDistribution b,
            Divergence.Metric metric, int topK, double threshold, SamplingBound sampling,
            java.util.function.IntFunction<Divergence> neuron, java.util.function.Supplier<LayerDrift> layer) {
        if (a.observationCount() == 0 || b.observationCount() == 0) {
            throw new IllegalArgumentException("tap '" + tap.tap() + "': " + (a.observationCount() == 0 ? "A" : "B")
                    + " holds no observations");
        }
        List<Divergence> neurons = IntStream.range(0, tap.neuronCount()).parallel().mapToObj(neuron).toList();
        double sketchBound = 0;
        double sum = 0;
        double max = 0;
        int defined = 0;
        int drifted = 0;
        for (Divergence d : neurons) {
            double v = d.value(metric);
            // W1 and the mean shift are undefined for a neuron one side saw no finite value of: the summary is
            // over the neurons the metric is defined for (KS, JS and PSI always are)
            if (!Double.isNaN(v)) {
                sum += v;
                max = Math.max(max, v);
                defined++;
            }
            if (d.drifted(threshold)) {
                drifted++;
            }
            sketchBound = Math.max(sketchBound, d.ksErrorBound());
        }
        // largest first; a metric undefined for a neuron (NaN: a side without finite values) ranks last, so that
        // the top-k are the neurons the metric can speak of (KS, always defined, puts a NaN-producing neuron on top)
        int[] top = IntStream.range(0, neurons.size()).boxed()
                .sorted(Comparator.comparing((Integer n) -> Double.isNaN(neurons.get(n).value(metric)))
                        .thenComparing(Comparator.comparingDouble((Integer n) -> neurons.get(n).value(metric))
                                .reversed())
                        .thenComparingInt(n -> n))
                .limit(Math.max(0, topK)).mapToInt(Integer::intValue).toArray();
        return new TapComparison(tap, neurons, top, metric, defined == 0 ? Double.NaN : sum / defined,
                defined == 0 ? Double.NaN : max,
                (double) drifted / neurons.size(), a.observationCount(), b.observationCount(),
                threshold + sampling.ks(a.observationCount(), b.observationCount()) + sketchBound,
                layer.get());
    }

    /** Whether this tap has drifted neurons over {@code onsetShare}: the first such tap is the divergence onset. */
    /**
     * The summary alone, its per-neuron divergences dropped: what a sweep of many windows keeps (a timeline's 1,500
     * points of a wide tap would otherwise hold a divergence per neuron and point until the answer is built).
     */
    public TapComparison summaryOnly() {
        return new TapComparison(tap, List.of(), new int[0], metric, mean, max, driftedShare, countA, countB,
                smallestDetectableKs, layer);
    }

    public boolean crosses(double onsetShare) {
        return driftedShare > onsetShare;
    }
}
