package ai.neuraldivergence.domain.monitor;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.LayerDrift;
import ai.neuraldivergence.domain.LayerNull;
import ai.neuraldivergence.domain.MeanKsNull;
import ai.neuraldivergence.domain.SamplingBound;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import java.time.Instant;
import java.util.NavigableMap;
import java.util.function.Function;

/**
 * One monitor's evaluation of one tap for the minute ending at {@code end}: the window it reads (growing back from
 * that minute, for a calibrated monitor until the effect it can detect against the reference is at most twice its
 * minimum effect, with two shorter ones beside it: {@link CalibratedThreshold#SCALES}), the value it reads there, and the
 * threshold that value is compared with. Plain Java over the
 * distributions: the comparison service reads them from the store, the detection benchmark builds them from recorded
 * activations, and both decide through this class.
 *
 * @param evaluation what {@link MonitorRun#record} takes
 * @param topNeurons the tap's most drifted neurons by KS (a transition names them), empty when there was no value
 */
public record MinuteEvaluation(MonitorRun.Evaluation evaluation, int[] topNeurons) {

    /** The most drifted neurons a transition names. */
    public static final int TOP_NEURONS = 5;

    /**
     * @param alpha a calibrated monitor's rate per evaluation ({@link CalibratedThreshold#alpha}); unused when fixed
     * @param reference the reference's distribution of the tap
     * @param counts the tap's observations per minute, by the minute's start, over at least the monitor's span
     * @param window reads the tap's distribution over a window
     * @param layerNull the layer statistic's null from the reference's calibration sample, or null (the analytic
     *     bound answers)
     * @param meanKsNull the mean KS's null from the reference's calibration sample, or null (the analytic bound
     *     answers)
     */
    public static MinuteEvaluation of(MonitorDefinition d, double alpha, TapDescriptor tap,
            TapDistribution reference, NavigableMap<Instant, Long> counts, Instant end,
            Function<TrailingWindow, TapDistribution> window, LayerNull.Source layerNull,
            MeanKsNull.Source meanKsNull) {
        if (reference.observationCount() == 0) {
            return invalid(end, "reference '" + d.reference() + "' holds no observations of tap '" + tap.tap() + "'",
                    d);
        }
        boolean layer = d.metric() == Divergence.Metric.MMD;
        long wanted = d.minObservations();
        if (d.calibrated() && layer) {
            // the window a calibrated layer monitor wants: its null's scale read from the reference against itself
            // (the bandwidth its own moments choose)
            LayerDrift self = LayerDrift.of(tap, reference, reference, alpha, d.minimumEffect(), layerNull);
            if (!self.available()) {
                return invalid(end, unavailable(tap, self), d);
            }
            wanted = Math.max(wanted, CalibratedThreshold.layerObservationsWanted(d.minimumEffect(),
                    self.nullQuantile(), self.medianNull(), reference.observationCount()));
        } else if (d.calibrated()) {
            wanted = CalibratedThreshold.observationsWanted(d.minimumEffect(), alpha, reference.observationCount(),
                    meanKsNull);
        }
        TrailingWindow w = TrailingWindow.find(counts, end, d.minObservations(), wanted, d.maxSpanMinutes());
        if (!w.sufficient()) {
            return new MinuteEvaluation(new MonitorRun.Evaluation(end, w, 0, Double.NaN, d.threshold(),
                    MonitorRun.Outcome.INSUFFICIENT_DATA, null), new int[0]);
        }
        MinuteEvaluation decided = evaluate(d, alpha, tap, reference, w, window, layerNull, meanKsNull);
        if (!d.calibrated() || decided.evaluation().outcome() == MonitorRun.Outcome.INVALID) {
            return decided;
        }
        // shorter windows, each at the same α (CalibratedThreshold#SCALES): a large change passes a short window's
        // higher threshold within minutes, where the long window would dilute it with the hour before. The window
        // with the largest margin over its threshold decides (the longest on a tie); δ is in every threshold, so
        // re-deciding at another δ keeps that choice.
        TrailingWindow shortest = TrailingWindow.find(counts, end, d.minObservations(), d.maxSpanMinutes());
        TrailingWindow between = TrailingWindow.find(counts, end, d.minObservations(), (long) Math.sqrt(
                (double) shortest.observations() * w.observations()), d.maxSpanMinutes());
        int longer = w.minutes();
        for (TrailingWindow shorter : new TrailingWindow[] {between, shortest}) {
            if (shorter.minutes() >= longer || !shorter.sufficient()) {
                continue;
            }
            longer = shorter.minutes();
            MinuteEvaluation e = evaluate(d, alpha, tap, reference, shorter, window, layerNull, meanKsNull);
            if (e.evaluation().outcome() != MonitorRun.Outcome.INVALID && margin(e) > margin(decided)) {
                decided = e;
            }
        }
        return decided;
    }

    /** One window's value against its threshold. */
    private static MinuteEvaluation evaluate(MonitorDefinition d, double alpha, TapDescriptor tap,
            TapDistribution reference, TrailingWindow w, Function<TrailingWindow, TapDistribution> window,
            LayerNull.Source layerNull, MeanKsNull.Source meanKsNull) {
        boolean layer = d.metric() == Divergence.Metric.MMD;
        Instant end = w.end();
        TapDistribution read = window.apply(w);
        // a layer monitor's drifted neurons are named by KS, its value is the tap's MMD²; a calibrated layer
        // monitor judges its layer at its own α and minimum effect
        // (by KS alone where KS is what it reads: the binned metrics are most of a comparison's cost)
        double familyWiseAlpha = layer && d.calibrated() ? alpha : SamplingBound.DEFAULT_ALPHA;
        double layerThreshold = layer && d.calibrated() ? d.minimumEffect() : LayerDrift.DEFAULT_MINIMUM_EFFECT;
        TapComparison c = layer
                ? TapComparison.byKs(tap, reference, read, TOP_NEURONS, TapComparison.DEFAULT_THRESHOLD,
                        familyWiseAlpha, layerThreshold, layerNull)
                : d.metric() == Divergence.Metric.KS
                ? TapComparison.neuronsByKs(tap, reference, read, TOP_NEURONS, TapComparison.DEFAULT_THRESHOLD,
                        familyWiseAlpha)
                : TapComparison.of(tap, reference, read, d.metric(), TOP_NEURONS, TapComparison.DEFAULT_THRESHOLD,
                        familyWiseAlpha, Divergence.DEFAULT_BINS, layerThreshold, layerNull);
        if (layer && !c.layer().available()) {
            return invalid(end, unavailable(tap, c.layer()), d);
        }
        long m = reference.observationCount();
        MonitorRun.Evaluation e;
        if (layer) {
            e = d.calibrated()
                    ? MonitorRun.Evaluation.of(end, w, m, c.layer().mmd(), CalibratedThreshold.ofLayer(
                            d.minimumEffect(), alpha, c.layer().nullQuantile(), c.layer().medianNull(),
                            c.layer().calibrating()))
                    : MonitorRun.Evaluation.of(end, w, m, c.layer().mmd(), d.threshold());
        } else {
            e = d.calibrated()
                    ? MonitorRun.Evaluation.of(end, w, m, c.mean(), CalibratedThreshold.of(d.minimumEffect(), alpha,
                            read.observationCount(), m, meanSketchBound(c), meanKsNull))
                    : MonitorRun.Evaluation.of(end, w, m, c.mean(), d.threshold());
        }
        return new MinuteEvaluation(e, c.topNeurons());
    }

    private static double margin(MinuteEvaluation e) {
        return e.evaluation().value() - e.evaluation().thresholdApplied();
    }

    /** An evaluation that could not be made: its tap, reference or statistic is missing, for {@code reason}. */
    public static MinuteEvaluation invalid(Instant end, String reason, MonitorDefinition d) {
        return new MinuteEvaluation(new MonitorRun.Evaluation(end, new TrailingWindow(end.minusSeconds(60), end, 0,
                false), 0, Double.NaN, d.threshold(), MonitorRun.Outcome.INVALID, reason), new int[0]);
    }

    private static String unavailable(TapDescriptor tap, LayerDrift layer) {
        return "the layer statistic of tap '" + tap.tap() + "' is unavailable: " + layer.unavailable();
    }

    /** The most the sketches add to a tap's mean KS: the mean of its neurons' KS error bounds. */
    public static double meanSketchBound(TapComparison c) {
        return c.neurons().stream().mapToDouble(Divergence::ksErrorBound).average().orElse(0);
    }
}
