package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.wire.WireMapping;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicePolicy;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.storage.RecentObservationStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Accumulates validated activation batches until they are flushed: each observation's activations of a tap are
 * held once, as a row, and every window (tap, slice and minute) or reference it enters refers to that row. The
 * sketches are built when the delta is written, one window at a time, so that what waits in memory is the raw
 * values (4 bytes each) rather than a sketch per neuron per slice (a KLL sketch holds k floats from its first value:
 * one observation of a wide tap entering a dozen slices would cost hundreds of megabytes).
 *
 * <p>{@link #bytes()} estimates the heap the delta holds; the consumer flushes before a record would take it past
 * its budget. Not thread-safe: owned by the consumer thread.
 */
public final class WindowAccumulator {

    /** Bytes a kept row costs beyond its values: array header, list slots, metadata references. */
    static final int ROW_OVERHEAD_BYTES = 64;
    /** Bytes each window or reference a row enters costs (a reference in a list, the list's slack). */
    static final int SLICE_ENTRY_BYTES = 16;
    /** Bytes of an observation's metadata and its recent-store entry. */
    static final int OBSERVATION_BYTES = 256;
    static final int LABEL_BYTES = 160;
    /** Bytes of an observation's layer projections (block 0 of a wide tap): the array and its 128 floats. */
    static final int PROJECTION_BYTES = ROW_OVERHEAD_BYTES
            + 4 * ai.neuraldivergence.domain.mmd.RandomFeatureMap.DIRECTIONS;

    private final SlicePolicy slicePolicy;
    private final Duration allowedLateness;
    private final double recentSampleRate;
    private long lateObservations;
    private long refusedProjections;
    private Map<WindowKey, PendingWindow> pending = new LinkedHashMap<>();
    // the live windows of whole taps (block 0's key for every block's): what the window bound counts
    private Set<WindowKey> wholeWindows = new java.util.HashSet<>();
    // observations tagged reference=<name> build that reference and enter no live window
    private Map<ReferenceKey, PendingWindow> pendingReferences = new LinkedHashMap<>();
    // taps the serving inference service declared (a batch without observations, at its start): registered as they
    // are, so that the model version's layout is its model's before any other producer's
    private Set<TapDescriptor> declaredTaps = new LinkedHashSet<>();
    // live observations for the recent-observation store (and their late labels), labels and inputs received
    private List<RecentObservationStore.Recent> pendingRecent = new ArrayList<>();
    private List<LabelEvent> pendingLabels = new ArrayList<>();
    // each label's record timestamp, in the same order: a late label joins observations no older than it minus the
    // recent store's ttl, decided from the record so that a replay joins alike
    private List<Instant> pendingLabelTimes = new ArrayList<>();
    private List<RecentObservationStore.CapturedInput> pendingInputs = new ArrayList<>();
    private long pendingUpdates;
    private long pendingObservations;
    private long bytes;

    public WindowAccumulator(SlicePolicy slicePolicy, Duration allowedLateness) {
        this(slicePolicy, allowedLateness, 1.0);
    }

    /**
     * @param recentSampleRate the share of labelled, unpaired observations kept in the recent-observation store
     *     (unlabelled ones wait there for a late label, pairs are shown side by side: both are always kept)
     */
    public WindowAccumulator(SlicePolicy slicePolicy, Duration allowedLateness, double recentSampleRate) {
        if (!(recentSampleRate >= 0 && recentSampleRate <= 1)) {
            throw new IllegalArgumentException("the recent sample rate must be in [0, 1], got " + recentSampleRate);
        }
        this.slicePolicy = slicePolicy;
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

    /** What decides the slices of this accumulator's observations. */
    SlicePolicy slicePolicy() {
        return slicePolicy;
    }

    /** The layout a batch declares for its tap: in blocks of the size it declares, else in one block. */
    public static TapDescriptor tapOf(ActivationBatch b) {
        return tapOf(b, Integer.MAX_VALUE);
    }

    /**
     * The layout a batch declares for its tap, in blocks of the size it declares, else of {@code defaultBlockSize}
     * (what a tap registered by it gets: a stored tap keeps its own).
     */
    public static TapDescriptor tapOf(ActivationBatch b, int defaultBlockSize) {
        int[] shape = b.getTapShapeList().stream().mapToInt(Integer::intValue).toArray();
        float[] scales = null;
        if (b.getNeuronScalesCount() > 0) {
            scales = new float[b.getNeuronScalesCount()];
            for (int i = 0; i < scales.length; i++) {
                scales[i] = b.getNeuronScales(i);
            }
        }
        return new TapDescriptor(b.getModelId(), b.getModelVersion(), b.getTap(), b.getTapIndex(), shape,
                b.getNeuronCount(), reductionOf(b.getReduction()), b.getBlockSize() > 0 ? b.getBlockSize()
                        : defaultBlockSize, scales);
    }

    /**
     * Why a batch's neuron range cannot be split into its tap's blocks (it must start at a block boundary and end at
     * one or at the tap's end), or empty when it can.
     */
    public static java.util.Optional<String> rangeProblem(ActivationBatch b, TapDescriptor tap) {
        int width = ai.neuraldivergence.contract.ActivationBatchValidator.width(b);
        if (width == 0) {
            return java.util.Optional.empty();
        }
        int from = b.getNeuronOffset();
        int to = from + width;
        if (from % tap.blockSize() != 0 || (to != tap.neuronCount() && to % tap.blockSize() != 0)) {
            return java.util.Optional.of("neurons " + from + ".." + (to - 1) + " of tap " + tap.tap() + " are not "
                    + "whole blocks of " + tap.blockSize() + ": a batch's range starts at a block boundary and ends "
                    + "at one or at the tap's end (" + tap.neuronCount() + ")");
        }
        return java.util.Optional.empty();
    }

    /**
     * An upper estimate of the bytes {@link #add} will hold for this batch: what the consumer checks against its
     * budget before accepting the batch.
     */
    public static long bytesFor(ActivationBatch batch, TapDescriptor tap) {
        int width = ai.neuraldivergence.contract.ActivationBatchValidator.width(batch);
        // the blocks a range of that width can touch (one more when it does not start at a boundary)
        long blocks = Math.min(tap.blockCount(), (width + tap.blockSize() - 1) / tap.blockSize() + 1);
        // block 0 of a wide tap holds each observation's layer projections too
        long projection = tap.blockCount() > 1 && batch.getNeuronOffset() == 0 ? PROJECTION_BYTES : 0;
        long total = 0;
        for (Observation o : batch.getObservationsList()) {
            // per block: all, predicted class, true label, pair role, and at most one slice per tag
            total += blocks * (ROW_OVERHEAD_BYTES + (long) SLICE_ENTRY_BYTES * (4 + o.getTagsCount())) + 4L * width
                    + OBSERVATION_BYTES + projection;
        }
        return total;
    }

    /**
     * Adds a batch that {@link ai.neuraldivergence.contract.ActivationBatchValidator} accepted, whose tap layout
     * matches {@code tap} and whose neuron range is whole blocks of it ({@link #rangeProblem}), received in a record
     * stamped {@code recordTime}. Each block of the range is held, written and folded on its own.
     */
    public void add(ActivationBatch batch, TapDescriptor tap, Instant recordTime) {
        if (batch.getObservationsCount() == 0) {
            declaredTaps.add(tap);
            return;
        }
        int width = ai.neuraldivergence.contract.ActivationBatchValidator.width(batch);
        int firstBlock = batch.getNeuronOffset() / tap.blockSize();
        int lastBlock = firstBlock;
        while (lastBlock + 1 < tap.blockCount() && tap.blockStart(lastBlock + 1) < batch.getNeuronOffset() + width) {
            lastBlock++;
        }
        Instant oldestOnTime = recordTime.minus(allowedLateness);
        float[][] projections = firstBlock == 0 && tap.blockCount() > 1 ? projections(batch, tap, width) : null;
        for (int i = 0; i < batch.getObservationsCount(); i++) {
            Observation o = batch.getObservations(i);
            String reference = o.getTagsMap().get(ReferenceKey.TAG);
            Instant eventTime = WireMapping.instant(o.getEventTime());
            if (reference == null && eventTime.isBefore(oldestOnTime)) {
                // references have no window, so no lateness
                lateObservations++;
                continue;
            }
            List<Slice> slices = slicePolicy.slicesOf(tap.modelId(), o.getPredictedClass(),
                    o.hasTrueLabel() ? o.getTrueLabel() : null, o.getTagsMap(), pairRoleOf(o));
            boolean kept = reference == null && keep(o);
            bytes += OBSERVATION_BYTES + (projections != null ? PROJECTION_BYTES : 0);
            for (int block = firstBlock; block <= lastBlock; block++) {
                // the block's row of the observation, held once whatever the number of slices it enters
                int neurons = tap.blockNeurons(block);
                int at = i * width + tap.blockStart(block) - batch.getNeuronOffset();
                float[] row = new float[neurons];
                for (int j = 0; j < neurons; j++) {
                    row[j] = batch.getActivations(at + j);
                }
                bytes += ROW_OVERHEAD_BYTES + 4L * neurons;
                int b = block;
                for (Slice slice : slices) {
                    PendingWindow target;
                    if (reference != null) {
                        ReferenceKey key = new ReferenceKey(tap.modelId(), tap.modelVersion(), reference, tap.tap(),
                                slice, b);
                        // the slice all keeps the ids, for the reference's calibration sample
                        target = pendingReferences.computeIfAbsent(key, k -> new PendingWindow(tap, b,
                                slice.equals(Slice.ALL)));
                    } else {
                        WindowKey key = new WindowKey(tap.modelId(), tap.modelVersion(), tap.tap(), slice,
                                Granularity.MINUTE, Granularity.MINUTE.windowStart(eventTime), b);
                        // exemplars are kept per tap block and minute: the "all" slice's window sees every
                        // observation
                        target = pending.computeIfAbsent(key, k -> new PendingWindow(tap, b,
                                slice.equals(Slice.ALL)));
                        wholeWindows.add(key.inBlock(0));
                    }
                    target.add(row, o.getInstanceId(), b == 0 && projections != null ? projections[i] : null);
                    bytes += SLICE_ENTRY_BYTES;
                }
                pendingUpdates += (long) slices.size() * neurons;
                if (kept) {
                    pendingRecent.add(new RecentObservationStore.Recent(tap.modelId(), tap.modelVersion(),
                            o.getInstanceId(), tap.tap(), eventTime, o.getPredictedClass(), o.getConfidence(),
                            o.hasTrueLabel() ? o.getTrueLabel() : null, o.getTagsMap(), o.getPairId(),
                            pairRoleOf(o), row, b, b == 0 && projections != null ? projections[i] : null));
                    pendingUpdates += neurons;
                }
            }
            pendingObservations++;
        }
    }

    /**
     * Block 0's projections of each observation of a batch of a tap stored in several blocks (one array per
     * observation, shared by every slice it enters), or null where the layer statistic cannot have them: computed
     * here from a batch that holds the whole tap, else those the producer sent, if it sent them through the layout's
     * registered scales (sent through others, they are refused and counted: they would mix two maps' features).
     */
    private float[][] projections(ActivationBatch batch, TapDescriptor tap, int width) {
        int count = batch.getObservationsCount();
        int d = ai.neuraldivergence.domain.mmd.RandomFeatureMap.DIRECTIONS;
        float[][] out = new float[count][];
        if (width == tap.neuronCount()) {
            ai.neuraldivergence.domain.mmd.RandomFeatureMap map = ai.neuraldivergence.domain.LayerFeatures.map(tap);
            float[] row = new float[width];
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < width; j++) {
                    row[j] = batch.getActivations(i * width + j);
                }
                out[i] = map.projectionOrNaN(row);
            }
            return out;
        }
        if (batch.getLayerProjectionsCount() == 0) {
            return null;
        }
        if (!java.util.Arrays.equals(tapOf(batch).featureScales(), tap.featureScales())) {
            refusedProjections += count;
            return null;
        }
        for (int i = 0; i < count; i++) {
            out[i] = new float[d];
            for (int j = 0; j < d; j++) {
                out[i][j] = batch.getLayerProjections(i * d + j);
            }
        }
        return out;
    }

    /**
     * Observations whose layer projections were refused since the last call (sent through other neuron scales than
     * their layout's registered ones); resets the count.
     */
    public long takeRefusedProjections() {
        long refused = refusedProjections;
        refusedProjections = 0;
        return refused;
    }

    /** Sketch updates held since the last drain (neuron values x the slices they enter, plus kept rows). */
    public long pendingUpdates() {
        return pendingUpdates;
    }

    /** Observations held since the last drain (late ones not counted). */
    public long pendingObservations() {
        return pendingObservations;
    }

    /** The estimated heap this delta holds: what the byte budget bounds. */
    public long bytes() {
        return bytes;
    }

    /** Observations dropped as too late since the last call; resets the count. */
    public long takeLateObservations() {
        long late = lateObservations;
        lateObservations = 0;
        return late;
    }

    /** Adds a late label (validated by the caller), received in a record stamped {@code recordTime}. */
    public void addLabel(LabelEvent label, Instant recordTime) {
        pendingLabels.add(label);
        pendingLabelTimes.add(recordTime);
        pendingUpdates++;
        bytes += LABEL_BYTES + 2L * (label.getModelId().length() + label.getInstanceId().length());
    }

    /** Adds a captured input (validated by the caller). */
    public void addInput(RecentObservationStore.CapturedInput input) {
        pendingInputs.add(input);
        // an input weighs about as much as a few hundred activations
        pendingUpdates += 1 + input.png().length / 4;
        bytes += LABEL_BYTES + input.png().length;
    }

    /**
     * The windows (tap, slice and minute: a tap's blocks together, appended side by side) and reference blocks held
     * (each block's merge takes an advisory lock when the delta is written).
     */
    public int windowCount() {
        return wholeWindows.size() + pendingReferences.size();
    }

    public boolean isEmpty() {
        return pending.isEmpty() && pendingReferences.isEmpty() && pendingRecent.isEmpty()
                && pendingLabels.isEmpty() && pendingInputs.isEmpty() && declaredTaps.isEmpty();
    }

    /**
     * Everything accumulated since the last drain: live windows, reference distributions, observations to keep,
     * late labels to join, captured inputs and the tag values newly admitted as slices.
     */
    public record Drained(Map<WindowKey, PendingWindow> windows, Map<ReferenceKey, PendingWindow> references,
            List<RecentObservationStore.Recent> recent, List<LabelEvent> labels,
            List<RecentObservationStore.CapturedInput> inputs, List<SlicePolicy.Admitted> admittedTagValues,
            Set<TapDescriptor> declaredTaps, List<Instant> labelTimes) {

        public Drained(Map<WindowKey, PendingWindow> windows, Map<ReferenceKey, PendingWindow> references) {
            this(windows, references, List.of(), List.of(), List.of(), List.of(), Set.of(), List.of());
        }

        public static Drained empty() {
            return new Drained(Map.of(), Map.of());
        }
    }

    /** Hands over everything accumulated and starts empty. */
    public Drained drain() {
        Drained out = new Drained(pending, pendingReferences, pendingRecent, pendingLabels, pendingInputs,
                slicePolicy.takeAdmitted(), declaredTaps, pendingLabelTimes);
        pendingLabelTimes = new ArrayList<>();
        declaredTaps = new LinkedHashSet<>();
        pendingInputs = new ArrayList<>();
        pending = new LinkedHashMap<>();
        wholeWindows = new java.util.HashSet<>();
        pendingReferences = new LinkedHashMap<>();
        pendingRecent = new ArrayList<>();
        pendingLabels = new ArrayList<>();
        pendingUpdates = 0;
        pendingObservations = 0;
        bytes = 0;
        return out;
    }

    private static PairRole pairRoleOf(Observation o) {
        // the validator refused unknown roles: what is left is a member's role or none
        return o.getPairRole() == ai.neuraldivergence.proto.v1.PairRole.UNRECOGNIZED ? null
                : WireMapping.pairRole(o.getPairRole());
    }

    static Reduction reductionOf(ai.neuraldivergence.proto.v1.Reduction r) {
        return WireMapping.reduction(r);
    }
}
