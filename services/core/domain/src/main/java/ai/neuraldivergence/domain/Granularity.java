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
        return Words.of(this);
    }

    public static Granularity fromWord(String word) {
        return Words.parse(values(), Granularity::word, "granularity", word);
    }
}
