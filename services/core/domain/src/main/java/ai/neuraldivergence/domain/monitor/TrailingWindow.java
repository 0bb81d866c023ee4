package ai.neuraldivergence.domain.monitor;

import java.time.Instant;
import java.util.NavigableMap;
import java.util.Objects;

/**
 * The window a monitor evaluation reads: ending with the minute evaluated, growing back one minute at a time until it
 * holds the monitor's minimum of observations or reaches its span. A busy model is judged minute by minute; a quiet
 * one on the few minutes it takes to say something, instead of never.
 *
 * @param start the window's first minute
 * @param end the end of the minute evaluated (exclusive)
 * @param observations what the window holds
 * @param sufficient whether that reaches the minimum (if not, the window is the whole span, tried in vain)
 */
public record TrailingWindow(Instant start, Instant end, long observations, boolean sufficient) {

    private static final long MINUTE = 60;

    /**
     * @param counts observations per minute, by the minute's start (a minute absent held none)
     * @param end the end of the minute evaluated, on a minute boundary
     */
    public static TrailingWindow find(NavigableMap<Instant, Long> counts, Instant end, long minObservations,
            int maxSpanMinutes) {
        return find(counts, end, minObservations, minObservations, maxSpanMinutes);
    }

    /**
     * A window that grows until it holds {@code wanted} observations (a calibrated monitor's, to detect its minimum
     * effect) or reaches the span; it is sufficient when it holds {@code minObservations}.
     */
    public static TrailingWindow find(NavigableMap<Instant, Long> counts, Instant end, long minObservations,
            long wanted, int maxSpanMinutes) {
        Objects.requireNonNull(end, "end");
        if (end.getEpochSecond() % MINUTE != 0 || end.getNano() != 0) {
            throw new IllegalArgumentException("a window ends on a minute boundary, got " + end);
        }
        if (minObservations < 1 || maxSpanMinutes < 1) {
            throw new IllegalArgumentException("minimum and span are >= 1");
        }
        long target = Math.max(minObservations, wanted);
        long held = 0;
        for (int minutes = 1; minutes <= maxSpanMinutes; minutes++) {
            Instant start = end.minusSeconds(MINUTE * minutes);
            held += counts.getOrDefault(start, 0L);
            if (held >= target) {
                return new TrailingWindow(start, end, held, true);
            }
        }
        return new TrailingWindow(end.minusSeconds(MINUTE * maxSpanMinutes), end, held, held >= minObservations);
    }

    public int minutes() {
        return (int) ((end.getEpochSecond() - start.getEpochSecond()) / MINUTE);
    }
}
