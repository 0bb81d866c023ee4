package ai.neuraldivergence.domain.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.MeanKsNull;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.SamplingBound;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import java.time.Instant;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A calibrated monitor's threshold: its parts, the false-alarm rate each evaluation runs at, the window it asks for,
 * and what it promises about effects at and above its minimum, drawn through k = 200 sketches. (Its rate under the
 * null, with neurons independent, ReLU-like and correlated, is checked beside the neuron verdict's in
 * SamplingBoundTest.)
 */
class CalibratedThresholdTest {

    private static final TapDescriptor TAP = new TapDescriptor("m", "v1", "t", 0, new int[] {4}, 4, Reduction.NONE);

    @Test
    void theMeanKsNullIsTheDkwIntegralAndTheBoundedDifferenceTail() {
        // C = integral over t >= 0 of min(1, 2 exp(-2 t^2)), by the trapezoid rule on a fine grid
        double integral = 0;
        double step = 1e-5;
        for (double t = 0; t < 10; t += step) {
            integral += step * (Math.min(1, 2 * Math.exp(-2 * t * t)) + Math.min(1, 2 * Math.exp(-2 * (t + step)
                    * (t + step)))) / 2;
        }
        assertEquals(integral, MeanKsNull.expected(1, Long.MAX_VALUE), 1e-6);
        assertEquals(integral * (1 / Math.sqrt(200) + 1 / Math.sqrt(60_000)), MeanKsNull.expected(200, 60_000),
                1e-6);
        assertEquals(Math.sqrt(Math.log(100) * (1.0 / 200 + 1.0 / 60_000) / 2), MeanKsNull.deviation(200, 60_000,
                0.01), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> MeanKsNull.quantile(0, 10, 0.01));
        assertThrows(IllegalArgumentException.class, () -> MeanKsNull.quantile(10, 10, 1));
    }

    @Test
    void aResampledNullSetsTheNullQuantileAndTheWindowAndWhileCalibratingTheAnalyticBoundAnswers() {
        double alpha = CalibratedThreshold.alpha(1, 5);
        // a null resampled from a sample: the mean KS's quantiles at n_eff 64 and 128, half the analytic bound's
        TreeMap<Integer, double[]> buckets = new TreeMap<>();
        double analytic64 = MeanKsNull.quantile(128, 128, alpha);
        buckets.put(64, new double[] {0.1 * analytic64, 0.15 * analytic64, 0.2 * analytic64, 0.25 * analytic64,
            0.11 * analytic64});
        buckets.put(128, new double[] {0.07 * analytic64, 0.1 * analytic64, 0.14 * analytic64, 0.18 * analytic64,
            0.08 * analytic64});
        MeanKsNull.Source resampled = MeanKsNull.Source.of(ai.neuraldivergence.domain.ResampledNull.of(
                ai.neuraldivergence.domain.ResampledNull.Scaling.KS, buckets));
        CalibratedThreshold t = CalibratedThreshold.of(0.05, alpha, 400, 8_000, 0.01, resampled);
        assertEquals(resampled.quantile(400, 8_000, alpha).orElseThrow(), t.nullQuantile(), 1e-15);
        assertTrue(t.nullQuantile() < MeanKsNull.quantile(400, 8_000, alpha), "tighter than the analytic bound");
        assertEquals(0.05 + t.nullQuantile() + 0.01, t.applied(), 1e-15);
        assertFalse(t.calibrating());
        // a tighter null asks for a shorter window
        long wanted = CalibratedThreshold.observationsWanted(0.1, alpha, 8_000, resampled);
        assertTrue(wanted < CalibratedThreshold.observationsWanted(0.1, alpha, 8_000), "" + wanted);
        // below the smallest bucket, and while the reference's nulls are computed: the analytic bound
        assertEquals(MeanKsNull.quantile(20, 8_000, alpha), CalibratedThreshold.of(0.05, alpha, 20, 8_000, 0.01,
                resampled).nullQuantile(), 1e-15);
        CalibratedThreshold calibrating = CalibratedThreshold.of(0.05, alpha, 400, 8_000, 0.01,
                MeanKsNull.CALIBRATING);
        assertTrue(calibrating.calibrating());
        assertEquals(CalibratedThreshold.of(0.05, alpha, 400, 8_000, 0.01).applied(), calibrating.applied(), 1e-15);
    }

    @Test
    void theBudgetIsSharedOutOverEveryEvaluationOfEveryTapIn30Days() {
        // one false alarm per 30 days over 10 taps evaluated each minute, each evaluation reading three windows
        assertEquals(1.0 / (10 * 43_200 * 3), CalibratedThreshold.alpha(1, 10), 1e-15);
        assertEquals(2 * CalibratedThreshold.alpha(1, 10), CalibratedThreshold.alpha(2, 10), 1e-15);
        assertEquals(0.5, CalibratedThreshold.alpha(1e6, 1), "more alarms than evaluations: one in two");
        assertThrows(IllegalArgumentException.class, () -> CalibratedThreshold.alpha(0, 1));
        assertThrows(IllegalArgumentException.class, () -> CalibratedThreshold.alpha(1, 0));
    }

    @Test
    void theThresholdIsItsThreePartsAndTheDetectableEffectLiesAboveIt() {
        double alpha = CalibratedThreshold.alpha(1, 10);
        CalibratedThreshold t = CalibratedThreshold.of(0.05, alpha, 2_000, 60_000, 0.02);
        assertEquals(MeanKsNull.quantile(2_000, 60_000, alpha), t.nullQuantile(), 1e-15);
        assertEquals(0.05 + t.nullQuantile() + 0.02, t.applied(), 1e-15);
        assertTrue(t.smallestDetectableEffect() > t.applied());
        CalibratedThreshold wider = CalibratedThreshold.of(0.05, alpha, 20_000, 60_000, 0.02);
        assertTrue(wider.smallestDetectableEffect() < t.smallestDetectableEffect(), "more observations, smaller");
        CalibratedThreshold stricter = CalibratedThreshold.of(0.05, alpha / 100, 2_000, 60_000, 0.02);
        assertTrue(stricter.applied() > t.applied(), "a smaller budget, a higher threshold");
    }

    @Test
    void theWindowAskedForIsTheFewestObservationsThatDetectTwiceTheMinimumEffect() {
        double alpha = CalibratedThreshold.alpha(1, 10);
        long wanted = CalibratedThreshold.observationsWanted(0.05, alpha, 60_000);
        assertTrue(CalibratedThreshold.of(0.05, alpha, wanted, 60_000, 0).smallestDetectableEffect() <= 0.1);
        assertTrue(CalibratedThreshold.of(0.05, alpha, wanted - 1, 60_000, 0).smallestDetectableEffect() > 0.1);
        // at 20 observations a second, some minutes of traffic; a model a tenth as busy takes ten times as long
        assertTrue(wanted > 5_000 && wanted < 20_000, "wanted " + wanted);
        assertEquals(Long.MAX_VALUE, CalibratedThreshold.observationsWanted(0.05, alpha, 500),
                "a reference too small for the effect: no window is enough");
        assertEquals(Long.MAX_VALUE, CalibratedThreshold.observationsWanted(0, alpha, 60_000));
    }

    @Test
    void theWindowGrowsToWhatIsWantedAndIsSufficientAtTheMinimum() {
        Instant end = Instant.parse("2026-12-01T10:00:00Z");
        TreeMap<Instant, Long> counts = new TreeMap<>();
        for (int i = 1; i <= 30; i++) {
            counts.put(end.minusSeconds(60L * i), 1_000L);
        }
        TrailingWindow w = TrailingWindow.find(counts, end, 200, 9_500, 60);
        assertEquals(10, w.minutes());
        assertTrue(w.sufficient());
        TrailingWindow span = TrailingWindow.find(counts, end, 200, 100_000, 20);
        assertEquals(20, span.minutes(), "the span reached: the whole span, evaluated");
        assertTrue(span.sufficient());
        assertFalse(TrailingWindow.find(counts, end, 50_000, 100_000, 20).sufficient());
    }

    @Test
    void aLargeChangeDecidesOnAShortWindowAndAnUnchangedHourStaysUnderEveryWindow() {
        // 5 observations a second for an hour against 8,000 reference draws: a long window is wanted (a reference
        // this size cannot detect twice δ at any window), the last three minutes shifted by 0.6 of the range
        Random r = new Random(3);
        TapDistribution reference = uniform(r, 8_000, 0);
        Instant end = Instant.parse("2026-12-01T10:00:00Z");
        TreeMap<Instant, Long> counts = new TreeMap<>();
        TreeMap<Instant, TapDistribution> minutes = new TreeMap<>();
        for (int i = 1; i <= 60; i++) {
            minutes.put(end.minusSeconds(60L * i), uniform(r, 300, i <= 3 ? 0.6 : 0));
            counts.put(end.minusSeconds(60L * i), 300L);
        }
        MonitorDefinition d = new MonitorDefinition("calibrated", "m", "t", "calm", ai.neuraldivergence.domain.Slice.ALL,
                Divergence.Metric.KS, MonitorDefinition.Mode.CALIBRATED, 0.15, 0.05, 1, 2, 200, 60);
        double alpha = CalibratedThreshold.alpha(1, 1);
        java.util.function.Function<TrailingWindow, TapDistribution> read = w -> {
            TapDistribution merged = new TapDistribution(4, 200);
            minutes.subMap(w.start(), true, w.end(), false).values().forEach(merged::merge);
            return merged;
        };
        MonitorRun.Evaluation e = MinuteEvaluation.of(d, alpha, TAP, reference, counts, end, read, null, null).evaluation();
        assertEquals(MonitorRun.Outcome.OVER, e.outcome(), e.toString());
        assertTrue(e.window().minutes() < 60, "a shorter window decided: " + e.window());
        // the hour alone, the way the window was read before it had shorter ones beside it: still under
        TrailingWindow hour = TrailingWindow.find(counts, end, 200, Long.MAX_VALUE, 60);
        TapComparison c = TapComparison.of(TAP, reference, read.apply(hour), Divergence.Metric.KS, 0,
                TapComparison.DEFAULT_THRESHOLD, SamplingBound.DEFAULT_ALPHA, Divergence.DEFAULT_BINS);
        assertTrue(c.mean() < CalibratedThreshold.of(0.05, alpha, hour.observations(), 8_000, sketchBound(c))
                .applied(), "the hour dilutes three minutes of change: " + c.mean());

        // nothing changed: no window goes over
        for (int i = 1; i <= 3; i++) {
            minutes.put(end.minusSeconds(60L * i), uniform(r, 300, 0));
        }
        e = MinuteEvaluation.of(d, alpha, TAP, reference, counts, end, read, null, null).evaluation();
        assertEquals(MonitorRun.Outcome.UNDER, e.outcome(), e.toString());
    }

    private static TapDistribution uniform(Random r, int n, double shift) {
        TapDistribution d = new TapDistribution(4, 200);
        float[] row = new float[4];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 4; j++) {
                row[j] = (float) (shift + r.nextDouble());
            }
            d.add(row, 0);
        }
        return d;
    }

    /** Two sides of a 4-neuron tap, uniform on [0, 1) and on [shift, 1 + shift): every neuron's KS is the shift. */
    private static TapComparison shifted(Random r, int n, double shift) {
        TapDistribution a = new TapDistribution(4, 200);
        TapDistribution b = new TapDistribution(4, 200);
        float[] row = new float[4];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 4; j++) {
                row[j] = (float) r.nextDouble();
            }
            a.add(row, 0);
            for (int j = 0; j < 4; j++) {
                row[j] = (float) (shift + r.nextDouble());
            }
            b.add(row, 0);
        }
        return TapComparison.of(TAP, a, b, Divergence.Metric.KS, 0, TapComparison.DEFAULT_THRESHOLD,
                SamplingBound.DEFAULT_ALPHA, Divergence.DEFAULT_BINS);
    }

    private static double sketchBound(TapComparison c) {
        return c.neurons().stream().mapToDouble(Divergence::ksErrorBound).average().orElseThrow();
    }

    @Test
    void anEffectAtTheMinimumRarelyFiresAndOneAtTheDetectableEffectFiresAtLeastHalfTheTime() {
        int draws = 400;
        double alpha = 0.01;
        double delta = 0.05;
        int n = 2_000;
        double margin = 2.576 * Math.sqrt(alpha * (1 - alpha) / draws);
        Random r = new Random(18);
        int atMinimum = 0;
        for (int i = 0; i < draws; i++) {
            TapComparison c = shifted(r, n, delta);
            atMinimum += c.mean() > CalibratedThreshold.of(delta, alpha, n, n, sketchBound(c)).applied() ? 1 : 0;
        }
        assertTrue(atMinimum <= (alpha + margin) * draws, atMinimum + " of " + draws + " fired at the minimum effect");
        // the detectable effect at these counts, with the sketches' bound of k = 200 sketches of 2,000 observations
        double detectable = CalibratedThreshold.of(delta, alpha, n, n, sketchBound(shifted(r, n, 0)))
                .smallestDetectableEffect();
        int atDetectable = 0;
        for (int i = 0; i < draws; i++) {
            TapComparison c = shifted(r, n, detectable);
            atDetectable += c.mean() > CalibratedThreshold.of(delta, alpha, n, n, sketchBound(c)).applied() ? 1 : 0;
        }
        System.out.printf("calibrated threshold at n=m=%d, delta %.2f, alpha %.2f: fired %d/%d at the minimum effect, "
                + "%d/%d at the smallest detectable effect %.3f%n", n, delta, alpha, atMinimum, draws, atDetectable,
                draws, detectable);
        assertTrue(atDetectable >= draws / 2, atDetectable + " of " + draws + " fired at the detectable effect "
                + detectable);
    }
}
