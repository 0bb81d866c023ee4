package ai.neuraldivergence.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * One minute of a block of a model version's tap, every slice together: what a flush appends a delta for and a fold
 * folds.
 */
public record TapMinute(String modelId, String modelVersion, String tap, Instant windowStart, int block) {

    /** A minute of a tap stored as one block. */
    public TapMinute(String modelId, String modelVersion, String tap, Instant windowStart) {
        this(modelId, modelVersion, tap, windowStart, 0);
    }

    public TapMinute {
        Keys.requireTapBlock(modelId, modelVersion, tap, block);
        Objects.requireNonNull(windowStart, "windowStart");
        if (!Granularity.MINUTE.windowStart(windowStart).equals(windowStart)) {
            throw new IllegalArgumentException(windowStart + " is not the start of a minute");
        }
    }

    /** The minute of a window key's tap (the key must be a minute's). */
    public static TapMinute of(WindowKey key) {
        if (key.granularity() != Granularity.MINUTE) {
            throw new IllegalArgumentException("a " + key.granularity().word() + " window is not a minute");
        }
        return new TapMinute(key.modelId(), key.modelVersion(), key.tap(), key.windowStart(), key.block());
    }

    /** The minute window of one slice. */
    public WindowKey window(Slice slice) {
        return new WindowKey(modelId, modelVersion, tap, slice, Granularity.MINUTE, windowStart, block);
    }
}
