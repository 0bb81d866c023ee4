package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The neuron verdict with both errors: under the null (both sides drawn from one distribution) a tap is called
 * drifted anywhere at most at its family-wise rate, whatever the counts, through k = 200 sketches as the service
 * reads them.
 */
class SamplingBoundTest {

    private static final double ALPHA = SamplingBound.DEFAULT_ALPHA;
    private static final int DRAWS = 2_000;
    /** The binomial 99 % margin of a share of DRAWS draws around ALPHA. */
    private static final double MARGIN = 2.576 * Math.sqrt(ALPHA * (1 - ALPHA) / DRAWS);

    @Test
    void theBoundFollowsTheDkwInequalityWithBonferroniOverTheTapsNeurons() {
        SamplingBound tap = new SamplingBound(4096, 0.01);
        // sqrt(ln(4 * 4096 / 0.01) / 2) * (240^-1/2 + 240^-1/2)
        assertEquals(Math.sqrt(Math.log(4 * 4096 / 0.01) / 2) * 2 / Math.sqrt(240), tap.ks(240, 240), 1e-12);
        assertEquals(0.3453, tap.ks(240, 240), 1e-4);
        assertTrue(tap.ks(2_400, 240) < tap.ks(240, 240), "more observations on a side, a smaller bound");
        assertTrue(new SamplingBound(16, 0.01).ks(240, 240) < tap.ks(240, 240), "fewer neurons, a smaller bound");
        assertEquals(0, SamplingBound.NONE.ks(10, 10), "the populations themselves");
        assertEquals(1, tap.cdf(0), "no observation: anything");
        assertThrows(IllegalArgumentException.class, () -> new SamplingBound(4, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingBound(4, 1.5));
    }

    /** A side of a tap of {@code neurons} independent neurons, n observations drawn by {@code draw}. */
    private static TapDistribution side(Random r, int neurons, int n, java.util.function.DoubleSupplier draw) {
        TapDistribution d = new TapDistribution(neurons, 200);
        float[] row = new float[neurons];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < neurons; j++) {
                row[j] = (float) draw.getAsDouble();
            }
            d.add(row, 0);
        }
        return d;
    }

    /** The share of null draws of a 4-neuron tap in which any neuron is called drifted at a threshold of 0. */
    private static double nullRate(int n, boolean relu, long seed) {
        Random r = new Random(seed);
        // ReLU with 40 % zeros: max(0, x) for x ~ N(0.2533, 1), P(x <= 0) = 0.4
        java.util.function.DoubleSupplier draw = relu ? () -> Math.max(0, 0.2533 + r.nextGaussian())
                : r::nextGaussian;
        TapDescriptor tap = new TapDescriptor("m", "v1", "t", 0, new int[] {4}, 4, Reduction.NONE);
        int flagged = 0;
        for (int i = 0; i < DRAWS; i++) {
            TapComparison c = TapComparison.of(tap, side(r, 4, n, draw), side(r, 4, n, draw), Divergence.Metric.KS,
                    0, Double.MIN_VALUE, ALPHA, Divergence.DEFAULT_BINS);
            flagged += c.driftedShare() > 0 ? 1 : 0;
        }
        return (double) flagged / DRAWS;
    }

    @Test
    void underTheNullATapIsCalledDriftedAtMostAtItsFamilyWiseRate() {
        for (int n : new int[] {50, 500, 5_000}) {
            for (boolean relu : new boolean[] {false, true}) {
                double rate = nullRate(n, relu, n * 31L + (relu ? 1 : 0));
                System.out.printf("null taps called drifted, %s n=%d: %.4f (allowed %.4f)%n", relu ? "ReLU" : "normal",
                        n, rate, ALPHA + MARGIN);
                assertTrue(rate <= ALPHA + MARGIN, (relu ? "ReLU" : "normal") + " n=" + n + ": " + rate
                        + " of null draws flagged, more than " + ALPHA + " + " + MARGIN);
            }
        }
    }

    @Test
    void withoutTheSamplingBoundTheSameDrawsWouldBeFlagged() {
        // what the bound guards against: at a threshold of 0, KS less the sketch's bound alone flags most null draws
        Random r = new Random(5);
        TapDescriptor tap = new TapDescriptor("m", "v1", "t", 0, new int[] {1}, 1, Reduction.NONE);
        int flagged = 0;
        for (int i = 0; i < 200; i++) {
            Divergence d = Divergence.of(side(r, 1, 500, r::nextGaussian).neuron(0),
                    side(r, 1, 500, r::nextGaussian).neuron(0), Divergence.DEFAULT_BINS, SamplingBound.NONE);
            flagged += d.drifted(Double.MIN_VALUE) ? 1 : 0;
        }
        assertTrue(flagged > 100, flagged + " of 200");
    }

    @Test
    void aWideTapAtSmallCountsFlagsNoUnchangedNeuronAndSaysWhatItCouldDetect() {
        // the example: 4,096 neurons, 240 observations a side, every 7th neuron shifted by 0.3 standard
        // deviations; with the sketch's error alone 87 of the 3,510 unchanged neurons were called drifted
        int neurons = 4096;
        Random r = new Random(11);
        TapDistribution a = new TapDistribution(neurons, 200);
        TapDistribution b = new TapDistribution(neurons, 200);
        float[] rowA = new float[neurons];
        float[] rowB = new float[neurons];
        for (int i = 0; i < 240; i++) {
            for (int j = 0; j < neurons; j++) {
                rowA[j] = (float) r.nextGaussian();
                rowB[j] = (float) (r.nextGaussian() + (j % 7 == 0 ? 0.3 : 0));
            }
            a.add(rowA, 0);
            b.add(rowB, 0);
        }
        TapDescriptor tap = new TapDescriptor("m", "v1", "wide", 0, new int[] {neurons}, neurons, Reduction.NONE);
        TapComparison c = TapComparison.of(tap, a, b, Divergence.Metric.KS, 0, TapComparison.DEFAULT_THRESHOLD,
                ALPHA, Divergence.DEFAULT_BINS);
        long unchangedDrifted = java.util.stream.IntStream.range(0, neurons).filter(j -> j % 7 != 0)
                .filter(j -> c.neurons().get(j).drifted(TapComparison.DEFAULT_THRESHOLD)).count();
        assertEquals(0, unchangedDrifted);
        // at these counts only a KS above about 0.45 would be called drifted: the threshold, 0.345 of sampling
        // bound and the sketches' bound; a shift of 0.3 standard deviations (KS about 0.12) is below what they show
        assertEquals(0.1 + 0.3453, c.smallestDetectableKs(), 0.05);
        assertTrue(c.smallestDetectableKs() > 0.1 + 0.3453);
    }
}
