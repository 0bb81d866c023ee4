package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicePolicy;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TopExemplars;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.storage.RecentObservationStore;
import java.util.ArrayList;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Accumulates validated activation batches into per-window tap distributions (one per tap, slice and minute) until
 * they are flushed. Not thread-safe: owned by the consumer thread.
 */
public final class WindowAccumulator {

    /** A window's accumulated delta and the tap it belongs to. */
    public record PendingWindow(TapDescriptor tap, TapDistribution delta) {
    }

    private final SlicePolicy slicePolicy;
    private final int sketchK;
    private final java.time.Duration allowedLateness;
    private final double recentSampleRate;
    private long lateObservations;
    private Map<WindowKey, PendingWindow> pending = new LinkedHashMap<>();
    // observations tagged reference=<name> build that reference and enter no live window
    private Map<ReferenceKey, PendingWindow> pendingReferences = new LinkedHashMap<>();
    // live observations for the recent-observation store (and their late labels), labels and inputs received
    private List<RecentObservationStore.Recent> pendingRecent = new ArrayList<>();
    private List<LabelEvent> pendingLabels = new ArrayList<>();
    private List<RecentObservationStore.CapturedInput> pendingInputs = new ArrayList<>();
    // per tap and minute (the "all" slice's window), each neuron's top exemplar observations
    private Map<WindowKey, TopExemplars> pendingExemplars = new LinkedHashMap<>();
    private long pendingUpdates;
    private long pendingObservations;

    public WindowAccumulator(SlicePolicy slicePolicy, int sketchK, java.time.Duration allowedLateness) {
        this(slicePolicy, sketchK, allowedLateness, 1.0);
    }

    /**
     * @param recentSampleRate the share of labelled, unpaired observations kept in the recent-observation store
     *     (unlabelled ones wait there for a late label, pairs are shown side by side: both are always kept)
     */
    public WindowAccumulator(SlicePolicy slicePolicy, int sketchK, java.time.Duration allowedLateness,
            double recentSampleRate) {
        if (!(recentSampleRate >= 0 && recentSampleRate <= 1)) {
            throw new IllegalArgumentException("the recent sample rate must be in [0, 1], got " + recentSampleRate);
        }
        this.slicePolicy = slicePolicy;
        this.sketchK = sketchK;
        this.allowedLateness = allowedLateness;
        this.recentSampleRate = recentSampleRate;
    }

    /**
     * Whether an observation goes to the recent-observation store. The sample is drawn from a hash of the instance
     * id, so that every tap of an instance, and a replay after a crash, decide alike.
     */
    boolean keep(Observation o) {
        if (!o.hasTrueLabel() || !o.getPairId().isEmpty() || recentSampleRate >= 1) {
            return true;
        }
        int mixed = o.getInstanceId().hashCode() * 0x9E3779B9;
        return (mixed >>> 8) < recentSampleRate * (1 << 24);
    }

    /** The layout a batch declares for its tap. */
    public static TapDescriptor tapOf(ActivationBatch b) {
        int[] shape = b.getTapShapeList().stream().mapToInt(Integer::intValue).toArray();
        return new TapDescriptor(b.getModelId(), b.getModelVersion(), b.getTap(), b.getTapIndex(), shape,
                b.getNeuronCount(), reductionOf(b.getReduction()));
    }

    /**
     * Adds a batch that {@link ai.neuraldivergence.contract.ActivationBatchValidator} accepted, whose tap layout
     * matches {@code tap}, received in a record stamped {@code recordTime}.
     */
    public void add(ActivationBatch batch, TapDescriptor tap, Instant recordTime) {
        int neurons = batch.getNeuronCount();
        float[] activations = new float[batch.getActivationsCount()];
        for (int i = 0; i < activations.length; i++) {
            activations[i] = batch.getActivations(i);
        }
        Instant oldestOnTime = recordTime.minus(allowedLateness);
        for (int i = 0; i < batch.getObservationsCount(); i++) {
            Observation o = batch.getObservations(i);
            String reference = o.getTagsMap().get(ReferenceKey.TAG);
            Instant eventTime = Instant.ofEpochSecond(o.getEventTime().getSeconds(), o.getEventTime().getNanos());
            if (reference == null && eventTime.isBefore(oldestOnTime)) {
                // references have no window, so no lateness
                lateObservations++;
                continue;
            }
            List<Slice> slices = slicePolicy.slicesOf(tap.modelId(), o.getPredictedClass(),
                    o.hasTrueLabel() ? o.getTrueLabel() : null, o.getTagsMap(), pairRoleOf(o));
            for (Slice slice : slices) {
                PendingWindow target;
                if (reference != null) {
                    ReferenceKey key = new ReferenceKey(tap.modelId(), tap.modelVersion(), reference, tap.tap(),
                            slice);
                    target = pendingReferences.computeIfAbsent(key,
                            k -> new PendingWindow(tap, new TapDistribution(neurons, sketchK)));
                } else {
                    Instant window = Granularity.MINUTE.windowStart(eventTime);
                    WindowKey key = new WindowKey(tap.modelId(), tap.modelVersion(), tap.tap(), slice,
                            Granularity.MINUTE, window);
                    target = pending.computeIfAbsent(key,
                            k -> new PendingWindow(tap, new TapDistribution(neurons, sketchK)));
                    if (slice.equals(Slice.ALL)) {
                        TopExemplars top = pendingExemplars.computeIfAbsent(key,
                                k -> new TopExemplars(neurons, TopExemplars.DEFAULT_K));
                        for (int j = 0; j < neurons; j++) {
                            top.offer(j, activations[i * neurons + j], o.getInstanceId());
                        }
                    }
                }
                target.delta().add(activations, i * neurons);
            }
            pendingUpdates += (long) slices.size() * neurons;
            if (reference == null && keep(o)) {
                pendingRecent.add(new RecentObservationStore.Recent(tap.modelId(), tap.modelVersion(),
                        o.getInstanceId(), tap.tap(), eventTime, o.getPredictedClass(), o.getConfidence(),
                        o.hasTrueLabel() ? o.getTrueLabel() : null, o.getTagsMap(), o.getPairId(), pairRoleOf(o),
                        java.util.Arrays.copyOfRange(activations, i * neurons, (i + 1) * neurons)));
                pendingUpdates += neurons;
            }
        }
        pendingObservations += batch.getObservationsCount();
    }

    /** Sketch updates held since the last drain: what bounds this accumulator's memory. */
    public long pendingUpdates() {
        return pendingUpdates;
    }

    public long pendingObservations() {
        return pendingObservations;
    }

    /** Observations dropped as too late since the last call; resets the count. */
    public long takeLateObservations() {
        long late = lateObservations;
        lateObservations = 0;
        return late;
    }

    /** Adds a late label (validated by the caller). */
    public void addLabel(LabelEvent label) {
        pendingLabels.add(label);
        pendingUpdates++;
    }

    /** Adds a captured input (validated by the caller). */
    public void addInput(RecentObservationStore.CapturedInput input) {
        pendingInputs.add(input);
        // an input weighs about as much as a few hundred activations
        pendingUpdates += 1 + input.png().length / 4;
    }

    public boolean isEmpty() {
        return pending.isEmpty() && pendingReferences.isEmpty() && pendingRecent.isEmpty()
                && pendingLabels.isEmpty() && pendingExemplars.isEmpty() && pendingInputs.isEmpty();
    }

    /**
     * Everything accumulated since the last drain: live windows, reference distributions, observations to keep,
     * late labels to join, exemplars, captured inputs and the tag values newly admitted as slices.
     */
    public record Drained(Map<WindowKey, PendingWindow> windows, Map<ReferenceKey, PendingWindow> references,
            List<RecentObservationStore.Recent> recent, List<LabelEvent> labels,
            Map<WindowKey, TopExemplars> exemplars, List<RecentObservationStore.CapturedInput> inputs,
            List<SlicePolicy.Admitted> admittedTagValues) {

        public Drained(Map<WindowKey, PendingWindow> windows, Map<ReferenceKey, PendingWindow> references) {
            this(windows, references, List.of(), List.of(), Map.of(), List.of(), List.of());
        }
    }

    /** Hands over everything accumulated and starts empty. */
    public Drained drain() {
        Drained out = new Drained(pending, pendingReferences, pendingRecent, pendingLabels, pendingExemplars,
                pendingInputs, slicePolicy.takeAdmitted());
        pendingInputs = new ArrayList<>();
        pendingExemplars = new LinkedHashMap<>();
        pending = new LinkedHashMap<>();
        pendingReferences = new LinkedHashMap<>();
        pendingRecent = new ArrayList<>();
        pendingLabels = new ArrayList<>();
        pendingUpdates = 0;
        pendingObservations = 0;
        return out;
    }

    private static PairRole pairRoleOf(Observation o) {
        return switch (o.getPairRole()) {
            case PAIR_ROLE_BENIGN -> PairRole.BENIGN;
            case PAIR_ROLE_ATTACKED -> PairRole.ATTACKED;
            default -> null;
        };
    }

    static Reduction reductionOf(ai.neuraldivergence.proto.v1.Reduction r) {
        return switch (r) {
            case REDUCTION_MAX -> Reduction.MAX;
            case REDUCTION_MEAN -> Reduction.MEAN;
            case REDUCTION_NONE -> Reduction.NONE;
            default -> throw new IllegalArgumentException("no reduction given");
        };
    }
}
