package ai.neuraldivergence.domain;

import java.util.Objects;

/** Identifies one stored reference distribution: a reference's tap (one block of it) in one slice. */
public record ReferenceKey(String modelId, String modelVersion, String reference, String tap, Slice slice,
        int block) {

    /** A reference of a whole tap (or of its first block). */
    public ReferenceKey(String modelId, String modelVersion, String reference, String tap, Slice slice) {
        this(modelId, modelVersion, reference, tap, slice, 0);
    }

    /** The tag whose value names the reference an observation builds. */
    public static final String TAG = "reference";

    public ReferenceKey {
        Keys.requireTapBlock(modelId, modelVersion, tap, block);
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(slice, "slice");
    }
}
