package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * The layer statistic's null resampled from a calibration sample ({@link ResampledNull} for MMD²): both sides drawn
 * from the sample's observations, whole, at the effective-size bucket below the query's (16 to 1,024; beyond, scaled
 * as {@code n_eff^-1}, which a degenerate U-statistic such as MMD² follows), and the unbiased MMD² computed from their
 * feature sums as the service computes it. Far tighter than the analytic bound ({@code MmdNull}), which must hold
 * whatever the features' covariance; it assumes the sample stands for the side it was drawn from.
 *
 * <p>Drawing with replacement repeats observations (about {@code n² / 2R} pairs a side), which the unbiased statistic
 * counts as agreement: the replicates read a little high, on the safe side.
 */
public final class LayerNull {

    /** Fewer sampled observations than this say too little of the layer: the analytic bound answers. */
    public static final int SMALLEST_SAMPLE = 100;
    /** The largest bucket resampled at query time (1,000 replicates of two sides of twice its size). */
    public static final int LARGEST_BUCKET = 1_024;

    private LayerNull() {
    }

    /** Resampled quantiles of a bucket (see {@link ResampledNull#quantiles}) for a query of n and m observations. */
    @FunctionalInterface
    public interface Source {
        /**
         * The null quantile at α of MMD² at grid point {@code g} between sides of n and m observations, or empty
         * without a usable sample.
         */
        OptionalDouble quantile(int g, long n, long m, double alpha);

        /**
         * True while the null this source stands for is still being computed (a reference sealed moments ago): it
         * answers empty meanwhile, and the analytic bound is used.
         */
        default boolean calibrating() {
            return false;
        }
    }

    /** A source for a null still being computed: it answers nothing yet ({@link Source#calibrating}). */
    public static final Source CALIBRATING = new Source() {
        @Override
        public OptionalDouble quantile(int g, long n, long m, double alpha) {
            return OptionalDouble.empty();
        }

        @Override
        public boolean calibrating() {
            return true;
        }
    };

    /** The buckets resampled, smallest first: powers of two from {@link ResampledNull#SMALLEST_BUCKET}. */
    public static int[] buckets() {
        int count = Integer.numberOfTrailingZeros(LARGEST_BUCKET / ResampledNull.SMALLEST_BUCKET) + 1;
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = ResampledNull.SMALLEST_BUCKET << i;
        }
        return out;
    }

    /** The bucket a query of n and m observations reads: the largest power of two not above n_eff, or 0 below 16. */
    public static int bucket(long n, long m) {
        double effective = (double) n * m / (n + m);
        if (effective < ResampledNull.SMALLEST_BUCKET) {
            return 0;
        }
        int b = ResampledNull.SMALLEST_BUCKET;
        while (b * 2 <= Math.min(effective, LARGEST_BUCKET)) {
            b *= 2;
        }
        return b;
    }

    /**
     * {@link ResampledNull#REPLICATES} replicates of MMD² at grid point g at one bucket, summarized.
     *
     * @param sample the sampled observations' projections ({@link RandomFeatureMap#projection})
     */
    public static double[] resample(RandomFeatureMap map, int g, List<float[]> sample, int bucket, long seed) {
        List<double[]> features = new ArrayList<>(sample.size());
        for (float[] projection : sample) {
            if (projection.length == RandomFeatureMap.DIRECTIONS) {
                double[] f = new double[2 * RandomFeatureMap.DIRECTIONS];
                map.featuresOfProjection(projection, g, f);
                features.add(f);
            }
        }
        if (features.size() < 2) {
            throw new IllegalArgumentException("a calibration sample of " + features.size() + " usable observations");
        }
        int size = 2 * bucket;
        double[] replicates = IntStream.range(0, ResampledNull.REPLICATES).parallel().mapToDouble(r -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + r);
            double[] a = sum(features, size, random);
            double[] b = sum(features, size, random);
            return unbiased(a, b, size);
        }).toArray();
        return ResampledNull.quantiles(replicates);
    }

    /** The quantile at α from a bucket's summary, scaled to n and m (see {@link ResampledNull#quantile}). */
    public static double quantile(double[] summary, int bucket, long n, long m, double alpha) {
        TreeMap<Integer, double[]> one = new TreeMap<>();
        one.put(bucket, summary);
        return ResampledNull.of(ResampledNull.Scaling.MMD, one).quantile(Math.max(n, 1), Math.max(m, 1), alpha)
                .orElseThrow();
    }

    /**
     * {@link #quantile}, with the tail below one in a thousand from the sample's feature spectrum rather than the
     * bounded-difference term: for MMD² that term, {@code 2 sqrt(ln(1/α)(1/n + 1/m)/2)}, is tens of times the
     * statistic's whole range under the null (0.14 at 1,200 against 8,000 observations), while Chernoff's bound over
     * the spectrum's eigenvalues, or the trace-only bound where it is smaller (both hold at α), is a few times the
     * thousandth quantile. Never below the scaled 0.999 quantile.
     */
    public static double quantile(double[] summary, int bucket, long n, long m, double alpha,
            ai.neuraldivergence.domain.mmd.FeatureSpectrum spectrum) {
        if (spectrum == null || !spectrumAnswers(alpha)) {
            return quantile(summary, bucket, n, m, alpha);
        }
        double effective = (double) n * m / (n + m);
        double scaled = summary[ResampledNull.LEVELS.length - 1] * bucket / effective;
        double tail = Math.min(spectrum.quantile(alpha, n, m), ai.neuraldivergence.domain.mmd.MmdNull.quantile(alpha,
                n, m, spectrum.trace()));
        return Math.max(scaled, tail);
    }

    /** Whether the spectrum answers at {@code alpha}: below the replicates' highest level, one in a thousand. */
    static boolean spectrumAnswers(double alpha) {
        return alpha < 1 - ResampledNull.LEVELS[ResampledNull.LEVELS.length - 1];
    }

    private static double[] sum(List<double[]> features, int size, SplittableRandom random) {
        double[] s = new double[2 * RandomFeatureMap.DIRECTIONS];
        for (int i = 0; i < size; i++) {
            double[] f = features.get(random.nextInt(features.size()));
            for (int k = 0; k < s.length; k++) {
                s[k] += f[k];
            }
        }
        return s;
    }

    /** As {@code Mmd.unbiased}, from two sums of {@code size} features each. */
    private static double unbiased(double[] a, double[] b, int size) {
        double aa = 0;
        double bb = 0;
        double ab = 0;
        for (int k = 0; k < a.length; k++) {
            aa += a[k] * a[k];
            bb += b[k] * b[k];
            ab += a[k] * b[k];
        }
        double d = RandomFeatureMap.DIRECTIONS;
        double n = size;
        return 2 * (aa / d + bb / d - 2 * n) / (2 * n * (n - 1)) - 2 * (ab / d) / (n * n);
    }
}
