package ai.neuraldivergence.detection;

import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A minute of traffic, as the aggregator would store it: Poisson arrivals at a rate, each input drawn from a
 * scenario's pool with probability {@code share}, else from the benign pool; per tap, one minute distribution at
 * k = 200 with the layer's feature sums (slice all, one block). Each recorded input's features are computed once,
 * through the tap's map, and summed per draw: the same sums the aggregator computes per observation, without
 * projecting every draw again.
 */
final class Traffic {

    /** The sketches' size, as the aggregator's default. */
    static final int K = 200;

    /** What a minute's inputs are drawn from: {@code share} of them from {@code pool}, the rest benign. */
    record Mix(String name, String pool, double share) {

        static final Mix BENIGN = new Mix("benign", "benign", 0);
    }

    private final Recording recording;
    private final Map<String, float[][][]> features = new ConcurrentHashMap<>();

    Traffic(Recording recording) {
        this.recording = recording;
    }

    List<TapDescriptor> taps() {
        return recording.taps();
    }

    Recording recording() {
        return recording;
    }

    /**
     * One minute at {@code rate} observations a second: per tap its distribution, or null for a minute without
     * observations.
     */
    TapDistribution[] minute(SplittableRandom random, double rate, Mix mix) {
        int count = arrivals(random, rate * 60);
        List<TapDescriptor> taps = taps();
        TapDistribution[] out = new TapDistribution[taps.size()];
        if (count == 0) {
            return out;
        }
        Recording.Pool benign = recording.pool("benign");
        Recording.Pool other = mix.share() > 0 ? recording.pool(mix.pool()) : benign;
        // the draws, as (pool, index): every tap sees the same inputs, as every tap of one predict does
        boolean[] fromOther = new boolean[count];
        int[] index = new int[count];
        for (int i = 0; i < count; i++) {
            fromOther[i] = mix.share() > 0 && random.nextDouble() < mix.share();
            index[i] = random.nextInt(fromOther[i] ? other.size() : benign.size());
        }
        for (int t = 0; t < taps.size(); t++) {
            float[][] benignFeatures = features(benign, t);
            float[][] otherFeatures = features(other, t);
            List<float[]> rows = new ArrayList<>(count);
            double[] sums = new double[benignFeatures[0].length];
            for (int i = 0; i < count; i++) {
                rows.add((fromOther[i] ? other : benign).taps().get(t)[index[i]]);
                float[] f = (fromOther[i] ? otherFeatures : benignFeatures)[index[i]];
                for (int j = 0; j < f.length; j++) {
                    sums[j] += f[j];
                }
            }
            TapDistribution d = started(taps.get(t));
            d.addAll(rows, FeatureSums.of(count, 0, sums));
            out[t] = d;
        }
        return out;
    }

    /** An empty distribution of the tap that sums its layer features, as the aggregator's rows of slice all do. */
    static TapDistribution started(TapDescriptor tap) {
        return LayerFeatures.start(new TapDistribution(tap.neuronCount(), K), tap, Slice.ALL, 0);
    }

    /** The layer features of every input of a pool for tap {@code t}, computed once (as float: 2 × D × grid). */
    private float[][] features(Recording.Pool pool, int t) {
        return features.computeIfAbsent(pool.name(), name -> {
            float[][][] perTap = new float[taps().size()][][];
            for (int tap = 0; tap < perTap.length; tap++) {
                perTap[tap] = featuresOf(taps().get(tap), pool.taps().get(tap));
            }
            return perTap;
        })[t];
    }

    private static float[][] featuresOf(TapDescriptor tap, float[][] rows) {
        RandomFeatureMap map = LayerFeatures.map(tap);
        float[][] out = new float[rows.length][];
        java.util.stream.IntStream.range(0, rows.length).parallel().forEach(i -> {
            FeatureSums one = new FeatureSums(map.bandwidths());
            one.add(map, rows[i], new double[RandomFeatureMap.DIRECTIONS]);
            if (one.count() != 1) {
                throw new IllegalStateException("a recorded activation of tap " + tap.tap() + " is not finite");
            }
            double[] s = one.sums();
            float[] f = new float[s.length];
            for (int j = 0; j < s.length; j++) {
                f[j] = (float) s[j];
            }
            out[i] = f;
        });
        return out;
    }

    /** A Poisson count of mean {@code mean}, from exponential gaps (exact at any mean). */
    static int arrivals(SplittableRandom random, double mean) {
        int n = 0;
        double t = 0;
        while (true) {
            t += -Math.log(1 - random.nextDouble()) / mean;
            if (t >= 1) {
                return n;
            }
            n++;
        }
    }
}
