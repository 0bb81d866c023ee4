package ai.neuraldivergence.domain.monitor;

import ai.neuraldivergence.domain.monitor.Transition.State;
import java.time.Instant;

/**
 * A monitor's state on one tap as stored by the replica that evaluates monitors, with its newest evaluation: what
 * every replica lists and exports.
 *
 * @param since when the state began (null: ok since the monitor began)
 * @param sinceLowerBound the state held from the back-fill's first evaluation on: it may have begun earlier
 * @param lastEvaluated the end of the minute the newest evaluation closed
 * @param calibration a calibrated monitor's threshold, part by part, and the smallest effect detectable (null for a
 *     fixed monitor, or before a value)
 * @param reason why the state is invalid (null otherwise)
 */
public record MonitorStatus(String monitor, long generation, String tap, State state, Instant since,
        boolean sinceLowerBound, Instant lastEvaluated, Instant windowStart, long windowObservations,
        long referenceObservations, double value, double thresholdApplied, CalibratedThreshold calibration,
        String reason) {

    /** A calibrated monitor's smallest effect detectable at the window's counts; NaN for a fixed one. */
    public double smallestDetectableEffect() {
        return calibration == null ? Double.NaN : calibration.smallestDetectableEffect();
    }
}
