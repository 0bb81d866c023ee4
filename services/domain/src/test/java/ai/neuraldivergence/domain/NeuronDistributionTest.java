package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NeuronDistributionTest {

    @Test
    void momentsAndRangeAreExact() {
        NeuronDistribution d = new NeuronDistribution(NeuronDistribution.DEFAULT_K);
        for (float v : new float[] {0f, 1f, 2f, 0f, 7f}) {
            d.update(v);
        }
        assertEquals(5, d.count());
        assertEquals(10.0, d.sum());
        assertEquals(54.0, d.sumOfSquares());
        assertEquals(0f, d.min());
        assertEquals(7f, d.max());
        assertEquals(2, d.zeroCount());
        assertEquals(2.0, d.mean());
        assertEquals(Math.sqrt(54.0 / 5 - 4.0), d.standardDeviation(), 1e-12);
        assertEquals(0.0, d.rankError(), "exact while below k values");
        assertEquals(1.0, d.quantile(0.5));
    }

    @Test
    void mergeEqualsTheDistributionOfTheUnionWithinTheRankError() {
        Random random = new Random(42);
        float[] all = new float[40_000];
        NeuronDistribution left = new NeuronDistribution(NeuronDistribution.DEFAULT_K);
        NeuronDistribution right = new NeuronDistribution(NeuronDistribution.DEFAULT_K);
        for (int i = 0; i < all.length; i++) {
            all[i] = (float) (i % 2 == 0 ? random.nextGaussian() : 3 + random.nextGaussian());
            (i % 2 == 0 ? left : right).update(all[i]);
        }
        left.merge(right);
        assertEquals(all.length, left.count());
        float[] sorted = all.clone();
        Arrays.sort(sorted);
        double error = left.rankError();
        assertTrue(error > 0 && error < 0.02, "k=200 gives ~1.3% rank error, got " + error);
        for (double rank : new double[] {0.01, 0.25, 0.5, 0.75, 0.99}) {
            float q = (float) left.quantile(rank);
            // the true rank of the estimated quantile must sit within the sketch's error of the asked rank
            int below = upperBound(sorted, q);
            assertEquals(rank, below / (double) sorted.length, error, "rank " + rank);
        }
        assertEquals(sorted[0], left.min());
        assertEquals(sorted[sorted.length - 1], left.max());
    }

    private static int upperBound(float[] sorted, float value) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
