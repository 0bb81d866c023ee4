package ai.neuraldivergence.domain;

import java.util.Objects;

/** What every key of a tap's stored rows requires of the tap block it names. */
final class Keys {

    private Keys() {
    }

    static void requireTapBlock(String modelId, String modelVersion, String tap, int block) {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(modelVersion, "modelVersion");
        Objects.requireNonNull(tap, "tap");
        if (block < 0) {
            throw new IllegalArgumentException("a block is >= 0, got " + block);
        }
    }
}
