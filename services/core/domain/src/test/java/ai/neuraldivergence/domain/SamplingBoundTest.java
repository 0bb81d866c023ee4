package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.monitor.CalibratedThreshold;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The neuron verdict with both errors, and a calibrated monitor's evaluation: under the null (both sides drawn from one
 * distribution) a tap is called drifted anywhere, and its mean KS read over a calibrated threshold at δ = 0, each at
 * most at its rate, whatever the counts and the dependence between neurons, through k = 200 sketches as the service
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

    /** A side of a tap of {@code neurons} neurons, n observations, each row drawn by {@code draw}. */
    private static TapDistribution side(int neurons, int n, java.util.function.Consumer<float[]> draw) {
        TapDistribution d = new TapDistribution(neurons, 200);
        float[] row = new float[neurons];
        for (int i = 0; i < n; i++) {
            draw.accept(row);
            d.add(row, 0);
        }
        return d;
    }

    /** A side of a tap of {@code neurons} independent neurons, n observations drawn by {@code draw}. */
    private static TapDistribution side(Random r, int neurons, int n, java.util.function.DoubleSupplier draw) {
        return side(neurons, n, row -> {
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) draw.getAsDouble();
            }
        });
    }

    /** What null draws of a tap are flagged: by any neuron's verdict, and by a calibrated monitor's evaluation. */
    private record NullRates(double neurons, double monitor) {
    }

    private enum Kind {
        NORMAL,
        /** max(0, x) for x ~ N(0.2533, 1): P(x <= 0) = 0.4, a ReLU with 40 % zeros. */
        RELU,
        /** Every neuron 0.9 of one common factor: the mean KS moves with it, the case a union bound must survive. */
        CORRELATED
    }

    /**
     * The share of 2,000 null draws of a 4-neuron tap in which any neuron is called drifted at a threshold of 0, and
     * in which the tap's mean KS reads over a calibrated monitor's threshold at δ = 0 and α = 0.01.
     */
    private static NullRates nullRates(int n, Kind kind, long seed) {
        Random r = new Random(seed);
        java.util.function.Consumer<float[]> draw = row -> {
            double common = r.nextGaussian();
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) switch (kind) {
                    case NORMAL -> r.nextGaussian();
                    case RELU -> Math.max(0, 0.2533 + r.nextGaussian());
                    case CORRELATED -> 0.9 * common + Math.sqrt(1 - 0.81) * r.nextGaussian();
                };
            }
        };
        TapDescriptor tap = new TapDescriptor("m", "v1", "t", 0, new int[] {4}, 4, Reduction.NONE);
        int neurons = 0;
        int monitor = 0;
        for (int i = 0; i < DRAWS; i++) {
            TapComparison c = TapComparison.of(tap, side(4, n, draw), side(4, n, draw), Divergence.Metric.KS, 0,
                    Double.MIN_VALUE, ALPHA, Divergence.DEFAULT_BINS);
            neurons += c.driftedShare() > 0 ? 1 : 0;
            double sketch = c.neurons().stream().mapToDouble(Divergence::ksErrorBound).average().orElseThrow();
            monitor += c.mean() > CalibratedThreshold.of(0, ALPHA, n, n, sketch).applied() ? 1 : 0;
        }
        return new NullRates((double) neurons / DRAWS, (double) monitor / DRAWS);
    }

    @Test
    void underTheNullATapIsCalledDriftedAndAMonitorFiresAtMostAtTheirRates() {
        for (int n : new int[] {50, 500, 5_000}) {
            for (Kind kind : Kind.values()) {
                NullRates rates = nullRates(n, kind, n * 31L + kind.ordinal());
                System.out.printf("null taps, %s n=%d: called drifted %.4f, monitor over threshold %.4f "
                        + "(allowed %.4f)%n", kind, n, rates.neurons(), rates.monitor(), ALPHA + MARGIN);
                assertTrue(rates.neurons() <= ALPHA + MARGIN, kind + " n=" + n + ": " + rates.neurons()
                        + " of null draws flagged, more than " + ALPHA + " + " + MARGIN);
                assertTrue(rates.monitor() <= ALPHA + MARGIN, kind + " n=" + n + ": " + rates.monitor()
                        + " of null monitor evaluations over threshold, more than " + ALPHA + " + " + MARGIN);
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
