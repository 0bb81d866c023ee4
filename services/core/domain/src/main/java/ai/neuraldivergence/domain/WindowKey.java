package ai.neuraldivergence.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * Identifies one stored tap distribution: a model version's tap (one block of it, {@link TapDescriptor}), in one
 * slice and window. Above the store a key names the whole tap, block 0.
 */
public record WindowKey(String modelId, String modelVersion, String tap, Slice slice, Granularity granularity,
        Instant windowStart, int block) {

    /** A window of a whole tap (or of its first block). */
    public WindowKey(String modelId, String modelVersion, String tap, Slice slice, Granularity granularity,
            Instant windowStart) {
        this(modelId, modelVersion, tap, slice, granularity, windowStart, 0);
    }

    public WindowKey {
        Keys.requireTapBlock(modelId, modelVersion, tap, block);
        Objects.requireNonNull(slice, "slice");
        Objects.requireNonNull(granularity, "granularity");
        Objects.requireNonNull(windowStart, "windowStart");
        if (!granularity.windowStart(windowStart).equals(windowStart)) {
            throw new IllegalArgumentException(windowStart + " is not the start of a " + granularity.word() + " window");
        }
    }

    /** The same window of another block of the tap. */
    public WindowKey inBlock(int other) {
        return new WindowKey(modelId, modelVersion, tap, slice, granularity, windowStart, other);
    }

    public Instant windowEnd() {
        return windowStart.plus(granularity.length());
    }
}
