package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;

/**
 * The distributions of every neuron of one tap, for one slice and window. Stored as one row so that reading a tap
 * for a window is one read, not one per neuron.
 */
public final class TapDistribution implements TapDelta {

    private final NeuronDistribution[] neurons;
    private long observationCount;
    // the layer's random Fourier feature sums (LayerFeatures): null when this distribution does not sum them, or
    // holds observations that were not summed (a row stored before, or a block of a wider tap)
    private FeatureSums features;
    private long featureSeed;
    // the width of the map (its neurons): this distribution's own, but the whole tap's for block 0 of a tap stored in
    // several blocks, whose sums come from the observations' projections (SlicedRows)
    private int featureNeurons;
    // each neuron's declared scale the map divides by (TapDescriptor#featureScales); null: 1 for every neuron
    private float[] featureScales;

    public TapDistribution(int neuronCount, int k) {
        if (neuronCount <= 0) {
            throw new IllegalArgumentException("neuron count must be > 0, got " + neuronCount);
        }
        neurons = new NeuronDistribution[neuronCount];
        for (int i = 0; i < neuronCount; i++) {
            neurons[i] = new NeuronDistribution(k);
        }
    }

    TapDistribution(NeuronDistribution[] neurons, long observationCount) {
        this.neurons = neurons;
        this.observationCount = observationCount;
    }

    /**
     * Starts summing every observation's random Fourier features through the map of {@code seed} (see
     * {@link LayerFeatures}): only while the distribution is empty, so that the sums always cover every observation
     * it holds. Does nothing when it sums them already.
     *
     * @param scales each neuron's declared scale ({@link TapDescriptor#featureScales}), or null for 1 everywhere
     */
    public void startFeatures(long seed, float[] scales) {
        startFeatures(seed, neurons.length, scales);
    }

    /**
     * {@link #startFeatures(long, float[])} through a map of {@code mapNeurons} neurons: the whole tap's, where this
     * distribution is its block 0 and its sums come from the observations' projections
     * ({@link #addAll(java.util.List, FeatureSums, long, int, float[])}).
     */
    public void startFeatures(long seed, int mapNeurons, float[] scales) {
        if (features != null) {
            return;
        }
        if (observationCount != 0) {
            throw new IllegalStateException("feature sums start on an empty distribution, this one holds "
                    + observationCount + " observations");
        }
        featureSeed = seed;
        featureNeurons = mapNeurons;
        featureScales = scales == null ? null : scales.clone();
        features = new FeatureSums(FeatureMaps.of(seed, mapNeurons, featureScales).bandwidths());
    }

    /** The layer's feature sums over every observation held, or null when they are not kept for all of them. */
    public FeatureSums features() {
        return features;
    }

    /** The seed of {@link #features}' map. */
    public long featureSeed() {
        return featureSeed;
    }

    /** The neuron scales of {@link #features}' map; null when every neuron's is 1. */
    public float[] featureScales() {
        return featureScales == null ? null : featureScales.clone();
    }

    /**
     * The neurons of {@link #features}' map: this distribution's (also when it keeps no sums), or its whole tap's for
     * a wide tap's block 0.
     */
    @Override
    public int featureNeurons() {
        return features == null ? neurons.length : featureNeurons;
    }

    /** The map {@link #features} were summed through; null when none are kept. */
    public RandomFeatureMap featureMap() {
        return features == null ? null : FeatureMaps.of(featureSeed, featureNeurons, featureScales);
    }

    /** Whether this distribution's feature sums and {@code other}'s went through the same map. */
    public boolean sameFeatureMap(TapDistribution other) {
        return featureSeed == other.featureSeed && featureNeurons == other.featureNeurons
                && java.util.Arrays.equals(featureScales, other.featureScales);
    }

    /** Sets stored sums (the codec's). */
    void restoreFeatures(long seed, int mapNeurons, float[] scales, FeatureSums sums) {
        featureSeed = seed;
        featureNeurons = mapNeurons;
        featureScales = scales;
        features = sums;
    }

    private void addFeatures(java.util.List<float[]> rows) {
        if (features == null || rows.isEmpty()) {
            return;
        }
        if (featureNeurons != neurons.length) {
            // a wide tap's block 0 sums projections of whole observations: its rows alone cannot be projected, so
            // the sums no longer cover every observation and are dropped, never kept partial
            features = null;
            return;
        }
        features.merge(ChunkedFeatureSums.sum(featureMap(), rows, 1, (row, group) -> true)[0]);
    }

    /**
     * Keeps the feature sums of a merge only when both sides kept them through one map: a side holding observations
     * without sums makes the merge's unknown, never partial.
     */
    private void mergeFeatures(TapDistribution other) {
        if (other.observationCount == 0) {
            return;
        }
        if (observationCount == 0 && features == null) {
            if (other.features != null) {
                featureSeed = other.featureSeed;
                featureNeurons = other.featureNeurons;
                featureScales = other.featureScales;
                features = FeatureSums.of(other.features.count(), other.features.nonFinite(), other.features.sums());
            }
            return;
        }
        if (features != null && other.features != null && sameFeatureMap(other)
                && features.bandwidths() == other.features.bandwidths()) {
            features.merge(other.features);
        } else {
            features = null;
        }
    }

    /**
     * Adds one observation whose activations are {@code activations[offset .. offset + neuronCount)}; non-finite
     * values are counted per neuron (see {@link NeuronDistribution#update}).
     */
    public void add(float[] activations, int offset) {
        if (offset < 0 || offset + neurons.length > activations.length) {
            throw new IllegalArgumentException("observation at offset " + offset + " needs " + neurons.length
                    + " activations, array holds " + activations.length);
        }
        for (int i = 0; i < neurons.length; i++) {
            neurons[i].update(activations[offset + i]);
        }
        if (features != null) {
            addFeatures(java.util.List.of(java.util.Arrays.copyOfRange(activations, offset, offset
                    + neurons.length)));
        }
        observationCount++;
    }

    /**
     * Adds observations given as rows of {@code neuronCount} activations each. Neurons are independent: a large
     * batch is split into ranges of neurons updated in parallel (the common fork-join pool), each range taking every
     * row, so that a flush of thousands of observations of a wide tap uses every core.
     */
    public void addAll(java.util.List<float[]> rows) {
        updateSketches(rows);
        addFeatures(rows);
        observationCount += rows.size();
    }

    /**
     * {@link #addAll}, with the rows' feature sums computed already through the map of {@code seed},
     * {@code mapNeurons} and {@code scales}: a fold projects each observation once for every slice it is in
     * ({@link SlicedRows#featureSums}), and a wide tap's block 0 has its sums from the observations' projections.
     * Sums through another map than this distribution's are not used: the rows are then summed through its own, as
     * {@link #addAll} would (or, where its map is wider than the rows, its sums are dropped).
     *
     * @throws IllegalArgumentException when the sums do not count exactly the rows; nothing is added then
     */
    public void addAll(java.util.List<float[]> rows, FeatureSums featuresOfRows, long seed, int mapNeurons,
            float[] scales) {
        if (featuresOfRows.count() + featuresOfRows.nonFinite() != rows.size()) {
            throw new IllegalArgumentException("feature sums of " + (featuresOfRows.count()
                    + featuresOfRows.nonFinite()) + " observations for " + rows.size() + " rows");
        }
        if (features == null || seed != featureSeed || mapNeurons != featureNeurons
                || !java.util.Arrays.equals(scales, featureScales)
                || featuresOfRows.bandwidths() != features.bandwidths()) {
            addAll(rows);
            return;
        }
        updateSketches(rows);
        features.merge(featuresOfRows);
        observationCount += rows.size();
    }

    /**
     * {@link #addAll}, given neuron by neuron and with the observations' layer feature sums computed already:
     * {@code columns[i]} holds neuron i's value in each of the same observations, each neuron's values in an order of
     * its own. A replay that knows its values in advance (the detection benchmark draws them from recorded pools) may
     * give them sorted, which a sketch takes about three times faster than values in arrival order; its rank error
     * holds whatever the order.
     *
     * @throws IllegalArgumentException when a column's length or the sums' count is not the observations', the sums
     *     are of another map's bandwidths, or this distribution keeps no sums; nothing is added then
     */
    public void addAllByNeuron(float[][] columns, FeatureSums featuresOfColumns) {
        int count = columns.length == 0 ? 0 : columns[0].length;
        if (columns.length != neurons.length) {
            throw new IllegalArgumentException(columns.length + " columns for a tap of " + neurons.length + " neurons");
        }
        for (float[] column : columns) {
            if (column.length != count) {
                throw new IllegalArgumentException("columns of " + count + " and " + column.length + " values");
            }
        }
        if (features == null || featuresOfColumns.bandwidths() != features.bandwidths()
                || featuresOfColumns.count() + featuresOfColumns.nonFinite() != count) {
            throw new IllegalArgumentException("feature sums of " + (featuresOfColumns.count()
                    + featuresOfColumns.nonFinite()) + " observations for " + count + " values a neuron"
                    + (features == null ? " of a distribution that keeps none" : ""));
        }
        for (int i = 0; i < neurons.length; i++) {
            NeuronDistribution n = neurons[i];
            for (float v : columns[i]) {
                n.update(v);
            }
        }
        features.merge(featuresOfColumns);
        observationCount += count;
    }

    private void updateSketches(java.util.List<float[]> rows) {
        for (float[] row : rows) {
            if (row.length != neurons.length) {
                throw new IllegalArgumentException("a row of " + row.length + " activations for a tap of "
                        + neurons.length + " neurons");
            }
        }
        int ranges = (long) rows.size() * neurons.length < PARALLEL_UPDATES ? 1
                : Math.min(neurons.length, 4 * java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 4);
        int size = (neurons.length + ranges - 1) / ranges;
        java.util.stream.IntStream stream = java.util.stream.IntStream.range(0, ranges);
        (ranges > 1 ? stream.parallel() : stream).forEach(r -> {
            int from = r * size;
            int to = Math.min(neurons.length, from + size);
            for (float[] row : rows) {
                for (int i = from; i < to; i++) {
                    neurons[i].update(row[i]);
                }
            }
        });
    }

    /** Updates below which one thread does the work: splitting costs more than it saves. */
    private static final long PARALLEL_UPDATES = 200_000;

    /**
     * Starts every neuron's sketch now: for a distribution about to take more than k observations at once, whose
     * values would otherwise be kept as they are only to be copied into the sketches at the k+1th.
     */
    public void startSketches() {
        for (NeuronDistribution n : neurons) {
            n.startSketch();
        }
    }

    /**
     * A tap's distribution assembled from its blocks' ({@link TapDescriptor}), in block order: the neurons side by
     * side (taken, not copied). Its observation count is the blocks' minimum, never their sum: every observation
     * reaches every block, and a block that has not seen one yet has not seen it whole.
     */
    public static TapDistribution assemble(java.util.List<TapDistribution> blocks) {
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("no blocks to assemble");
        }
        if (blocks.size() == 1) {
            return blocks.get(0);
        }
        int total = 0;
        long count = Long.MAX_VALUE;
        for (TapDistribution b : blocks) {
            total += b.neurons.length;
            count = Math.min(count, b.observationCount);
        }
        NeuronDistribution[] all = new NeuronDistribution[total];
        int at = 0;
        for (TapDistribution b : blocks) {
            System.arraycopy(b.neurons, 0, all, at, b.neurons.length);
            at += b.neurons.length;
        }
        TapDistribution tap = new TapDistribution(all, count);
        TapDistribution first = blocks.get(0);
        // block 0's sums are the whole tap's when they went through a map of the whole tap (the observations'
        // projections), and when they cover exactly the tap's observations: a block ahead of the others (a flush
        // of one block's partition under way) holds observations the tap does not count yet
        if (first.features != null && first.featureNeurons == total && first.observationCount == count
                && first.features.count() + first.features.nonFinite() == count) {
            tap.restoreFeatures(first.featureSeed, total, first.featureScales,
                    FeatureSums.of(first.features.count(), first.features.nonFinite(), first.features.sums()));
        }
        return tap;
    }

    /**
     * Neurons {@code [from, from + count)} as a distribution of their own (the same neuron objects, not copies),
     * with this distribution's count: one block of a whole tap. Block 0 of a tap whose feature sums cover it keeps
     * them, through the whole tap's map, as it would have summed them from its observations' projections.
     */
    public TapDistribution part(int from, int count) {
        if (from < 0 || count <= 0 || from + count > neurons.length) {
            throw new IllegalArgumentException("neurons " + from + ".." + (from + count - 1) + " of a tap of "
                    + neurons.length);
        }
        TapDistribution part = new TapDistribution(java.util.Arrays.copyOfRange(neurons, from, from + count),
                observationCount);
        if (from == 0 && features != null && featureNeurons == neurons.length
                && features.count() + features.nonFinite() == observationCount) {
            part.restoreFeatures(featureSeed, featureNeurons, featureScales,
                    FeatureSums.of(features.count(), features.nonFinite(), features.sums()));
        }
        return part;
    }

    public void merge(TapDistribution other) {
        if (other.neurons.length != neurons.length) {
            throw new IllegalArgumentException("cannot merge a tap of " + other.neurons.length + " neurons into one of "
                    + neurons.length);
        }
        for (int i = 0; i < neurons.length; i++) {
            neurons[i].merge(other.neurons[i]);
        }
        mergeFeatures(other);
        observationCount += other.observationCount;
    }

    @Override
    public void addTo(TapDistribution target) {
        target.merge(this);
    }

    @Override
    public TapDistribution toDistribution(int sketchK) {
        return this;
    }

    @Override
    public int neuronCount() {
        return neurons.length;
    }

    public NeuronDistribution neuron(int index) {
        return neurons[index];
    }

    @Override
    public long observationCount() {
        return observationCount;
    }

    /** An estimate of the heap the distribution holds (its neurons'; see {@link NeuronDistribution#heapBytes}). */
    public long heapBytes() {
        long total = 16L + 8L * neurons.length;
        for (NeuronDistribution n : neurons) {
            total += n.heapBytes();
        }
        return total;
    }

    /** The sketch size of the neurons' sketches (k of the first; all share it). */
    public int sketchK() {
        return neurons[0].sketchK();
    }
}
