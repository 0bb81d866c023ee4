package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.Slice;
import java.util.regex.Pattern;

/** The requests that change references: freeze a range, seal a tagged one, delete one. */
public final class ReferenceQueries {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    /** The most observations a seal may wait for per tap. */
    public static final long MAX_EXPECTED_OBSERVATIONS = 1_000_000_000L;

    private ReferenceQueries() {
    }

    static void requireName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("reference name must be 1..128 characters of letters, digits, '.', "
                    + "'_' and '-', starting with a letter or digit");
        }
    }

    /**
     * Freezes a range into a named reference; {@code sourceSlice} (may be null) becomes the reference's whole
     * population, without it every slice of the range is kept.
     */
    public record Freeze(ModelVersion model, String name, Selection.Range range, Slice sourceSlice) {

        public Freeze {
            requireName(name);
            if (range == null) {
                throw new IllegalArgumentException("range is required");
            }
        }
    }

    public record Seal(ModelVersion model, String name, long expectedObservations) {

        public Seal {
            requireName(name);
            if (expectedObservations < 1 || expectedObservations > MAX_EXPECTED_OBSERVATIONS) {
                throw new IllegalArgumentException("expected_observations must be 1.." + MAX_EXPECTED_OBSERVATIONS
                        + ", got " + expectedObservations);
            }
        }
    }

    /** A reference's every version, or one ({@code version} empty: all). */
    public record Delete(String modelId, String name, String version) {

        public Delete {
            if (modelId == null || modelId.isEmpty() || name == null || name.isEmpty()) {
                throw new IllegalArgumentException("model_id and name are required");
            }
            version = version == null ? "" : version;
        }
    }
}
