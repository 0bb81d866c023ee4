package ai.neuraldivergence.domain.monitor;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.MeanKsNull;

/**
 * A stored evaluation decided again under a monitor's current definition, after a restart, a takeover or a change of
 * the definition: its value and window stay as they were read, its threshold is made again. Plain Java.
 */
public final class Redecision {

    private Redecision() {
    }

    /**
     * {@code e} (over or under its threshold) under definition {@code d}: a fixed threshold as it is now; a calibrated
     * one made again from the evaluation's counts and sketch bound with the current minimum effect and false-alarm
     * rate {@code alpha}. At the rate the evaluation was made at, its null quantile is kept as it was read (perhaps
     * resampled), so that a new minimum effect decides again at once on the same footing; at a new rate a KS
     * monitor's null quantile comes from {@code meanKsNull}, as the next evaluation will read it (null: the analytic
     * bound), and a layer monitor keeps its stored quantile until its next evaluation.
     */
    public static MonitorRun.Evaluation of(MonitorRun.Evaluation e, MonitorDefinition d, double alpha,
            MeanKsNull.Source meanKsNull) {
        if (!d.calibrated()) {
            return MonitorRun.Evaluation.of(e.end(), e.window(), e.referenceObservations(), e.value(), d.threshold());
        }
        CalibratedThreshold stored = e.calibration();
        if (d.metric() == Divergence.Metric.MMD) {
            return stored == null ? e : MonitorRun.Evaluation.of(e.end(), e.window(), e.referenceObservations(),
                    e.value(), CalibratedThreshold.ofLayer(d.minimumEffect(), stored.alpha(), stored.nullQuantile(),
                            stored.smallestDetectableEffect() - stored.applied(), stored.calibrating()));
        }
        if (stored != null && stored.alpha() == alpha) {
            return MonitorRun.Evaluation.of(e.end(), e.window(), e.referenceObservations(), e.value(),
                    new CalibratedThreshold(d.minimumEffect(), stored.nullQuantile(), stored.sketchBound(), alpha,
                            stored.smallestDetectableEffect() - stored.minimumEffect() + d.minimumEffect(),
                            stored.calibrating()));
        }
        // a mode change starts the state over, so a calibrated monitor's evaluations carry their sketch bound
        double sketchBound = stored == null ? 0 : stored.sketchBound();
        return MonitorRun.Evaluation.of(e.end(), e.window(), e.referenceObservations(), e.value(),
                CalibratedThreshold.of(d.minimumEffect(), alpha, e.window().observations(), e.referenceObservations(),
                        sketchBound, meanKsNull));
    }
}
