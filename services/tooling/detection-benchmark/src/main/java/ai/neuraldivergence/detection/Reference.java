package ai.neuraldivergence.detection;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.MeanKsNull;
import ai.neuraldivergence.domain.ResampledNull;
import ai.neuraldivergence.domain.SampledMeanKsNull;
import ai.neuraldivergence.domain.SampledLayerNull;
import ai.neuraldivergence.domain.SamplingBound;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A monitor's reference: per tap its distribution (with layer features), the layer statistic's and the mean KS's
 * nulls from its calibration sample ({@link SampledLayerNull}, {@link SampledMeanKsNull}, as an aggregator computes
 * them after a sealed reference's seal), and the rows it was built from, which the mean ± 3σ method cuts into chunks.
 */
final class Reference {

    /** The chunks a mean ± 3σ threshold needs at least: fewer say nothing of a spread. */
    static final int MIN_CHUNKS = 10;
    /** Window sizes share a 3σ threshold within 5 %: a window's count varies minute to minute. */
    private static final double SIZE_STEP = 1.05;

    private final String name;
    private final List<TapDescriptor> taps;
    private final TapDistribution[] distributions;
    private final SampledLayerNull[] nulls;
    private final MeanKsNull.Source[] meanKsNulls;
    private final List<float[][]> rows;
    private final Map<Long, Double> sigmaThresholds = new ConcurrentHashMap<>();

    private Reference(String name, List<TapDescriptor> taps, TapDistribution[] distributions,
            SampledLayerNull[] nulls, MeanKsNull.Source[] meanKsNulls, List<float[][]> rows) {
        this.name = name;
        this.taps = taps;
        this.distributions = distributions;
        this.nulls = nulls;
        this.meanKsNulls = meanKsNulls;
        this.rows = rows;
    }

    /**
     * {@code draws} inputs of a pool (with replacement, or the whole pool in a random order when {@code draws} is 0),
     * the first {@code sampleSize} of them its calibration sample: the aggregator keeps the smallest hashes, any
     * subset chosen independently of the values.
     */
    static Reference of(String name, Recording recording, String pool, int draws, int sampleSize, long seed) {
        Recording.Pool p = recording.pool(pool);
        SplittableRandom random = new SplittableRandom(seed);
        int[] order;
        if (draws > 0) {
            order = random.ints(draws, 0, p.size()).toArray();
        } else {
            order = java.util.stream.IntStream.range(0, p.size()).toArray();
            for (int i = order.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
        }
        List<TapDescriptor> taps = recording.taps();
        TapDistribution[] distributions = new TapDistribution[taps.size()];
        SampledLayerNull[] nulls = new SampledLayerNull[taps.size()];
        MeanKsNull.Source[] meanKsNulls = new MeanKsNull.Source[taps.size()];
        List<float[][]> rows = new ArrayList<>();
        for (int t = 0; t < taps.size(); t++) {
            TapDescriptor tap = taps.get(t);
            float[][] tapRows = new float[order.length][];
            for (int i = 0; i < order.length; i++) {
                tapRows[i] = p.taps().get(t)[order[i]];
            }
            rows.add(tapRows);
            TapDistribution d = Traffic.started(tap);
            d.addAll(Arrays.asList(tapRows));
            distributions[t] = d;
            RandomFeatureMap map = LayerFeatures.map(tap);
            List<float[]> sample = new ArrayList<>();
            for (int i = 0; i < Math.min(sampleSize, tapRows.length); i++) {
                sample.add(map.projection(tapRows[i]));
            }
            nulls[t] = new SampledLayerNull(tap, sample, seed + t);
            // the members whose neuron values the aggregator keeps: the smallest ranks, within its byte cap, of a
            // tap stored as one block
            int valued = tap.blockCount() != 1 ? 0 : SampledMeanKsNull.valuesKept(tap.neuronCount(),
                    SampledMeanKsNull.DEFAULT_VALUE_BYTES, Math.min(sampleSize, tapRows.length));
            meanKsNulls[t] = MeanKsNull.Source.of(new SampledMeanKsNull(Arrays.asList(tapRows).subList(0, valued))
                    .table(ResampledNull.REPLICATES, seed + t));
        }
        return new Reference(name, taps, distributions, nulls, meanKsNulls, rows);
    }

    String name() {
        return name;
    }

    TapDistribution distribution(int tap) {
        return distributions[tap];
    }

    SampledLayerNull layerNull(int tap) {
        return nulls[tap];
    }

    MeanKsNull.Source meanKsNull(int tap) {
        return meanKsNulls[tap];
    }

    long observations() {
        return distributions[0].observationCount();
    }

    /**
     * The mean ± 3σ method's threshold for a window of {@code n} observations of tap {@code tap}: the mean of the
     * tap's mean KS between each chunk of n reference rows and the whole reference, plus three of their standard
     * deviations; NaN below {@link #MIN_CHUNKS} chunks.
     */
    double sigmaThreshold(int tap, long n) {
        int step = (int) Math.floor(Math.log(n) / Math.log(SIZE_STEP));
        long size = (long) Math.ceil(Math.pow(SIZE_STEP, step));
        return sigmaThresholds.computeIfAbsent(((long) tap << 32) | step, key -> {
            float[][] all = rows.get(tap);
            int chunks = (int) (all.length / size);
            if (chunks < MIN_CHUNKS) {
                return Double.NaN;
            }
            double[] means = new double[chunks];
            for (int c = 0; c < chunks; c++) {
                TapDistribution chunk = new TapDistribution(taps.get(tap).neuronCount(), Traffic.K);
                chunk.addAll(Arrays.asList(all).subList((int) (c * size), (int) ((c + 1) * size)));
                means[c] = TapComparison.of(taps.get(tap), distributions[tap], chunk, Divergence.Metric.KS, 0,
                        TapComparison.DEFAULT_THRESHOLD, SamplingBound.DEFAULT_ALPHA, Divergence.DEFAULT_BINS).mean();
            }
            double mean = Arrays.stream(means).average().orElseThrow();
            double variance = Arrays.stream(means).map(v -> (v - mean) * (v - mean)).sum() / (chunks - 1);
            return mean + 3 * Math.sqrt(variance);
        });
    }
}
