package ai.neuraldivergence.domain;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.OptionalLong;

/**
 * Which stored distributions sum the layer's random Fourier features (the layer statistic, {@link LayerDrift}), and
 * through which map. Every slice keeps them (10 KB a row: 128 directions, cos and sin, 5 bandwidths, as doubles), so
 * that a class, a label or a tag value has its layer verdict as the slice all has; only block 0 does. A tap stored in
 * several blocks has no block that sees a whole observation: its producer sends each observation's projections with
 * block 0's rows ({@code layer_projections}), block 0 sums the features from those through the map of the whole tap,
 * and the assembled tap takes them ({@link TapDistribution#assemble}).
 *
 * <p>One map serves every slice of a layout: the seed does not depend on the slice, so that two slices of a tap (or a
 * slice and the slice all) are compared through the same directions.
 *
 * <p>The map must be fixed before the first observation and the same wherever rows are folded or read, on every
 * replica: its seed is derived from (model, tap, neuron count), not drawn, so that it needs no stored state, no
 * coordination, and is shared by model versions of the same layout. The neurons' declared scales
 * ({@link TapDescriptor#featureScales}) are the map's other half: they are fixed at the layout's first registration
 * (the catalog keeps them per model, tap and neuron count) and travel with every row's sums.
 */
public final class LayerFeatures {

    private LayerFeatures() {
    }

    /**
     * The seed of the map of a tap's rows of {@code block} (any slice), or empty when they keep no sums.
     *
     * @param neurons the map's neurons: the tap's (block 0's rows' own, or the whole tap's where they carry
     *     projections)
     */
    public static OptionalLong seed(String modelId, String tap, int block, int neurons) {
        if (block != 0) {
            return OptionalLong.empty();
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            // the version tag names the map's construction: a new construction would change it, and with it every seed
            sha.update("nd-layer-features/1".getBytes(StandardCharsets.UTF_8));
            for (String part : new String[] {modelId, tap, Integer.toString(neurons)}) {
                sha.update((byte) 0);
                sha.update(part.getBytes(StandardCharsets.UTF_8));
            }
            return OptionalLong.of(java.nio.ByteBuffer.wrap(sha.digest()).getLong());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /**
     * Starts the feature sums of an empty distribution of a tap's {@code block} (any slice) that keeps them, before
     * rows are added to it; does nothing to one that holds observations (its sums, if any, cover them).
     *
     * @param scales the layout's registered neuron scales ({@link TapDescriptor#featureScales}); null: 1
     */
    public static TapDistribution start(TapDistribution d, String modelId, String tap, float[] scales, int block) {
        return start(d, modelId, tap, scales, block, d.neuronCount());
    }

    /**
     * {@link #start(TapDistribution, String, String, float[], int)} through a map of {@code mapNeurons} neurons: the
     * whole tap's, for block 0 of a tap stored in several blocks whose rows carry projections. Scales of another
     * width than the map's (a wide tap's, for rows of its block 0 that carry none) start nothing: such rows cannot be
     * projected through the tap's map.
     */
    public static TapDistribution start(TapDistribution d, String modelId, String tap, float[] scales, int block,
            int mapNeurons) {
        if (d.observationCount() == 0 && (scales == null || scales.length == mapNeurons)) {
            seed(modelId, tap, block, mapNeurons).ifPresent(s -> d.startFeatures(s, mapNeurons, scales));
        }
        return d;
    }

    /** {@link #start(TapDistribution, String, String, float[], int)} for a whole tap's distribution. */
    public static TapDistribution start(TapDistribution d, TapDescriptor tap, int block) {
        return start(d, tap.modelId(), tap.tap(), tap.featureScales(), block);
    }

    /**
     * The feature sums of observations given by their projections on {@code map}'s directions
     * ({@link ai.neuraldivergence.domain.mmd.RandomFeatureMap#projection}): block 0 of a tap stored in several blocks.
     */
    public static ai.neuraldivergence.domain.mmd.FeatureSums sumsOfProjections(
            ai.neuraldivergence.domain.mmd.RandomFeatureMap map, java.util.List<float[]> projections) {
        return ChunkedFeatureSums.sum(map, projections, true, 1, (row, group) -> true)[0];
    }

    /** The map of a tap's sums, every slice's (what its calibration sample is projected through). */
    public static ai.neuraldivergence.domain.mmd.RandomFeatureMap map(TapDescriptor tap) {
        long seed = seed(tap.modelId(), tap.tap(), 0, tap.neuronCount()).orElseThrow();
        return ai.neuraldivergence.domain.mmd.FeatureMaps.of(seed, tap.neuronCount(), tap.featureScales());
    }
}
