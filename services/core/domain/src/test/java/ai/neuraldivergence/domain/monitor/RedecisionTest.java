package ai.neuraldivergence.domain.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.MeanKsNull;
import ai.neuraldivergence.domain.ResampledNull;
import ai.neuraldivergence.domain.Slice;
import java.time.Instant;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A stored evaluation decided again under a changed definition: what a monitor's state reads after an edit or a
 * takeover, before its next evaluation.
 */
class RedecisionTest {

    private static final Instant END = Instant.parse("2026-12-05T10:00:00Z");
    private static final TrailingWindow WINDOW = new TrailingWindow(END.minusSeconds(3600), END, 3_600, true);
    private static final double ALPHA = CalibratedThreshold.alpha(1, 1);

    private static MonitorDefinition calibrated(double minimumEffect, double budget) {
        return new MonitorDefinition("c", "m", "t", "calm", Slice.ALL, Divergence.Metric.KS,
                MonitorDefinition.Mode.CALIBRATED, 0.15, minimumEffect, budget, 1, 200, 60);
    }

    /** A resampled mean KS's null: the bucket 16 quantiles well under the analytic bound. */
    private static MeanKsNull.Source resampled() {
        TreeMap<Integer, double[]> buckets = new TreeMap<>();
        buckets.put(16, new double[] {0.1, 0.13, 0.16, 0.19, 0.11});
        return MeanKsNull.Source.of(ResampledNull.of(ResampledNull.Scaling.KS, buckets));
    }

    private static MonitorRun.Evaluation stored(MeanKsNull.Source source, double value) {
        return MonitorRun.Evaluation.of(END, WINDOW, 8_000, value, CalibratedThreshold.of(0.05, ALPHA, 3_600, 8_000,
                0.01, source));
    }

    @Test
    void aNewMinimumEffectKeepsTheNullQuantileAsReadAndANewBudgetReadsTheNullGiven() {
        MonitorRun.Evaluation e = stored(resampled(), 0.15);
        assertEquals(MonitorRun.Outcome.OVER, e.outcome(), e.toString());

        MonitorRun.Evaluation higher = Redecision.of(e, calibrated(0.5, 1), ALPHA, null);
        assertEquals(e.calibration().nullQuantile(), higher.calibration().nullQuantile(), 0, "kept as read");
        assertEquals(0.5 + e.calibration().nullQuantile() + 0.01, higher.thresholdApplied(), 1e-12);
        assertEquals(MonitorRun.Outcome.UNDER, higher.outcome());

        double budget2 = CalibratedThreshold.alpha(2, 1);
        MonitorRun.Evaluation resampled = Redecision.of(e, calibrated(0.05, 2), budget2, resampled());
        assertEquals(budget2, resampled.calibration().alpha(), 0);
        assertEquals(resampled().quantile(3_600, 8_000, budget2).orElseThrow(),
                resampled.calibration().nullQuantile(), 1e-15, "the resampled null at the new rate");
        MonitorRun.Evaluation analytic = Redecision.of(e, calibrated(0.05, 2), budget2, null);
        assertEquals(MeanKsNull.quantile(3_600, 8_000, budget2), analytic.calibration().nullQuantile(), 1e-15);
        assertTrue(resampled.thresholdApplied() < analytic.thresholdApplied(), "tighter than the analytic bound");
        assertFalse(resampled.calibration().calibrating());
        assertTrue(Redecision.of(e, calibrated(0.05, 2), budget2, MeanKsNull.CALIBRATING).calibration()
                .calibrating(), "calibrating when the null is");
    }

    @Test
    void aFixedThresholdIsTheDefinitionsNow() {
        MonitorRun.Evaluation e = stored(null, 0.2);
        MonitorDefinition fixed = new MonitorDefinition("f", "m", "t", "calm", Slice.ALL, Divergence.Metric.KS,
                MonitorDefinition.Mode.FIXED, 0.25, 0.05, 1, 1, 200, 60);
        MonitorRun.Evaluation decided = Redecision.of(e, fixed, ALPHA, resampled());
        assertEquals(0.25, decided.thresholdApplied());
        assertEquals(MonitorRun.Outcome.UNDER, decided.outcome());
        assertEquals(0.2, decided.value());
    }
}
