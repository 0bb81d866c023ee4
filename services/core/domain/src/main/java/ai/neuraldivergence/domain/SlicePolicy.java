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
 * <p>The bound holds per model. Values admitted before (stored) are read through {@link AdmittedValues} when a model
 * is first seen, and again, at most every {@link #REFRESH}, when a value is not known here: another instance (whose
 * partitions hold other taps or blocks of the same model) may have admitted it, and a value one instance slices and
 * another refuses leaves its slice with some taps and not others. Values admitted here are handed out by
 * {@link #takeAdmitted()} so that the caller stores them with the distributions they created, in the same
 * transaction. Instances may still disagree for the time one's admission takes to be stored and read by the other.
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

    /**
     * Classes sliced: predicted classes and true labels 0 to 999 (ImageNet's thousand, what a class matrix shows).
     * Beyond, an observation enters its other slices and the refusal is reported: a careless client that sends an
     * id as its class would otherwise add a slice, and its storage, per id.
     */
    public static final int CLASS_SLICES = 1_000;

    /** How often, at most, a model's stored values are read again to decide a value not known here. */
    public static final java.time.Duration REFRESH = java.time.Duration.ofSeconds(10);

    /** The key a refused predicted class is reported under. */
    public static final String PREDICTED_CLASS = "predicted_class";
    /** The key a refused true label is reported under. */
    public static final String TRUE_LABEL = "true_label";
    private static final String CLASS_REFUSAL = "only classes 0.." + (CLASS_SLICES - 1) + " are sliced";

    private final Set<String> sliceTagKeys;
    private final int maxValuesPerTag;
    private final RefusalListener refusals;
    private final AdmittedValues stored;
    private final java.util.function.LongSupplier nanoTime;
    // per model, per tag key
    private final Map<String, Map<String, Set<String>>> admitted = new HashMap<>();
    // per model, when its stored values were last read (nanoTime)
    private final Map<String, Long> readAt = new HashMap<>();
    private List<Admitted> newlyAdmitted = new ArrayList<>();

    public SlicePolicy(Set<String> sliceTagKeys, int maxValuesPerTag, RefusalListener refusals) {
        this(sliceTagKeys, maxValuesPerTag, refusals, AdmittedValues.NONE);
    }

    public SlicePolicy(Set<String> sliceTagKeys, int maxValuesPerTag, RefusalListener refusals,
            AdmittedValues stored) {
        this(sliceTagKeys, maxValuesPerTag, refusals, stored, System::nanoTime);
    }

    /** @param nanoTime the clock {@link #REFRESH} is measured on */
    public SlicePolicy(Set<String> sliceTagKeys, int maxValuesPerTag, RefusalListener refusals,
            AdmittedValues stored, java.util.function.LongSupplier nanoTime) {
        if (maxValuesPerTag <= 0) {
            throw new IllegalArgumentException("max values per tag must be > 0, got " + maxValuesPerTag);
        }
        this.sliceTagKeys = Set.copyOf(sliceTagKeys);
        this.maxValuesPerTag = maxValuesPerTag;
        this.refusals = refusals;
        this.stored = stored;
        this.nanoTime = nanoTime;
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
        SlicePolicy next = new SlicePolicy(sliceTagKeys, maxValuesPerTag, refusals, stored, nanoTime);
        admitted.forEach((model, keys) -> {
            Map<String, Set<String>> copy = new HashMap<>();
            keys.forEach((key, values) -> copy.put(key, new HashSet<>(values)));
            next.admitted.put(model, copy);
        });
        next.readAt.putAll(readAt);
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
        if (predictedClass < CLASS_SLICES) {
            slices.add(Slice.predictedClass(predictedClass));
        } else {
            refusals.refused(PREDICTED_CLASS, Integer.toString(predictedClass), CLASS_REFUSAL);
        }
        if (trueLabel != null && trueLabel < CLASS_SLICES) {
            slices.add(Slice.trueLabel(trueLabel));
        } else if (trueLabel != null) {
            refusals.refused(TRUE_LABEL, Integer.toString(trueLabel), CLASS_REFUSAL);
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
            if (!values.contains(tag.getValue()) && nanoTime.getAsLong() - readAt.get(modelId) >= REFRESH.toNanos()) {
                // not known here: what the other instances stored since is read first, so that a value one of them
                // admitted is admitted here too, and one past the cap there is refused here too
                refresh(modelId);
            }
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
        readAt.put(modelId, nanoTime.getAsLong());
        return copy;
    }

    /** Adds what is stored now to what is known here (never removes: a value admitted here may not be stored yet). */
    private void refresh(String modelId) {
        Map<String, Set<String>> known = admitted.get(modelId);
        stored.of(modelId).forEach((key, values) -> known.computeIfAbsent(key, k -> new HashSet<>()).addAll(values));
        readAt.put(modelId, nanoTime.getAsLong());
    }
}
