package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.FeatureSpectrum;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The layer statistic's null from one calibration sample ({@link LayerNull}): each (grid point, bucket) resampled
 * once when first asked, and the sample's feature spectrum once per grid point when a rate below one in a thousand
 * asks for it. What the comparison service keeps per sample for a few minutes, and what the detection benchmark
 * keeps per reference. Thread-safe.
 */
public final class SampledLayerNull implements LayerNull.Source {

    private final RandomFeatureMap map;
    private final List<float[]> sample;
    private final long resampleSeed;
    private final Map<Long, double[]> summaries = new ConcurrentHashMap<>();
    private final Map<Integer, FeatureSpectrum> spectra = new ConcurrentHashMap<>();

    /**
     * @param sample the sampled observations' projections ({@link RandomFeatureMap#projection}) through the map of
     *     the tap's layer features
     * @param resampleSeed the replicates' seed, mixed with the map's: the same sample and seed give the same null
     */
    public SampledLayerNull(TapDescriptor tap, List<float[]> sample, long resampleSeed) {
        this.map = LayerFeatures.map(tap);
        this.sample = List.copyOf(sample);
        this.resampleSeed = LayerFeatures.seed(tap.modelId(), tap.tap(), 0, tap.neuronCount())
                .orElseThrow() ^ resampleSeed;
    }

    /** Whether the sample holds enough observations to say anything ({@link LayerNull#SMALLEST_SAMPLE}). */
    public boolean usable() {
        return sample.size() >= LayerNull.SMALLEST_SAMPLE;
    }

    @Override
    public OptionalDouble quantile(int g, long n, long m, double alpha) {
        int bucket = LayerNull.bucket(n, m);
        if (bucket == 0 || !usable()) {
            return OptionalDouble.empty();
        }
        double[] summary = summaries.computeIfAbsent(((long) g << 32) | bucket,
                key -> LayerNull.resample(map, g, sample, bucket, resampleSeed));
        // the spectrum only answers below one in a thousand: computed for those rates only (half a second)
        FeatureSpectrum spectrum = LayerNull.spectrumAnswers(alpha) ? spectra.computeIfAbsent(g,
                key -> FeatureSpectrum.of(map, g, sample)) : null;
        return OptionalDouble.of(LayerNull.quantile(summary, bucket, n, m, alpha, spectrum));
    }

    /**
     * Every (grid point, bucket) and every grid point's spectrum, computed now (tens of seconds of a core for a full
     * sample): the whole null, to store. It answers every query as this source does.
     */
    public LayerNullTable table() {
        if (!usable()) {
            return LayerNullTable.unusable(sample.size());
        }
        int[] buckets = LayerNull.buckets();
        double[][][] out = new double[map.bandwidths()][buckets.length][];
        FeatureSpectrum[] spectraOut = new FeatureSpectrum[map.bandwidths()];
        for (int g = 0; g < out.length; g++) {
            for (int b = 0; b < buckets.length; b++) {
                int bucket = buckets[b];
                int grid = g;
                out[g][b] = summaries.computeIfAbsent(((long) g << 32) | bucket,
                        key -> LayerNull.resample(map, grid, sample, bucket, resampleSeed)).clone();
            }
            int grid = g;
            spectraOut[g] = spectra.computeIfAbsent(g, key -> FeatureSpectrum.of(map, grid, sample));
        }
        return LayerNullTable.computed(sample.size(), out, spectraOut);
    }

    /** The sample's size on the heap, roughly: what a cache of these counts. */
    public long bytes() {
        return sample.isEmpty() ? 0 : sample.size() * (16L + 4L * sample.get(0).length);
    }
}
