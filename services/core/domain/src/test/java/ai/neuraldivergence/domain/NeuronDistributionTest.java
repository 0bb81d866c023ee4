package ai.neuraldivergence.domain;

import static ai.neuraldivergence.domain.Distributions.of;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NeuronDistributionTest {

    @Test
    void momentsAndRangeAreExact() {
        NeuronDistribution d = of(0f, 1f, 2f, 0f, 7f);
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

    @Test
    void nonFiniteValuesAreCountedApartFromTheFiniteOnes() {
        NeuronDistribution d = of(1f, Float.NaN, Float.POSITIVE_INFINITY, -2f, Float.NEGATIVE_INFINITY, Float.NaN);
        assertEquals(2, d.count());
        assertEquals(6, d.observationCount());
        assertEquals(2, d.nanCount());
        assertEquals(1, d.positiveInfinityCount());
        assertEquals(1, d.negativeInfinityCount());
        assertEquals(-1.0, d.sum(), "moments over finite values only");
        assertEquals(-2f, d.min());
        assertEquals(1f, d.max());
        assertEquals(2, d.sketchCount());

        NeuronDistribution other = of(Float.NaN);
        d.merge(other);
        assertEquals(3, d.nanCount());
        assertEquals(2, d.count());
        other.merge(d);
        assertEquals(4, other.nanCount());
        assertEquals(2, other.count());
        assertEquals(-1.0, other.sum());
    }

    @Test
    void upToKValuesAreKeptAsTheyAreAndMergeSoThenASketchTakesOver() {
        NeuronDistribution a = new NeuronDistribution(8);
        NeuronDistribution b = new NeuronDistribution(8);
        for (int i = 0; i < 4; i++) {
            a.update(i);
            b.update(10 + i);
        }
        a.merge(b);
        assertEquals(8, a.exactValues().length, "eight values fit k = 8: still kept as they are");
        assertEquals(8, a.sketchCount());
        assertEquals(0.0, a.rankError());
        a.update(100f);
        assertEquals(null, a.exactValues(), "the ninth value: a sketch");
        assertEquals(9, a.sketchCount());
        assertEquals(100f, a.max());
        // a merge that would pass k builds the sketch; an empty side merges into nothing
        NeuronDistribution c = new NeuronDistribution(8);
        c.merge(a);
        assertEquals(9, c.count());
        assertEquals(9, c.sketchCount());
        NeuronDistribution empty = new NeuronDistribution(8);
        empty.merge(new NeuronDistribution(8));
        assertEquals(0, empty.exactValues().length);
        // reads build the sketch from the kept values, exactly
        NeuronDistribution d = new NeuronDistribution(200);
        for (float v : new float[] {3, 1, 2}) {
            d.update(v);
        }
        assertEquals(2.0, d.quantile(0.5));
        assertEquals(2.0 / 3, d.rank(2f), 1e-12);
    }

    @Test
    void percentilesFollowTheExtendedOrder() {
        // -Inf, 1, 2, 3, +Inf, NaN, NaN, NaN: eight values
        NeuronDistribution d = of(Float.NEGATIVE_INFINITY, 1, 2, 3, Float.POSITIVE_INFINITY, Float.NaN, Float.NaN,
                Float.NaN);
        assertEquals(0.5 / 8, d.percentile(Float.NEGATIVE_INFINITY), 1e-12);
        assertEquals(2.5 / 8, d.percentile(2f), 1e-12, "one -Inf and one value below, itself counted half");
        assertEquals(4.5 / 8, d.percentile(Float.POSITIVE_INFINITY), 1e-12);
        assertEquals(6.5 / 8, d.percentile(Float.NaN), 1e-12);
        NeuronDistribution onlyNan = of(Float.NaN);
        assertEquals(0.0, onlyNan.percentile(5f), "below every NaN");
        assertTrue(Double.isNaN(onlyNan.quantile(0.5)) && Double.isNaN(onlyNan.mean()));
        assertEquals(0, onlyNan.sketchCount(), "no sketch without a finite value");
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
