package ai.neuraldivergence.domain;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * A two-sample null resampled from a calibration sample: both sides drawn from the sample (whole observations, so that
 * the correlations between neurons are kept) and the statistic computed exactly as the service computes it, a number
 * of replicates per effective-size bucket ({@code n_eff = n m / (n + m)}: 16, 32, ..., 4,096). Between buckets and
 * beyond the largest the quantile is scaled from the bucket below as {@code n_eff^-1/2} (KS-type statistics, with
 * Stephens' finite-size correction: {@link Scaling#KS}) or {@code n_eff^-1} (MMD²); a rate below one in a thousand, which a thousand replicates cannot see, is reached by adding
 * the bounded-difference term {@code sqrt(ln(1/alpha) (1/n + 1/m) / 2)} (doubled for MMD²) to the replicates' mean
 * (plus three standard errors): by McDiarmid's inequality the statistic exceeds its mean by that much with probability
 * at most alpha. (Adding it to the 0.999 quantile instead would be valid too, and only larger.)
 *
 * <p>Plain Java; what the replicates cost is the caller's to schedule (a background job after a seal).
 */
public final class ResampledNull {

    public static final int REPLICATES = 1_000;
    public static final int SMALLEST_BUCKET = 16;
    public static final int LARGEST_BUCKET = 4_096;
    /** The quantile levels kept per bucket; after them, each bucket keeps its mean plus three standard errors. */
    static final double[] LEVELS = {0.5, 0.9, 0.99, 0.999};
    private static final int MEAN = LEVELS.length;

    /** How a statistic shrinks with the effective size, and how wide its bounded-difference tail is. */
    public enum Scaling {
        /**
         * As {@code 1 / (sqrt(n) + 0.12 + 0.11 / sqrt(n))} (Stephens' finite-size form of the KS distribution): so
         * {@code n_eff^-1/2} far out, and at the small buckets a sample resamples it does not read low. Measured on a
         * 4-neuron tap (10,000 draws a shape), {@code sqrt(n_eff)} times the mean KS's 0.9 quantile grows from 1.029
         * at n_eff 32 to 1.044 at 200 and 1.049 at 256: a plain {@code n_eff^-1/2} from bucket 32 would read 1.5 %
         * low at 200, where this form reads within 0.3 %.
         */
        KS(1) {
            @Override
            double scale(int bucket, double effective) {
                return stephens(bucket) / stephens(effective);
            }
        },
        /** As {@code n_eff^-1}: a degenerate U-statistic's. */
        MMD(2) {
            @Override
            double scale(int bucket, double effective) {
                return bucket / effective;
            }
        };

        private final double tailFactor;

        Scaling(double tailFactor) {
            this.tailFactor = tailFactor;
        }

        /** The factor from a bucket's quantile to the quantile at {@code effective} (at least the bucket). */
        abstract double scale(int bucket, double effective);

        private static double stephens(double n) {
            double root = Math.sqrt(n);
            return root + 0.12 + 0.11 / root;
        }
    }

    /** The statistic between two sides, computed as the service computes it (through sketches). */
    @FunctionalInterface
    public interface Statistic {
        double of(List<float[]> a, List<float[]> b);
    }

    private final Scaling scaling;
    /** Per bucket, the quantiles at {@link #LEVELS}. */
    private final TreeMap<Integer, double[]> buckets;

    private ResampledNull(Scaling scaling, TreeMap<Integer, double[]> buckets) {
        this.scaling = scaling;
        this.buckets = buckets;
    }

    /** Per bucket (its effective size), the summary {@link #quantiles} keeps: a copy, as stored. */
    public java.util.SortedMap<Integer, double[]> buckets() {
        TreeMap<Integer, double[]> out = new TreeMap<>();
        buckets.forEach((b, q) -> out.put(b, q.clone()));
        return out;
    }

    /** The summaries each bucket keeps: the quantiles at {@link #LEVELS}, then the mean's upper bound. */
    public static int summaryLength() {
        return LEVELS.length + 1;
    }

    /** A null as stored: per bucket, the quantiles at 0.5, 0.9, 0.99 and 0.999, and the mean's upper bound. */
    public static ResampledNull of(Scaling scaling, TreeMap<Integer, double[]> buckets) {
        buckets.forEach((b, q) -> {
            if (q.length != LEVELS.length + 1) {
                throw new IllegalArgumentException("bucket " + b + ": " + q.length + " quantiles");
            }
        });
        return new ResampledNull(scaling, new TreeMap<>(buckets));
    }

    /**
     * Resamples every bucket: {@code replicates} pairs of sides of {@code 2 n_eff} observations each, drawn with
     * replacement from {@code sample}. The same seed gives the same null.
     */
    public static ResampledNull resample(List<float[]> sample, Statistic statistic, Scaling scaling,
            int replicates, long seed) {
        if (sample.size() < 2) {
            throw new IllegalArgumentException("a calibration sample of at least 2 observations, got "
                    + sample.size());
        }
        TreeMap<Integer, double[]> buckets = new TreeMap<>();
        for (int b = SMALLEST_BUCKET; b <= LARGEST_BUCKET; b *= 2) {
            buckets.put(b, quantiles(replicate(sample, statistic, 2 * b, replicates, seed + b)));
        }
        return new ResampledNull(scaling, buckets);
    }

    /** {@code replicates} values of the statistic between two sides of {@code size} drawn from the sample. */
    public static double[] replicate(List<float[]> sample, Statistic statistic, int size, int replicates, long seed) {
        return IntStream.range(0, replicates).parallel().mapToDouble(r -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + r);
            return statistic.of(draw(sample, size, random), draw(sample, size, random));
        }).toArray();
    }

    private static List<float[]> draw(List<float[]> sample, int size, SplittableRandom random) {
        float[][] out = new float[size][];
        for (int i = 0; i < size; i++) {
            out[i] = sample.get(random.nextInt(sample.size()));
        }
        return Arrays.asList(out);
    }

    /** The quantiles at {@link #LEVELS} of some replicates, then their mean plus three standard errors. */
    public static double[] quantiles(double[] replicates) {
        double[] sorted = replicates.clone();
        Arrays.sort(sorted);
        double[] q = new double[LEVELS.length + 1];
        for (int l = 0; l < LEVELS.length; l++) {
            q[l] = sorted[Math.min(sorted.length - 1, (int) Math.ceil(LEVELS[l] * sorted.length) - 1)];
        }
        double mean = Arrays.stream(sorted).average().orElseThrow();
        double variance = Arrays.stream(sorted).map(v -> (v - mean) * (v - mean)).sum()
                / Math.max(1, sorted.length - 1);
        q[MEAN] = mean + 3 * Math.sqrt(variance / sorted.length);
        return q;
    }

    /**
     * The statistic an unchanged pair of sides of n and m observations exceeds with probability at most alpha; empty
     * below the smallest bucket (the analytic bound answers there).
     */
    public OptionalDouble quantile(long n, long m, double alpha) {
        if (n < 1 || m < 1 || !(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("counts >= 1 and alpha in (0, 1), got " + n + ", " + m + ", " + alpha);
        }
        double effective = (double) n * m / (n + m);
        var bucket = buckets.floorEntry((int) Math.min(Integer.MAX_VALUE, Math.floor(effective)));
        if (bucket == null) {
            return OptionalDouble.empty();
        }
        double scale = scaling.scale(bucket.getKey(), effective);
        double[] q = bucket.getValue();
        if (alpha >= 1 - LEVELS[LEVELS.length - 1]) {
            // the smallest level kept at or above 1 - alpha: conservative between levels
            for (int l = 0; l < LEVELS.length; l++) {
                if (LEVELS[l] >= 1 - alpha - 1e-12) {
                    return OptionalDouble.of(q[l] * scale);
                }
            }
        }
        double tail = scaling.tailFactor * Math.sqrt(Math.log(1 / alpha) * (1.0 / n + 1.0 / m) / 2);
        return OptionalDouble.of(Math.max(q[LEVELS.length - 1] * scale, q[MEAN] * scale + tail));
    }

    /**
     * The tap's mean KS between two sets of raw observations, exactly (ties handled: the CDFs are compared after each
     * distinct value). The null a monitor needs is this exact statistic's: what the sketches add is its threshold's
     * sketch bound, and a sketched statistic would not shrink as {@code n_eff^-1/2} (its rank error is a floor).
     * Values that are not finite are left out of their neuron.
     */
    public static double exactMeanKs(List<float[]> a, List<float[]> b) {
        int neurons = a.get(0).length;
        double sum = 0;
        float[] x = new float[a.size()];
        float[] y = new float[b.size()];
        for (int j = 0; j < neurons; j++) {
            int n = 0;
            for (float[] row : a) {
                if (Float.isFinite(row[j])) {
                    x[n++] = row[j];
                }
            }
            int m = 0;
            for (float[] row : b) {
                if (Float.isFinite(row[j])) {
                    y[m++] = row[j];
                }
            }
            sum += ks(Arrays.copyOf(x, n), Arrays.copyOf(y, m));
        }
        return sum / neurons;
    }

    private static double ks(float[] x, float[] y) {
        if (x.length == 0 || y.length == 0) {
            return x.length == y.length ? 0 : 1;
        }
        Arrays.sort(x);
        Arrays.sort(y);
        int i = 0;
        int k = 0;
        double d = 0;
        while (i < x.length && k < y.length) {
            float v = Math.min(x[i], y[k]);
            while (i < x.length && x[i] == v) {
                i++;
            }
            while (k < y.length && y[k] == v) {
                k++;
            }
            d = Math.max(d, Math.abs((double) i / x.length - (double) k / y.length));
        }
        return d;
    }

    /** The quantile at level {@code LEVELS[level]} of a bucket's effective size scaled to {@code effective}. */
    double scaled(int level, double effective) {
        var bucket = buckets.floorEntry((int) Math.floor(effective));
        return bucket.getValue()[level] * scaling.scale(bucket.getKey(), effective);
    }
}
