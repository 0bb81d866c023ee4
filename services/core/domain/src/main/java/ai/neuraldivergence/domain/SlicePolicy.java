package ai.neuraldivergence.domain;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides which slices an observation belongs to. Only configured tag keys become slices, and each key accepts at
 * most {@code maxValuesPerTag} distinct values: a tag with unbounded cardinality (a request id, say) would otherwise
 * multiply storage by its number of values. Refusals are reported, never silent.
 *
 * <p>The bound holds per model. Values admitted before (stored) are read once per model through
 * {@link AdmittedValues} and stay admitted; values admitted here are handed out by {@link #takeAdmitted()} so that
 * the caller stores them with the distributions they created, in the same transaction.
 *
 * <p>Not thread-safe: one instance per consumer thread.
 */
public final class SlicePolicy {

    /** Receives each refused tag value, for logging and counting. */
    public interface RefusalListener {
        void refused(String tagKey, String tagValue, String reason);
    }

    /** The tag values a model admitted before, per tag key. */
    public interface AdmittedValues {
        Map<String, Set<String>> of(String modelId);

        AdmittedValues NONE = modelId -> Map.of();
    }

    /** A tag value admitted as a slice of a model. */
    public record Admitted(String modelId, String tagKey, String tagValue) {
    }

    private final Set<String> sliceTagKeys;
    private final int maxValuesPerTag;
    private final RefusalListener refusals;
    private final AdmittedValues stored;
    // per model, per tag key
    private final Map<String, Map<String, Set<String>>> admitted = new HashMap<>();
    private List<Admitted> newlyAdmitted = new ArrayList<>();

    public SlicePolicy(Set<String> sliceTagKeys, int maxValuesPerTag, RefusalListener refusals) {
        this(sliceTagKeys, maxValuesPerTag, refusals, AdmittedValues.NONE);
    }

    public SlicePolicy(Set<String> sliceTagKeys, int maxValuesPerTag, RefusalListener refusals,
            AdmittedValues stored) {
        if (maxValuesPerTag <= 0) {
            throw new IllegalArgumentException("max values per tag must be > 0, got " + maxValuesPerTag);
        }
        this.sliceTagKeys = Set.copyOf(sliceTagKeys);
        this.maxValuesPerTag = maxValuesPerTag;
        this.refusals = refusals;
        this.stored = stored;
    }

    /** The slices of one observation of a model that admits no tag values yet (tests, single-model tools). */
    public List<Slice> slicesOf(int predictedClass, Integer trueLabel, Map<String, String> tags, PairRole pairRole) {
        return slicesOf("", predictedClass, trueLabel, tags, pairRole);
    }

    /**
     * A policy for the observations after this one's: it starts from every value this one admitted (stored or not
     * yet: a delta being written still holds them), and hands out only what it admits itself.
     */
    public SlicePolicy successor() {
        SlicePolicy next = new SlicePolicy(sliceTagKeys, maxValuesPerTag, refusals, stored);
        admitted.forEach((model, keys) -> {
            Map<String, Set<String>> copy = new HashMap<>();
            keys.forEach((key, values) -> copy.put(key, new HashSet<>(values)));
            next.admitted.put(model, copy);
        });
        return next;
    }

    /** Tag values admitted since the last call, to be stored; resets. */
    public List<Admitted> takeAdmitted() {
        List<Admitted> out = newlyAdmitted;
        newlyAdmitted = new ArrayList<>();
        return out;
    }

    /**
     * The slices of one observation.
     *
     * @param modelId the model it belongs to (the cardinality bound holds per model)
     * @param predictedClass the model's predicted class
     * @param trueLabel the true label, or null when unknown
     * @param tags the observation's free tags
     * @param pairRole its role in a benign/attacked pair, or null
     */
    public List<Slice> slicesOf(String modelId, int predictedClass, Integer trueLabel, Map<String, String> tags,
            PairRole pairRole) {
        List<Slice> slices = new ArrayList<>(4 + tags.size());
        slices.add(Slice.ALL);
        slices.add(Slice.predictedClass(predictedClass));
        if (trueLabel != null) {
            slices.add(Slice.trueLabel(trueLabel));
        }
        if (pairRole != null) {
            slices.add(Slice.pairRole(pairRole));
        }
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            if (!sliceTagKeys.contains(tag.getKey())) {
                continue;
            }
            Slice slice;
            try {
                slice = Slice.tag(tag.getKey(), tag.getValue());
            } catch (IllegalArgumentException e) {
                refusals.refused(tag.getKey(), tag.getValue(), e.getMessage());
                continue;
            }
            Set<String> values = admitted.computeIfAbsent(modelId, this::storedCopy)
                    .computeIfAbsent(tag.getKey(), k -> new HashSet<>());
            if (values.contains(tag.getValue())) {
                slices.add(slice);
            } else if (values.size() < maxValuesPerTag) {
                values.add(tag.getValue());
                newlyAdmitted.add(new Admitted(modelId, tag.getKey(), tag.getValue()));
                slices.add(slice);
            } else {
                refusals.refused(tag.getKey(), tag.getValue(),
                        "tag '" + tag.getKey() + "' already has " + maxValuesPerTag + " distinct values");
            }
        }
        return slices;
    }

    private Map<String, Set<String>> storedCopy(String modelId) {
        Map<String, Set<String>> copy = new HashMap<>();
        stored.of(modelId).forEach((key, values) -> copy.put(key, new HashSet<>(values)));
        return copy;
    }
}
