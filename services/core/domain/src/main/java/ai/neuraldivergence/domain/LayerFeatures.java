package ai.neuraldivergence.domain;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.OptionalLong;

/**
 * Which stored distributions sum the layer's random Fourier features (the layer statistic, {@link LayerDrift}), and
 * through which map. Every slice keeps them (10 KB a row: 128 directions, cos and sin, 5 bandwidths, as doubles), so
 * that a class, a label or a tag value has its layer verdict as the slice all has; but only block 0 does: the
 * statistic covers taps stored as one block (a block of a wider tap sums its own neurons only, and the assembled tap
 * then has no sums).
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

    /** The seed of the map of a tap's rows of {@code block} (any slice), or empty when they keep no sums. */
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
        if (d.observationCount() == 0) {
            seed(modelId, tap, block, d.neuronCount()).ifPresent(s -> d.startFeatures(s, scales));
        }
        return d;
    }

    /** {@link #start(TapDistribution, String, String, float[], int)} for a whole tap's distribution. */
    public static TapDistribution start(TapDistribution d, TapDescriptor tap, int block) {
        return start(d, tap.modelId(), tap.tap(), tap.featureScales(), block);
    }

    /** The map of a tap's sums, every slice's (what its calibration sample is projected through). */
    public static ai.neuraldivergence.domain.mmd.RandomFeatureMap map(TapDescriptor tap) {
        long seed = seed(tap.modelId(), tap.tap(), 0, tap.neuronCount()).orElseThrow();
        return ai.neuraldivergence.domain.mmd.FeatureMaps.of(seed, tap.neuronCount(), tap.featureScales());
    }
}
