package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The resampled null: the quantile scaled from the largest bucket agrees with a brute-force resample at three times
 * its effective size, the tail beyond what the replicates see adds the bounded-difference term, and it is far tighter
 * than the analytic bound where both apply. The statistic is the exact mean KS; the sketches' part stays in the
 * threshold's sketch bound, which covers what they add to it.
 */
class ResampledNullTest {

    private static final TapDescriptor TAP = new TapDescriptor("m", "v1", "t", 0, new int[] {4}, 4, Reduction.NONE);

    /** The tap's mean KS through k = 200 sketches, as a monitor reads it. */
    private static double sketchedMeanKs(List<float[]> a, List<float[]> b) {
        TapDistribution da = new TapDistribution(4, 200);
        TapDistribution db = new TapDistribution(4, 200);
        a.forEach(row -> da.add(row, 0));
        b.forEach(row -> db.add(row, 0));
        return TapComparison.of(TAP, da, db, Divergence.Metric.KS, 0, TapComparison.DEFAULT_THRESHOLD,
                SamplingBound.DEFAULT_ALPHA, Divergence.DEFAULT_BINS).mean();
    }

    /** A calibration sample of 2,000 observations: a ReLU-like neuron, two correlated ones and a normal one. */
    private static List<float[]> sample() {
        Random r = new Random(2000);
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            double common = r.nextGaussian();
            out.add(new float[] {(float) Math.max(0, 0.25 + r.nextGaussian()), (float) common,
                (float) (0.8 * common + 0.6 * r.nextGaussian()), (float) r.nextGaussian()});
        }
        return out;
    }

    @Test
    void theScaledLargestBucketAgreesWithABruteForceResampleAtThreeTimesItsSize() {
        List<float[]> sample = sample();
        ResampledNull resampled = ResampledNull.resample(sample, ResampledNull::exactMeanKs,
                ResampledNull.Scaling.KS, ResampledNull.REPLICATES, 18);
        int effective = 3 * ResampledNull.LARGEST_BUCKET;
        double[] brute = ResampledNull.quantiles(ResampledNull.replicate(sample, ResampledNull::exactMeanKs,
                2 * effective, 600, 99));
        for (int level = 0; level < 3; level++) {
            double scaled = resampled.scaled(level, effective);
            System.out.printf("mean KS null at n_eff %d, level %.3f: scaled from bucket %d %.5f, brute force %.5f%n",
                    effective, ResampledNull.LEVELS[level], ResampledNull.LARGEST_BUCKET, scaled, brute[level]);
            assertEquals(brute[level], scaled, 0.1 * brute[level], "level " + ResampledNull.LEVELS[level]);
        }
        // where both apply, the resampled quantile is well inside the analytic bound (the monitor's fallback)
        double alpha = 1.0 / (5 * 43_200);
        double resampledQ = resampled.quantile(2 * effective, 2 * effective, alpha).orElseThrow();
        double analytic = MeanKsNull.quantile(2 * effective, 2 * effective, alpha);
        System.out.printf("at alpha %.1e and %d a side: resampled %.4f, analytic %.4f%n", alpha, 2 * effective,
                resampledQ, analytic);
        assertTrue(resampledQ < analytic, resampledQ + " against " + analytic);
    }

    @Test
    void belowOneInAThousandTheBoundedDifferenceTermIsAddedAndBelowTheSmallestBucketNothingAnswers() {
        TreeMap<Integer, double[]> buckets = new TreeMap<>();
        buckets.put(16, new double[] {0.1, 0.2, 0.3, 0.4, 0.12});
        buckets.put(32, new double[] {0.05, 0.1, 0.15, 0.2, 0.06});
        ResampledNull ks = ResampledNull.of(ResampledNull.Scaling.KS, buckets);
        ResampledNull mmd = ResampledNull.of(ResampledNull.Scaling.MMD, buckets);
        assertEquals(0.15, ks.quantile(64, 64, 0.01).orElseThrow(), 1e-12, "n_eff 32: its 0.99 quantile");
        assertEquals(0.15, ks.quantile(64, 64, 0.05).orElseThrow(), 1e-12, "between levels: the higher one");
        assertEquals(0.1, ks.quantile(64, 64, 0.2).orElseThrow(), 1e-12);
        // n_eff^-1/2 with Stephens' finite-size correction: 1 / (sqrt(n) + 0.12 + 0.11 / sqrt(n))
        double stephens = (Math.sqrt(32) + 0.12 + 0.11 / Math.sqrt(32)) / (Math.sqrt(48) + 0.12 + 0.11 / Math.sqrt(48));
        assertEquals(0.15 * stephens, ks.quantile(96, 96, 0.01).orElseThrow(), 1e-12, "scaled about n^-1/2");
        assertTrue(stephens > Math.sqrt(32 / 48.0), "a little above n^-1/2 at small sizes");
        assertEquals(0.15 * 32 / 48.0, mmd.quantile(96, 96, 0.01).orElseThrow(), 1e-12, "scaled n^-1");
        double tail = Math.sqrt(Math.log(1e6) * (2.0 / 64) / 2);
        assertEquals(0.06 + tail, ks.quantile(64, 64, 1e-6).orElseThrow(), 1e-12, "the mean's bound and the tail");
        assertEquals(0.06 + 2 * tail, mmd.quantile(64, 64, 1e-6).orElseThrow(), 1e-12, "doubled for MMD²");
        TreeMap<Integer, double[]> skewed = new TreeMap<>();
        skewed.put(32, new double[] {0.001, 0.002, 0.003, 0.9, 0.01});
        double scaledTo3200 = (Math.sqrt(32) + 0.12 + 0.11 / Math.sqrt(32))
                / (Math.sqrt(3_200) + 0.12 + 0.11 / Math.sqrt(3_200));
        assertEquals(0.9 * scaledTo3200, ResampledNull.of(ResampledNull.Scaling.KS, skewed).quantile(6_400, 6_400,
                0.0009).orElseThrow(), 1e-12, "never below the 0.999 quantile the replicates saw, scaled");
        assertTrue(ks.quantile(20, 20, 0.01).isEmpty(), "n_eff 10: below the smallest bucket");
        // the same seed, the same null
        List<float[]> sample = sample().subList(0, 100);
        assertArrayEquals(ResampledNull.replicate(sample, ResampledNull::exactMeanKs, 32, 20, 5),
                ResampledNull.replicate(sample, ResampledNull::exactMeanKs, 32, 20, 5), 0);
    }

    @Test
    void theExactMeanKsMatchesTheSketchedOneWithinTheSketchBoundAndHandlesTies() {
        List<float[]> a = sample().subList(0, 1_000);
        List<float[]> b = sample().subList(1_000, 2_000);
        TapDistribution da = new TapDistribution(4, 200);
        TapDistribution db = new TapDistribution(4, 200);
        a.forEach(row -> da.add(row, 0));
        b.forEach(row -> db.add(row, 0));
        TapComparison c = TapComparison.of(TAP, da, db, Divergence.Metric.KS, 0, TapComparison.DEFAULT_THRESHOLD,
                SamplingBound.DEFAULT_ALPHA, Divergence.DEFAULT_BINS);
        double sketchBound = c.neurons().stream().mapToDouble(Divergence::ksErrorBound).average().orElseThrow();
        assertEquals(ResampledNull.exactMeanKs(a, b), sketchedMeanKs(a, b), sketchBound);
        // ties: one side all zeros, the other half zeros: KS 0.5 exactly
        List<float[]> zeros = List.of(new float[] {0}, new float[] {0});
        List<float[]> half = List.of(new float[] {0}, new float[] {1});
        assertEquals(0.5, ResampledNull.exactMeanKs(zeros, half), 0);
        assertEquals(0, ResampledNull.exactMeanKs(half, half), 0);
    }
}
