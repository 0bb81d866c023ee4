package ai.neuraldivergence.domain.monitor;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * A change of a monitor's state on one tap, as stored: {@code id} increases with every transition stored, so a
 * reader that remembers the last id it saw reads the rest in order. It says where to look: the window of the
 * evaluation that decided it, the slice, and the tap's most drifted neurons there against the reference.
 *
 * @param since when the new state began (the end of the first evaluation of the run that decided it)
 * @param sinceLowerBound the state held from the back-fill's first evaluation on: it may have begun earlier
 * @param value the monitor's value at the evaluation that decided it
 * @param thresholdApplied the threshold that evaluation compared the value with
 * @param reason why the new state is invalid (null otherwise)
 * @param slice the slice's key
 */
public record Transition(long id, String monitor, long generation, String tap, State state, State previous,
        Instant since, boolean sinceLowerBound, double value, double thresholdApplied, String reason,
        Instant windowStart, Instant windowEnd, String slice, List<Integer> topNeurons, Instant recordedAt) {

    public Transition {
        topNeurons = List.copyOf(topNeurons);
    }

    /** A monitor's state on a tap. */
    public enum State {
        OK, DRIFTING, INSUFFICIENT_DATA, INVALID;

        /** The word stored: ok, drifting, insufficient_data, invalid. */
        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static State of(String word) {
            return valueOf(word.toUpperCase(Locale.ROOT));
        }
    }
}
