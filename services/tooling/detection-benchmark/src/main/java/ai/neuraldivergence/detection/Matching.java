package ai.neuraldivergence.detection;

import ai.neuraldivergence.domain.monitor.MonitorRun;
import ai.neuraldivergence.domain.monitor.Transition;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * Matched thresholds: the shift of a method's threshold at which it raises no more alarms on a benign run than the
 * calibrated monitor did on that run, so that delays are compared at one false-alarm rate. Each candidate shift is
 * replayed through {@link MonitorRun}, as the monitor would have decided.
 */
final class Matching {

    private Matching() {
    }

    /**
     * The smallest shift (among the recorded margins, or below them all) whose replay raises at most {@code target}
     * alarms.
     *
     * @param margins per tap, each minute's value less the method's own threshold (NaN: no verdict that minute)
     */
    static double shift(List<float[]> margins, int windowsInARow, int target) {
        double[] candidates = margins.stream().flatMap(m -> {
            double[] d = new double[m.length];
            for (int i = 0; i < m.length; i++) {
                d[i] = m[i];
            }
            return Arrays.stream(d).boxed();
        }).mapToDouble(Double::doubleValue).filter(v -> !Double.isNaN(v)).sorted().distinct().toArray();
        if (candidates.length == 0 || alarms(margins, windowsInARow, Math.nextDown(candidates[0])) <= target) {
            return candidates.length == 0 ? 0 : Math.nextDown(candidates[0]);
        }
        // alarms fall as the shift rises (every evaluation over at a shift is over at a smaller one)
        int low = 0;
        int high = candidates.length - 1;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (alarms(margins, windowsInARow, candidates[mid]) <= target) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return candidates[low];
    }

    /** The alarms a monitor on every tap raises when an evaluation is over for a margin above {@code shift}. */
    static int alarms(List<float[]> margins, int windowsInARow, double shift) {
        MonitorRun[] runs = new MonitorRun[margins.size()];
        for (int t = 0; t < runs.length; t++) {
            runs[t] = new MonitorRun(windowsInARow);
        }
        int minutes = margins.get(0).length;
        int drifting = 0;
        int alarms = 0;
        for (int i = 0; i < minutes; i++) {
            Instant end = Stream.START.plusSeconds(60L * (i + 1));
            for (int t = 0; t < runs.length; t++) {
                float margin = margins.get(t)[i];
                MonitorRun.Outcome outcome = Float.isNaN(margin) ? MonitorRun.Outcome.INSUFFICIENT_DATA
                        : margin > shift ? MonitorRun.Outcome.OVER : MonitorRun.Outcome.UNDER;
                var change = runs[t].record(new MonitorRun.Evaluation(end, null, 0, margin, shift, outcome, null));
                if (change.isPresent()) {
                    if (change.get().state() == Transition.State.DRIFTING) {
                        alarms += drifting++ == 0 ? 1 : 0;
                    } else if (change.get().previous() == Transition.State.DRIFTING) {
                        drifting--;
                    }
                }
            }
        }
        return alarms;
    }
}
