package ai.neuraldivergence.domain;

/**
 * What one write adds to a stored {@link TapDistribution}: either applied straight to the stored distribution (the
 * raw values of a flush go into the stored sketches, without a sketch of their own to merge), or, where nothing is
 * stored yet, made into a distribution of its own.
 */
public interface TapDelta {

    int neuronCount();

    /**
     * The neurons of the feature map this delta's layer sums go through: its own, but the whole tap's for block 0 of
     * a tap stored in several blocks whose sums come from the observations' projections.
     */
    default int featureNeurons() {
        return neuronCount();
    }

    long observationCount();

    /** Adds this delta's observations to {@code target}, which has as many neurons. */
    void addTo(TapDistribution target);

    /** This delta as a distribution of its own, of sketch size {@code sketchK}. */
    TapDistribution toDistribution(int sketchK);
}
