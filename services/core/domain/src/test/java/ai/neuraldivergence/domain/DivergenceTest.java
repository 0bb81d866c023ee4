package ai.neuraldivergence.domain;

import static ai.neuraldivergence.domain.Distributions.of;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DivergenceTest {

    private static NeuronDistribution normal(long seed, int n, double mean) {
        Random r = new Random(seed);
        NeuronDistribution d = new NeuronDistribution(200);
        for (int i = 0; i < n; i++) {
            d.update((float) (mean + r.nextGaussian()));
        }
        return d;
    }

    @Test
    void exactSketchesGiveExactValuesAndZeroBounds() {
        Divergence d = Divergence.of(of(1, 2, 3), of(2, 3, 4), 10, SamplingBound.NONE);
        assertEquals(1.0 / 3, d.ks(), 1e-12);
        assertEquals(1.0, d.wasserstein(), 1e-12, "every value moved by one");
        assertEquals(1.0, d.meanShift(), 1e-12);
        assertEquals(Divergence.Direction.EXCITED, d.direction());
        assertEquals(0, d.ksErrorBound());
        assertEquals(0, d.wassersteinErrorBound());
        assertEquals(0, d.jensenShannonErrorBound(), 1e-12);
        assertEquals(3, d.countA());

        Divergence same = Divergence.of(of(5, 1, 3), of(1, 3, 5), 10, SamplingBound.NONE);
        assertEquals(0, same.ks());
        assertEquals(0, same.wasserstein());
        assertEquals(0, same.jensenShannon(), 1e-12);
        assertEquals(0, same.psi(), 1e-12);
        assertEquals(Divergence.Direction.UNCHANGED, same.direction());
    }

    @Test
    void aPairComparedAgainIsAnsweredFromItsLastWalkUntilEitherSideGrows() {
        // a monitor compares one window with one reference once per threshold it holds: the walk is kept on the
        // window, and must never answer for a side that has changed since, or for another reference
        NeuronDistribution reference = normal(11, 8_000, 0);
        NeuronDistribution window = normal(12, 900, 0.2);
        Divergence first = Divergence.ksOf(reference, window, SamplingBound.NONE);
        assertEquals(first.ks(), Divergence.ksOf(reference, window, SamplingBound.NONE).ks());
        assertEquals(first.wasserstein(), Divergence.of(reference, window, 10, SamplingBound.NONE).wasserstein());

        NeuronDistribution other = normal(13, 8_000, 1);
        double againstOther = Divergence.ksOf(other, window, SamplingBound.NONE).ks();
        assertTrue(againstOther > first.ks() + 0.15, "another reference is walked anew: " + againstOther);

        window.merge(normal(14, 900, 3));
        Divergence grown = Divergence.ksOf(reference, window, SamplingBound.NONE);
        assertEquals(walked(reference, window), grown.ks(), "a window that grew is walked anew");
        assertTrue(grown.ks() > first.ks() + 0.3);

        double beforeNaN = walked(reference, window);
        reference.update(Float.NaN);
        assertEquals(walked(reference, window), Divergence.ksOf(reference, window, SamplingBound.NONE).ks(),
                "so is one whose reference grew, even by a NaN");
        assertTrue(walked(reference, window) != beforeNaN);
    }

    /** KS from a walk of both sketches now, without the memo. */
    private static double walked(NeuronDistribution a, NeuronDistribution b) {
        return Divergence.ksAndWasserstein(Divergence.Side.of(a), Divergence.Side.of(b))[0];
    }

    @Test
    void theKsOnlyComparisonAMonitorReadsAgreesWithTheFullOneOnEverythingItKeeps() {
        // sketches in estimation mode, a NaN and an infinity on one side, and the family's sampling bound
        NeuronDistribution a = normal(1, 5_000, 0);
        NeuronDistribution b = normal(2, 3_000, 0.3);
        b.update(Float.NaN);
        b.update(Float.POSITIVE_INFINITY);
        SamplingBound sampling = SamplingBound.of(new TapDescriptor("m", "v1", "t", 0, new int[] {64}, 64,
                Reduction.NONE), 0.01);
        Divergence full = Divergence.of(a, b, Divergence.DEFAULT_BINS, sampling);
        Divergence ks = Divergence.ksOf(a, b, sampling);
        assertEquals(full.ks(), ks.ks());
        assertEquals(full.ksErrorBound(), ks.ksErrorBound());
        assertEquals(full.ksSamplingBound(), ks.ksSamplingBound());
        assertEquals(full.wasserstein(), ks.wasserstein());
        assertEquals(full.wassersteinErrorBound(), ks.wassersteinErrorBound());
        assertEquals(full.meanShift(), ks.meanShift());
        assertEquals(full.drifted(0.05), ks.drifted(0.05));
        assertTrue(full.jensenShannon() > 0 && full.psi() > 0);
        assertTrue(Double.isNaN(ks.jensenShannon()) && Double.isNaN(ks.psi()), "the binned metrics are not computed");

        TapDistribution ta = new TapDistribution(64, 200);
        TapDistribution tb = new TapDistribution(64, 200);
        Random r = new Random(5);
        float[] row = new float[64];
        for (int i = 0; i < 2_000; i++) {
            for (int n = 0; n < 64; n++) {
                row[n] = (float) r.nextGaussian();
            }
            ta.add(row, 0);
            for (int n = 0; n < 64; n++) {
                row[n] = (float) (r.nextGaussian() + (n % 8 == 0 ? 0.5 : 0));
            }
            tb.add(row, 0);
        }
        TapDescriptor tap = new TapDescriptor("m", "v1", "t", 0, new int[] {64}, 64, Reduction.NONE);
        TapComparison all = TapComparison.of(tap, ta, tb, Divergence.Metric.KS, 5, 0.1, 0.01,
                Divergence.DEFAULT_BINS, LayerDrift.DEFAULT_MINIMUM_EFFECT, null);
        TapComparison byKs = TapComparison.byKs(tap, ta, tb, 5, 0.1, 0.01, LayerDrift.DEFAULT_MINIMUM_EFFECT, null);
        assertEquals(all.mean(), byKs.mean());
        assertEquals(all.max(), byKs.max());
        assertEquals(all.driftedShare(), byKs.driftedShare());
        assertEquals(all.smallestDetectableKs(), byKs.smallestDetectableKs());
        assertTrue(Arrays.equals(all.topNeurons(), byKs.topNeurons()), Arrays.toString(byKs.topNeurons()));
        assertEquals(0, byKs.topNeurons()[0] % 8, "a shifted neuron on top");
        assertEquals(all.layer().mmd(), byKs.layer().mmd(), "the layer statistic a layer monitor reads");
        TapComparison neurons = TapComparison.neuronsByKs(tap, ta, tb, 5, 0.1, 0.01);
        assertEquals(all.mean(), neurons.mean());
        assertEquals(all.driftedShare(), neurons.driftedShare());
        assertTrue(Arrays.equals(all.topNeurons(), neurons.topNeurons()), Arrays.toString(neurons.topNeurons()));
        assertFalse(neurons.layer().available(), "a KS monitor's comparison leaves the layer uncomputed");
    }

    @Test
    void jensenShannonAndPsiFollowTheirFormulasOnThePooledBins() {
        Divergence d = Divergence.of(of(0, 0, 1, 1), of(1, 1, 1, 1), 2, SamplingBound.NONE);
        // zeros get their own bin: p = (1/2, 1/2), q = (0, 1), m = (1/4, 3/4)
        double expected = 0.5 * (0.5 * log2(0.5 / 0.25) + 0.5 * log2(0.5 / 0.75)) + 0.5 * log2(1 / 0.75);
        assertEquals(expected, d.jensenShannon(), 1e-12);
        Divergence split = Divergence.of(of(0, 0, 0, 0, 2, 2, 2, 2), of(0, 0, 2, 2, 2, 2, 2, 2), 2, SamplingBound.NONE);
        // zeros hold 6 of 16 pooled values, more than half a bin: they get a bin of their own, [0, 0], then (0, 2]
        double[] p = Divergence.shares(of(0, 0, 0, 0, 2, 2, 2, 2), split.binEdges());
        double[] q = Divergence.shares(of(0, 0, 2, 2, 2, 2, 2, 2), split.binEdges());
        double js = 0;
        double psi = 0;
        for (int i = 0; i < p.length; i++) {
            double m = (p[i] + q[i]) / 2;
            js += 0.5 * (p[i] * log2(p[i] / m) + q[i] * log2(q[i] / m));
            psi += (q[i] - p[i]) * Math.log(q[i] / p[i]);
        }
        assertEquals(Arrays.toString(new double[] {0, 0, 2}), Arrays.toString(split.binEdges()));
        assertEquals(Arrays.toString(new double[] {0.5, 0.5}), Arrays.toString(p));
        assertEquals(js, split.jensenShannon(), 1e-12);
        assertEquals(psi, split.psi(), 1e-12);
        assertEquals(Divergence.Direction.EXCITED, split.direction());
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }

    @Test
    void aHalfSigmaShiftIsDriftedAndASecondSampleIsNot() {
        NeuronDistribution a = normal(1, 50_000, 0);
        SamplingBound oneNeuron = new SamplingBound(1, SamplingBound.DEFAULT_ALPHA);
        Divergence shifted = Divergence.of(a, normal(2, 50_000, 0.5), Divergence.DEFAULT_BINS, oneNeuron);
        // the true KS of N(0,1) against N(0.5,1) is 2 Phi(0.25) - 1 = 0.1974
        assertEquals(0.1974, shifted.ks(), shifted.ksErrorBound() + 0.01);
        assertTrue(shifted.drifted(0.1), "KS " + shifted.ks() + " bound " + shifted.ksErrorBound());
        assertEquals(0.5, shifted.wasserstein(), shifted.wassersteinErrorBound() + 0.02);
        assertTrue(shifted.ksErrorBound() > 0 && shifted.ksErrorBound() <= 2 * 0.0133 + 1e-9,
                "two sketches' published rank errors at k=200: " + shifted.ksErrorBound());
        Divergence same = Divergence.of(a, normal(3, 50_000, 0), Divergence.DEFAULT_BINS, oneNeuron);
        assertFalse(same.drifted(0.1), "KS " + same.ks());
        assertTrue(same.jensenShannon() < shifted.jensenShannon());
        assertTrue(same.psi() < shifted.psi());
        assertTrue(shifted.jensenShannonErrorBound() > 0 && shifted.psiErrorBound() > 0);
    }

    @Test
    void theBinnedBoundCoversEveryShareWithinItsError() {
        double[] p = {0.1, 0.3, 0.6};
        double[] q = {0.3, 0.3, 0.4};
        double[] d = {0.02, 0.04, 0.02};
        double value = 0;
        for (int i = 0; i < 3; i++) {
            value += Divergence.jsTerm(p[i], q[i]);
        }
        double bound = Divergence.binnedBound(p, q, d, d, Divergence::jsTerm, 0, value);
        Random r = new Random(5);
        for (int trial = 0; trial < 10_000; trial++) {
            double other = 0;
            for (int i = 0; i < 3; i++) {
                other += Divergence.jsTerm(p[i] + (2 * r.nextDouble() - 1) * d[i],
                        q[i] + (2 * r.nextDouble() - 1) * d[i]);
            }
            assertTrue(Math.abs(other - value) <= bound + 1e-12, other + " vs " + value + " +- " + bound);
        }
    }

    @Test
    void anEmptySideIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Divergence.of(of(), of(1), 10, SamplingBound.NONE));
    }

    @Test
    void reluNeuronsWithManyZerosAndAnAllZeroSideCompare() {
        Random r = new Random(4);
        NeuronDistribution a = new NeuronDistribution(200);
        NeuronDistribution b = new NeuronDistribution(200);
        for (int i = 0; i < 5_000; i++) {
            a.update((float) Math.max(0, r.nextGaussian() - 0.5));
            b.update((float) Math.max(0, r.nextGaussian()));
        }
        for (int bins : new int[] {2, 10, 20}) {
            Divergence d = Divergence.of(a, b, bins, SamplingBound.NONE);
            assertEquals(0.0, d.binEdges()[0]);
            assertEquals(0.0, d.binEdges()[1], "the zeros' own bin");
            assertTrue(d.ks() > 0.1 && Double.isFinite(d.jensenShannon()) && Double.isFinite(d.psi()));
        }
        NeuronDistribution dead = new NeuronDistribution(200);
        for (int i = 0; i < 1000; i++) {
            dead.update(0f);
        }
        Divergence d = Divergence.of(dead, b, 10, SamplingBound.NONE);
        assertTrue(d.ks() > 0.4 && Double.isFinite(d.psi()), d.toString());
        Divergence same = Divergence.of(dead, dead, 10, SamplingBound.NONE);
        assertEquals(0, same.ks());
        assertEquals(0, same.jensenShannon(), 1e-12);
    }

    @Test
    void aNeuronThatStartsProducingNanDriftsByExactlyItsNanShare() {
        NeuronDistribution a = of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        NeuronDistribution b = of(1, 2, 3, 4, 5, 6, 7, Float.NaN, Float.NaN, Float.NaN);
        Divergence d = Divergence.of(a, b, 10, SamplingBound.NONE);
        // extended CDFs: A reaches 1 at 10, B reaches 0.7 at 7 and 1 only at NaN
        assertEquals(0.3, d.ks(), 1e-12);
        assertTrue(d.drifted(0.1));
        assertEquals(new Divergence.NonFinite(3, 0, 0), d.nonFiniteB());
        assertEquals(Divergence.NonFinite.NONE, d.nonFiniteA());
        assertEquals(10, d.countA());
        assertEquals(7, d.countB(), "count is the finite values");
        // JS on the finite bins plus a NaN bin: B's NaN mass is a share A lacks, so it is positive
        assertTrue(d.jensenShannon() > 0.05 && d.psi() > 0.5, d.toString());
        // W1 and the mean shift are about finite values: both sides have some
        assertTrue(Double.isFinite(d.wasserstein()) && d.meanShift() < 0);
    }

    @Test
    void infinitiesOrderAtTheEndsAndASideWithoutFiniteValuesStillCompares() {
        NeuronDistribution a = of(0, 1, 2, 3);
        NeuronDistribution b = of(Float.NEGATIVE_INFINITY, 0, 1, 2, 3, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY,
                Float.POSITIVE_INFINITY);
        // at -Inf: 0 vs 1/8; at 3: 1 vs 5/8; at +Inf both 1
        assertEquals(3.0 / 8, Divergence.of(a, b, 10, SamplingBound.NONE).ks(), 1e-12);
        NeuronDistribution onlyNan = of(Float.NaN, Float.NaN);
        Divergence d = Divergence.of(a, onlyNan, 10, SamplingBound.NONE);
        assertEquals(1.0, d.ks(), 1e-12);
        assertTrue(Double.isNaN(d.wasserstein()) && Double.isNaN(d.meanShift()), d.toString());
        assertEquals(Divergence.Direction.UNCHANGED, d.direction());
        assertEquals(0, d.countB());
        Divergence both = Divergence.of(onlyNan, of(Float.NaN), 10, SamplingBound.NONE);
        assertEquals(0, both.ks());
        assertEquals(0, both.jensenShannon(), 1e-12);
        assertEquals(0, both.psi(), 1e-12);
    }

    @Test
    void theErrorBoundCoversOnlyTheFiniteShare() {
        NeuronDistribution a = normal(1, 50_000, 0);
        NeuronDistribution b = normal(2, 50_000, 0);
        double full = Divergence.of(a, b, 10, SamplingBound.NONE).ksErrorBound();
        for (int i = 0; i < 50_000; i++) {
            b.update(Float.NaN);
        }
        Divergence d = Divergence.of(a, b, 10, SamplingBound.NONE);
        assertEquals(a.rankError() + b.rankError() / 2, d.ksErrorBound(), 1e-12);
        assertTrue(d.ksErrorBound() < full);
        assertEquals(0.5, d.ks(), 0.03, "half of B is NaN");
    }
}
