package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The layer statistic's null resampled from a calibration sample: fresh null pairs exceed it at most at α plus the
 * binomial 99 % margin (normal and ReLU layers, within and beyond the largest bucket), it is far below the analytic
 * bound, and the largest bucket scaled as n_eff^-1 agrees with a brute-force resample at three times its size.
 */
class LayerNullTest {

    private static final int NEURONS = 16;
    private static final TapDescriptor TAP = new TapDescriptor("m", "v1", "dense", 0, new int[] {NEURONS}, NEURONS,
            Reduction.NONE, 1024);
    private static final long SEED = LayerFeatures.seed("m", "dense", 0, NEURONS).orElseThrow();

    private static TapDistribution summed(List<float[]> rows) {
        TapDistribution d = new TapDistribution(NEURONS, 200);
        d.startFeatures(SEED, null);
        d.addAll(rows);
        return d;
    }

    /** Observations as a calibration sample keeps them: their projections on the map's directions. */
    static List<float[]> projected(RandomFeatureMap map, List<float[]> rows) {
        return rows.stream().map(map::projection).filter(java.util.Objects::nonNull).toList();
    }

    /** A source over one fixed sample, as the comparison service's is over a side's. */
    private static LayerNull.Source source(List<float[]> rows) {
        List<float[]> sample = projected(FeatureMaps.of(SEED, NEURONS, null), rows);
        return (g, n, m, alpha) -> {
            int bucket = LayerNull.bucket(n, m);
            if (bucket == 0) {
                return OptionalDouble.empty();
            }
            double[] summary = LayerNull.resample(FeatureMaps.of(SEED, NEURONS, null), g, sample, bucket, 7);
            return OptionalDouble.of(LayerNull.quantile(summary, bucket, n, m, alpha));
        };
    }

    @Test
    void freshNullPairsExceedTheResampledNullAtMostAtAlpha() {
        double alpha = 0.05;
        for (boolean relu : new boolean[] {false, true}) {
            for (int n : new int[] {200, 3000}) {
                Random r = new Random(n + (relu ? 1 : 0));
                List<float[]> sample = LayerDriftTest.draw(r, 2000, 0.5, 1, relu);
                // the null of one bucket serves every pair of these counts: computed once per level asked
                java.util.Map<Double, Double> kept = new java.util.HashMap<>();
                LayerNull.Source fresh = source(sample);
                LayerNull.Source once = (g, nn, mm, al) -> OptionalDouble.of(kept.computeIfAbsent(al,
                        level -> fresh.quantile(g, nn, mm, level).orElseThrow()));
                double[] q = new double[1];
                int draws = 200;
                int flagged = 0;
                double analytic = 0;
                for (int i = 0; i < draws; i++) {
                    TapDistribution a = summed(LayerDriftTest.draw(r, n, 0.5, 1, relu));
                    TapDistribution b = summed(LayerDriftTest.draw(r, n, 0.5, 1, relu));
                    LayerDrift d = LayerDrift.of(TAP, a, b, alpha, 0, once);
                    assertTrue(d.resampled());
                    q[0] = d.nullQuantile();
                    analytic = LayerDrift.of(TAP, a, b, alpha, 0).nullQuantile();
                    flagged += d.drifted() ? 1 : 0;
                }
                double share = (double) flagged / draws;
                double allowed = alpha + 2.576 * Math.sqrt(alpha * (1 - alpha) / draws);
                System.out.printf("resampled layer null %s n=%d: quantile %.6f (analytic %.6f), flagged %.3f "
                        + "(allowed %.3f)%n", relu ? "relu" : "normal", n, q[0], analytic, share, allowed);
                assertTrue(share <= allowed, "flagged " + share + " at n = " + n + ", allowed " + allowed);
                assertTrue(q[0] < analytic / 2, "the resampled null is far tighter than the analytic bound");
            }
        }
    }

    @Test
    void theLargestBucketScaledAgreesWithABruteForceResampleAtThreeTimesItsSize() {
        RandomFeatureMap map = FeatureMaps.of(SEED, NEURONS, null);
        List<float[]> sample = projected(map, LayerDriftTest.draw(new Random(5), 2000, 0.5, 1, false));
        int g = 2;
        double[] bucket = LayerNull.resample(map, g, sample, LayerNull.LARGEST_BUCKET, 11);
        double[] brute = LayerNull.resample(map, g, sample, 3 * LayerNull.LARGEST_BUCKET, 13);
        long n = 6L * LayerNull.LARGEST_BUCKET;
        for (double level : new double[] {0.9, 0.99}) {
            double scaled = LayerNull.quantile(bucket, LayerNull.LARGEST_BUCKET, n, n, 1 - level);
            double direct = LayerNull.quantile(brute, 3 * LayerNull.LARGEST_BUCKET, n, n, 1 - level);
            System.out.printf("level %.2f at n_eff %d: scaled %.7f, brute force %.7f%n", level, n / 2, scaled,
                    direct);
            assertEquals(direct, scaled, 0.1 * direct, "level " + level);
        }
        // a monitor's rate: the tail from the sample's spectrum, not the bounded-difference term
        double rare = 1.0 / 43_200;
        double spectral = LayerNull.quantile(bucket, LayerNull.LARGEST_BUCKET, 1200, 8000, rare,
                ai.neuraldivergence.domain.mmd.FeatureSpectrum.of(map, g, sample));
        double bounded = LayerNull.quantile(bucket, LayerNull.LARGEST_BUCKET, 1200, 8000, rare);
        double thousandth = LayerNull.quantile(bucket, LayerNull.LARGEST_BUCKET, 1200, 8000, 0.0011);
        System.out.printf("at 1/43,200, 1,200 against 8,000: spectrum %.5f, bounded difference %.5f, 0.999 %.5f%n",
                spectral, bounded, thousandth);
        assertTrue(spectral >= thousandth && spectral < bounded / 10, spectral + " vs " + bounded);
        assertEquals(0, LayerNull.bucket(20, 20), "below 16 the analytic bound answers");
        assertEquals(512, LayerNull.bucket(2000, 2000));
        assertEquals(LayerNull.LARGEST_BUCKET, LayerNull.bucket(100_000, 100_000));
        assertTrue(Arrays.stream(bucket).allMatch(Double::isFinite));
    }
}
