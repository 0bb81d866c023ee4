package ai.neuraldivergence.inference.service;

import ai.neuraldivergence.proto.v1.PairRole;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** Request metadata shared by the REST and gRPC surfaces. */
public final class Metadata {

    private Metadata() {
    }

    /** Request tags overlaid with the instance's own. */
    public static Map<String, String> tags(Map<String, String> request, Map<String, String> instance) {
        Map<String, String> tags = new HashMap<>();
        if (request != null) {
            tags.putAll(request);
        }
        if (instance != null) {
            tags.putAll(instance);
        }
        tags.forEach((k, v) -> {
            if (k == null || k.isEmpty() || v == null) {
                throw new IllegalArgumentException("tags must have non-empty keys and values");
            }
        });
        return tags;
    }

    public static PairRole pairRole(String word) {
        if (word == null || word.isEmpty()) {
            return null;
        }
        return switch (word.toLowerCase(Locale.ROOT)) {
            case "benign" -> PairRole.PAIR_ROLE_BENIGN;
            case "attacked" -> PairRole.PAIR_ROLE_ATTACKED;
            default -> throw new IllegalArgumentException("pairRole must be benign or attacked, got '" + word + "'");
        };
    }

    public static String captureWord(ai.neuraldivergence.proto.v1.CaptureStatus status) {
        return switch (status) {
            case CAPTURE_STATUS_QUEUED -> "queued";
            case CAPTURE_STATUS_SHED -> "shed";
            case CAPTURE_STATUS_NOT_SAMPLED -> "not-sampled";
            default -> "unknown";
        };
    }

    /** A reduction as the JSON API and the stored catalog name it. */
    public static String reductionWord(ai.neuraldivergence.proto.v1.Reduction reduction) {
        return switch (reduction) {
            case REDUCTION_MAX -> "max";
            case REDUCTION_MEAN -> "mean";
            default -> "none";
        };
    }
}
