package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.FeatureSums;

/**
 * One slice's rows of a fold, with their layer feature sums computed already ({@link SlicedRows#featureSums}: each
 * observation projected once for every slice it is in) through the map of {@code seed}, {@code mapNeurons} (the
 * rows' own, or the whole tap's for block 0 of a wider tap, summed from projections) and {@code scales}. A stored
 * row of another map, or of none, takes the rows as {@link RawRows} would ({@link TapDistribution#addAll(
 * java.util.List, FeatureSums, long, float[])}).
 */
public final class SummedRows implements TapDelta {

    private final RawRows rows;
    private final FeatureSums features;
    private final long seed;
    private final int mapNeurons;
    private final float[] scales;

    /** @throws IllegalArgumentException when the sums do not count exactly the rows */
    public SummedRows(RawRows rows, FeatureSums features, long seed, float[] scales) {
        this(rows, features, seed, rows.neuronCount(), scales);
    }

    /** @throws IllegalArgumentException when the sums do not count exactly the rows */
    public SummedRows(RawRows rows, FeatureSums features, long seed, int mapNeurons, float[] scales) {
        if (features.count() + features.nonFinite() != rows.observationCount()) {
            throw new IllegalArgumentException("feature sums of " + (features.count() + features.nonFinite())
                    + " observations for " + rows.observationCount() + " rows");
        }
        this.rows = rows;
        this.features = features;
        this.seed = seed;
        this.mapNeurons = mapNeurons;
        this.scales = scales == null ? null : scales.clone();
    }

    @Override
    public int featureNeurons() {
        return mapNeurons;
    }

    @Override
    public int neuronCount() {
        return rows.neuronCount();
    }

    @Override
    public long observationCount() {
        return rows.observationCount();
    }

    @Override
    public void addTo(TapDistribution target) {
        target.addAll(rows.rows(), features, seed, mapNeurons, scales);
    }

    @Override
    public TapDistribution toDistribution(int sketchK) {
        TapDistribution d = new TapDistribution(rows.neuronCount(), sketchK);
        d.startFeatures(seed, mapNeurons, scales);
        if (rows.observationCount() > sketchK) {
            d.startSketches();
        }
        addTo(d);
        return d;
    }
}
