package ai.neuraldivergence.domain;

import java.time.Instant;
import java.util.Objects;

/** Identifies one stored tap distribution: a model version's tap, in one slice and window. */
public record WindowKey(String modelId, String modelVersion, String tap, Slice slice, Granularity granularity,
        Instant windowStart) {

    public WindowKey {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(modelVersion, "modelVersion");
        Objects.requireNonNull(tap, "tap");
        Objects.requireNonNull(slice, "slice");
        Objects.requireNonNull(granularity, "granularity");
        Objects.requireNonNull(windowStart, "windowStart");
        if (!granularity.windowStart(windowStart).equals(windowStart)) {
            throw new IllegalArgumentException(windowStart + " is not the start of a " + granularity.word() + " window");
        }
    }

    public Instant windowEnd() {
        return windowStart.plus(granularity.length());
    }
}
