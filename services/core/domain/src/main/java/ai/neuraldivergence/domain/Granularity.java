package ai.neuraldivergence.domain;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Window sizes: one minute at the finest, rolled up to hours and days. Windows are aligned to UTC. */
public enum Granularity {
    MINUTE(Duration.ofMinutes(1), ChronoUnit.MINUTES),
    HOUR(Duration.ofHours(1), ChronoUnit.HOURS),
    DAY(Duration.ofDays(1), ChronoUnit.DAYS);

    private final Duration length;
    private final ChronoUnit unit;

    Granularity(Duration length, ChronoUnit unit) {
        this.length = length;
        this.unit = unit;
    }

    public Duration length() {
        return length;
    }

    /** The start of the window that holds {@code t}. */
    public Instant windowStart(Instant t) {
        return t.truncatedTo(unit);
    }

    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Granularity fromWord(String word) {
        for (Granularity g : values()) {
            if (g.word().equals(word)) {
                return g;
            }
        }
        throw new IllegalArgumentException("granularity must be minute, hour or day, got '" + word + "'");
    }
}
