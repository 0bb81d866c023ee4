package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The mean KS's null resampled from a calibration sample of neuron values: each replicate reads exactly the exact
 * mean KS of its rows; between fresh samples of the true distribution (continuous, and a ReLU with 40 % zeros) the
 * share over its quantile is at most α plus the binomial 99 % margin, and not far under it; the quantile scaled from
 * the largest bucket agrees with a brute-force computation at three times its effective size.
 */
class SampledMeanKsNullTest {

    /** A continuous tap: a normal neuron, two correlated ones and a skewed one. */
    private static float[] continuous(Random r) {
        double common = r.nextGaussian();
        return new float[] {(float) r.nextGaussian(), (float) common, (float) (0.8 * common + 0.6 * r.nextGaussian()),
            (float) Math.exp(r.nextGaussian())};
    }

    /** A ReLU tap: each neuron zero 40 % of the time (max(0, x) with x normal, shifted), two correlated. */
    private static float[] relu(Random r) {
        double common = r.nextGaussian();
        double shift = 0.2533; // P(N(0,1) < -0.2533) = 0.4
        return new float[] {(float) Math.max(0, shift + r.nextGaussian()), (float) Math.max(0, shift + common),
            (float) Math.max(0, shift + 0.8 * common + 0.6 * r.nextGaussian()),
            (float) Math.max(0, shift + r.nextGaussian())};
    }

    private static List<float[]> draw(Function<Random, float[]> truth, int count, Random r) {
        List<float[]> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(truth.apply(r));
        }
        return out;
    }

    @Test
    void aReplicateReadsExactlyTheExactMeanKsOfItsRowsTiesNaNAndSignedZerosIncluded() {
        Random r = new Random(7);
        List<float[]> sample = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            float[] row = relu(r);
            if (i % 17 == 0) {
                row[1] = Float.NaN;
            }
            if (i % 13 == 0) {
                row[0] = -0f;
            }
            if (i % 29 == 0) {
                row[3] = Float.POSITIVE_INFINITY;
            }
            sample.add(row);
        }
        SampledMeanKsNull resampler = new SampledMeanKsNull(sample);
        for (int trial = 0; trial < 50; trial++) {
            int[] a = r.ints(40 + trial, 0, sample.size()).distinct().toArray();
            int[] b = r.ints(60, 0, sample.size()).distinct().toArray();
            List<float[]> rowsA = java.util.Arrays.stream(a).mapToObj(sample::get).toList();
            List<float[]> rowsB = java.util.Arrays.stream(b).mapToObj(sample::get).toList();
            assertEquals(ResampledNull.exactMeanKs(rowsA, rowsB), resampler.meanKs(a, b), 0, "trial " + trial);
        }
    }

    @Test
    void betweenFreshSamplesOfTheTruthTheShareOverItsQuantileIsAlphaWithinTheBinomialMargin() {
        for (var truth : List.<Function<Random, float[]>>of(SampledMeanKsNullTest::continuous,
                SampledMeanKsNullTest::relu)) {
            Random r = new Random(2026);
            ResampledNull resampled = new SampledMeanKsNull(draw(truth, 2_000, r)).table(ResampledNull.REPLICATES,
                    11);
            for (int[] sizes : new int[][] {{50, 2_000}, {500, 2_000}, {5_000, 8_000}}) {
                int n = sizes[0];
                int m = sizes[1];
                double q99 = resampled.quantile(n, m, 0.01).orElseThrow();
                double q90 = resampled.quantile(n, m, 0.1).orElseThrow();
                int draws = n > 1_000 ? 400 : 2_000;
                int over99 = 0;
                int over90 = 0;
                for (int i = 0; i < draws; i++) {
                    double ks = ResampledNull.exactMeanKs(draw(truth, n, r), draw(truth, m, r));
                    over99 += ks > q99 ? 1 : 0;
                    over90 += ks > q90 ? 1 : 0;
                }
                double share99 = (double) over99 / draws;
                double share90 = (double) over90 / draws;
                System.out.printf("mean KS null, n %d, m %d: over the 0.99 quantile %.4f, over the 0.9 %.4f%n", n, m,
                        share99, share90);
                assertTrue(share99 <= 0.01 + 2.576 * Math.sqrt(0.01 * 0.99 / draws), "n " + n + ": " + share99);
                assertTrue(share90 <= 0.1 + 2.576 * Math.sqrt(0.1 * 0.9 / draws), "n " + n + ": " + share90);
                // and not the analytic bound's width: a null this far under its rate would be of no use
                assertTrue(share90 >= 0.02, "n " + n + ": only " + share90 + " over the 0.9 quantile");
            }
        }
    }

    @Test
    void theQuantileScaledFromTheLargestBucketAgreesWithABruteForceComputationAtThreeTimesItsSize() {
        Random r = new Random(31);
        SampledMeanKsNull resampler = new SampledMeanKsNull(draw(SampledMeanKsNullTest::relu, 2_000, r));
        int[] buckets = resampler.buckets();
        int largest = buckets[buckets.length - 1];
        assertEquals(128, largest, "sides of 144 and 1,152 fit in 2,000; of 288 and 2,304 they do not");
        ResampledNull resampled = resampler.table(ResampledNull.REPLICATES, 3);
        int effective = 3 * largest;
        double[] brute = new double[600];
        for (int i = 0; i < brute.length; i++) {
            brute[i] = ResampledNull.exactMeanKs(draw(SampledMeanKsNullTest::relu, 2 * effective, r),
                    draw(SampledMeanKsNullTest::relu, 2 * effective, r));
        }
        double[] truth = ResampledNull.quantiles(brute);
        for (int level = 0; level < 3; level++) {
            double scaled = resampled.scaled(level, effective);
            System.out.printf("mean KS null at n_eff %d, level %.3f: scaled from bucket %d %.5f, brute force %.5f%n",
                    effective, ResampledNull.LEVELS[level], largest, scaled, truth[level]);
            assertEquals(truth[level], scaled, 0.1 * truth[level], "level " + ResampledNull.LEVELS[level]);
        }
        double alpha = 1.0 / (5 * 43_200);
        assertTrue(resampled.quantile(200, 8_000, alpha).orElseThrow() < MeanKsNull.quantile(200, 8_000, alpha),
                "tighter than the analytic bound where both apply");
    }

    @Test
    void aSmallSampleResamplesNothingAndTheSameSeedGivesTheSameNull() {
        Random r = new Random(5);
        SampledMeanKsNull small = new SampledMeanKsNull(draw(SampledMeanKsNullTest::continuous,
                SampledMeanKsNull.SMALLEST_SAMPLE - 1, r));
        assertFalse(small.usable());
        assertTrue(small.table(100, 1).buckets().isEmpty());
        assertTrue(small.table(100, 1).quantile(500, 500, 0.01).isEmpty(), "the analytic bound answers");
        SampledMeanKsNull enough = new SampledMeanKsNull(draw(SampledMeanKsNullTest::continuous,
                SampledMeanKsNull.SMALLEST_SAMPLE, r));
        assertArrayEquals(new int[] {16}, enough.buckets(), "sides of 18 and 144 fit in 256; of 36 and 288 not");
        assertArrayEquals(enough.replicates(16, 50, 9), enough.replicates(16, 50, 9), 0);
        assertEquals(enough.table(100, 4).buckets().keySet(), enough.table(100, 4).buckets().keySet());
    }

    @Test
    void valuesAreKeptWithinTheByteCapAndNotAtAllWhenTooFewToResample() {
        long cap = SampledMeanKsNull.DEFAULT_VALUE_BYTES;
        assertEquals(2_000, SampledMeanKsNull.valuesKept(128, cap, 2_000), "a narrow tap's whole sample");
        assertEquals(256, SampledMeanKsNull.valuesKept(1_024, cap, 2_000), "1 MB holds 256 rows of 1,024 neurons");
        assertEquals(0, SampledMeanKsNull.valuesKept(1_025, cap, 2_000), "255 rows: too few, so none");
        assertEquals(0, SampledMeanKsNull.valuesKept(128, cap, 255), "a sample of 255: too few, so none");
        assertEquals(256, SampledMeanKsNull.valuesKept(128, cap, 256));
        assertEquals(0, SampledMeanKsNull.valuesKept(128, 0, 2_000), "no cap: none");
    }
}
