package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.RawRows;
import ai.neuraldivergence.domain.TapDelta;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TopExemplars;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows one window (or reference) of a tap's block holds: references to the accumulator's rows (the block's
 * neurons of each observation), and the instance ids where exemplars are wanted (the "all" slice of a minute).
 * Its distribution is built on demand.
 */
public final class PendingWindow implements TapDelta {
    private final TapDescriptor tap;
    private final int block;
    private final int neurons;
    private final List<float[]> rows = new ArrayList<>();
    private final List<String> instanceIds;
    // block 0 of a tap stored in several blocks: each row's observation's projections on the layer's feature
    // directions (the rows are a part of it, which no map takes), a null entry for a row without them
    private final List<float[]> projections;
    private boolean allProjected = true;

    /** A window of a tap stored as one block. */
    public PendingWindow(TapDescriptor tap, boolean withExemplars) {
        this(tap, 0, withExemplars);
    }

    public PendingWindow(TapDescriptor tap, int block, boolean withExemplars) {
        this.tap = tap;
        this.block = block;
        this.neurons = tap.blockNeurons(block);
        this.instanceIds = withExemplars ? new ArrayList<>() : null;
        this.projections = block == 0 && tap.blockCount() > 1 ? new ArrayList<>() : null;
    }

    public TapDescriptor tap() {
        return tap;
    }

    /** Adds one observation's activations of the block (not copied: the caller hands over the array). */
    public void add(float[] activations, String instanceId) {
        add(activations, instanceId, null);
    }

    /**
     * Adds one observation's activations of the block, and for block 0 of a tap stored in several blocks its
     * projections ({@link ai.neuraldivergence.domain.mmd.RandomFeatureMap#projection}; null where the batch
     * brought none: the window then has no layer feature sums). Neither array is copied.
     */
    public void add(float[] activations, String instanceId, float[] projection) {
        if (activations.length != neurons) {
            throw new IllegalArgumentException("a row of " + activations.length + " activations for a block of "
                    + neurons + " neurons");
        }
        rows.add(activations);
        if (instanceIds != null) {
            instanceIds.add(instanceId);
        }
        if (projections != null) {
            projections.add(projection);
            allProjected &= projection != null;
        }
    }

    /**
     * Each row's projections, in row order (null entries for rows without them), for block 0 of a tap stored in
     * several blocks; else null.
     */
    public List<float[]> projections() {
        return projections;
    }

    /** Whether this is block 0 of a tap stored in several blocks, and every row came with its projections. */
    public boolean allProjected() {
        return projections != null && allProjected;
    }

    /** The neurons of the map its layer sums go through: the whole tap's where every row carries projections. */
    @Override
    public int featureNeurons() {
        return allProjected() ? tap.neuronCount() : neurons;
    }

    /** The instance id of each row, in row order; null when the window keeps none. */
    public List<String> instanceIds() {
        return instanceIds;
    }

    /** The block's neurons. */
    @Override
    public int neuronCount() {
        return neurons;
    }

    @Override
    public long observationCount() {
        return rows.size();
    }

    /** The rows as they arrived: what the flush appends as the window's delta. */
    public RawRows rows() {
        return new RawRows(neurons, rows);
    }

    /** Straight into the stored sketches: no sketch of these rows is built only to be merged. */
    @Override
    public void addTo(TapDistribution target) {
        target.addAll(rows);
    }

    @Override
    public TapDistribution toDistribution(int sketchK) {
        return distribution(sketchK);
    }

    /** The window's delta as distributions: built now, a sketch per neuron (the caller drops it after use). */
    public TapDistribution distribution(int sketchK) {
        return distribution(sketchK, false);
    }

    /**
     * {@link #distribution(int)}, summing the layer's features too where the block keeps them (block 0, any
     * slice: {@link ai.neuraldivergence.domain.LayerFeatures}): what a reference's block stores.
     */
    public TapDistribution summedDistribution(int sketchK) {
        return distribution(sketchK, true);
    }

    private TapDistribution distribution(int sketchK, boolean summed) {
        TapDistribution d = new TapDistribution(neurons, sketchK);
        if (summed) {
            ai.neuraldivergence.domain.LayerFeatures.start(d, tap.modelId(), tap.tap(), tap.featureScales(),
                    block, featureNeurons());
        }
        if (rows.size() > sketchK) {
            d.startSketches();
        }
        if (allProjected() && d.features() != null) {
            // block 0 of a wide tap: the features from the projections sent with it
            d.addAll(rows, ai.neuraldivergence.domain.LayerFeatures.sumsOfProjections(d.featureMap(),
                    projections), d.featureSeed(), d.featureNeurons(), d.featureScales());
        } else {
            d.addAll(rows);
        }
        return d;
    }

    /** Each neuron's top exemplars among these rows; null when the window keeps no instance ids. */
    public TopExemplars exemplars() {
        if (instanceIds == null) {
            return null;
        }
        TopExemplars top = new TopExemplars(neurons, TopExemplars.DEFAULT_K);
        for (int r = 0; r < rows.size(); r++) {
            float[] row = rows.get(r);
            String id = instanceIds.get(r);
            for (int n = 0; n < row.length; n++) {
                top.offer(n, row[n], id);
            }
        }
        return top;
    }
}
