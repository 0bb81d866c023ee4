package ai.neuraldivergence.domain.monitor;

import ai.neuraldivergence.domain.monitor.Transition.State;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One monitor's state on one tap, decided from its evaluations, each minute once and in order: it turns drifting
 * after {@code windowsInARow} consecutive evaluations over the threshold, and back to ok after as many at or below
 * it, so that one noisy minute neither raises nor clears an alert. An evaluation without enough observations puts it
 * in {@link State#INSUFFICIENT_DATA}, one without its tap or reference in {@link State#INVALID}, at once; from
 * either, the first evaluation at or below the threshold makes it ok, and a run over it makes it drifting.
 * {@code since} is the end of the first evaluation of the run that decided the state. Plain Java, not thread-safe.
 */
public final class MonitorRun {

    /** What an evaluation found. */
    public enum Outcome {
        OVER, UNDER, INSUFFICIENT_DATA, INVALID
    }

    /**
     * One evaluation of a monitor on a tap: the minute it closes ({@code end}), the window it read, its counts, its
     * value and the threshold it was compared with ({@code calibration}: that threshold's parts, for a calibrated
     * monitor; null for a fixed one).
     */
    public record Evaluation(Instant end, TrailingWindow window, long referenceObservations, double value,
            double thresholdApplied, Outcome outcome, String reason, CalibratedThreshold calibration) {

        public Evaluation {
            Objects.requireNonNull(end, "end");
            Objects.requireNonNull(outcome, "outcome");
        }

        /** An evaluation without a value: not enough observations, or invalid (with the reason). */
        public Evaluation(Instant end, TrailingWindow window, long referenceObservations, double value,
                double thresholdApplied, Outcome outcome, String reason) {
            this(end, window, referenceObservations, value, thresholdApplied, outcome, reason, null);
        }

        /** A value compared with a fixed threshold: over it, or at or below it (NaN is not over). */
        public static Evaluation of(Instant end, TrailingWindow window, long referenceObservations, double value,
                double thresholdApplied) {
            return new Evaluation(end, window, referenceObservations, value, thresholdApplied,
                    value > thresholdApplied ? Outcome.OVER : Outcome.UNDER, null, null);
        }

        /** A value compared with a calibrated threshold. */
        public static Evaluation of(Instant end, TrailingWindow window, long referenceObservations, double value,
                CalibratedThreshold calibration) {
            double threshold = calibration.applied();
            return new Evaluation(end, window, referenceObservations, value, threshold,
                    value > threshold ? Outcome.OVER : Outcome.UNDER, null, calibration);
        }
    }

    /** A change of state: the new one, the one before, since when, and the evaluation that decided it. */
    public record Change(State state, State previous, Instant since, Evaluation decidedBy) {
    }

    private final int windowsInARow;
    private State state = State.OK;
    private Instant since;
    private Instant last;
    private Outcome runOf;
    private int runLength;
    private Instant runStart;

    public MonitorRun(int windowsInARow) {
        if (windowsInARow < 1) {
            throw new IllegalArgumentException("windows in a row must be >= 1, got " + windowsInARow);
        }
        this.windowsInARow = windowsInARow;
    }

    /** Resumes from a stored state (a new holder of the monitor, or a restart). */
    public static MonitorRun resume(int windowsInARow, State state, Instant since, Instant lastEvaluated) {
        MonitorRun run = new MonitorRun(windowsInARow);
        run.state = Objects.requireNonNull(state, "state");
        run.since = since;
        run.last = lastEvaluated;
        return run;
    }

    /**
     * A run that goes on from this one's exact state, independently: a what-if from here (the detection benchmark
     * forks the runs at each attack's onset).
     */
    public MonitorRun copy() {
        MonitorRun c = new MonitorRun(windowsInARow);
        c.state = state;
        c.since = since;
        c.last = last;
        c.runOf = runOf;
        c.runLength = runLength;
        c.runStart = runStart;
        return c;
    }

    /** What replaying a monitor's kept evaluations decided: the run, and whether any of them changed its state. */
    public record Replay(MonitorRun run, boolean changed) {
    }

    /**
     * Replays the evaluations kept of a monitor on a tap (oldest first, at least one) from the state that held
     * before the first of them ({@code before}, since {@code beforeSince}; ok since the monitor began when none is
     * known), as a new holder of the monitor or a restart does: a state older than what is kept (drifting since
     * yesterday, held by alternating runs over and under) is not taken for ok, and the run of evaluations in
     * progress (two of three over, say) is kept rather than counted again from nothing.
     */
    public static Replay replay(int windowsInARow, State before, Instant beforeSince, java.util.List<Evaluation> kept) {
        MonitorRun run = resume(windowsInARow, before, beforeSince, kept.get(0).end().minusSeconds(60));
        boolean changed = false;
        for (Evaluation e : kept) {
            changed |= run.record(e).isPresent();
        }
        return new Replay(run, changed);
    }

    /** This run, its state said to hold since {@code since} (a stored since, older than the evaluations kept). */
    public MonitorRun withSince(Instant since) {
        MonitorRun c = copy();
        c.since = since;
        return c;
    }

    /**
     * Records the next evaluation; returns the change it caused, if any.
     *
     * @throws IllegalArgumentException for an evaluation not after the last one (each minute is evaluated once)
     */
    public Optional<Change> record(Evaluation e) {
        if (last != null && !e.end().isAfter(last)) {
            throw new IllegalArgumentException("evaluations come in order, each once: " + e.end() + " is not after "
                    + last);
        }
        boolean consecutive = last != null && last.plusSeconds(60).equals(e.end());
        last = e.end();
        if (e.outcome() == runOf && consecutive) {
            runLength++;
        } else {
            runOf = e.outcome();
            runLength = 1;
            runStart = e.end();
        }
        State next = switch (e.outcome()) {
            case INSUFFICIENT_DATA -> State.INSUFFICIENT_DATA;
            case INVALID -> State.INVALID;
            case OVER -> runLength >= windowsInARow ? State.DRIFTING : state;
            // out of insufficient data or invalid, one evaluation under the threshold is enough to say ok
            case UNDER -> state == State.DRIFTING && runLength < windowsInARow ? State.DRIFTING : State.OK;
        };
        if (next == state) {
            return Optional.empty();
        }
        Change change = new Change(next, state, runStart, e);
        state = next;
        since = runStart;
        return Optional.of(change);
    }

    public State state() {
        return state;
    }

    /** When the current state began; null before the first change (ok since the monitor began). */
    public Instant since() {
        return since;
    }

    /** The end of the newest evaluation recorded; null before any. */
    public Instant lastEvaluated() {
        return last;
    }
}
