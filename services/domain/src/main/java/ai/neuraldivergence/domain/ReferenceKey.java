package ai.neuraldivergence.domain;

import java.util.Objects;

/** Identifies one stored reference distribution: a reference's tap in one slice. */
public record ReferenceKey(String modelId, String modelVersion, String reference, String tap, Slice slice) {

    /** The tag whose value names the reference an observation builds. */
    public static final String TAG = "reference";

    public ReferenceKey {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(modelVersion, "modelVersion");
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(tap, "tap");
        Objects.requireNonNull(slice, "slice");
    }
}
