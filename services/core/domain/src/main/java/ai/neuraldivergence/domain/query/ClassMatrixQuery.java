package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.Slice;

/** Every pair of classes (predicted or true label) of one tap in one source. */
public record ClassMatrixQuery(ModelVersion model, String tap, Selection source, Slice.Kind classBy, Verdict verdict) {

    /** Classes one class matrix compares (a million cells): those the aggregator slices. */
    public static final int MAX_CLASSES = ai.neuraldivergence.domain.SlicePolicy.CLASS_SLICES;

    public ClassMatrixQuery {
        Queries.requireText(tap, "tap");
        if (source == null) {
            throw new IllegalArgumentException("a reference or a time_range is required");
        }
        if (classBy != Slice.Kind.PREDICTED_CLASS && classBy != Slice.Kind.TRUE_LABEL) {
            throw new IllegalArgumentException("class_by must be the predicted class or the true label");
        }
    }
}
