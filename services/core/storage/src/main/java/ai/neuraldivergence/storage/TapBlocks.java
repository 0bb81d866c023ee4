package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.RawRows;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import java.util.ArrayList;
import java.util.List;

/**
 * One window of a tap as it is read, block by block (rows and deltas merged into their block), then assembled into
 * the whole tap ({@link TapDistribution#assemble}): a block with nothing stored yet is empty, so the tap's count is
 * 0 until every block has seen its observations. A tap whose layout is not in the catalog (rows written without
 * it) is read as the one block it was written as.
 */
final class TapBlocks {

    private final TapDescriptor layout;
    private final int sketchK;
    private final TapDistribution[] parts;
    private final String modelId;
    private final String tap;

    /** The blocks of one window of {@code tap} (any slice: the block decides whether its rows sum layer features). */
    TapBlocks(String modelId, String tap, TapDescriptor layoutOrNull, int sketchK) {
        this.modelId = modelId;
        this.tap = tap;
        this.layout = layoutOrNull;
        this.sketchK = sketchK;
        this.parts = new TapDistribution[layoutOrNull == null ? 1 : layoutOrNull.blockCount()];
    }

    /** Merges a stored row of block {@code block} (decoded: taken, not copied). */
    void addRow(int block, TapDistribution decoded) {
        int b = check(block);
        if (parts[b] == null) {
            parts[b] = decoded;
        } else {
            parts[b].merge(decoded);
        }
    }

    /** Adds one slice's rows of a delta of block {@code block}. */
    void addRows(int block, SlicedRows delta, Slice slice) {
        int b = check(block);
        int mapNeurons = delta.featureNeurons();
        float[] scales = layout == null ? null : layout.featureScales();
        if (parts[b] == null) {
            // rows folded here sum the layer's features as a fold would (a stored row merged later keeps them only
            // if it has them too)
            parts[b] = LayerFeatures.start(new TapDistribution(delta.neuronCount(), sketchK), modelId, tap, scales,
                    b, mapNeurons);
        }
        RawRows rows = delta.rowsOf(slice);
        TapDistribution part = parts[b];
        // block 0 of a wide tap: its rows cannot be projected, their observations' projections were sent (the
        // slice's sums are null where a row came without them, and the rows are then added without sums)
        var sums = delta.projected() && part.features() != null && part.featureNeurons() == mapNeurons
                ? delta.featureSumsOf(slice, part.featureMap()) : null;
        if (sums != null) {
            part.addAll(rows.rows(), sums, part.featureSeed(), mapNeurons, part.featureScales());
        } else {
            rows.addTo(part);
        }
    }

    boolean isEmpty() {
        for (TapDistribution p : parts) {
            if (p != null) {
                return false;
            }
        }
        return true;
    }

    /** The whole tap: its blocks side by side, each block's missing part empty. */
    TapDistribution assemble() {
        List<TapDistribution> blocks = new ArrayList<>(parts.length);
        for (int b = 0; b < parts.length; b++) {
            blocks.add(parts[b] != null ? parts[b] : new TapDistribution(layout.blockNeurons(b), sketchK));
        }
        return TapDistribution.assemble(blocks);
    }

    private int check(int block) {
        if (block < 0 || block >= parts.length) {
            throw new StorageException("a stored row of block " + block + " for a tap of " + parts.length
                    + " blocks" + (layout == null ? " (not in the catalog)" : " (" + layout + ")"));
        }
        return block;
    }
}
