package ai.neuraldivergence.detection;

import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A minute of traffic, as the aggregator would store it: Poisson arrivals at a rate, each input drawn from a
 * scenario's pool with probability {@code share}, else from the benign pool; per tap, one minute distribution at
 * k = 200 with the layer's feature sums (slice all, one block). Each recorded input's features are computed once,
 * through the tap's map, and added as often as the input was drawn: the same sums the aggregator computes per
 * observation, without projecting every draw again.
 *
 * <p>Each neuron's sketch takes the minute's values in ascending order, not in arrival order: the sketch's rank error
 * holds whatever the order, and sorted values cost it a third of the time, which is most of a minute at 100 obs/s.
 * {@code MinuteOrderTest} measures that the order moves no KS against the reference beyond the sketch's error.
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
    private final Map<String, Ascending[]> orders = new ConcurrentHashMap<>();

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
        Drawn drawn = draw(random, rate, mix);
        TapDistribution[] out = new TapDistribution[taps().size()];
        if (drawn.count() == 0) {
            return out;
        }
        for (int t = 0; t < out.length; t++) {
            float[][] columns = new float[taps().get(t).neuronCount()][];
            for (int n = 0; n < columns.length; n++) {
                columns[n] = drawn.column(t, n);
            }
            TapDistribution d = started(taps().get(t));
            d.addAllByNeuron(columns, FeatureSums.of(drawn.count(), 0, drawn.featureSums(t)));
            out[t] = d;
        }
        return out;
    }

    /** A minute's draws: Poisson arrivals at {@code rate}, each from the mix's pool with its share, else benign. */
    Drawn draw(SplittableRandom random, double rate, Mix mix) {
        int count = arrivals(random, rate * 60);
        Recording.Pool benign = recording.pool("benign");
        Recording.Pool other = mix.share() > 0 ? recording.pool(mix.pool()) : benign;
        // the draws, as (pool, index): every tap sees the same inputs, as every tap of one predict does
        boolean[] fromOther = new boolean[count];
        int[] index = new int[count];
        for (int i = 0; i < count; i++) {
            fromOther[i] = mix.share() > 0 && random.nextDouble() < mix.share();
            index[i] = random.nextInt(fromOther[i] ? other.size() : benign.size());
        }
        if (other == benign) {
            // a mix of the benign pool with itself is benign traffic: one part holds every draw
            Arrays.fill(fromOther, false);
        }
        return new Drawn(new Part(benign, index, fromOther, false), new Part(other, index, fromOther, true), count);
    }

    /** One minute's draws, per tap and neuron as the values its sketch takes, and per tap as feature sums. */
    record Drawn(Part benign, Part other, int count) {

        /** Neuron {@code n} of tap {@code t}: its value in each draw, in ascending order. */
        float[] column(int t, int n) {
            float[] column = new float[count];
            int filled = other.fill(column, benign.fill(column, 0, t, n), t, n);
            if (filled != count) {
                throw new IllegalStateException(filled + " values written for " + count + " draws");
            }
            // a walked pool comes sorted, and two such runs merge in linear time; sparse draws are sorted here
            Arrays.sort(column);
            return column;
        }

        /**
         * Tap {@code t}'s layer feature sums over the draws: each drawn input's features times the times it was
         * drawn, a weighted sum over the distinct inputs, which at 100 obs/s (6,000 draws from 2,000 digits, or 300
         * attacked ones) are three to twenty times fewer than the draws.
         */
        double[] featureSums(int t) {
            double[] sums = new double[benign.featureWidth(t)];
            benign.addFeatures(sums, t);
            other.addFeatures(sums, t);
            return sums;
        }
    }

    /** The draws a minute took from one pool: how often each input, and which draws. */
    final class Part {
        private final Recording.Pool pool;
        private final int[] draws;
        private final int drawn;
        private final int[] drawIndex;
        private final boolean[] fromOther;
        private final boolean other;

        Part(Recording.Pool pool, int[] drawIndex, boolean[] fromOther, boolean other) {
            this.pool = pool;
            this.drawIndex = drawIndex;
            this.fromOther = fromOther;
            this.other = other;
            this.draws = new int[pool.size()];
            int mine = 0;
            for (int i = 0; i < drawIndex.length; i++) {
                if (fromOther[i] == other) {
                    draws[drawIndex[i]]++;
                    mine++;
                }
            }
            this.drawn = mine;
        }

        /** The length of an input's features of tap {@code t}. */
        int featureWidth(int t) {
            return features(pool, t)[0].length;
        }

        /** Adds each input's features of tap {@code t} times the times it was drawn. */
        void addFeatures(double[] sums, int t) {
            if (drawn == 0) {
                return;
            }
            float[][] features = features(pool, t);
            for (int i = 0; i < draws.length; i++) {
                int n = draws[i];
                if (n == 0) {
                    continue;
                }
                float[] f = features[i];
                for (int j = 0; j < f.length; j++) {
                    sums[j] += n * (double) f[j];
                }
            }
        }

        /**
         * Writes neuron {@code n}'s value of each input drawn from this pool, as often as it was drawn, from
         * {@code at}: the pool walked in the neuron's ascending order when drawn as densely as its size (then in
         * order), else the draws as they came. Returns the position after the last written.
         */
        int fill(float[] column, int at, int t, int n) {
            if (drawn == 0) {
                return at;
            }
            if (4L * drawn >= pool.size()) {
                Ascending ascending = ascending(pool, t);
                int[] inputs = ascending.inputs()[n];
                float[] values = ascending.values()[n];
                for (int j = 0; j < inputs.length; j++) {
                    for (int k = draws[inputs[j]]; k > 0; k--) {
                        column[at++] = values[j];
                    }
                }
            } else {
                float[][] rows = pool.taps().get(t);
                for (int i = 0; i < drawIndex.length; i++) {
                    if (fromOther[i] == other) {
                        column[at++] = rows[drawIndex[i]][n];
                    }
                }
            }
            return at;
        }
    }

    /** Per neuron, a pool's inputs in ascending order of the neuron's activation, and those activations. */
    private record Ascending(int[][] inputs, float[][] values) {
    }

    /** Tap {@code t}'s {@link Ascending} orders of a pool, computed once. */
    private Ascending ascending(Recording.Pool pool, int t) {
        return orders.computeIfAbsent(pool.name(), name -> {
            Ascending[] perTap = new Ascending[taps().size()];
            for (int tap = 0; tap < perTap.length; tap++) {
                perTap[tap] = ascending(pool.taps().get(tap));
            }
            return perTap;
        })[t];
    }

    private static Ascending ascending(float[][] rows) {
        int neurons = rows[0].length;
        int[][] inputs = new int[neurons][];
        float[][] values = new float[neurons][];
        for (int n = 0; n < neurons; n++) {
            // (value, input) packed into one long that sorts as the value: the float's bits made monotonic
            long[] keyed = new long[rows.length];
            for (int i = 0; i < rows.length; i++) {
                int bits = Float.floatToIntBits(rows[i][n]);
                bits ^= (bits >> 31) & 0x7fffffff;
                keyed[i] = ((long) bits << 32) | i;
            }
            Arrays.sort(keyed);
            inputs[n] = new int[rows.length];
            values[n] = new float[rows.length];
            for (int i = 0; i < rows.length; i++) {
                inputs[n][i] = (int) keyed[i];
                values[n][i] = rows[inputs[n][i]][n];
            }
        }
        return new Ascending(inputs, values);
    }

    /** An empty distribution of the tap that sums its layer features, as the aggregator's rows do. */
    static TapDistribution started(TapDescriptor tap) {
        return LayerFeatures.start(new TapDistribution(tap.neuronCount(), K), tap, 0);
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
