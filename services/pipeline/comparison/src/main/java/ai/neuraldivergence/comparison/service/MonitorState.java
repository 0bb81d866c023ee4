package ai.neuraldivergence.comparison.service;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One monitor's state for one tap: the value of each recent minute window against the reference, and whether the
 * tap is drifting. It turns drifting when the newest {@code windowsInARow} consecutive minutes all exceed the
 * threshold, and back to ok when the newest {@code windowsInARow} all stay at or below it: one noisy minute neither
 * raises nor clears an alert. Plain Java, not thread-safe (the monitor evaluator owns it).
 */
public final class MonitorState {

    /** A change of state: what it was, and since when the new one holds (the start of its first window). */
    public record Transition(boolean drifting, Instant since, double value) {
    }

    private final double threshold;
    private final int windowsInARow;
    private final TreeMap<Instant, Double> values = new TreeMap<>();
    private boolean drifting;
    private Instant since;
    private double current = Double.NaN;

    public MonitorState(double threshold, int windowsInARow) {
        if (windowsInARow < 1) {
            throw new IllegalArgumentException("windows in a row must be >= 1, got " + windowsInARow);
        }
        this.threshold = threshold;
        this.windowsInARow = windowsInARow;
    }

    /** Records a minute's value (again, as the minute fills); returns the transition it caused, if any. */
    public Optional<Transition> record(Instant minute, double value) {
        values.put(minute, value);
        while (values.size() > windowsInARow + 8) {
            values.pollFirstEntry();
        }
        if (!minute.equals(values.lastKey())) {
            // a late update of an older minute: kept, but the verdict follows the newest minutes
            return Optional.empty();
        }
        current = value;
        Map.Entry<Instant, Double>[] newest = newest();
        if (newest == null) {
            return Optional.empty();
        }
        boolean allAbove = true;
        boolean allBelow = true;
        for (Map.Entry<Instant, Double> e : newest) {
            allAbove &= e.getValue() > threshold;
            allBelow &= e.getValue() <= threshold;
        }
        if (!drifting && allAbove || drifting && allBelow) {
            drifting = !drifting;
            since = newest[0].getKey();
            return Optional.of(new Transition(drifting, since, value));
        }
        return Optional.empty();
    }

    /** The newest {@code windowsInARow} minutes if they are consecutive, else null (a gap is no run). */
    @SuppressWarnings("unchecked")
    private Map.Entry<Instant, Double>[] newest() {
        if (values.size() < windowsInARow) {
            return null;
        }
        Map.Entry<Instant, Double>[] out = new Map.Entry[windowsInARow];
        Map.Entry<Instant, Double> e = values.lastEntry();
        for (int i = windowsInARow - 1; i >= 0; i--) {
            out[i] = e;
            if (i > 0) {
                Map.Entry<Instant, Double> previous = values.lowerEntry(e.getKey());
                if (previous == null || !previous.getKey().plusSeconds(60).equals(e.getKey())) {
                    return null;
                }
                e = previous;
            }
        }
        return out;
    }

    public boolean drifting() {
        return drifting;
    }

    /** When the current state began; null before the first transition (ok since the start). */
    public Instant since() {
        return since;
    }

    /** The newest minute's value; NaN before any. */
    public double current() {
        return current;
    }
}
