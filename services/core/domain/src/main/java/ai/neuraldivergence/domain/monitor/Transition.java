package ai.neuraldivergence.domain.monitor;

import java.time.Instant;
import java.util.Locale;

/**
 * A change of a monitor's state on one tap, as stored: {@code id} increases with every transition stored, so a
 * reader that remembers the last id it saw reads the rest in order.
 *
 * @param since when the new state began (the start of its first evaluation window)
 * @param value the monitor's value at the evaluation that decided it
 * @param thresholdApplied the threshold that evaluation compared the value with
 */
public record Transition(long id, String monitor, long generation, String tap, State state, State previous,
        Instant since, double value, double thresholdApplied, Instant recordedAt) {

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
