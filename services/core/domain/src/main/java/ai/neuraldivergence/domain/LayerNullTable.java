package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.FeatureSpectrum;
import java.util.OptionalDouble;

/**
 * A reference's layer null computed whole, ahead of the queries that read it: every (grid point, bucket) resampled
 * from its calibration sample and every grid point's feature spectrum ({@link SampledLayerNull#table}). The
 * aggregator computes it once after the reference is sealed and stores it; every comparison replica then reads the
 * same numbers, and no query waits on a resample. Immutable.
 */
public final class LayerNullTable implements LayerNull.Source {

    /**
     * How a table's numbers are made, stored beside them: a stored table of another construction (another number of
     * replicates, other buckets, summary levels or bandwidth grid) is computed again rather than read. Change it only
     * when the numbers change: every sealed reference's table is then computed again, and one frozen from hours past
     * their retention has no sample left to compute it from (the analytic bound answers for good).
     */
    public static final String CONSTRUCTION = "resampled/1: " + ResampledNull.REPLICATES + " replicates, buckets "
            + ResampledNull.SMALLEST_BUCKET + "-" + LayerNull.LARGEST_BUCKET + ", levels "
            + java.util.Arrays.toString(ResampledNull.LEVELS) + " and mean + 3 se, bandwidths "
            + ai.neuraldivergence.domain.mmd.RandomFeatureMap.GRID_DESCRIPTION + ", spectrum below 1e-3";

    private final int sampleSize;
    // [grid point][bucket index][summary]: the summaries of ResampledNull#quantiles, buckets as LayerNull#buckets
    private final double[][][] summaries;
    private final FeatureSpectrum[] spectra;

    private LayerNullTable(int sampleSize, double[][][] summaries, FeatureSpectrum[] spectra) {
        this.sampleSize = sampleSize;
        this.summaries = summaries;
        this.spectra = spectra;
    }

    /**
     * A table as stored: {@code summaries[g][b]} for bucket {@code LayerNull.buckets()[b]}, {@code eigenvalues[g]}
     * the spectrum at grid point g. Both empty when the sample was too small to resample ({@link #usable}).
     *
     * @throws IllegalArgumentException when the shapes do not fit together or the buckets
     */
    public static LayerNullTable of(int sampleSize, double[][][] summaries, double[][] eigenvalues) {
        if (summaries.length != eigenvalues.length) {
            throw new IllegalArgumentException(summaries.length + " grid points of summaries, " + eigenvalues.length
                    + " of spectra");
        }
        int buckets = LayerNull.buckets().length;
        FeatureSpectrum[] spectra = new FeatureSpectrum[eigenvalues.length];
        double[][][] copy = new double[summaries.length][][];
        for (int g = 0; g < summaries.length; g++) {
            if (summaries[g].length != buckets) {
                throw new IllegalArgumentException(summaries[g].length + " buckets at grid point " + g + ", expected "
                        + buckets);
            }
            copy[g] = new double[buckets][];
            for (int b = 0; b < buckets; b++) {
                copy[g][b] = summaries[g][b].clone();
            }
            spectra[g] = FeatureSpectrum.ofEigenvalues(eigenvalues[g]);
        }
        return new LayerNullTable(sampleSize, copy, spectra);
    }

    /** An empty table: the sample held fewer than {@link LayerNull#SMALLEST_SAMPLE} observations. */
    public static LayerNullTable unusable(int sampleSize) {
        return new LayerNullTable(sampleSize, new double[0][][], new FeatureSpectrum[0]);
    }

    static LayerNullTable computed(int sampleSize, double[][][] summaries, FeatureSpectrum[] spectra) {
        return new LayerNullTable(sampleSize, summaries, spectra);
    }

    /** The calibration sample's size: the observations read for it. */
    public int sampleSize() {
        return sampleSize;
    }

    /** Whether the sample was large enough to resample: else every quantile is empty (the analytic bound answers). */
    public boolean usable() {
        return summaries.length > 0;
    }

    /** The summaries, {@code [grid point][bucket index]}, a copy. */
    public double[][][] summaries() {
        double[][][] out = new double[summaries.length][][];
        for (int g = 0; g < out.length; g++) {
            out[g] = new double[summaries[g].length][];
            for (int b = 0; b < out[g].length; b++) {
                out[g][b] = summaries[g][b].clone();
            }
        }
        return out;
    }

    /** Each grid point's spectrum's eigenvalues, a copy. */
    public double[][] eigenvalues() {
        double[][] out = new double[spectra.length][];
        for (int g = 0; g < out.length; g++) {
            out[g] = spectra[g].eigenvalues();
        }
        return out;
    }

    @Override
    public OptionalDouble quantile(int g, long n, long m, double alpha) {
        int bucket = LayerNull.bucket(n, m);
        if (bucket == 0 || !usable()) {
            return OptionalDouble.empty();
        }
        if (g < 0 || g >= summaries.length) {
            throw new IllegalArgumentException("grid point " + g + " of " + summaries.length);
        }
        int index = Integer.numberOfTrailingZeros(bucket / ResampledNull.SMALLEST_BUCKET);
        // the spectrum is at hand: LayerNull.quantile reads it only below one in a thousand
        return OptionalDouble.of(LayerNull.quantile(summaries[g][index], bucket, n, m, alpha, spectra[g]));
    }
}
