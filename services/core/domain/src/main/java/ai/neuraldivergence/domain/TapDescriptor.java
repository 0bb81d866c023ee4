package ai.neuraldivergence.domain;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a tap is: its name, its position in network order, its output shape without the batch dimension, how many
 * neurons it has, how a rank-4 output became one value per channel, and how many neurons each of its blocks holds.
 *
 * <p>A block is the unit a wide tap is stored, written and moved in: neurons {@code [b * blockSize, (b + 1) *
 * blockSize)}, the last block holding what is left. Every distribution, delta, exemplar, reference and kept
 * observation of a tap is one row per block, so that one flush, fold or Kafka partition carries a bounded part of a
 * tap of any width; readers assemble a tap's blocks. A block size of at least the neuron count is one block.
 *
 * <p>{@code featureScales} are what the layer statistic ({@link LayerFeatures}) divides each neuron's value by before
 * its random Fourier features (the model's manifest declares them, e.g. each neuron's standard deviation on the
 * training data), so that a neuron that varies a hundred times more than another does not drown it; null: 1 for
 * every neuron. Not part of the layout: they are fixed per (model, tap, neuron count) at the layout's first
 * registration, and every version of that layout sums through the same map.
 */
public record TapDescriptor(String modelId, String modelVersion, String tap, int tapIndex, int[] shape,
        int neuronCount, Reduction reduction, int blockSize, float[] featureScales) {

    public TapDescriptor {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(modelVersion, "modelVersion");
        Objects.requireNonNull(tap, "tap");
        Objects.requireNonNull(reduction, "reduction");
        if (blockSize <= 0) {
            throw new IllegalArgumentException("a block size must be > 0, got " + blockSize);
        }
        // one block holds at most the whole tap: a larger size means the same layout
        blockSize = Math.min(blockSize, Math.max(1, neuronCount));
        shape = shape.clone();
        scalesProblem(featureScales, neuronCount).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
        // 1 for every neuron is what undeclared means: one map, however it was said
        boolean ones = featureScales != null;
        for (int i = 0; ones && i < featureScales.length; i++) {
            ones = featureScales[i] == 1f;
        }
        featureScales = featureScales == null || ones ? null : featureScales.clone();
    }

    /** A tap with the neurons' feature scales undeclared (1). */
    public TapDescriptor(String modelId, String modelVersion, String tap, int tapIndex, int[] shape,
            int neuronCount, Reduction reduction, int blockSize) {
        this(modelId, modelVersion, tap, tapIndex, shape, neuronCount, reduction, blockSize, null);
    }

    /**
     * What is wrong with {@code scales} as a tap's feature scales, if anything: null (undeclared) or one positive
     * finite number per neuron.
     */
    public static java.util.Optional<String> scalesProblem(float[] scales, int neuronCount) {
        if (scales == null) {
            return java.util.Optional.empty();
        }
        if (scales.length != neuronCount) {
            return java.util.Optional.of(scales.length + " neuron scales for " + neuronCount + " neurons");
        }
        for (int i = 0; i < scales.length; i++) {
            if (!(scales[i] > 0) || !Float.isFinite(scales[i])) {
                return java.util.Optional.of("neuron " + i + "'s scale is " + scales[i]
                        + ", not a positive finite number");
            }
        }
        return java.util.Optional.empty();
    }

    /** A tap stored as one block. */
    public TapDescriptor(String modelId, String modelVersion, String tap, int tapIndex, int[] shape,
            int neuronCount, Reduction reduction) {
        this(modelId, modelVersion, tap, tapIndex, shape, neuronCount, reduction, Math.max(1, neuronCount));
    }

    /** This tap with another block size (what a registration stores when the tap is new). */
    public TapDescriptor withBlockSize(int size) {
        return new TapDescriptor(modelId, modelVersion, tap, tapIndex, shape, neuronCount, reduction, size,
                featureScales);
    }

    /** This tap with other feature scales (the ones its layout was first registered with); null: 1 everywhere. */
    public TapDescriptor withFeatureScales(float[] scales) {
        return new TapDescriptor(modelId, modelVersion, tap, tapIndex, shape, neuronCount, reduction, blockSize,
                scales);
    }

    /** How many blocks the tap is stored in. */
    public int blockCount() {
        return (neuronCount + blockSize - 1) / blockSize;
    }

    /** The first neuron of block {@code block}. */
    public int blockStart(int block) {
        checkBlock(block);
        return block * blockSize;
    }

    /** How many neurons block {@code block} holds (the last may hold fewer). */
    public int blockNeurons(int block) {
        checkBlock(block);
        return Math.min(blockSize, neuronCount - block * blockSize);
    }

    private void checkBlock(int block) {
        if (block < 0 || block >= blockCount()) {
            throw new IllegalArgumentException("tap " + tap + " has blocks 0.." + (blockCount() - 1) + ", not "
                    + block);
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public float[] featureScales() {
        return featureScales == null ? null : featureScales.clone();
    }

    /**
     * True when {@code other} describes the same tap with the same layout: the same neurons, the same way (what a
     * merge of their data needs). The blocks they are stored in are not part of it: readers assemble them.
     */
    public boolean sameLayout(TapDescriptor other) {
        return tapIndex == other.tapIndex && neuronCount == other.neuronCount && reduction == other.reduction
                && Arrays.equals(shape, other.shape);
    }

    /** Equal when the tap, its layout and its blocks are: feature scales are compared on their own. */
    @Override
    public boolean equals(Object o) {
        return o instanceof TapDescriptor t && t.modelId.equals(modelId) && t.modelVersion.equals(modelVersion)
                && t.tap.equals(tap) && sameLayout(t) && t.blockSize == blockSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(modelId, modelVersion, tap, tapIndex, Arrays.hashCode(shape), neuronCount, reduction,
                blockSize);
    }

    @Override
    public String toString() {
        return modelId + ":" + modelVersion + "/" + tap + "#" + tapIndex + Arrays.toString(shape) + " " + neuronCount
                + " neurons, " + reduction.word() + (blockCount() > 1 ? ", blocks of " + blockSize : "");
    }
}
