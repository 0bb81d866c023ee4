package ai.neuraldivergence.domain.mmd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The layer-level statistic from mergeable sums: the same value however a window's minutes were merged, the value
 * of the per-observation U-statistic, a fixed map per seed, and a change in how neurons move together that no
 * marginal shows.
 */
class MmdTest {

    private static final int NEURONS = 16;

    /** Observations of 16 N(0, 1) neurons, neurons 0 and 1 correlated {@code rho}. */
    private static List<float[]> draw(Random r, int n, double rho) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] row = new float[NEURONS];
            for (int j = 0; j < NEURONS; j++) {
                row[j] = (float) r.nextGaussian();
            }
            row[1] = (float) (rho * row[0] + Math.sqrt(1 - rho * rho) * row[1]);
            out.add(row);
        }
        return out;
    }

    private static FeatureSums sum(RandomFeatureMap map, List<float[]> rows) {
        FeatureSums s = new FeatureSums(map.bandwidths());
        double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
        rows.forEach(row -> s.add(map, row, scratch));
        return s;
    }

    /** The U-statistic over explicit feature vectors, pair by pair: what the sums must equal. */
    private static double pairwise(RandomFeatureMap map, List<float[]> a, List<float[]> b, int g) {
        double[][] fa = features(map, a, g);
        double[][] fb = features(map, b, g);
        double aa = 0;
        for (int i = 0; i < fa.length; i++) {
            for (int k = 0; k < fa.length; k++) {
                aa += i == k ? 0 : dot(fa[i], fa[k]);
            }
        }
        double bb = 0;
        for (int i = 0; i < fb.length; i++) {
            for (int k = 0; k < fb.length; k++) {
                bb += i == k ? 0 : dot(fb[i], fb[k]);
            }
        }
        double ab = 0;
        for (double[] x : fa) {
            for (double[] y : fb) {
                ab += dot(x, y);
            }
        }
        int n = fa.length;
        int m = fb.length;
        return aa / ((double) n * (n - 1)) + bb / ((double) m * (m - 1)) - 2 * ab / ((double) n * m);
    }

    private static double[][] features(RandomFeatureMap map, List<float[]> rows, int g) {
        double[][] out = new double[rows.size()][];
        double[] p = new double[RandomFeatureMap.DIRECTIONS];
        double norm = 1 / Math.sqrt(RandomFeatureMap.DIRECTIONS);
        for (int i = 0; i < rows.size(); i++) {
            assertTrue(map.project(rows.get(i), p));
            out[i] = new double[2 * RandomFeatureMap.DIRECTIONS];
            for (int j = 0; j < RandomFeatureMap.DIRECTIONS; j++) {
                out[i][2 * j] = norm * Math.cos(p[j] / map.bandwidth(g));
                out[i][2 * j + 1] = norm * Math.sin(p[j] / map.bandwidth(g));
            }
        }
        return out;
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    @Test
    void mergedSumsGiveThePerObservationValueWhateverTheMergeOrder() {
        Random r = new Random(3);
        RandomFeatureMap map = RandomFeatureMap.of(77, NEURONS, null);
        List<float[]> a = draw(r, 300, 0.8);
        List<float[]> b = draw(r, 200, -0.8);
        FeatureSums whole = sum(map, a);
        FeatureSums bSums = sum(map, b);
        for (long order = 0; order < 5; order++) {
            // a's observations in minutes of random sizes, merged in a random order
            List<float[]> shuffled = new ArrayList<>(a);
            Collections.shuffle(shuffled, new Random(order));
            List<FeatureSums> minutes = new ArrayList<>();
            for (int from = 0; from < shuffled.size(); ) {
                int to = Math.min(shuffled.size(), from + 1 + new Random(order * 31 + from).nextInt(60));
                minutes.add(sum(map, shuffled.subList(from, to)));
                from = to;
            }
            Collections.shuffle(minutes, new Random(order + 100));
            FeatureSums merged = new FeatureSums(map.bandwidths());
            minutes.forEach(merged::merge);
            assertEquals(whole.count(), merged.count());
            for (int g = 0; g < map.bandwidths(); g++) {
                double exact = pairwise(map, a, b, g);
                assertEquals(exact, Mmd.unbiased(merged, bSums, g), 1e-9, "merge order " + order + ", g " + g);
                assertEquals(exact, Mmd.unbiased(whole, bSums, g), 1e-9);
            }
        }
    }

    @Test
    void theMapIsFixedBySeedAndTheStoredSumsRoundTrip() {
        Random r = new Random(4);
        List<float[]> a = draw(r, 50, 0);
        FeatureSums one = sum(RandomFeatureMap.of(5, NEURONS, null), a);
        FeatureSums again = sum(RandomFeatureMap.of(5, NEURONS, null), a);
        assertArrayEquals(one.sums(), again.sums(), 0);
        FeatureSums other = sum(RandomFeatureMap.of(6, NEURONS, null), a);
        assertTrue(one.sums()[0] != other.sums()[0], "another seed, another map");
        FeatureSums stored = FeatureSums.of(one.count(), one.nonFinite(), one.sums());
        assertEquals(Mmd.unbiased(one, again, 2), Mmd.unbiased(stored, again, 2), 0);
    }

    @Test
    void nonFiniteObservationsAreCountedApartAndScalesDivideTheInputs() {
        RandomFeatureMap map = RandomFeatureMap.of(1, 2, new double[] {2, Double.NaN});
        assertEquals(2, map.scale(0));
        assertEquals(1, map.scale(1), "an undeclared or broken scale counts as 1");
        FeatureSums s = new FeatureSums(map.bandwidths());
        double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
        s.add(map, new float[] {1, Float.NaN}, scratch);
        s.add(map, new float[] {Float.POSITIVE_INFINITY, 0}, scratch);
        s.add(map, new float[] {1, 2}, scratch);
        assertEquals(1, s.count());
        assertEquals(2, s.nonFinite());
        assertTrue(java.util.Arrays.stream(s.sums()).allMatch(Double::isFinite));
        assertThrows(IllegalArgumentException.class, () -> s.add(map, new float[] {1}, scratch));
        assertThrows(IllegalArgumentException.class, () -> Mmd.unbiased(s, s, 0), "one observation");
    }

    @Test
    void aFlippedCorrelationThatNoMarginalShowsStandsFarOutOfTheNull() {
        RandomFeatureMap map = RandomFeatureMap.of(18, NEURONS, null);
        Random r = new Random(5);
        double[] nulls = new double[20];
        for (int i = 0; i < nulls.length; i++) {
            nulls[i] = Mmd.unbiased(sum(map, draw(r, 2_000, 0.8)), sum(map, draw(r, 2_000, 0.8)), 1);
        }
        double nullMax = java.util.Arrays.stream(nulls).max().orElseThrow();
        double flipped = Mmd.unbiased(sum(map, draw(r, 2_000, 0.8)), sum(map, draw(r, 2_000, -0.8)), 1);
        System.out.printf("MMD² at bandwidth %.2f: flipped correlation %.5f, largest of 20 nulls %.5f%n",
                map.bandwidth(1), flipped, nullMax);
        assertTrue(flipped > 3 * nullMax, flipped + " against nulls up to " + nullMax);
    }

    @Test
    void wideTapsUseSparseDirectionsAndTheMedianHeuristicPicksTheTypicalDistance() {
        RandomFeatureMap wide = RandomFeatureMap.of(9, 16_384, null);
        float[] row = new float[16_384];
        java.util.Arrays.fill(row, 1);
        double[] p = new double[RandomFeatureMap.DIRECTIONS];
        assertTrue(wide.project(row, p));
        // each direction reads about 4,096 neurons of weight ±2: a projection of unit-variance size sqrt(16,384)
        double meanSquare = java.util.Arrays.stream(p).map(v -> v * v).average().orElseThrow();
        assertTrue(meanSquare > 16_384 * 0.5 && meanSquare < 16_384 * 1.5, "mean square " + meanSquare);
        RandomFeatureMap map = RandomFeatureMap.of(1, 8, null);
        double[] zero = new double[8];
        double[] one = new double[8];
        java.util.Arrays.fill(one, 1);
        // unit variances on both sides, no shift: sqrt(16), nearest 1 x sqrt(2 * 8)
        assertEquals(2, map.nearestBandwidth(zero, one, zero, one));
        double[] big = new double[8];
        java.util.Arrays.fill(big, 64);
        assertEquals(4, map.nearestBandwidth(zero, big, zero, big));
    }
}
