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
 * @param smallestDetectableEffect calibrated monitors' (NaN for fixed ones)
 * @param reason why the state is invalid (null otherwise)
 */
public record MonitorStatus(String monitor, long generation, String tap, State state, Instant since,
        boolean sinceLowerBound, Instant lastEvaluated, Instant windowStart, long windowObservations,
        long referenceObservations, double value, double thresholdApplied, double smallestDetectableEffect,
        String reason) {
}
