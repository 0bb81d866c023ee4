package ai.neuraldivergence.domain;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * A tap's mean-KS null resampled from a calibration sample of whole observations' neuron values (issue 18): both
 * sides drawn from the sample, the tap's mean of exact per-neuron KS computed between them
 * ({@link ResampledNull#exactMeanKs}), {@link ResampledNull#REPLICATES} replicates per effective-size bucket, kept as
 * a {@link ResampledNull} of {@link ResampledNull.Scaling#KS} (beyond the largest bucket scaled as
 * about {@code n_eff^-1/2} with Stephens' finite-size correction, below one in a thousand its bounded-difference tail).
 *
 * <p><b>Without replacement, the sides disjoint.</b> The sample's members are independent draws of the reference's
 * distribution, so two disjoint sets of them are two independent samples of it: each replicate is an exact draw of
 * the two-sample null, ties included (a ReLU's zeros, as they are). Drawn with replacement instead, an observation on
 * both sides would tie the two CDFs where a continuous truth never does, and read low: on the unsafe side. Hence the
 * largest bucket resampled is the largest whose two sides fit in the sample together; beyond it the quantiles are
 * scaled ({@link ResampledNull.Scaling#KS}).
 *
 * <p><b>Sides of 1 to 8, as a monitor's are.</b> A monitor compares a window with a reference many times its size.
 * At one effective size, the mean KS between unequal sides reads a little higher than between equal ones at small
 * sizes (measured at n_eff 32: 1.3 % at the 0.9 quantile; from about 200 on they agree), so each bucket's sides are
 * {@code ceil(9 b / 8)} and 8 times that (effective size at least b): a comparison of equal sides then reads under
 * the quantile, on the safe side.
 *
 * <p><b>Cost.</b> Each neuron's values are ranked once (equal values one rank), so a replicate compares ranks: per
 * neuron, two sorts (about 10 x bucket integers together) and one merge.
 *
 * <p>Plain Java; the aggregator runs it after a seal on its background pool, the detection benchmark per reference.
 */
public final class SampledMeanKsNull {

    /** Fewer sampled observations than this say too little: the analytic bound answers. */
    public static final int SMALLEST_SAMPLE = 256;
    /** How many times the window side the reference side of a replicate is. */
    static final int RATIO = 8;
    /**
     * How a stored mean KS's null is made, stored beside it (apart from the layer null's
     * {@link LayerNullTable#CONSTRUCTION}, so that either can change without the other being computed again): one of
     * another construction is computed again rather than read.
     */
    public static final String CONSTRUCTION = "mean-ks/1: " + ResampledNull.REPLICATES + " replicates, sides disjoint "
            + "1:" + RATIO + " without replacement, buckets from " + ResampledNull.SMALLEST_BUCKET + ", levels "
            + java.util.Arrays.toString(ResampledNull.LEVELS) + " and mean + 3 se, Stephens' scaling";

    /**
     * The aggregator's default byte cap on one scope's sampled neuron values (its
     * {@code nd.aggregator.calibration-sample-value-bytes}): 1 MB, a 128-neuron tap's values for 2,048 members, a
     * 1,024-neuron tap's for 256 (the smallest sample resampled).
     */
    public static final long DEFAULT_VALUE_BYTES = 1L << 20;

    private final int members;
    private final int neurons;
    // per neuron, each member's rank among the neuron's distinct finite values (-1: not finite, left out as the
    // service leaves it out)
    private final int[][] ranks;

    /**
     * @param sample the sampled observations' neuron values, each the tap's whole row (a tap stored as one block)
     * @throws IllegalArgumentException when the rows differ in width
     */
    public SampledMeanKsNull(List<float[]> sample) {
        this.members = sample.size();
        this.neurons = sample.isEmpty() ? 0 : sample.get(0).length;
        for (float[] row : sample) {
            if (row.length != neurons) {
                throw new IllegalArgumentException("sampled rows of " + neurons + " and " + row.length + " neurons");
            }
        }
        this.ranks = new int[neurons][];
        float[] values = new float[members];
        for (int j = 0; j < neurons; j++) {
            int finite = 0;
            for (float[] row : sample) {
                if (Float.isFinite(row[j])) {
                    // -0 and 0 are one value, as the comparison's == reads them
                    values[finite++] = row[j] + 0f;
                }
            }
            float[] distinct = Arrays.copyOf(values, finite);
            Arrays.sort(distinct);
            int count = 0;
            for (int i = 0; i < distinct.length; i++) {
                if (i == 0 || distinct[i] != distinct[count - 1]) {
                    distinct[count++] = distinct[i];
                }
            }
            int[] rank = new int[members];
            for (int i = 0; i < members; i++) {
                float v = sample.get(i)[j];
                rank[i] = Float.isFinite(v) ? Arrays.binarySearch(distinct, 0, count, v + 0f) : -1;
            }
            ranks[j] = rank;
        }
    }

    /**
     * How many of a sample's {@code sampleSize} smallest ranks keep their neuron values within {@code maxBytes} (4
     * bytes a neuron each): 0 when fewer than {@link #SMALLEST_SAMPLE} would, since they could never be resampled
     * and would only cost their bytes.
     */
    public static int valuesKept(int neurons, long maxBytes, int sampleSize) {
        long kept = Math.min(sampleSize, maxBytes / (4L * Math.max(1, neurons)));
        return kept < SMALLEST_SAMPLE ? 0 : (int) kept;
    }

    /** Whether the sample holds enough observations to resample ({@link #SMALLEST_SAMPLE}). */
    public boolean usable() {
        return members >= SMALLEST_SAMPLE && neurons > 0;
    }

    /** The sample's size. */
    public int sampleSize() {
        return members;
    }

    /** The buckets resampled: from 16, doubling while both sides of the bucket fit in the sample. */
    public int[] buckets() {
        if (!usable()) {
            return new int[0];
        }
        return IntStream.iterate(ResampledNull.SMALLEST_BUCKET, b -> (RATIO + 1L) * windowSide(b) <= members
                && b <= ResampledNull.LARGEST_BUCKET, b -> b * 2).toArray();
    }

    /** A replicate's window side at a bucket: its reference side is {@link #RATIO} times it, n_eff at least b. */
    static int windowSide(int bucket) {
        return (bucket * (RATIO + 1) + RATIO - 1) / RATIO;
    }

    /**
     * Every bucket resampled now: the null to store; empty ({@link ResampledNull#buckets} empty) when the sample is
     * not {@link #usable}. The same sample and seed give the same null.
     */
    public ResampledNull table(int replicates, long seed) {
        TreeMap<Integer, double[]> out = new TreeMap<>();
        if (usable()) {
            for (int bucket : buckets()) {
                out.put(bucket, ResampledNull.quantiles(replicates(bucket, replicates, seed + bucket)));
            }
        }
        return ResampledNull.of(ResampledNull.Scaling.KS, out);
    }

    /** {@code count} replicates at one bucket: disjoint sides of {@link #windowSide} and 8 times as many. */
    double[] replicates(int bucket, int count, long seed) {
        int window = windowSide(bucket);
        int both = (RATIO + 1) * window;
        if (both > members) {
            throw new IllegalArgumentException("sides of " + window + " and " + (both - window)
                    + " do not fit in a sample of " + members);
        }
        return IntStream.range(0, count).parallel().mapToDouble(r -> {
            int[] drawn = draw(both, new SplittableRandom(seed * 1_000_003L + r));
            return meanKs(Arrays.copyOfRange(drawn, 0, window), Arrays.copyOfRange(drawn, window, both));
        }).toArray();
    }

    /** {@code count} distinct members, by a partial Fisher-Yates shuffle. */
    private int[] draw(int count, SplittableRandom random) {
        int[] order = IntStream.range(0, members).toArray();
        for (int i = 0; i < count; i++) {
            int k = i + random.nextInt(members - i);
            int t = order[i];
            order[i] = order[k];
            order[k] = t;
        }
        return Arrays.copyOf(order, count);
    }

    /**
     * The tap's mean KS between the members {@code a} and {@code b}: what {@link ResampledNull#exactMeanKs} reads
     * from their rows, to the last bit.
     */
    double meanKs(int[] a, int[] b) {
        int[] x = new int[a.length];
        int[] y = new int[b.length];
        double sum = 0;
        for (int j = 0; j < neurons; j++) {
            int[] rank = ranks[j];
            int n = 0;
            for (int i : a) {
                if (rank[i] >= 0) {
                    x[n++] = rank[i];
                }
            }
            int m = 0;
            for (int i : b) {
                if (rank[i] >= 0) {
                    y[m++] = rank[i];
                }
            }
            sum += ks(x, n, y, m);
        }
        return sum / neurons;
    }

    /** KS between the first n ranks of x and the first m of y (sorted here), equal ranks compared after each. */
    private static double ks(int[] x, int n, int[] y, int m) {
        if (n == 0 || m == 0) {
            return n == m ? 0 : 1;
        }
        Arrays.sort(x, 0, n);
        Arrays.sort(y, 0, m);
        int i = 0;
        int k = 0;
        double d = 0;
        while (i < n && k < m) {
            int v = Math.min(x[i], y[k]);
            while (i < n && x[i] == v) {
                i++;
            }
            while (k < m && y[k] == v) {
                k++;
            }
            d = Math.max(d, Math.abs((double) i / n - (double) k / m));
        }
        return d;
    }
}
