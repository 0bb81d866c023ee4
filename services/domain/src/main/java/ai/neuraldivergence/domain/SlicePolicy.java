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
 * <p>Not thread-safe: one instance per consumer thread.
 */
public final class SlicePolicy {

    /** Receives each refused tag value, for logging and counting. */
    public interface RefusalListener {
        void refused(String tagKey, String tagValue, String reason);
    }

    private final Set<String> sliceTagKeys;
    private final int maxValuesPerTag;
    private final RefusalListener refusals;
    private final Map<String, Set<String>> seenValues = new HashMap<>();

    public SlicePolicy(Set<String> sliceTagKeys, int maxValuesPerTag, RefusalListener refusals) {
        if (maxValuesPerTag <= 0) {
            throw new IllegalArgumentException("max values per tag must be > 0, got " + maxValuesPerTag);
        }
        this.sliceTagKeys = Set.copyOf(sliceTagKeys);
        this.maxValuesPerTag = maxValuesPerTag;
        this.refusals = refusals;
    }

    /**
     * The slices of one observation.
     *
     * @param predictedClass the model's predicted class
     * @param trueLabel the true label, or null when unknown
     * @param tags the observation's free tags
     * @param pairRole its role in a benign/attacked pair, or null
     */
    public List<Slice> slicesOf(int predictedClass, Integer trueLabel, Map<String, String> tags, PairRole pairRole) {
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
            Set<String> values = seenValues.computeIfAbsent(tag.getKey(), k -> new HashSet<>());
            if (values.contains(tag.getValue()) || values.size() < maxValuesPerTag) {
                values.add(tag.getValue());
                slices.add(slice);
            } else {
                refusals.refused(tag.getKey(), tag.getValue(),
                        "tag '" + tag.getKey() + "' already has " + maxValuesPerTag + " distinct values");
            }
        }
        return slices;
    }
}
