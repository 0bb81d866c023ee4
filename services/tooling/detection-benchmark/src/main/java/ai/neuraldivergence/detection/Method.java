package ai.neuraldivergence.detection;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.LayerDrift;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.CalibratedThreshold;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;

/**
 * The ways of deciding an alarm the benchmark compares, each a monitor on every tap of the model with the product's
 * defaults (2 windows in a row, a window growing from one minute to at least 200 observations, an hour at most):
 * the fixed mean-KS thresholds, the mean ± 3σ of reference chunks, and the calibrated monitors (mean KS, and the
 * layer statistic) at the default false-alarm budget and at the test budget of one a day.
 */
enum Method {
    FIXED_010("fixed 0.10", false),
    FIXED_015("fixed 0.15", false),
    SIGMA3("mean + 3 sd", false),
    CALIBRATED("calibrated KS", true),
    CALIBRATED_DAILY("calibrated KS, 1/day", true),
    LAYER("calibrated MMD²", true),
    LAYER_DAILY("calibrated MMD², 1/day", true);

    /** The test budget: one false alarm per monitor-day, in the product's unit (per 30 days). */
    static final double DAILY_BUDGET = 30;

    private final String label;
    private final boolean calibrated;

    Method(String label, boolean calibrated) {
        this.label = label;
        this.calibrated = calibrated;
    }

    String label() {
        return label;
    }

    boolean calibrated() {
        return calibrated;
    }

    /** False alarms allowed per monitor per 30 days (calibrated methods). */
    double budget() {
        return this == CALIBRATED_DAILY || this == LAYER_DAILY ? DAILY_BUDGET
                : MonitorDefinition.DEFAULT_FALSE_ALARM_BUDGET;
    }

    /** The monitor the service would run (the mean ± 3σ method reads the fixed monitors' windows and values). */
    MonitorDefinition definition(String modelId, String reference) {
        return switch (this) {
            case FIXED_010, FIXED_015, SIGMA3 -> new MonitorDefinition("bench-fixed", modelId,
                    MonitorDefinition.EVERY_TAP, reference, Slice.ALL, Divergence.Metric.KS,
                    MonitorDefinition.Mode.FIXED, this == FIXED_015 ? 0.15 : 0.10,
                    MonitorDefinition.DEFAULT_MINIMUM_EFFECT, MonitorDefinition.DEFAULT_FALSE_ALARM_BUDGET,
                    MonitorDefinition.DEFAULT_WINDOWS_IN_A_ROW, MonitorDefinition.DEFAULT_MIN_OBSERVATIONS,
                    MonitorDefinition.DEFAULT_MAX_SPAN_MINUTES);
            case CALIBRATED, CALIBRATED_DAILY -> new MonitorDefinition("bench-ks", modelId,
                    MonitorDefinition.EVERY_TAP, reference, Slice.ALL, Divergence.Metric.KS,
                    MonitorDefinition.Mode.CALIBRATED, MonitorDefinition.DEFAULT_THRESHOLD,
                    MonitorDefinition.DEFAULT_MINIMUM_EFFECT, budget(), MonitorDefinition.DEFAULT_WINDOWS_IN_A_ROW,
                    MonitorDefinition.DEFAULT_MIN_OBSERVATIONS, MonitorDefinition.DEFAULT_MAX_SPAN_MINUTES);
            case LAYER, LAYER_DAILY -> new MonitorDefinition("bench-mmd", modelId, MonitorDefinition.EVERY_TAP,
                    reference, Slice.ALL, Divergence.Metric.MMD, MonitorDefinition.Mode.CALIBRATED,
                    MonitorDefinition.DEFAULT_LAYER_THRESHOLD, LayerDrift.DEFAULT_MINIMUM_EFFECT, budget(),
                    MonitorDefinition.DEFAULT_WINDOWS_IN_A_ROW, MonitorDefinition.DEFAULT_MIN_OBSERVATIONS,
                    MonitorDefinition.DEFAULT_MAX_SPAN_MINUTES);
        };
    }

    /** Each evaluation's rate: the budget shared out over every evaluation of every tap (NaN when fixed). */
    double alpha(int taps) {
        return calibrated ? CalibratedThreshold.alpha(budget(), taps) : Double.NaN;
    }
}
